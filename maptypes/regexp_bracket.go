package maptypes

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// posixClasses are the character class names of the "C" locale.
var posixClasses = map[string]bool{
	"alpha": true, "upper": true, "lower": true, "digit": true, "xdigit": true, "space": true,
	"print": true, "punct": true, "graph": true, "cntrl": true, "blank": true, "alnum": true,
}

// bracketItem is one element of a bracket expression: a character, a
// character class, or an equivalence class (which in the "C" locale is the
// character itself but cannot start or end a range).
type bracketItem struct {
	r     rune
	class string
	equiv bool
}

// bracket translates "[...]" starting at the input.
func (p *posixParser) bracket() (string, int, bool, error) {
	p.i++ // '['
	neg := false
	if p.i < len(p.s) && p.s[p.i] == '^' {
		neg = true
		p.i++
	}
	if p.i >= len(p.s) {
		return "", 0, false, errBadPat
	}
	var out strings.Builder
	first := true
	for {
		if p.i >= len(p.s) {
			return "", 0, false, errBrack
		}
		if p.s[p.i] == ']' && !first {
			p.i++
			break
		}
		first = false
		start, err := p.bracketElem()
		if err != nil {
			return "", 0, false, err
		}
		// A range?
		if p.i+1 < len(p.s) && p.s[p.i] == '-' && p.s[p.i+1] != ']' {
			p.i++
			end, err := p.bracketElem()
			if err != nil {
				return "", 0, false, err
			}
			if start.class != "" || start.equiv || end.class != "" || end.equiv || start.r > end.r {
				return "", 0, false, errRange
			}
			out.WriteString(quoteClassRune(start.r) + "-" + quoteClassRune(end.r))
			if p.i+1 < len(p.s) && p.s[p.i] == '-' && p.s[p.i+1] != ']' {
				return "", 0, false, errRange
			}
			continue
		}
		if start.class != "" {
			out.WriteString("[:" + start.class + ":]")
		} else {
			out.WriteString(quoteClassRune(start.r))
		}
	}
	body := out.String()
	if neg {
		if p.opts.newline {
			body += "\\n"
		}
		return "[^" + body + "]", pieceAtom, false, nil
	}
	return "[" + body + "]", pieceAtom, false, nil
}

// bracketElem reads one character, [:class:], [=c=] or [.c.].
func (p *posixParser) bracketElem() (bracketItem, error) {
	s := p.s[p.i:]
	if len(s) >= 2 && s[0] == '[' && (s[1] == ':' || s[1] == '=' || s[1] == '.') {
		kind := s[1]
		end := strings.Index(s[2:], string(kind)+"]")
		if end < 0 {
			return bracketItem{}, errBrack
		}
		name := s[2 : 2+end]
		p.i += 2 + end + 2
		switch kind {
		case ':':
			if !posixClasses[name] {
				return bracketItem{}, errCtype
			}
			return bracketItem{class: name}, nil
		default:
			r, n := utf8.DecodeRuneInString(name)
			if name == "" || n != len(name) {
				return bracketItem{}, errCollate
			}
			return bracketItem{r: r, equiv: kind == '='}, nil
		}
	}
	r, n := utf8.DecodeRuneInString(s)
	if r == utf8.RuneError && n <= 1 {
		r = utf8.RuneError
	}
	p.i += n
	return bracketItem{r: r}, nil
}

// quoteClassRune writes r for use inside a Go character class.
func quoteClassRune(r rune) string {
	if r < 0x80 && strings.ContainsRune(`\]-[^`, r) {
		return "\\" + string(r)
	}
	if r < 0x20 || r == 0x7f {
		return fmt.Sprintf("\\x{%x}", r)
	}
	return string(r)
}
