package dnsbl

import (
	"fmt"
	"net/netip"
	"strings"
)

// Spec is a parsed DNS list reference from a restriction:
// "zen.example" or "zen.example=127.0.0.[2..11]".
type Spec struct {
	Raw    string  // as written: the rbl_reply_maps lookup key
	Domain string  // the list's domain, before "="
	Filter *Filter // nil: any A record lists
}

// ParseSpec splits a list reference at its first "=" and parses the
// filter. The error text is Postfix's (smtpd reports it as
// "fatal: RBL reply error: TEXT").
func ParseSpec(s string) (Spec, error) {
	sp := Spec{Raw: s, Domain: s}
	if d, pat, ok := strings.Cut(s, "="); ok {
		sp.Domain = d
		f, err := ParseFilter(pat)
		if err != nil {
			return sp, err
		}
		sp.Filter = f
	}
	return sp, nil
}

// Filter is an IPv4 reply pattern: four fields, each a number or a
// bracketed ";"-separated list of numbers and number..number ranges, the
// whole optionally inside brackets ("127.0.0.2", "127.0.0.[2..11]",
// "127.0.[0;1].[2;4..9]", "[127.0.0.2]").
type Filter struct {
	fields [4][]span
	wild   [4]bool // the field was written in brackets
}

// span is a closed octet range; a single number has lo == hi.
type span struct{ lo, hi uint8 }

// FilterError is a filter syntax error with Postfix's wording and context.
type FilterError struct{ Text string }

func (e *FilterError) Error() string { return e.Text }

// token kinds of the filter tokenizer.
const (
	tokNum = -1 // a number 0..255
	tokBad = -2 // a number above 255
	tokEOF = 0
)

// filterLexer walks a pattern.
type filterLexer struct {
	s         string
	pos, prev int // read position; start of the last token
	val       int
}

func (l *filterLexer) next() int {
	l.prev = l.pos
	if l.pos >= len(l.s) {
		return tokEOF
	}
	c := l.s[l.pos]
	if c >= '0' && c <= '9' {
		v, kind := 0, tokNum
		for l.pos < len(l.s) && l.s[l.pos] >= '0' && l.s[l.pos] <= '9' {
			v = v*10 + int(l.s[l.pos]-'0')
			if v > 255 {
				kind = tokBad
				v = 256 // keep it bounded
			}
			l.pos++
		}
		l.val = v
		return kind
	}
	l.pos++
	if c == 0 {
		return 256 // an embedded NUL is no end here; never a valid token
	}
	return int(c)
}

// fail formats an error with Postfix's context marker:
// ` at "BEFORE>TOKEN<AFTER"`.
func (l *filterLexer) fail(pattern, text string) error {
	return &FilterError{Text: fmt.Sprintf("%s at \"%s>%s<%s\"", text, pattern[:l.prev], pattern[l.prev:l.pos], pattern[l.pos:])}
}

// ParseFilter parses a reply pattern (the part after "=").
func ParseFilter(pattern string) (*Filter, error) {
	if strings.HasPrefix(pattern, "[") {
		level, end := 0, -1
		for i := 0; i < len(pattern); i++ {
			if pattern[i] == '[' {
				level++
			}
			if pattern[i] != ']' {
				continue
			}
			if level--; level == 0 {
				end = i
				break
			}
		}
		if end < 0 {
			return nil, &FilterError{Text: `missing "]" character`}
		}
		if end == len(pattern)-1 {
			pattern = pattern[1:end]
		}
	}
	if pattern == "" {
		return nil, &FilterError{Text: "empty address pattern"}
	}
	f := &Filter{}
	l := &filterLexer{s: pattern}
	for n := 0; ; {
		switch l.next() {
		case tokNum:
			f.fields[n] = []span{{uint8(l.val), uint8(l.val)}}
		case '[':
			f.wild[n] = true
			for {
				if l.next() != tokNum {
					return nil, l.fail(pattern, "need decimal number 0..255")
				}
				lo := l.val
				look := l.next()
				if look == '.' {
					if l.next() != '.' || l.next() != tokNum || lo > l.val {
						return nil, l.fail(pattern, "numeric range error")
					}
					f.fields[n] = append(f.fields[n], span{uint8(lo), uint8(l.val)})
					look = l.next()
				} else {
					f.fields[n] = append(f.fields[n], span{uint8(lo), uint8(lo)})
				}
				if look == ';' {
					continue
				}
				if look == ']' {
					break
				}
				return nil, l.fail(pattern, `need ";" or "]"`)
			}
		default:
			return nil, l.fail(pattern, `need decimal number 0..255 or "["`)
		}
		n++
		if n == 4 {
			if l.pos < len(pattern) {
				l.next()
				return nil, l.fail(pattern, "garbage after pattern")
			}
			return f, nil
		}
		if l.next() != '.' {
			return nil, l.fail(pattern, `need "."`)
		}
	}
}

// Match tells whether an IPv4 address fits the pattern; other addresses
// never do.
func (f *Filter) Match(a netip.Addr) bool {
	a = a.Unmap()
	if !a.Is4() {
		return false
	}
	b := a.As4()
	for i, spans := range f.fields {
		ok := false
		for _, s := range spans {
			if b[i] >= s.lo && b[i] <= s.hi {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// String returns the pattern in canonical form, as Postfix's ip_match_dump
// prints it ("127.0.0.[2..11;15]").
func (f *Filter) String() string {
	var b strings.Builder
	for i, spans := range f.fields {
		if i > 0 {
			b.WriteByte('.')
		}
		if len(spans) == 1 && spans[0].lo == spans[0].hi && !f.wild[i] {
			fmt.Fprintf(&b, "%d", spans[0].lo)
			continue
		}
		b.WriteByte('[')
		for j, s := range spans {
			if j > 0 {
				b.WriteByte(';')
			}
			if s.lo == s.hi {
				fmt.Fprintf(&b, "%d", s.lo)
			} else {
				fmt.Fprintf(&b, "%d..%d", s.lo, s.hi)
			}
		}
		b.WriteByte(']')
	}
	return b.String()
}
