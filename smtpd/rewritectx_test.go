package smtpd

import (
	"path/filepath"
	"strings"
	"testing"
)

// The differential tests of local_header_rewrite_clients: Postfix's smtpd
// judges the list on every MAIL command, after the sender restrictions
// and before it records the sender. A table that cannot be used fails
// MAIL with a 451 reply and a reject line without from=<...>; otherwise
// the verdict becomes the queue file's rewrite_context.

// TestRewriteClientsTableFailureMatchesPostfix: a table that cannot be
// opened (451 4.3.0 on every MAIL), an empty lookup result (451 4.3.5),
// sender restrictions that reject first, and a word that is not a
// restriction, compared with Debian's smtpd reply by reply and log line
// by log line.
func TestRewriteClientsTableFailureMatchesPostfix(t *testing.T) {
	t.Parallel()
	// The same path on both sides, so the log lines that name it match.
	missing := "hash:" + filepath.Join(t.TempDir(), "missing")
	for _, tc := range []struct {
		name, main string
		steps      []step
	}{
		{"missing-table", "local_header_rewrite_clients = " + missing + "\n",
			cmds("EHLO client.example", "MAIL FROM:<sender@example.org>", "RCPT TO:<root@mx.example.test>",
				"MAIL FROM:<sender@example.org>", "RSET", "MAIL FROM:<>", "QUIT")},
		{"missing-table-after-mynetworks", "local_header_rewrite_clients = permit_mynetworks, " + missing + "\n",
			cmds("EHLO client.example", "MAIL FROM:<sender@example.org>", "QUIT")},
		{"empty-result", "local_header_rewrite_clients = inline:{{127.0.0.1=}}\n",
			cmds("EHLO client.example", "MAIL FROM:<sender@example.org>", "MAIL FROM:<sender@example.org>", "QUIT")},
		{"sender-rejected-first", "local_header_rewrite_clients = inline:{{127.0.0.1=}}\n" +
			"smtpd_delay_reject = no\nsmtpd_sender_restrictions = reject\n",
			cmds("EHLO client.example", "MAIL FROM:<sender@example.org>", "RCPT TO:<root@mx.example.test>", "QUIT")},
		{"sender-delayed", "local_header_rewrite_clients = " + missing + "\n" +
			"smtpd_sender_restrictions = reject\n",
			cmds("EHLO client.example", "MAIL FROM:<sender@example.org>", "QUIT")},
		{"unknown-word", "local_header_rewrite_clients = permit_nothing, static:yes\n",
			cmds("EHLO client.example", "MAIL FROM:<sender@example.org>", "RSET", "MAIL FROM:<sender@example.org>",
				"RCPT TO:<root@mx.example.test>", "DATA", "Subject: x\r\n\r\nbody\r\n.", "QUIT")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ours, ref := startPair(t, baseMain+"smtpd_soft_error_limit = 100\n"+tc.main, "")
			compare(t, ours, ref, tc.steps)
			waitLogs(t, ours, ref, 2)
		})
	}
}

// TestRewriteContextQueueFileMatchesPostfix: the verdict reaches the
// queue file as rewrite_context (local or remote), decided for the
// client of each MAIL (XCLIENT changes it in mid-session).
func TestRewriteContextQueueFileMatchesPostfix(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, main string
		pre        []string
		ctx        string
	}{
		{"remote", "local_header_rewrite_clients =\n", nil, "remote"},
		{"local-table", "local_header_rewrite_clients = inline:{{127.0.0.1=yes}}\n", nil, "local"},
		{"inet-interfaces", "", nil, "local"},
		// permit_mynetworks judges the client XCLIENT announced.
		{"xclient-remote", "local_header_rewrite_clients = permit_mynetworks\nsmtpd_authorized_xclient_hosts = 127.0.0.1\n",
			[]string{"XCLIENT ADDR=192.0.2.7 NAME=[UNAVAILABLE] REVERSE_NAME=[UNAVAILABLE]"}, "remote"},
		{"xclient-local", "local_header_rewrite_clients = permit_mynetworks\nsmtpd_authorized_xclient_hosts = 127.0.0.1, 192.0.2.7\n",
			[]string{"XCLIENT ADDR=192.0.2.7 NAME=[UNAVAILABLE] REVERSE_NAME=[UNAVAILABLE]", "EHLO client.example",
				"XCLIENT ADDR=127.0.0.1 NAME=localhost REVERSE_NAME=localhost"}, "local"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			main := holdMain
			if tc.pre != nil {
				// The client XCLIENT announces is not in mynetworks.
				main = baseMain + "smtpd_recipient_restrictions = check_recipient_access inline:{postmaster@mx.example.test=HOLD}, permit\n"
			}
			ours, ref := startPair(t, main+tc.main, "")
			lines := append([]string{"EHLO client.example"}, tc.pre...)
			lines = append(lines, "EHLO client.example", "MAIL FROM:<sender@example.org>",
				"RCPT TO:<postmaster@mx.example.test>", "DATA", "From: sender\r\nTo: someone\r\nSubject: ctx\r\n\r\nbody\r\n.", "QUIT")
			compare(t, ours, ref, cmds(lines...))
			got, want := heldFile(t, ours), heldFile(t, ref)
			if got != want {
				t.Errorf("queue files differ\n--- ours:\n%s\n--- Postfix:\n%s", got, want)
			}
			if !strings.Contains(want, "rewrite_context="+tc.ctx+"\n") {
				t.Errorf("Postfix's queue file has not rewrite_context=%s:\n%s", tc.ctx, want)
			}
			waitLogs(t, ours, ref, 2)
		})
	}
}
