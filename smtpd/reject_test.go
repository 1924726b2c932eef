package smtpd

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/postfix-go/postfix/internal/flowtest"
)

// TestJailedRejectsMatchPostfix runs smtpd in the chroot jail, as
// Debian's master.cf does, with the default local_recipient_maps
// (proxy:unix:passwd.byname $alias_maps) and smtpd_delay_reject = no, and
// compares replies and log lines with Postfix's:
//   - root (a passwd entry) and webmaster (an alias) are accepted, a name
//     in neither table is refused. Postfix asks proxymap for the passwd
//     entry; ours answers from /etc/passwd as read before the chroot
//     (before, every recipient got "451 4.3.0 Temporary lookup failure").
//   - XCLIENT re-runs the client restrictions for the client it announces
//     and forgets the HELO name, protocol and login; a reject replaces the
//     greeting, and then every later command but QUIT, known or not, gets
//     "503 5.7.0 Error: access denied for NAME[ADDR]" (the connect-time
//     reject is TestImmediateRejectMatchesPostfix).
func TestJailedRejectsMatchPostfix(t *testing.T) {
	t.Parallel()
	main := baseMain + "smtpd_delay_reject = no\nsmtpd_authorized_xclient_hosts = 127.0.0.0/8\n" +
		"smtpd_soft_error_limit = 100\nsmtpd_hard_error_limit = 100\n" +
		"smtpd_client_restrictions = check_client_access inline:{{127.0.0.2=REJECT go away}}, reject_unknown_client_hostname\n"
	ours, ref := startPair(t, main, "inet n - y - - smtpd", func(s *flowtest.System) {
		s.WriteFile("aliases", "postmaster: root\nMAILER-DAEMON: postmaster\nwebmaster: root\n")
		// As Debian's postfix start-up script does: the jail gets the
		// files name lookups need.
		jailFiles(t, s.Queue, "/etc/hosts", "/etc/nsswitch.conf")
	})
	for _, d := range [][]string{
		{"EHLO c", "MAIL FROM:<a@example.com>", "RCPT TO:<root@mx.example.test>", "RCPT TO:<webmaster@mx.example.test>",
			"RCPT TO:<WebMaster@localhost>", "RCPT TO:<nobody-here@mx.example.test>", "RCPT TO:<root@localhost>", "QUIT"},
		{"EHLO c", "XCLIENT ADDR=127.0.0.2 NAME=client.example", "EHLO c", "HELO c", "MAIL FROM:<a@example.com>",
			"RCPT TO:<root@mx.example.test>", "DATA", "BDAT 1 LAST", "RSET", "NOOP", "VRFY root", "ETRN example.com",
			"HELP", "STARTTLS", "AUTH PLAIN", "XCLIENT NAME=x", "XFORWARD NAME=x", "FOO", "", "QUIT"},
		{"EHLO c", "XCLIENT ADDR=192.0.2.9 NAME=[TEMPUNAVAIL]", "HELO c", "XCLIENT ADDR=192.0.2.10", "GET / HTTP/1.0"},
		{"XCLIENT ADDR=192.0.2.11 NAME=[UNAVAILABLE] PROTO=ESMTP HELO=h.example", "MAIL FROM:<a@example.com>", "QUIT"},
		{"EHLO c", "XCLIENT ADDR=192.0.2.12 NAME=ok.example", "MAIL FROM:<a@example.com>", "RCPT TO:<x@elsewhere.example>", "QUIT"},
	} {
		compare(t, ours, ref, cmds(d...))
	}
	waitLogs(t, ours, ref, 6)
}

// jailFiles copies files into the chroot jail dir under the same names.
func jailFiles(t *testing.T, dir string, files ...string) {
	t.Helper()
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
