package smtpd

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/postfix-go/postfix/internal/maillog"
	"github.com/postfix-go/postfix/internal/msg"
)

// screenLine does to a command line what Postfix's smtpd does before it
// splits it into words, and reports false when the line has been
// answered:
//
//   - A line cut at line_length_limit is logged ("request longer than")
//     with its non-printable bytes masked as '?' (UTF-8 kept when
//     smtputf8_enable is on), and Postfix masks the line itself, not a
//     copy: the command that runs sees the '?'s (a TAB no longer
//     separates words, 8-bit bytes no longer reach a reply).
//   - With smtputf8_enable, a line that is not valid UTF-8 (Go's
//     utf8.ValidString: no overlong form, surrogate, code point above
//     U+10FFFF, stray or missing continuation byte), bytes after a NUL
//     included, is answered "500 5.5.2 Error: bad UTF-8 syntax". That
//     counts as an error toward smtpd_hard_error_limit but is neither
//     logged nor counted as a command (not even as unknown), and the
//     session's last command stays what it was.
func (s *session) screenLine(line string) (string, bool) {
	if s.rd.Truncated() {
		line = msg.PrintableFor(line, s.p.smtputf8)
		maillog.Warn("%s: request longer than %d: %s...", s.namaddr(), s.p.lineLimit, cBytes(line, 30))
	}
	if s.p.smtputf8 && !(utf8.ValidString(line) && utf8.ValidString(s.rd.Cut())) {
		s.errors++
		s.reply("500 5.5.2 Error: bad UTF-8 syntax")
		return line, false
	}
	return line, true
}

// cBytes is at most n bytes of t, as C's "%.Ns" prints it (Go's counts
// runes).
func cBytes(t string, n int) string {
	if len(t) > n {
		return t[:n]
	}
	return t
}

// escapeText is Postfix's escape(): client text made printable for a log
// line, a backslash doubled, \a \b \t \n \v \f \r by name, and every
// other byte outside printable ASCII (8-bit text too) in octal as \ooo.
func escapeText(t string) string {
	const named = "\a\b\t\n\v\f\r"
	const names = "abtnvfr"
	var b []byte
	for i := 0; i < len(t); i++ {
		c := t[i]
		switch {
		case c == '\\':
			b = append(b, '\\', '\\')
		case c >= 0x20 && c < 0x7f:
			b = append(b, c)
		default:
			if j := strings.IndexByte(named, c); j >= 0 {
				b = append(b, '\\', names[j])
			} else {
				b = fmt.Appendf(b, "\\%03o", c)
			}
		}
	}
	return string(b)
}
