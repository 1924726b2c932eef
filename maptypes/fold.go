package maptypes

import (
	"strings"
	"unicode/utf8"

	"golang.org/x/text/cases"
)

// Fold returns key in lower case the way Postfix folds lookup keys: ASCII
// only when utf8 is false, full Unicode case folding (as ICU's default
// folding, so "ß" becomes "ss") when it is true.
func Fold(key string, utf8Mode bool) string {
	ascii := true
	upper := false
	for i := 0; i < len(key); i++ {
		c := key[i]
		if c >= 0x80 {
			ascii = false
			break
		}
		if 'A' <= c && c <= 'Z' {
			upper = true
		}
	}
	if ascii || !utf8Mode {
		if !upper && ascii {
			return key
		}
		b := []byte(key)
		for i, c := range b {
			if 'A' <= c && c <= 'Z' {
				b[i] = c + 'a' - 'A'
			}
		}
		return string(b)
	}
	if !utf8.ValidString(key) {
		return Fold(key, false)
	}
	return cases.Fold().String(key)
}

// fixedFold folds key when flags ask for fixed-string folding.
func fixedFold(key string, flags OpenFlags) string {
	if flags&FoldFixed == 0 {
		return key
	}
	return Fold(key, flags&UTF8 != 0)
}

// Printable returns s with control characters and invalid UTF-8 bytes
// replaced by '?', as Postfix sanitizes text in diagnostics.
func Printable(s string) string {
	ok := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f || c >= 0x80 {
			ok = false
			break
		}
	}
	if ok {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n <= 1:
			b.WriteByte('?')
			n = 1
		case r < 0x20 || r == 0x7f:
			b.WriteByte('?')
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// PrintableText is Printable for diagnostics: with utf8Mode false every
// non-ASCII byte also becomes '?', as Postfix prints when SMTPUTF8 is off.
func PrintableText(s string, utf8Mode bool) string {
	if utf8Mode {
		return Printable(s)
	}
	b := []byte(s)
	for i, c := range b {
		if c < 0x20 || c >= 0x7f {
			b[i] = '?'
		}
	}
	return string(b)
}
