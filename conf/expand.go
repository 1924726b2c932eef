package conf

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Expansion of parameter values, as postconf(5) describes it:
//
//	$name ${name} $(name)          the value of name, expanded in turn
//	${name?value} ${name?{value}}  value when name is non-empty
//	${name:value} ${name:{value}}  value when name is empty
//	${name?{v1}:{v2}}              v1 when non-empty, v2 when empty
//	${{a} OP {b}...}               a relational test in place of the name;
//	                               OP is == != < <= > >=, numeric when both
//	                               sides are all digits; "OPlevel" compares
//	                               compatibility levels (major.minor.patch)
//	$$                             a literal "$"
//
// A relational test without "?" or ":" yields "true" or the empty string.

// ErrMacro is returned for a value that cannot be expanded; the reason was
// given to the Expander's Warn function first, as Postfix does.
var ErrMacro = errors.New("macro processing error")

// maxNesting bounds the depth of nested references; beyond it the value
// loops.
const maxNesting = 100

// Expander expands parameter values.
type Expander struct {
	// Lookup returns the raw (unexpanded) value of a parameter.
	Lookup func(name string) (string, bool)
	// Undefined, when set, is told of every name that Lookup did not find.
	Undefined func(name string)
	// Warn receives each syntax problem, without the program prefix.
	Warn func(text string)
	// NoRecurse leaves the values of looked-up names unexpanded.
	NoRecurse bool
	// Scan walks every branch of every conditional (looking up every name
	// and finding every syntax error) instead of choosing one, and does
	// not evaluate relational tests; postconf scans main.cf this way, with
	// NoRecurse, to learn which parameters are used.
	Scan bool
}

// Expand returns s with every parameter reference replaced.
func (x *Expander) Expand(s string) (string, error) {
	var b strings.Builder
	err := x.expand(&b, s, 0)
	return b.String(), err
}

func (x *Expander) warn(format string, args ...any) {
	if x.Warn != nil {
		x.Warn(fmt.Sprintf(format, args...))
	}
}

func isNameChar(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// scanRefs walks s calling lit for literal text and ref for each macro
// reference: the text inside ${...} or $(...), or a bare name.
func scanRefs(s string, lit func(string), ref func(text string, bare bool) error, warn func(string, ...any)) error {
	for i := 0; i < len(s); {
		j := strings.IndexByte(s[i:], '$')
		if j < 0 {
			lit(s[i:])
			return nil
		}
		if j > 0 {
			lit(s[i : i+j])
		}
		i += j + 1
		if i >= len(s) {
			warn("empty macro name: \"%s\"", s)
			return ErrMacro
		}
		switch c := s[i]; {
		case c == '$':
			lit("$")
			i++
		case c == '{' || c == '(':
			closeCh := byte('}')
			if c == '(' {
				closeCh = ')'
			}
			depth, k := 1, i+1
			for ; k < len(s); k++ {
				if s[k] == c {
					depth++
				} else if s[k] == closeCh {
					if depth--; depth == 0 {
						break
					}
				}
			}
			if k >= len(s) {
				warn("truncated macro reference: \"%s\"", s)
				return ErrMacro
			}
			if err := ref(s[i+1:k], false); err != nil {
				return err
			}
			i = k + 1
		case isNameChar(c):
			k := i
			for k < len(s) && isNameChar(s[k]) {
				k++
			}
			if err := ref(s[i:k], true); err != nil {
				return err
			}
			i = k
		default:
			warn("empty macro name: \"%s\"", s)
			return ErrMacro
		}
	}
	return nil
}

func (x *Expander) expand(b *strings.Builder, s string, level int) error {
	return scanRefs(s, func(t string) { b.WriteString(t) }, func(text string, bare bool) error {
		if level > maxNesting {
			x.warn("unreasonable macro call nesting: \"%s\"", text)
			return ErrMacro
		}
		if bare {
			return x.value(b, text, level)
		}
		return x.reference(b, text, s, level)
	}, x.warn)
}

// value appends the value of name, expanded unless NoRecurse.
func (x *Expander) value(b *strings.Builder, name string, level int) error {
	v, ok := x.lookup(name)
	if !ok {
		return nil
	}
	if x.NoRecurse {
		b.WriteString(v)
		return nil
	}
	return x.expand(b, v, level+1)
}

func (x *Expander) lookup(name string) (string, bool) {
	v, ok := x.Lookup(name)
	if !ok && x.Undefined != nil {
		x.Undefined(name)
	}
	return v, ok
}

func skipSpace(s string, i int) int {
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	return i
}

// curly extracts "{...}" starting at s[i] == '{' with nested braces; it
// returns the inside and the index after the closing brace, or ok=false.
func curly(s string, i int) (inner string, next int, ok bool) {
	depth := 0
	for k := i; k < len(s); k++ {
		switch s[k] {
		case '{':
			depth++
		case '}':
			if depth--; depth == 0 {
				return s[i+1 : k], k + 1, true
			}
		}
	}
	return "", len(s), false
}

// reference handles the inside of ${...}.
func (x *Expander) reference(b *strings.Builder, ref, whole string, level int) error {
	i := skipSpace(ref, 0)
	var cond bool
	if i < len(ref) && ref[i] == '{' {
		c, next, err := x.relational(ref, i, level)
		if err != nil {
			return err
		}
		cond, i = c, next
		if i >= len(ref) {
			if cond {
				b.WriteString("true")
			}
			return nil
		}
	} else {
		start := i
		for i < len(ref) && isNameChar(ref[i]) {
			i++
		}
		name := ref[start:i]
		end := skipSpace(ref, i)
		if name == "" && end >= len(ref) {
			x.warn("empty macro name: \"%s\"", whole)
			return ErrMacro
		}
		if end >= len(ref) {
			return x.value(b, name, level)
		}
		if ref[end] != '?' && ref[end] != ':' {
			x.warn("attribute name syntax error at: \"...%s>>>%s\"", ref[start:i], ref[i:])
			return ErrMacro
		}
		// The test looks at the value as written, not expanded.
		v, _ := x.lookup(name)
		cond = v != ""
		i = end
	}
	op := ref[i]
	i = skipSpace(ref, i+1)
	if op == ':' {
		cond = !cond
	}
	// "?" or ":" followed by text that is not braced: the rest is the value.
	if i >= len(ref) || ref[i] != '{' {
		if cond || x.Scan {
			return x.expand(b, ref[i:], level+1)
		}
		return nil
	}
	v1, next, ok := curly(ref, i)
	if !ok {
		x.warn("truncated macro reference: \"%s\"", ref)
		return ErrMacro
	}
	after := skipSpace(ref, next)
	if after >= len(ref) {
		if cond || x.Scan {
			return x.expand(b, v1, level+1)
		}
		return nil
	}
	ctx := ref[i+1 : next]
	if op == ':' {
		x.warn("unexpected input at: \"...%s>>>%s\"", ctx, ref[next:])
		return ErrMacro
	}
	if ref[after] != ':' {
		x.warn("\":\" expected at: \"...%s>>>%s\"", ctx, ref[next:])
		return ErrMacro
	}
	j := skipSpace(ref, after+1)
	var v2 string
	if j < len(ref) && ref[j] == '{' {
		inner, n2, ok := curly(ref, j)
		if !ok {
			x.warn("truncated macro reference: \"%s\"", ref)
			return ErrMacro
		}
		if rest := skipSpace(ref, n2); rest < len(ref) {
			x.warn("unexpected input at: \"...%s>>>%s\"", ref[j+1:n2], ref[n2:])
			return ErrMacro
		}
		v2 = inner
	} else {
		v2 = ref[j:]
	}
	if x.Scan {
		if err := x.expand(b, v1, level+1); err != nil {
			return err
		}
		return x.expand(b, v2, level+1)
	}
	if cond {
		return x.expand(b, v1, level+1)
	}
	return x.expand(b, v2, level+1)
}

var relOps = []string{"==", "!=", "<=", ">=", "<", ">"}

// relational parses and evaluates "{a} OP {b}" at ref[i]; it returns the
// result and the index after the right operand and white space.
func (x *Expander) relational(ref string, i, level int) (bool, int, error) {
	left, next, ok := curly(ref, i)
	if !ok {
		x.warn("truncated macro reference: \"%s\"", ref)
		return false, 0, ErrMacro
	}
	j := skipSpace(ref, next)
	op := ""
	for _, o := range relOps {
		if strings.HasPrefix(ref[j:], o) {
			op = o
			break
		}
	}
	if op == "" {
		x.warn("\"==\" or \"!=\"\" or \"<\"\" or \"<=\"\" or \">=\"\" or \">\" expected at: \"...%s>>>%s\"", ref[i+1:next], ref[next:])
		return false, 0, ErrMacro
	}
	k := j + len(op)
	level2 := false
	w := k
	for w < len(ref) && isNameChar(ref[w]) {
		w++
	}
	switch ref[k:w] {
	case "":
	case "level":
		level2 = true
		k = w
	default:
		x.warn("bad operator suffix at: \"...%s>>>%s\"", op, ref[k:w])
		return false, 0, ErrMacro
	}
	r := skipSpace(ref, k)
	if r >= len(ref) || ref[r] != '{' {
		x.warn("\"{expression}\" expected at: \"...{%s} %s>>>%s\"", left, op, ref[k:])
		return false, 0, ErrMacro
	}
	right, after, ok := curly(ref, r)
	if !ok {
		x.warn("truncated macro reference: \"%s\"", ref)
		return false, 0, ErrMacro
	}
	var lb, rb strings.Builder
	if err := x.expand(&lb, left, level+1); err != nil {
		return false, 0, err
	}
	if err := x.expand(&rb, right, level+1); err != nil {
		return false, 0, err
	}
	if x.Scan {
		return true, skipSpace(ref, after), nil
	}
	var cmp int
	if level2 {
		lv, ok1 := parseLevel(lb.String())
		if !ok1 {
			x.warn("malformed compatibility level syntax: \"%s\"", lb.String())
			return false, 0, ErrMacro
		}
		rv, ok2 := parseLevel(rb.String())
		if !ok2 {
			x.warn("malformed compatibility level syntax: \"%s\"", rb.String())
			return false, 0, ErrMacro
		}
		cmp = compareLevels(lv, rv)
	} else {
		var err error
		if cmp, err = compareValues(lb.String(), rb.String()); err != nil {
			return false, 0, err
		}
	}
	var res bool
	switch op {
	case "==":
		res = cmp == 0
	case "!=":
		res = cmp != 0
	case "<":
		res = cmp < 0
	case "<=":
		res = cmp <= 0
	case ">":
		res = cmp > 0
	case ">=":
		res = cmp >= 0
	}
	return res, skipSpace(ref, after), nil
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// ConversionError is a number too large to compare; Postfix treats it as
// fatal ("mac_exp_eval: bad conversion: N").
type ConversionError struct{ Number string }

func (e *ConversionError) Error() string { return "mac_exp_eval: bad conversion: " + e.Number }

// compareValues compares numerically when both are all digits, otherwise
// byte by byte. A number beyond a C long is a *ConversionError.
func compareValues(a, b string) (int, error) {
	if allDigits(a) && allDigits(b) {
		na, err := strconv.ParseInt(a, 10, 64)
		if err != nil {
			return 0, &ConversionError{a}
		}
		nb, err := strconv.ParseInt(b, 10, 64)
		if err != nil {
			return 0, &ConversionError{b}
		}
		switch {
		case na < nb:
			return -1, nil
		case na > nb:
			return 1, nil
		}
		return 0, nil
	}
	return strings.Compare(a, b), nil
}

// parseLevel parses a compatibility level "major[.minor[.patch]]".
func parseLevel(s string) ([3]string, bool) {
	var v [3]string
	parts := strings.Split(s, ".")
	if len(parts) > 3 {
		return v, false
	}
	for i, p := range parts {
		// Each number may have leading white space, as strtoul allows.
		p = strings.TrimLeft(p, " \t\n\r\v\f")
		if !allDigits(p) {
			return v, false
		}
		v[i] = p
	}
	for i := len(parts); i < 3; i++ {
		v[i] = "0"
	}
	return v, true
}

func compareLevels(a, b [3]string) int {
	for i := 0; i < 3; i++ {
		x, y := strings.TrimLeft(a[i], "0"), strings.TrimLeft(b[i], "0")
		if len(x) != len(y) {
			if len(x) < len(y) {
				return -1
			}
			return 1
		}
		if c := strings.Compare(x, y); c != 0 {
			return c
		}
	}
	return 0
}

// References returns the parameter names that s refers to, in order, with
// repeats, including names inside conditional and relational forms. It
// does not expand the referred values; malformed text yields what could be
// read before the error.
func References(s string) []string {
	var names []string
	var walk func(string)
	walk = func(s string) {
		_ = scanRefs(s, func(string) {}, func(text string, bare bool) error {
			if bare {
				names = append(names, text)
				return nil
			}
			i := skipSpace(text, 0)
			if i < len(text) && text[i] == '{' {
				// Relational: walk both operands and what follows.
				walk(text[i:])
				return nil
			}
			start := i
			for i < len(text) && isNameChar(text[i]) {
				i++
			}
			names = append(names, text[start:i])
			walk(text[i:])
			return nil
		}, func(string, ...any) {})
	}
	walk(s)
	return names
}
