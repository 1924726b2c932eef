package conf

// Typed parsing of parameter values, as Postfix daemons and commands parse
// them when they read main.cf (verified against postmap -c DIR, which
// validates the global parameters at start-up):
//
//   - bool: "yes" or "no", in any letter case; anything else, the empty
//     string included, is "bad boolean configuration: NAME = VALUE".
//   - int and long: what C's strtol accepts in full: optional leading white
//     space, an optional sign and decimal digits, nothing after them, within
//     32 (int) or 64 (long) bits; otherwise "bad numerical configuration:
//     NAME = VALUE".
//   - time: a non-negative integer with an optional unit letter s, m, h, d
//     or w (lower case only; a bare number takes the parameter's default
//     unit); anything after the unit letter is ignored, as in Postfix; the
//     result in seconds must fit in 31 bits (3549w, 24854d, 596522h,
//     35791393m at most). Otherwise "parameter NAME: bad time value or unit:
//     VALUE".
//   - list: items separated by white space and/or commas; a "{...}" group
//     (nesting counted) is one item even when it contains separators, and
//     keeps its braces.

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

// ErrBadValue is wrapped by every error of the Parse functions.
var ErrBadValue = errors.New("bad configuration value")

// ValueError is a value that does not parse as its type. Fatal(name)
// gives the text Postfix's fatal error prints for it.
type ValueError struct {
	// Kind is "bool", "int", "long" or "time".
	Kind string
	// Value is the text that failed.
	Value string
}

func (e *ValueError) Error() string { return fmt.Sprintf("bad %s value %q", e.Kind, e.Value) }

// Unwrap makes errors.Is(err, ErrBadValue) true.
func (e *ValueError) Unwrap() error { return ErrBadValue }

// Fatal returns the text of Postfix's fatal error for parameter name set
// to the bad value (without the "PROG: fatal: " prefix).
func (e *ValueError) Fatal(name string) string {
	switch e.Kind {
	case "bool":
		return fmt.Sprintf("bad boolean configuration: %s = %s", name, e.Value)
	case "time":
		return fmt.Sprintf("parameter %s: bad time value or unit: %s", name, e.Value)
	}
	return fmt.Sprintf("bad numerical configuration: %s = %s", name, e.Value)
}

// ParseBool parses yes or no, ignoring letter case.
func ParseBool(s string) (bool, error) {
	switch {
	case strings.EqualFold(s, "yes"):
		return true, nil
	case strings.EqualFold(s, "no"):
		return false, nil
	}
	return false, &ValueError{Kind: "bool", Value: s}
}

// parseStrtol mimics a full-string strtol(3) in base 10 with the given
// bit size; ok is false for junk, an empty number or overflow.
func parseStrtol(s string, bits int) (int64, bool) {
	i := 0
	for i < len(s) && unitsIsCSpace(s[i]) {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	if i == len(s) {
		return 0, false
	}
	limit := uint64(1)<<(bits-1) - 1
	if neg {
		limit++
	}
	var n uint64
	for ; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
		if n > limit {
			return 0, false
		}
	}
	if neg {
		return -int64(n-1) - 1, true
	}
	return int64(n), true
}

// unitsIsCSpace is C's isspace in the C locale.
func unitsIsCSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

// ParseInt parses a decimal integer that fits in 32 bits.
func ParseInt(s string) (int, error) {
	n, ok := parseStrtol(s, 32)
	if !ok {
		return 0, &ValueError{Kind: "int", Value: s}
	}
	return int(n), nil
}

// ParseLong parses a decimal integer that fits in 64 bits.
func ParseLong(s string) (int64, error) {
	n, ok := parseStrtol(s, 64)
	if !ok {
		return 0, &ValueError{Kind: "long", Value: s}
	}
	return n, nil
}

// timeUnits maps a unit letter to its length in seconds.
var timeUnits = map[byte]int64{'s': 1, 'm': 60, 'h': 3600, 'd': 86400, 'w': 7 * 86400}

// ParseTime parses a time value; a bare number is in defUnit (one of
// s m h d w).
func ParseTime(s string, defUnit byte) (time.Duration, error) {
	secs, err := ParseTimeSeconds(s, defUnit)
	return time.Duration(secs) * time.Second, err
}

// ParseTimeSeconds is ParseTime in whole seconds, the way Postfix keeps
// time values.
func ParseTimeSeconds(s string, defUnit byte) (int, error) {
	bad := &ValueError{Kind: "time", Value: s}
	// strtol: leading space, sign, digits; the number must fit an int.
	i := 0
	for i < len(s) && unitsIsCSpace(s[i]) {
		i++
	}
	start := i
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	j := i
	for j < len(s) && s[j] >= '0' && s[j] <= '9' {
		j++
	}
	if j == i {
		return 0, bad
	}
	n, ok := parseStrtol(s[start:j], 32)
	if !ok || n < 0 {
		return 0, bad
	}
	unit := defUnit
	if j < len(s) {
		unit = s[j]
	}
	mult, ok := timeUnits[unit]
	if !ok {
		return 0, bad
	}
	if mult > 1 && n >= math.MaxInt32/mult {
		return 0, bad
	}
	return int(n * mult), nil
}

// IntRangeError returns Postfix's fatal text for an integer parameter
// outside [min, max] (a zero bound is not checked), or "" when v is inside.
func IntRangeError(name string, v, min, max int64) string {
	if min != 0 && v < min {
		return fmt.Sprintf("invalid %s parameter value %d < %d", name, v, min)
	}
	if max != 0 && v > max {
		return fmt.Sprintf("invalid %s parameter value %d > %d", name, v, max)
	}
	return ""
}

// TimeRangeError returns Postfix's fatal text for a time parameter (in
// seconds) outside [min, max] (a zero bound is not checked), or "".
func TimeRangeError(name string, secs, min, max int) string {
	if min != 0 && secs < min {
		return fmt.Sprintf("invalid %s: %d (min %d)", name, secs, min)
	}
	if max != 0 && secs > max {
		return fmt.Sprintf("invalid %s: %d (max %d)", name, secs, max)
	}
	return ""
}

// listSeparators are the characters that separate list items.
const listSeparators = " \t\r\n,"

// SplitList splits a list value into its items: separators are white space
// and commas, and a {...} group is one item (braces kept).
func SplitList(s string) []string {
	var out []string
	i := 0
	for {
		for i < len(s) && strings.IndexByte(listSeparators, s[i]) >= 0 {
			i++
		}
		if i >= len(s) {
			return out
		}
		start, level := i, 0
		for ; i < len(s); i++ {
			c := s[i]
			if c == '{' {
				level++
			} else if level > 0 && c == '}' {
				level--
			} else if level == 0 && strings.IndexByte(listSeparators, c) >= 0 {
				break
			}
		}
		out = append(out, s[start:i])
	}
}
