package tlsutil

import (
	"fmt"
	"strings"

	"github.com/postfix-go/postfix/internal/maillog"
)

// Error is a TLS setting that Postfix refuses, with the lines Postfix's
// smtpd logs about it (checked against Debian's Postfix 3.7).
//
// When Session is false, Postfix finds the problem when the process
// starts: it logs Lines once and answers every STARTTLS with "454 4.7.0
// TLS not available due to local problem". When Session is true (cipher
// settings), Postfix notices only when a client sends STARTTLS: it
// answers "220 2.0.0 Ready to start TLS", logs each line after
// "host[addr]: ", and the handshake fails.
type Error struct {
	Lines   []Line
	Session bool
}

// Line is one log line of an Error: a warning ("warning: " before the
// text) or, where Postfix logs it so, a plain informational line.
type Line struct {
	Warning bool
	Text    string
}

// Error joins the lines' texts.
func (e *Error) Error() string {
	t := make([]string, len(e.Lines))
	for i, l := range e.Lines {
		t[i] = l.Text
	}
	return strings.Join(t, "; ")
}

// Log writes the lines to the mail log through maillog, each after
// prefix (e.g. "localhost[127.0.0.1]: " for a Session error, "" else).
func (e *Error) Log(prefix string) {
	for _, l := range e.Lines {
		if l.Warning {
			maillog.Warn("%s%s", prefix, l.Text)
		} else {
			maillog.Info("%s%s", prefix, l.Text)
		}
	}
}

func warnErr(format string, args ...any) *Error {
	return &Error{Lines: []Line{{true, fmt.Sprintf(format, args...)}}}
}

// with appends a warning line.
func (e *Error) with(format string, args ...any) *Error {
	e.Lines = append(e.Lines, Line{true, fmt.Sprintf(format, args...)})
	return e
}

// Warn logs a problem that Postfix only warns about and that leaves TLS
// working (e.g. legacy certificate parameters ignored beside
// smtpd_tls_chain_files). Tests may replace it.
var Warn = func(text string) { maillog.Warn("%s", text) }
