package smtpd

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/postfix-go/postfix/internal/dnstest"
	"github.com/postfix-go/postfix/internal/flowtest"
	"github.com/postfix-go/postfix/internal/xsasl/sasltest"
)

// footerMasks hide what a footer shows that differs between two runs:
// the client port and the local time.
var footerMasks = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`port=\d+`), "port=PORT"},
	{regexp.MustCompile(`\b[A-Z][a-z]{2} \d\d \d\d:\d\d:\d\d\b`), "TIME"},
}

// compareFooter is compare with the footer's port and time masked too.
func compareFooter(t *testing.T, ours, ref *system, steps []step) {
	t.Helper()
	var got, want string
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		want = runSession(t, ref, steps)
	}()
	got = runSession(t, ours, steps)
	wg.Wait()
	m := func(s string) string {
		s = mask(s)
		for _, f := range footerMasks {
			s = f.re.ReplaceAllString(s, f.with)
		}
		return s
	}
	if got, want := m(got), m(want); got != want {
		t.Errorf("dialogue differs\n--- ours:\n%s\n--- Postfix:\n%s", got, want)
	}
}

// footerRegexp is a smtpd_reject_footer_maps table: its keys are whole
// replies; "$$" in a value is a footer $name, "$1" the table's own
// substitution.
const footerRegexp = `/^550 5\.1\.1 <([^@>]*)@/ \c (no user $1 here; ask at $$server_name)
/^554 5\.7\.1 <blocked@/ Blocked by map\nsecond map line for $$client_address $${nosuch}
/^502 / \c
/^503 5\.5\.1 Error: nested MAIL/ \cbad $$ x
/^421 4\.7\.0 .* too many errors/ Closing the session of $$client_address
/^500 / \c [$$helo_name:$${helo_name?{yes}:{no}}]\c
`

// footerMain gives every reply a two-line smtpd_reject_footer (the first
// line continuing the reply's last) naming the session's attributes, and
// a smtpd_reject_footer_maps table for some replies.
const footerMain = baseMain + `smtpd_reject_footer = \c For help call 555-0101 (client $client_address, port=$client_port, at $localtime, server $server_name).\nSession $client helo=${helo_name?$helo_name}${helo_name:none} ${sender?from=$sender ($sender_name at $sender_domain)} ${recipient?first=$recipient}
smtpd_reject_footer_maps = regexp:$config_directory/footer.regexp
smtpd_soft_error_limit = 100
smtpd_hard_error_limit = 12
message_size_limit = 2000
smtpd_authorized_xclient_hosts = 127.0.0.0/8
smtpd_sasl_auth_enable = yes
smtpd_sender_restrictions = check_sender_access inline:{{bad@example.com=REJECT Sender refused by policy}, {tmp@example.com=450 4.7.1 Try later}}
smtpd_recipient_restrictions = check_recipient_access inline:{{blocked@mx.example.test=REJECT}}, permit_mynetworks, reject_unauth_destination
`

// TestFooterMatchesPostfix compares smtpd_reject_footer and
// smtpd_reject_footer_maps with Debian's smtpd: every 4xx and 5xx reply
// gets the footer (protocol errors such as 500, 501, 502, 503, 504 and
// 554 as well as the restrictions' rejects, relay denied, AUTH's 535, a
// too large message and the 421 at the hard error limit), the map's value
// replaces smtpd_reject_footer for the replies it matches, "\c" alone
// leaves the reply as it was, a footer with a syntax error is dropped,
// and $sender and $recipient follow the transaction.
func TestFooterMatchesPostfix(t *testing.T) {
	t.Parallel()
	user, _ := sasltest.AddUser(t)
	sa := sasltest.StartSaslauthd(t, "")
	setup := func(s *flowtest.System) {
		s.WriteFile("footer.regexp", footerRegexp)
		dir := filepath.Join(s.Etc, "sasl")
		os.MkdirAll(dir, 0o755)
		sasltest.WriteSmtpdConf(t, dir, sa.Socket, "plain login")
	}
	ours, ref := startPair(t, footerMain, "", setup)
	bad := "AUTH PLAIN " + base64.StdEncoding.EncodeToString([]byte("\x00"+user+"\x00wrong"))
	body := strings.Repeat("0123456789012345678901234567890123456789\r\n", 60)
	dialogues := []struct {
		name  string
		steps []step
	}{
		{"protocol", cmds("FOO", "EHLO c", "HELO", "VRFY", "ETRN", "MAIL FROM:<a@example.com>", "MAIL FROM:<a@example.com>",
			"ETRN example.com", "RCPT TO:<root@mx.example.test>", "RCPT TO:<nobody-here@mx.example.test>",
			"RCPT TO:<blocked@mx.example.test>", "STARTTLS x", "XCLIENT NAME=x", "RSET", "DATA", "BDAT x")},
		{"sender", cmds("EHLO c", "MAIL FROM:<bad@example.com>", "RCPT TO:<root@mx.example.test>", "RSET",
			"MAIL FROM:<tmp@example.com>", "RCPT TO:<root@mx.example.test>", "RSET", "MAIL FROM:<>", "FOO", "QUIT")},
		{"relay", cmds("XCLIENT ADDR=192.0.2.7 NAME=client.example", "EHLO c", "MAIL FROM:<a@example.com>",
			"RCPT TO:<x@elsewhere.example>", "QUIT")},
		{"data", append(cmds("EHLO c", "MAIL FROM:<a@example.com>", "RCPT TO:<root@mx.example.test>",
			"RCPT TO:<postmaster@mx.example.test>", "DATA"),
			step{send: "Subject: big\r\n\r\n" + body + ".\r\n", replies: 1},
			step{send: "RCPT TO:<root@mx.example.test>\r\n", replies: 1}, step{send: "QUIT\r\n", replies: 1})},
		{"auth", cmds("EHLO c", bad, "AUTH FOO", "AUTH PLAIN", "*", "QUIT")},
		{"pipelined", []step{{send: "EHLO c\r\n", replies: 1},
			{send: "MAIL FROM:<a@example.com>\r\nRCPT TO:<nobody-here@mx.example.test>\r\nDATA\r\nQUIT\r\n", replies: 4}}},
		{"errors", cmds("FOO", "FOO", "FOO", "FOO", "FOO", "FOO", "FOO", "FOO", "FOO", "FOO", "FOO", "FOO", "FOO")},
	}
	for _, d := range dialogues {
		t.Run(d.name, func(t *testing.T) { compareFooter(t, ours, ref, d.steps) })
	}
	waitLogs(t, ours, ref, len(dialogues)+1)
}

// TestFooterConnectMatchesPostfix: the footer on the replies that do not
// answer a command: smtpd_client_restrictions' reject in place of the
// greeting (smtpd_delay_reject = no) and the "503 5.7.0 Error: access
// denied" that follow, the 421 of smtpd_timeout and anvil's 421 for
// smtpd_client_connection_rate_limit. With soft_bounce = yes every 5xx
// line, footer included, goes out as 4xx, while smtpd_reject_footer_maps
// sees the reply as it was (503).
func TestFooterConnectMatchesPostfix(t *testing.T) {
	t.Parallel()
	main := baseMain + `smtpd_delay_reject = no
smtpd_client_restrictions = check_client_access inline:{{127.0.0.1=REJECT Go away}}
smtpd_reject_footer = Contact postmaster ($client_address)\nPlease quote $server_name
smtpd_reject_footer_maps = regexp:$config_directory/footer.regexp
soft_bounce = yes
smtpd_timeout = 2s
smtpd_client_event_limit_exceptions =
smtpd_client_connection_rate_limit = 3
`
	ours, ref := startPair(t, main, "", func(s *flowtest.System) {
		s.WriteFile("footer.regexp", "/^503 5\\.7\\.0 / \\c (refused)\\n5 see $$server_name\n")
	})
	// The readiness probe was the first connection; these are 2 to 4.
	compareFooter(t, ours, ref, cmds("EHLO c", "MAIL FROM:<a@example.com>", "FOO", "QUIT"))
	compareFooter(t, ours, ref, []step{{send: "NOOP\r\n", replies: 1}, {send: "", replies: 1, timeout: 4 * time.Second}})
	compareFooter(t, ours, ref, cmds("EHLO c"))
	waitLogs(t, ours, ref, 4)
}

// TestFooterRBLMatchesPostfix: the footer after a DNS blocklist's reply,
// the default one and one from rbl_reply_maps, with a
// smtpd_reject_footer_maps entry for the blocklist's replies; the
// blocklist is served by internal/dnstest in a private namespace.
func TestFooterRBLMatchesPostfix(t *testing.T) {
	dns, inside := dnstest.InNamespace(t, "")
	if !inside {
		return
	}
	dns.MustAdd(t,
		"2.0.0.127.zen.test. A 127.0.0.2",
		`2.0.0.127.zen.test. TXT "listed for testing"`,
		"3.0.0.127.bl.test. A 127.0.0.2",
	)
	main := baseMain + `smtpd_authorized_xclient_hosts = 127.0.0.1
smtpd_client_restrictions = reject_rbl_client zen.test, reject_rbl_client bl.test
rbl_reply_maps = texthash:$config_directory/rbl_reply
smtpd_reject_footer = \c See https://help.example/?ip=$client_address
smtpd_reject_footer_maps = regexp:$config_directory/footer.regexp
`
	ours, ref := startPair(t, main, "", func(s *flowtest.System) {
		s.WriteFile("footer.regexp", "/blocked using zen\\.test/ Delisting: https://zen.test/$$client_address\n")
		s.WriteFile("rbl_reply", "bl.test $rbl_code 5.7.1 Listed by $rbl_domain\n")
	})
	for _, addr := range []string{"127.0.0.2", "127.0.0.3"} {
		compareFooter(t, ours, ref, cmds("XCLIENT ADDR="+addr, "EHLO c", "MAIL FROM:<a@example.com>", "RCPT TO:<root@mx.example.test>", "QUIT"))
	}
	waitLogs(t, ours, ref, 3)
}
