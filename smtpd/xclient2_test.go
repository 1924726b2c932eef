package smtpd

import (
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/postfix-go/postfix/internal/flowtest"
	"github.com/postfix-go/postfix/internal/xsasl/sasltest"
)

// xclientHoldMain holds every message for postmaster and lets the
// loopback client use XCLIENT.
const xclientHoldMain = baseMain + "smtpd_authorized_xclient_hosts = 127.0.0.1\n" +
	"smtpd_recipient_restrictions = check_recipient_access inline:{postmaster@mx.example.test=HOLD}, permit_inet_interfaces, reject\n"

// TestXclientQueueFileMatchesPostfix compares, with Debian's smtpd, what
// XCLIENT changes in the queue file and in the restrictions:
//   - permit_inet_interfaces (a recipient restriction and the default
//     local_header_rewrite_clients) judges the address the connection
//     really came from, not the one XCLIENT announces, so the client
//     stays permitted and rewrite_context stays local;
//   - NAME with a host name sets the reverse name too (a later
//     REVERSE_NAME overrides it, an earlier one does not survive it);
//     NAME=[UNAVAILABLE] or [TEMPUNAVAIL] sets the verified name only
//     and the reverse name keeps its value from the connection.
func TestXclientQueueFileMatchesPostfix(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, xclient string }{
		{"addr", "XCLIENT ADDR=192.0.2.7 NAME=[UNAVAILABLE] REVERSE_NAME=[UNAVAILABLE]"},
		{"name-unavailable", "XCLIENT NAME=[UNAVAILABLE]"},
		{"name-tempunavail", "XCLIENT ADDR=192.0.2.8 NAME=[TEMPUNAVAIL]"},
		{"name-given", "XCLIENT NAME=client.example.org"},
		{"reverse-only", "XCLIENT REVERSE_NAME=rev.example.org"},
		{"reverse-then-name", "XCLIENT REVERSE_NAME=rev.example.org NAME=client.example.org"},
		{"name-then-reverse-unavailable", "XCLIENT NAME=client.example.org REVERSE_NAME=[UNAVAILABLE]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ours, ref := startPair(t, xclientHoldMain, "")
			compare(t, ours, ref, cmds("EHLO client.example", tc.xclient, "EHLO client.example",
				"MAIL FROM:<sender@example.org>", "RCPT TO:<root@mx.example.test>",
				"RCPT TO:<postmaster@mx.example.test>", "DATA",
				"From: sender\r\nTo: someone\r\nSubject: xclient\r\n\r\nbody\r\n.", "QUIT"))
			got, want := heldFile(t, ours), heldFile(t, ref)
			if got != want {
				t.Errorf("queue files differ\n--- ours:\n%s\n--- Postfix:\n%s", got, want)
			}
			waitLogs(t, ours, ref, 2)
		})
	}
}

// TestAuthTrailingCRMatchesPostfix: Postfix removes every CR before the
// LF of a line it reads, so an AUTH response, an AUTH initial response
// and an ordinary command ending in "\r\r\n" work as without the extra
// CR, and "*\r" still cancels the exchange.
func TestAuthTrailingCRMatchesPostfix(t *testing.T) {
	t.Parallel()
	user, pass := sasltest.AddUser(t)
	sa := sasltest.StartSaslauthd(t, "")
	setup := func(s *flowtest.System) {
		dir := filepath.Join(s.Etc, "sasl")
		os.MkdirAll(dir, 0o755)
		sasltest.WriteSmtpdConf(t, dir, sa.Socket, "plain login")
	}
	main := baseMain + "smtpd_sasl_auth_enable = yes\nsmtpd_soft_error_limit = 100\n"
	ours, ref := startPair(t, main, "", setup)
	plain := base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + pass))
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	for _, d := range [][]string{
		{"EHLO c\r", "AUTH LOGIN", "*\r", "AUTH PLAIN", plain + "\r\r", "NOOP\r", "QUIT\r"},
		{"EHLO c", "AUTH LOGIN", b64(user) + "\r", "*\r\r", "AUTH PLAIN " + plain + "\r", "RSET\r", "QUIT"},
		{"EHLO c", "AUTH LOGIN " + b64(user) + "\r", b64(pass) + "\r", "MAIL FROM:<a@example.com>\r", "QUIT"},
		{"EHLO c", "AUTH PLAIN", "\r", "AUTH PLAIN =\r", "QUIT"},
	} {
		compare(t, ours, ref, cmds(d...))
	}
	waitLogs(t, ours, ref, 4)
}

// TestXclientNameStatusMatchesPostfix: NAME and REVERSE_NAME markers set
// the lookup status reject_unknown_client_hostname and
// reject_unknown_reverse_client_hostname judge: [TEMPUNAVAIL] a temporary
// failure (450), [UNAVAILABLE] a permanent one (the configured code).
func TestXclientNameStatusMatchesPostfix(t *testing.T) {
	t.Parallel()
	main := baseMain + "smtpd_authorized_xclient_hosts = 127.0.0.1\nsmtpd_soft_error_limit = 100\n" +
		"unknown_client_reject_code = 550\n" +
		"smtpd_sender_restrictions = reject_unknown_reverse_client_hostname\n" +
		"smtpd_recipient_restrictions = reject_unknown_client_hostname, permit\n"
	ours, ref := startPair(t, main, "")
	for _, x := range []string{
		"XCLIENT NAME=[TEMPUNAVAIL] REVERSE_NAME=[TEMPUNAVAIL]",
		"XCLIENT NAME=[UNAVAILABLE] REVERSE_NAME=[UNAVAILABLE]",
		"XCLIENT NAME=[TEMPUNAVAIL]",
		"XCLIENT NAME=[UNAVAILABLE]",
		"XCLIENT NAME=client.example.org REVERSE_NAME=[TEMPUNAVAIL]",
	} {
		compare(t, ours, ref, cmds("EHLO c", x, "EHLO c", "MAIL FROM:<a@example.com>",
			"RCPT TO:<root@mx.example.test>", "QUIT"))
	}
	waitLogs(t, ours, ref, 6)
}

// TestXforwardSourceMatchesPostfix: XFORWARD SOURCE decides the queue
// file's rewrite_context whatever local_header_rewrite_clients says:
// LOCAL (any case, or [UNAVAILABLE]) is local, REMOTE remote; another
// value is refused with 501.
func TestXforwardSourceMatchesPostfix(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, main, xforward string }{
		{"remote-over-inet-interfaces", "", "XFORWARD SOURCE=REMOTE"},
		{"local-over-empty-list", "local_header_rewrite_clients =\n", "XFORWARD SOURCE=local"},
		{"unavailable", "local_header_rewrite_clients =\n", "XFORWARD SOURCE=[UNAVAILABLE]"},
		{"tempunavail", "local_header_rewrite_clients =\n", "XFORWARD SOURCE=[TEMPUNAVAIL]"},
		{"bogus", "", "XFORWARD NAME=a.example SOURCE=bogus"},
		{"empty", "", "XFORWARD SOURCE="},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ours, ref := startPair(t, xclientHoldMain+"smtpd_authorized_xforward_hosts = 127.0.0.0/8\n"+tc.main, "")
			compare(t, ours, ref, cmds("EHLO client.example", tc.xforward,
				"MAIL FROM:<sender@example.org>", "RCPT TO:<postmaster@mx.example.test>", "DATA",
				"From: sender\r\nSubject: xforward\r\n\r\nbody\r\n.", "QUIT"))
			got, want := heldFile(t, ours), heldFile(t, ref)
			if got != want {
				t.Errorf("queue files differ\n--- ours:\n%s\n--- Postfix:\n%s", got, want)
			}
			waitLogs(t, ours, ref, 2)
		})
	}
}

// TestXattrSyntaxMatchesPostfix: XCLIENT and XFORWARD attributes with an
// empty value or no name.
func TestXattrSyntaxMatchesPostfix(t *testing.T) {
	t.Parallel()
	ours, ref := startPair(t, baseMain+"smtpd_soft_error_limit = 100\nsmtpd_authorized_xclient_hosts = 127.0.0.1\nsmtpd_authorized_xforward_hosts = 127.0.0.0/8\n", "")
	compare(t, ours, ref, cmds("EHLO c", "XFORWARD SOURCE=", "XFORWARD NAME=", "XFORWARD =x", "XFORWARD NAME",
		"XFORWARD NAME=a.example ADDR=", "XFORWARD IDENT=[UNAVAILABLE]",
		"XCLIENT =x", "XCLIENT NAME", "XCLIENT LOGIN=", "QUIT"))
	waitLogs(t, ours, ref, 2)
}

// TestXforwardResetMatchesPostfix: what XFORWARD says holds for one mail
// transaction: the next message, or the one after RSET, a new EHLO or
// XCLIENT,
// is logged for the client itself again.
func TestXforwardResetMatchesPostfix(t *testing.T) {
	t.Parallel()
	ours, ref := startPair(t, baseMain+"smtpd_authorized_xforward_hosts = 127.0.0.0/8\nsmtpd_authorized_xclient_hosts = 127.0.0.1\n", "")
	msg := []string{"MAIL FROM:<a@example.com>", "RCPT TO:<root@mx.example.test>", "DATA", "Subject: x\r\n\r\nhi\r\n."}
	lines := []string{"EHLO c", "XFORWARD NAME=a.example ADDR=192.0.2.9 IDENT=abc"}
	lines = append(lines, msg...)
	lines = append(lines, msg...)
	lines = append(lines, "XFORWARD NAME=b.example ADDR=192.0.2.10", "RSET")
	lines = append(lines, msg...)
	lines = append(lines, "XFORWARD NAME=c.example ADDR=192.0.2.11", "EHLO c")
	lines = append(lines, msg...)
	lines = append(lines, "XFORWARD NAME=d.example ADDR=192.0.2.12", "XCLIENT HELO=x.example")
	lines = append(lines, msg...)
	lines = append(lines, "QUIT")
	compare(t, ours, ref, cmds(lines...))
	waitLogs(t, ours, ref, 2)
}

// TestStandaloneMaildropMatchesPostfix: sendmail -bs (smtpd -S) writes
// the maildrop file without a rewrite_context record, as Debian's does.
// pickup is left out of master.cf so the file stays to be read.
func TestStandaloneMaildropMatchesPostfix(t *testing.T) {
	t.Parallel()
	noPickup := func(s *flowtest.System) {
		p := filepath.Join(s.Etc, "master.cf")
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		b = regexp.MustCompile(`(?m)^pickup\s.*\n`).ReplaceAll(b, nil)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ours, ref := startPair(t, baseMain, "", noPickup)
	in := "EHLO client.example\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<root@mx.example.test>\r\nDATA\r\nSubject: bs\r\n\r\nhi\r\n.\r\nQUIT\r\n"
	var files [2]string
	for i, s := range []*system{ours, ref} {
		r := s.Command("sendmail", in, "-bs")
		if r.Exit != 0 {
			t.Fatalf("sendmail -bs: exit %d\n%s%s", r.Exit, r.Stdout, r.Stderr)
		}
		files[i] = maildropFile(t, s)
	}
	if files[0] != files[1] {
		t.Errorf("maildrop files differ\n--- ours:\n%s\n--- Postfix:\n%s", files[0], files[1])
	}
	if strings.Contains(files[1], "rewrite_context") {
		t.Errorf("Postfix's maildrop file has a rewrite_context:\n%s", files[1])
	}
}

// maildropFile waits for one file in the maildrop queue and returns its
// postcat listing, masked.
func maildropFile(t *testing.T, s *system) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		files, _ := filepath.Glob(filepath.Join(s.Queue, "maildrop", "*"))
		if len(files) == 1 {
			out, err := exec.Command("/usr/sbin/postcat", "-c", s.Etc, "-v", files[0]).CombinedOutput()
			if err != nil {
				t.Fatalf("postcat: %v\n%s", err, out)
			}
			return maskQueueFile(strings.ReplaceAll(string(out), files[0], "FILE"))
		}
		if time.Now().After(deadline) {
			t.Fatalf("no maildrop file (%d files):\n%s", len(files), s.LogText())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
