package maptypes

import (
	"unicode/utf8"

	"golang.org/x/text/cases"

	"github.com/postfix-go/postfix/internal/msg"
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

// Printable returns s as Postfix shows it in a diagnostic with SMTPUTF8
// on: bytes that are not printable ASCII become '?', UTF-8 sequences stay
// (msg.PrintableFor has the exact rule).
func Printable(s string) string { return msg.PrintableFor(s, true) }

// PrintableText is Printable for diagnostics: with utf8Mode false every
// non-ASCII byte also becomes '?', as Postfix prints when SMTPUTF8 is off.
func PrintableText(s string, utf8Mode bool) string { return msg.PrintableFor(s, utf8Mode) }
