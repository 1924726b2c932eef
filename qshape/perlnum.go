package qshape

import (
	"math"
	"os"
	"strconv"
	"strings"
)

// perlSpace reports whether c is whitespace for Perl's \s on byte strings.
func perlSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

// perlNum converts s to a number the way Perl does when a string is used
// as a number: leading whitespace, a sign, digits, a fraction and an
// exponent, or Inf/Infinity/NaN; what follows is ignored. ok is false
// when Perl would warn that s "isn't numeric" (nothing numeric, or
// something other than trailing whitespace after the number).
func perlNum(s string) (v float64, ok bool) {
	i := 0
	for i < len(s) && perlSpace(s[i]) {
		i++
	}
	start := i
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	if v, n, ok := infNaN(s[i:]); ok {
		if start < len(s) && s[start] == '-' {
			v = -v
		}
		return v, onlySpace(s[i+n:])
	}
	digits := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
		digits++
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			digits++
		}
	}
	if digits == 0 {
		return 0, false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		j := i + 1
		if j < len(s) && (s[j] == '+' || s[j] == '-') {
			j++
		}
		if j < len(s) && s[j] >= '0' && s[j] <= '9' {
			for j < len(s) && s[j] >= '0' && s[j] <= '9' {
				j++
			}
			i = j
		}
	}
	num := s[start:i]
	if strings.HasSuffix(num, ".") {
		num += "0"
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil && !isRange(err) {
		return 0, false
	}
	return v, onlySpace(s[i:])
}

func isRange(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

// infNaN recognizes Perl's spellings of infinity and not-a-number at the
// start of s and returns the value and the bytes used.
func infNaN(s string) (float64, int, bool) {
	l := strings.ToLower(s)
	switch {
	case strings.HasPrefix(l, "infinity"):
		return math.Inf(1), 8, true
	case strings.HasPrefix(l, "inf"):
		return math.Inf(1), 3, true
	case strings.HasPrefix(l, "nan"):
		return math.NaN(), 3, true
	}
	return 0, 0, false
}

func onlySpace(s string) bool {
	for i := 0; i < len(s); i++ {
		if !perlSpace(s[i]) {
			return false
		}
	}
	return true
}

// perlString formats a number as Perl prints it: an integral value that
// fits a 64-bit integer in full, anything else with 15 significant digits.
func perlString(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case v == math.Trunc(v) && v >= -(1<<63) && v < 1<<63:
		return strconv.FormatInt(int64(v), 10)
	}
	return strconv.FormatFloat(v, 'g', 15, 64)
}

// perlInt is Perl's int(): the value truncated toward zero.
func perlInt(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return v
	}
	return math.Trunc(v)
}

// perlDisplay shows a string as Perl's "isn't numeric" warning does:
// control characters escaped, bytes above 127 as "M-" and their low seven
// bits (in a UTF-8 locale Perl prints 0xA0-0xFF as they are), and "..."
// after about 56 bytes of display.
func perlDisplay(s string) string {
	const limit = 56
	latin1 := utf8Locale()
	var b strings.Builder
	i := 0
	for ; i < len(s) && b.Len() < limit; i++ {
		c := s[i]
		if c >= 0xa0 && latin1 {
			b.WriteByte(c)
			continue
		}
		if c >= 0x80 {
			b.WriteString("M-")
			c &= 0x7f
		}
		switch {
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\r':
			b.WriteString(`\r`)
		case c == '\f':
			b.WriteString(`\f`)
		case c == '\\':
			b.WriteString(`\\`)
		case c == 0:
			b.WriteString(`\0`)
		case c >= 0x20 && c < 0x7f:
			b.WriteByte(c)
		default:
			b.WriteByte('^')
			b.WriteByte(c ^ 64)
		}
	}
	if i < len(s) {
		b.WriteString("...")
	}
	return b.String()
}

// utf8Locale reports whether the character type locale of the environment
// is a UTF-8 one.
func utf8Locale() bool {
	v := os.Getenv("LC_ALL")
	if v == "" {
		v = os.Getenv("LC_CTYPE")
	}
	if v == "" {
		v = os.Getenv("LANG")
	}
	v = strings.ToLower(v)
	return strings.Contains(v, "utf-8") || strings.Contains(v, "utf8")
}
