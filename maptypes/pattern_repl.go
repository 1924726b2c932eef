package maptypes

import (
	"strings"

	"github.com/postfix-go/postfix/internal/msg"
)

// replacement is the right-hand side of a regexp or pcre rule: literal text
// and $N references to parenthesized subexpressions. "$$" stands for "$";
// "${N}" and "$(N)" are the same as "$N".
type replacement struct {
	parts  []replPart
	maxSub uint64 // highest $N used, as C's size_t; 0 for literal text
	text   string
}

// replPart is literal text (group == 0) or a subexpression reference.
type replPart struct {
	lit   string
	group int
}

// replSyntax words the index diagnostics of one table type.
type replSyntax struct {
	lowIndex string // message for $0: "out-of-range replacement index"
}

// parseReplacement checks the replacement text of a rule and reports
// problems the way Postfix does. It returns false when the rule must be
// skipped (the caller then prints "bad replacement syntax").
func parseReplacement(w patternWarner, line int, s string, syn replSyntax) (replacement, bool) {
	var r replacement
	var lit strings.Builder
	ok := true
	flushLit := func() {
		if lit.Len() > 0 {
			r.parts = append(r.parts, replPart{lit: lit.String()})
			lit.Reset()
		}
	}
	i := 0
	for i < len(s) {
		c := s[i]
		if c != '$' {
			lit.WriteByte(c)
			i++
			continue
		}
		if i+1 < len(s) && s[i+1] == '$' {
			lit.WriteByte('$')
			i += 2
			continue
		}
		flushLit()
		i++
		var name string
		if i < len(s) && (s[i] == '{' || s[i] == '(') {
			open := s[i]
			closing := byte('}')
			if open == '(' {
				closing = ')'
			}
			level := 1
			j := i + 1
			for level > 0 {
				if j >= len(s) {
					msg.Warn("truncated macro reference: \"%s\"", s)
					return r, false
				}
				switch s[j] {
				case open:
					level++
				case closing:
					level--
				}
				j++
			}
			name = s[i+1 : j-1]
			i = j
		} else {
			j := i
			for j < len(s) && (isAlnum(s[j]) || s[j] == '_') {
				j++
			}
			name = s[i:j]
			i = j
		}
		if name == "" {
			msg.Warn("empty macro name: \"%s\"", s)
			return r, false
		}
		n, numeric := atoiIndex(name)
		switch {
		case !numeric:
			w.warn(line, "non-numeric replacement index \"%s\"", name)
			ok = false
		case n == 0:
			w.warn(line, "%s \"%s\"", syn.lowIndex, name)
			ok = false
		default:
			// A negative int becomes a huge size_t in Postfix: it is
			// rejected later as out of range.
			r.parts = append(r.parts, replPart{group: int(n)})
			if u := uint64(int64(n)); u > r.maxSub {
				r.maxSub = u
			}
		}
	}
	flushLit()
	if r.maxSub == 0 {
		var b strings.Builder
		for _, p := range r.parts {
			b.WriteString(p.lit)
		}
		r.text = b.String()
		r.parts = nil
	}
	return r, ok
}

// atoiIndex converts an all-digit name the way C's atoi does on this
// platform: the value saturates at LONG_MAX and is then truncated to int.
func atoiIndex(name string) (int32, bool) {
	var v uint64
	const max = 1<<63 - 1
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		if v <= max {
			v = v*10 + uint64(c-'0')
			if v > max {
				v = max + 1
			}
		}
	}
	if v > max {
		v = max
	}
	return int32(uint32(v)), true
}

// expand builds the result for a match; groups holds submatch offsets as
// returned by regexp's FindStringSubmatchIndex. An unset or empty
// subexpression expands to nothing.
func (r *replacement) expand(key string, groups []int) string {
	if r.parts == nil {
		return r.text
	}
	var b strings.Builder
	for _, p := range r.parts {
		if p.group == 0 {
			b.WriteString(p.lit)
			continue
		}
		k := 2 * p.group
		if k+1 < len(groups) && groups[k] >= 0 && groups[k+1] > groups[k] {
			b.WriteString(key[groups[k]:groups[k+1]])
		}
	}
	return b.String()
}
