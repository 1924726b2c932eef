package smtpd

import (
	"bufio"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/postfix-go/postfix/internal/flowtest"
	"github.com/postfix-go/postfix/internal/xsasl/sasltest"
)

// submissionDialogue is the guides' submission session: refused before
// STARTTLS, then AUTH over TLS with wrong and right passwords, then relay.
func submissionDialogue(t *testing.T, addr, user, pass string) string {
	c := dial(t, addr)
	var b strings.Builder
	b.WriteString(c.reply(5 * time.Second))
	say := func(l string) {
		c.send(l + "\r\n")
		fmt.Fprintf(&b, ">> %q\n", l)
		b.WriteString(c.reply(5 * time.Second))
	}
	for _, l := range []string{"EHLO c", "MAIL FROM:<a@example.com>", "AUTH PLAIN AGFhAGI=", "NOOP", "STARTTLS"} {
		say(l)
	}
	tc := tls.Client(c.c, &tls.Config{InsecureSkipVerify: true})
	if err := tc.Handshake(); err != nil {
		t.Fatalf("handshake with %s: %v", addr, err)
	}
	c.c, c.br = tc, bufio.NewReader(tc)
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	for _, l := range []string{
		"EHLO c", "AUTH", "AUTH FOO", "AUTH PLAIN !!!", "AUTH PLAIN", "*",
		"AUTH PLAIN " + b64("\x00"+user+"\x00wrong"),
		"AUTH LOGIN", "*",
		"AUTH LOGIN", b64(user), "@@@",
		"AUTH LOGIN", b64(user), b64(pass),
		"AUTH PLAIN " + b64("\x00"+user+"\x00"+pass),
		"MAIL FROM:<a@example.com> AUTH=<>", "RCPT TO:<x@elsewhere.example>", "RCPT TO:<root@mx.example.test>", "DATA",
		"Subject: auth\r\n\r\nhi\r\n.", "QUIT",
	} {
		say(l)
	}
	return b.String()
}

// TestSubmissionAuthMatchesPostfix runs the guides' submission setup
// (TLS required, AUTH PLAIN and LOGIN checked by a real saslauthd) on both
// systems and compares replies and log lines.
func TestSubmissionAuthMatchesPostfix(t *testing.T) {
	t.Parallel()
	user, pass := sasltest.AddUser(t)
	sa := sasltest.StartSaslauthd(t, "")
	// smtpd.conf where Debian's libsasl2 looks by default: ETC/sasl.
	setup := func(s *flowtest.System) {
		dir := filepath.Join(s.Etc, "sasl")
		os.MkdirAll(dir, 0o755)
		sasltest.WriteSmtpdConf(t, dir, sa.Socket, "plain login")
	}
	main := baseMain + tlsMain(t, "encrypt") + "smtpd_sasl_auth_enable = yes\nsmtpd_sasl_authenticated_header = yes\n" +
		"smtpd_relay_restrictions = permit_sasl_authenticated, reject_unauth_destination\n" +
		"smtpd_soft_error_limit = 100\nsmtpd_hard_error_limit = 100\n"
	ours, ref := startPair(t, main, "", setup)
	var got, want string
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		want = mask(submissionDialogue(t, ref.addr, user, pass))
	}()
	got = mask(submissionDialogue(t, ours.addr, user, pass))
	wg.Wait()
	if got != want {
		t.Errorf("submission dialogue differs\n--- ours:\n%s\n--- Postfix:\n%s", got, want)
	}
	waitLogs(t, ours, ref, 2)
	if got, want := mailbox(t, ours, "root"), mailbox(t, ref, "root"); got != want {
		t.Errorf("delivered message differs\n--- ours:\n%s\n--- Postfix:\n%s", got, want)
	}
}

// TestAuthRateLimitMatchesPostfix compares smtpd_client_auth_rate_limit.
func TestAuthRateLimitMatchesPostfix(t *testing.T) {
	t.Parallel()
	user, _ := sasltest.AddUser(t)
	sa := sasltest.StartSaslauthd(t, "")
	setup := func(s *flowtest.System) {
		dir := filepath.Join(s.Etc, "sasl")
		os.MkdirAll(dir, 0o755)
		sasltest.WriteSmtpdConf(t, dir, sa.Socket, "plain login")
	}
	main := baseMain + "smtpd_sasl_auth_enable = yes\nsmtpd_client_event_limit_exceptions =\nsmtpd_client_auth_rate_limit = 2\n"
	ours, ref := startPair(t, main, "", setup)
	bad := "AUTH PLAIN " + base64.StdEncoding.EncodeToString([]byte("\x00"+user+"\x00wrong"))
	compare(t, ours, ref, cmds("EHLO c", bad, bad, bad, "QUIT"))
	waitLogs(t, ours, ref, 2)
}
