package smtpd

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/postfix-go/postfix/internal/flowtest"
	"github.com/postfix-go/postfix/internal/xsasl/sasltest"
)

// TestSASLMatchesPostfix runs both systems with SASL through a real
// saslauthd and compares replies, log lines and the delivered messages:
//   - the mechanism is logged as the client typed it (sasl_method=plain);
//   - MAIL's AUTH=<addr> becomes sasl_sender, as the client wrote it
//     (xtext), only for a client that has logged in, and not for "<>";
//   - reject_sender_login_mismatch judges the login name, not AUTH=;
//   - smtpd_sasl_authenticated_header;
//   - smtpd_sasl_exceptions_networks (with a negation) keeps EHLO from
//     announcing AUTH but does not disable the AUTH command, and follows
//     the client XCLIENT announces; XCLIENT forgets the login.
func TestSASLMatchesPostfix(t *testing.T) {
	t.Parallel()
	user, pass := sasltest.AddUser(t)
	sa := sasltest.StartSaslauthd(t, "")
	setup := func(s *flowtest.System) {
		dir := filepath.Join(s.Etc, "sasl")
		os.MkdirAll(dir, 0o755)
		sasltest.WriteSmtpdConf(t, dir, sa.Socket, "plain login")
	}
	main := baseMain + "smtpd_sasl_auth_enable = yes\nsmtpd_soft_error_limit = 100\n" +
		"smtpd_sasl_authenticated_header = yes\n" +
		"smtpd_sender_login_maps = inline:{{a@example.com=" + user + "}, {own@example.com=" + user + "}, {other@example.com=someone}}\n" +
		"smtpd_sender_restrictions = reject_sender_login_mismatch\n" +
		"smtpd_sasl_exceptions_networks = !192.0.2.6, 192.0.2.0/24, 127.0.0.2\n" +
		"smtpd_authorized_xclient_hosts = 127.0.0.0/8, 192.0.2.0/24\n"
	ours, ref := startPair(t, main, "", setup)
	plain := base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + pass))
	compare(t, ours, ref, cmds("EHLO c", "MAIL FROM:<a@example.com> AUTH=<>", "RSET",
		"MAIL FROM:<a@example.com> AUTH=someone@example.com", "RSET",
		"auth plain "+plain,
		"MAIL FROM:<a@example.com> AUTH=bad+zz", "RSET",
		"MAIL FROM:<own@example.com> AUTH=other@example.com", "RSET",
		"MAIL FROM:<other@example.com> AUTH=own@example.com", "RCPT TO:<root@mx.example.test>", "RSET",
		"MAIL FROM:<a@example.com> AUTH=sender+2Bx@example.com", "RCPT TO:<root@mx.example.test>", "DATA",
		"Subject: sasl sender\r\n\r\nhi\r\n.",
		"MAIL FROM:<a@example.com> AUTH=<>", "RCPT TO:<root@mx.example.test>", "DATA",
		"Subject: null auth\r\n\r\nhi\r\n.",
		"QUIT"))
	for _, d := range [][]string{
		{"XCLIENT ADDR=127.0.0.2", "EHLO c", "AUTH PLAIN " + plain, "XCLIENT ADDR=192.0.2.5", "EHLO c", "AUTH PLAIN " + plain, "QUIT"},
		{"XCLIENT ADDR=192.0.2.6", "EHLO c", "QUIT"},
	} {
		compare(t, ours, ref, cmds(d...))
	}
	waitLogs(t, ours, ref, 4)
	// Both messages must have been delivered before the comparison.
	for _, s := range []*system{ours, ref} {
		deadline := time.Now().Add(10 * time.Second)
		for len(s.LogLines(`status=sent`)) < 2 && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
	}
	// The two messages may reach the mailbox in either order.
	if got, want := sortedMessages(mailbox(t, ours, "root")), sortedMessages(mailbox(t, ref, "root")); got != want {
		t.Errorf("delivered messages differ\n--- ours:\n%s\n--- Postfix:\n%s", got, want)
	}
}
