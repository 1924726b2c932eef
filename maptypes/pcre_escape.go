package maptypes

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Backslash sequences and character classes of the PCRE translation.

// pcreSpace is PCRE2's \s: it includes the vertical tab, Go's does not.
const pcreSpace = `\t\n\v\f\r `

// pcreH and pcreV are PCRE2's horizontal and vertical white space.
const (
	pcreH = `\t \x{a0}\x{1680}\x{180e}\x{2000}-\x{200a}\x{202f}\x{205f}\x{3000}`
	pcreV = `\n\v\f\r\x{85}\x{2028}\x{2029}`
)

// escapeChar decodes a backslash sequence that stands for one character
// (\n, \x41, \x{263a}, \o{101}, \012, \cA, \e ...) at s (just after the
// backslash). It returns the rune, the length consumed and ok.
func escapeChar(s string) (rune, int, bool) {
	switch s[0] {
	case 'a':
		return 7, 1, true
	case 'e':
		return 0x1b, 1, true
	case 'f':
		return '\f', 1, true
	case 'n':
		return '\n', 1, true
	case 'r':
		return '\r', 1, true
	case 't':
		return '\t', 1, true
	case 'c':
		if len(s) < 2 {
			return 0, 0, false
		}
		c := s[1]
		if c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		return rune(c ^ 0x40), 2, true
	case 'x':
		if len(s) > 1 && s[1] == '{' {
			end := strings.IndexByte(s, '}')
			if end < 0 {
				return 0, 0, false
			}
			v, err := strconv.ParseUint(s[2:end], 16, 32)
			if err != nil || v > 0x10ffff {
				return 0, 0, false
			}
			return rune(v), end + 1, true
		}
		n := 1
		v := 0
		for n < 3 && n < len(s) && isHex(s[n]) {
			v = v*16 + hexVal(s[n])
			n++
		}
		return rune(v), n, true
	case 'o':
		end := strings.IndexByte(s, '}')
		if len(s) < 2 || s[1] != '{' || end < 0 {
			return 0, 0, false
		}
		v, err := strconv.ParseUint(s[2:end], 8, 32)
		if err != nil || v > 0x10ffff {
			return 0, 0, false
		}
		return rune(v), end + 1, true
	case '0':
		n, v := 1, 0
		for n < 3 && n < len(s) && s[n] >= '0' && s[n] <= '7' {
			v = v*8 + int(s[n]-'0')
			n++
		}
		return rune(v), n, true
	}
	return 0, 0, false
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func hexVal(c byte) int {
	switch {
	case c <= '9':
		return int(c - '0')
	case c >= 'a':
		return int(c-'a') + 10
	}
	return int(c-'A') + 10
}

// escape translates a backslash sequence outside a class.
func (p *pcreParser) escape() error {
	start := p.out.Len()
	if p.i+1 >= len(p.s) {
		return pcreError{len(p.s), `\ at end of pattern`}
	}
	c := p.s[p.i+1]
	rest := p.s[p.i+1:]
	emit := func(text string, n int, repeatable bool) error {
		p.out.WriteString(text)
		p.i += 1 + n
		if repeatable {
			p.item(start)
		} else {
			p.lastStart = -1
		}
		return nil
	}
	switch c {
	case 'd', 'D', 'w', 'W':
		return emit(`\`+string(c), 1, true)
	case 's':
		return emit("["+pcreSpace+"]", 1, true)
	case 'S':
		return emit("[^"+pcreSpace+"]", 1, true)
	case 'h':
		return emit("["+pcreH+"]", 1, true)
	case 'H':
		return emit("[^"+pcreH+"]", 1, true)
	case 'v':
		return emit("["+pcreV+"]", 1, true)
	case 'V':
		return emit("[^"+pcreV+"]", 1, true)
	case 'N':
		return emit(`[^\n]`, 1, true)
	case 'R':
		return emit(`(?:\r\n|[`+pcreV+`])`, 1, true)
	case 'b', 'B', 'A', 'z':
		return emit(`\`+string(c), 1, false)
	case 'Z':
		return emit(`\z`, 1, false)
	case 'E':
		return emit("", 1, false)
	case 'Q':
		end := strings.Index(rest, `\E`)
		lit := rest[1:]
		n := len(rest)
		if end >= 0 {
			lit, n = rest[1:end], end+2
		}
		if lit == "" {
			return emit("", n, false)
		}
		return emit("(?:"+quoteLiteral(lit)+")", n, true)
	case 'p', 'P':
		if len(rest) > 1 && rest[1] == '{' {
			end := strings.IndexByte(rest, '}')
			if end < 0 {
				return pcreError{len(p.s), "malformed \\P or \\p sequence"}
			}
			return emit(`\`+rest[:end+1], end+1, true)
		}
		if len(rest) < 2 {
			return pcreError{len(p.s), "malformed \\P or \\p sequence"}
		}
		return emit(`\`+rest[:2], 2, true)
	case 'g', 'k':
		return unsupportedError("back-reference")
	case 'G', 'K', 'X', 'C':
		return unsupportedError(`\` + string(c))
	}
	if c >= '1' && c <= '9' {
		j := 1
		for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
			j++
		}
		n, _ := strconv.Atoi(rest[:j])
		if n < 10 || n <= p.groups {
			if n > p.groups {
				return pcreError{p.i + 1 + j, "reference to non-existent subpattern"}
			}
			return unsupportedError("back-reference")
		}
		// An octal escape such as \101.
		v, k := 0, 0
		for k < 3 && k < len(rest) && rest[k] >= '0' && rest[k] <= '7' {
			v = v*8 + int(rest[k]-'0')
			k++
		}
		if k == 0 {
			return emit(quoteRune(rune(c)), 1, true)
		}
		return emit(fmt.Sprintf(`\x{%x}`, v), k, true)
	}
	if r, n, ok := escapeChar(rest); ok {
		return emit(fmt.Sprintf(`\x{%x}`, r), n, true)
	}
	if c == 'c' {
		return pcreError{len(p.s), `\c at end of pattern`}
	}
	if isAlnum(c) {
		return pcreError{p.i + 1, `unrecognized character follows \`}
	}
	r, n := utf8.DecodeRuneInString(rest)
	return emit(quoteRune(r), n, true)
}

// quoteLiteral escapes every character of s for Go.
func quoteLiteral(s string) string {
	var b strings.Builder
	for _, r := range s {
		b.WriteString(quoteRune(r))
	}
	return b.String()
}

// class translates "[...]".
func (p *pcreParser) class() error {
	var b strings.Builder
	i := p.i + 1
	b.WriteByte('[')
	if i < len(p.s) && p.s[i] == '^' {
		b.WriteByte('^')
		i++
	}
	first := true
	prev := rune(-1) // last single character, for range checks
	inRange := false // a '-' follows prev
	single := func(r rune, at int) error {
		if inRange && prev > r {
			return pcreError{at, "range out of order in character class"}
		}
		prev, inRange = r, false
		return nil
	}
	for {
		if i >= len(p.s) {
			return pcreError{len(p.s), "missing terminating ] for character class"}
		}
		c := p.s[i]
		if c == '-' && prev >= 0 && !inRange && i+1 < len(p.s) && p.s[i+1] != ']' {
			b.WriteByte('-')
			inRange = true
			i++
			first = false
			continue
		}
		if inRange && c == '\\' && i+1 < len(p.s) && strings.IndexByte("dDwWsShHvVpP", p.s[i+1]) >= 0 {
			return pcreError{i + 2, "invalid range in character class"}
		}
		at := i
		switch {
		case c == ']' && !first:
			b.WriteByte(']')
			p.out.WriteString(b.String())
			p.i = i + 1
			return nil
		case c == '[' && i+1 < len(p.s) && p.s[i+1] == ':':
			end := strings.Index(p.s[i:], ":]")
			if end < 0 {
				b.WriteString(`\[`)
				i++
				break
			}
			name := strings.TrimPrefix(p.s[i+2:i+end], "^")
			if !posixClasses[name] && name != "word" && name != "ascii" {
				return pcreError{i + 2, "unknown POSIX class name"}
			}
			if name == "space" {
				neg := strings.HasPrefix(p.s[i+2:], "^")
				if neg {
					return unsupportedError("[:^space:]")
				}
				b.WriteString(pcreSpace)
			} else {
				b.WriteString(p.s[i : i+end+2])
			}
			i += end + 2
		case c == '\\':
			if i+1 >= len(p.s) {
				return pcreError{len(p.s), "missing terminating ] for character class"}
			}
			d := p.s[i+1]
			switch d {
			case 'd', 'D', 'w', 'W':
				b.WriteString(`\` + string(d))
				i += 2
			case 's':
				b.WriteString(pcreSpace)
				i += 2
			case 'h':
				b.WriteString(pcreH)
				i += 2
			case 'v':
				b.WriteString(pcreV)
				i += 2
			case 'S', 'H', 'V':
				return unsupportedError(`\` + string(d) + " inside a character class")
			case 'p', 'P':
				end := strings.IndexByte(p.s[i:], '}')
				if i+2 < len(p.s) && p.s[i+2] == '{' && end > 0 {
					b.WriteString(p.s[i : i+end+1])
					i += end + 1
				} else if i+2 < len(p.s) {
					b.WriteString(p.s[i : i+3])
					i += 3
				} else {
					return pcreError{len(p.s), "malformed \\P or \\p sequence"}
				}
			case 'b':
				b.WriteString(`\x{8}`)
				i += 2
			default:
				if r, n, ok := escapeChar(p.s[i+1:]); ok {
					if err := single(r, at); err != nil {
						return err
					}
					fmt.Fprintf(&b, `\x{%x}`, r)
					i += 1 + n
				} else if d >= '1' && d <= '7' {
					r, n, _ := escapeChar("0" + p.s[i+1:])
					fmt.Fprintf(&b, `\x{%x}`, r)
					i += n
				} else {
					r, n := utf8.DecodeRuneInString(p.s[i+1:])
					if err := single(r, at); err != nil {
						return err
					}
					b.WriteString(quoteClassRune(r))
					i += 1 + n
				}
			}
		default:
			r, n := utf8.DecodeRuneInString(p.s[i:])
			if err := single(r, at); err != nil {
				return err
			}
			b.WriteString(quoteClassRune(r))
			i += n
		}
		first = false
	}
}
