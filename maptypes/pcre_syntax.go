package maptypes

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// This file translates Perl-compatible regular expressions (PCRE2 syntax)
// into Go regexp syntax. Go's engine has no backtracking: look-around,
// back-references, atomic groups, possessive quantifiers, recursion and
// conditionals give an unsupportedError. Common syntax errors are worded
// as PCRE2 words them, with the same offset.

// pcreError is a compile error as Postfix prints it.
type pcreError struct {
	offset int
	text   string
}

func (e pcreError) Error() string {
	return fmt.Sprintf("error in regex at offset %d: %s", e.offset, e.text)
}

// pcreOpts are the compile options of a rule's flags.
type pcreOpts struct {
	caseless, multiline, dotall, extended, anchored, ungreedy bool
}

// pcreParser holds the state of one translation.
type pcreParser struct {
	s      string
	i      int
	out    strings.Builder
	ext    bool // extended: skip white space and # comments
	groups int  // capturing groups in the whole pattern
	nsub   int
	depth  int
	// What a quantifier would apply to: start offset in out, or -1.
	lastStart int
	lastQuant bool // last item is already quantified
}

// translatePCRE returns the Go form of pattern and its number of capturing
// groups.
func translatePCRE(pattern string, o pcreOpts) (string, int, error) {
	p := &pcreParser{s: pattern, ext: o.extended, lastStart: -1}
	p.groups = countPCREGroups(pattern)
	if err := p.parse(); err != nil {
		return "", 0, err
	}
	flags := ""
	if o.caseless {
		flags += "i"
	}
	if o.multiline {
		flags += "m"
	}
	if o.dotall {
		flags += "s"
	}
	if o.ungreedy {
		flags += "U"
	}
	body := p.out.String()
	if o.anchored {
		body = `\A(?:` + body + `)`
	}
	if flags != "" {
		body = "(?" + flags + ")" + body
	}
	return body, p.nsub, nil
}

// countPCREGroups counts capturing groups, for back-reference checks.
func countPCREGroups(s string) int {
	n := 0
	inClass := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			i++
		case inClass:
			if c == ']' {
				inClass = false
			}
		case c == '[':
			inClass = true
			if i+1 < len(s) && s[i+1] == ']' {
				i++
			} else if i+2 < len(s) && s[i+1] == '^' && s[i+2] == ']' {
				i += 2
			}
		case c == '(':
			r := s[i+1:]
			if !strings.HasPrefix(r, "?") && !strings.HasPrefix(r, "*") ||
				strings.HasPrefix(r, "?<") && !strings.HasPrefix(r, "?<=") && !strings.HasPrefix(r, "?<!") ||
				strings.HasPrefix(r, "?P<") || strings.HasPrefix(r, "?'") {
				n++
			}
		}
	}
	return n
}

// item records that a repeatable item starts at out offset start.
func (p *pcreParser) item(start int) {
	p.lastStart = start
	p.lastQuant = false
}

func (p *pcreParser) parse() error {
	for p.i < len(p.s) {
		c := p.s[p.i]
		if p.ext && (isSpace(c) || c == '#') {
			if c == '#' {
				for p.i < len(p.s) && p.s[p.i] != '\n' {
					p.i++
				}
			} else {
				p.i++
			}
			continue
		}
		start := p.out.Len()
		switch c {
		case '\\':
			if err := p.escape(); err != nil {
				return err
			}
		case '(':
			if err := p.group(); err != nil {
				return err
			}
		case ')':
			if p.depth == 0 {
				return pcreError{p.i, "unmatched closing parenthesis"}
			}
			return nil
		case '[':
			if err := p.class(); err != nil {
				return err
			}
			p.item(start)
		case '*', '+', '?', '{':
			ok, err := p.quantifier()
			if err != nil {
				return err
			}
			if !ok { // a '{' that does not start a quantifier
				p.i++
				p.out.WriteString(`\{`)
				p.item(start)
			}
		case '|':
			p.i++
			p.out.WriteByte('|')
			p.lastStart = -1
		case '^', '$':
			p.i++
			p.out.WriteByte(c)
			p.lastStart = -1
		case '.':
			p.i++
			p.out.WriteByte('.')
			p.item(start)
		default:
			r, n := utf8.DecodeRuneInString(p.s[p.i:])
			p.i += n
			if r >= 0x80 {
				// Postfix does not ask PCRE for UTF mode: case
				// folding is ASCII only.
				p.out.WriteString("(?-i:" + quoteRune(r) + ")")
			} else {
				p.out.WriteString(quoteRune(r))
			}
			p.item(start)
		}
	}
	if p.depth > 0 {
		return pcreError{len(p.s), "missing closing parenthesis"}
	}
	return nil
}

// quantifier applies * + ? or {m,n} to the last item.
func (p *pcreParser) quantifier() (bool, error) {
	at := p.i
	q := p.s[p.i : p.i+1]
	n := 1
	if p.s[p.i] == '{' {
		end := strings.IndexByte(p.s[p.i:], '}')
		if end < 0 {
			return false, nil
		}
		body := p.s[p.i+1 : p.i+end]
		lo, hi, comma := body, "", false
		if k := strings.IndexByte(body, ','); k >= 0 {
			lo, hi, comma = body[:k], body[k+1:], true
		}
		if lo == "" || !allDigits(lo) || !allDigits(hi) {
			return false, nil
		}
		at = p.i + end
		min, max := clampAtoi(lo), 0
		if hi != "" {
			max = clampAtoi(hi)
		}
		if min > 65535 || max > 65535 {
			return false, pcreError{at, "number too big in {} quantifier"}
		}
		if comma && hi != "" && min > max {
			return false, pcreError{at, "numbers out of order in {} quantifier"}
		}
		if min > 1000 || max > 1000 {
			return false, unsupportedError("repeat count above 1000")
		}
		q = "{" + body + "}"
		n = end + 1
	}
	if p.lastStart < 0 || p.lastQuant {
		return false, pcreError{at, "quantifier does not follow a repeatable item"}
	}
	p.i += n
	if p.i < len(p.s) && p.s[p.i] == '+' {
		return false, unsupportedError("possessive quantifier")
	}
	if p.i < len(p.s) && p.s[p.i] == '?' {
		q += "?"
		p.i++
	}
	text := p.out.String()
	p.out.Reset()
	p.out.WriteString(text[:p.lastStart] + "(?:" + text[p.lastStart:] + ")" + q)
	p.lastQuant = true
	return true, nil
}

// group handles "(" and the "(?" and "(*" forms.
func (p *pcreParser) group() error {
	start := p.out.Len()
	r := p.s[p.i+1:]
	name := ""
	switch {
	case strings.HasPrefix(r, "*"):
		return unsupportedError("(*VERB)")
	case strings.HasPrefix(r, "?#"):
		end := strings.IndexByte(r, ')')
		if end < 0 {
			return pcreError{len(p.s), "missing ) after (?# comment"}
		}
		p.i += 1 + end + 1
		return nil
	case strings.HasPrefix(r, "?<=") || strings.HasPrefix(r, "?<!"):
		return unsupportedError("look-behind assertion")
	case strings.HasPrefix(r, "?=") || strings.HasPrefix(r, "?!"):
		return unsupportedError("look-ahead assertion")
	case strings.HasPrefix(r, "?>"):
		return unsupportedError("atomic group")
	case strings.HasPrefix(r, "?<") || strings.HasPrefix(r, "?P<") || strings.HasPrefix(r, "?'"):
		k := 2
		closer := byte('>')
		if r[1] == 'P' {
			k = 3
		} else if r[1] == '\'' {
			closer = '\''
		}
		end := strings.IndexByte(r[k:], closer)
		if end < 0 {
			return pcreError{p.i + 1 + len(r), "syntax error in subpattern name (missing terminator?)"}
		}
		name = r[k : k+end]
		if name == "" {
			return pcreError{p.i + 1 + k, "subpattern name expected"}
		}
		if name[0] >= '0' && name[0] <= '9' {
			return pcreError{p.i + 1 + k, "subpattern name must start with a non-digit"}
		}
		for i := 0; i < len(name); i++ {
			if !isAlnum(name[i]) && name[i] != '_' {
				return unsupportedError("subpattern name")
			}
		}
		p.i += 1 + k + end + 1
	case strings.HasPrefix(r, "?"):
		// Option setting: (?imsU-imsU) or (?imsU-imsU:...)
		j := 1
		for j < len(r) && strings.IndexByte("imsU-", r[j]) >= 0 {
			j++
		}
		if j >= len(r) {
			return pcreError{len(p.s), "missing closing parenthesis"}
		}
		if r[j] == ')' {
			p.out.WriteString("(" + r[:j] + ")")
			p.i += 1 + j + 1
			return nil
		}
		if r[j] != ':' {
			return unsupportedError("group kind (?" + r[1:j+1])
		}
		p.out.WriteString("(" + r[:j+1])
		p.i += 1 + j + 1
		return p.groupBody(start)
	default:
		p.i++
	}
	p.nsub++
	if name != "" {
		p.out.WriteString("(?P<" + name + ">")
	} else {
		p.out.WriteString("(")
	}
	return p.groupBody(start)
}

// groupBody translates up to the closing parenthesis.
func (p *pcreParser) groupBody(start int) error {
	p.depth++
	p.lastStart = -1
	if err := p.parse(); err != nil {
		return err
	}
	p.depth--
	p.i++ // ')'
	p.out.WriteByte(')')
	p.item(start)
	return nil
}
