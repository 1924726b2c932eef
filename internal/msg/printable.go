package msg

import "sync/atomic"

// utf8Log says whether Printable keeps UTF-8 sequences; see SetUTF8.
var utf8Log atomic.Bool

// SetUTF8 says whether log lines and diagnostics may carry UTF-8: a
// process that has read main.cf passes smtputf8_enable here, as Postfix's
// daemons and postmap, postalias, sendmail, postdrop, postqueue and
// postfix(1) do once their parameters are read. Until then, and in a
// program that never says (postconf), every byte above 0x7e is masked.
func SetUTF8(on bool) { utf8Log.Store(on) }

// UTF8 reports what SetUTF8 last set.
func UTF8() bool { return utf8Log.Load() }

// Printable returns text as Postfix writes it into a log line or a
// diagnostic: every byte that is not printable ASCII (0x20 to 0x7e)
// becomes '?', so no control character that came from a client, a file
// name or a table (ESC sequences, CR, LF, TAB, DEL, NUL) ever reaches a
// terminal or a log file. With SetUTF8(true), a byte from 0xc2 to 0xfe
// followed by one or more continuation bytes (0x80 to 0xbf) is kept with
// all of those continuation bytes, as Postfix 3.7 keeps them: the shape of
// the sequence is checked, not its length or its code point, so a
// surrogate or a code point above U+10FFFF passes while an overlong 0xc0
// or 0xc1 lead, a stray continuation byte and a lead byte without
// continuation each become one '?'. Text with nothing to mask is returned
// as it is, without a copy.
func Printable(text string) string { return printableRepl(text, utf8Log.Load(), '?') }

// PrintableFor is Printable with the UTF-8 rule given rather than taken
// from SetUTF8.
func PrintableFor(text string, utf8 bool) string { return printableRepl(text, utf8, '?') }

// PrintableRepl is PrintableFor with repl in place of '?': Postfix's
// smtpd masks the text of a restriction's reply with spaces.
func PrintableRepl(text string, utf8 bool, repl byte) string {
	return printableRepl(text, utf8, repl)
}

func printableRepl(text string, utf8 bool, repl byte) string {
	i := 0
	for i < len(text) && isPrint(text[i]) {
		i++
	}
	if i == len(text) {
		return text
	}
	b := []byte(text)
	for i < len(b) {
		c := b[i]
		switch {
		case isPrint(c):
			i++
		case utf8 && c >= 0xc2 && c <= 0xfe && i+1 < len(b) && isCont(b[i+1]):
			i += 2
			for i < len(b) && isCont(b[i]) {
				i++
			}
		default:
			b[i] = repl
			i++
		}
	}
	return string(b)
}

func isPrint(c byte) bool { return c >= 0x20 && c <= 0x7e }

func isCont(c byte) bool { return c >= 0x80 && c <= 0xbf }
