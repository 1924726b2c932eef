package smtpd

import (
	"testing"
)

// TestXclientXforwardMatchesPostfix compares XCLIENT and XFORWARD for an
// authorized client, and the queue file written for a message received
// after both (held, so it can be read).
func TestXclientXforwardMatchesPostfix(t *testing.T) {
	t.Parallel()
	ours, ref := startPair(t, baseMain+"smtpd_recipient_restrictions = check_recipient_access inline:{postmaster@mx.example.test=HOLD}, permit\nsmtpd_authorized_xclient_hosts = 127.0.0.1\nsmtpd_authorized_xforward_hosts = 127.0.0.0/8\n", "")
	steps := append(cmds("EHLO c", "XCLIENT", "XCLIENT FOO=bar", "XCLIENT PROTO=FOO", "XCLIENT ADDR=bogus",
		"XCLIENT NAME=client.example ADDR=192.0.2.1 PORT=1234 PROTO=ESMTP HELO=h.example",
		"EHLO x", "XFORWARD", "XFORWARD FOO=1",
		"XFORWARD NAME=orig.example ADDR=198.51.100.7 PORT=25 PROTO=SMTP HELO=orig.example IDENT=abc SOURCE=REMOTE",
		"MAIL FROM:<a@example.com>", "XFORWARD NAME=x", "RCPT TO:<postmaster@mx.example.test>", "DATA"),
		step{send: "Subject: fwd\r\n\r\nhi\r\n.\r\n", replies: 1}, step{send: "QUIT\r\n", replies: 1})
	compare(t, ours, ref, steps)
	waitLogs(t, ours, ref, 2)
	if got, want := heldFile(t, ours), heldFile(t, ref); got != want {
		t.Errorf("queue files differ\n--- ours:\n%s\n--- Postfix:\n%s", got, want)
	}
}
