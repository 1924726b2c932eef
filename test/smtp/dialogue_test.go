package smtptest

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/postfix-go/postfix/internal/testutil"
)

// dialogueMain is the configuration the dialogue table runs against:
// Postfix's defaults, 127.0.0.1 outside mynetworks (so relaying is
// refused), and mail from hold@example.org held, so that its queue file
// can be compared.
const dialogueMain = `mynetworks = 10.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_sender_restrictions = check_sender_access inline:{hold@example.org=HOLD}
`

// dialogueMaster gives each group of dialogues its own service, with the
// settings under test as -o overrides.
const dialogueMaster = `127.0.0.1:{plain} inet n - n - - smtpd
127.0.0.1:{strict} inet n - n - - smtpd
  -o smtpd_helo_required=yes
  -o disable_vrfy_command=yes
  -o smtpd_recipient_limit=2
  -o message_size_limit=1000
  -o smtpd_soft_error_limit=2
  -o smtpd_hard_error_limit=4
  -o smtpd_error_sleep_time=0
127.0.0.1:{errors} inet n - n - - smtpd
  -o smtpd_soft_error_limit=2
  -o smtpd_hard_error_limit=5
127.0.0.1:{xclient} inet n - n - - smtpd
  -o smtpd_authorized_xclient_hosts=127.0.0.1
  -o smtpd_authorized_xforward_hosts=127.0.0.1
127.0.0.1:{pipe} inet n - n - - smtpd
  -o smtpd_data_restrictions=reject_unauth_pipelining
127.0.0.1:{custom} inet n - n - - smtpd
  -o { smtpd_banner = $myhostname ESMTP custom banner }
  -o { smtpd_reject_footer = For help see http://help.example.test/ }
  -o smtpd_discard_ehlo_keywords=silent-discard,dsn,etrn,chunking
  -o smtpd_tls_security_level=may
  -o smtpd_tls_cert_file=$config_directory/mx.example.test.crt
  -o smtpd_tls_key_file=$config_directory/mx.example.test.key
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_tls_auth_only=yes
  -o cyrus_sasl_config_path=$config_directory/sasl
`

const (
	ehlo  = "EHLO client.example.org\r\n"
	from  = "MAIL FROM:<sender@example.org>\r\n"
	rcpt  = "RCPT TO:<root@mx.example.test>\r\n"
	data  = "DATA\r\n"
	quit  = "QUIT\r\n"
	body  = "Subject: dialogue\r\n\r\nbody line\r\n.\r\n"
	local = "<root@mx.example.test>"
)

// bdat returns a BDAT command with its chunk.
func bdat(chunk string, last bool) string {
	if last {
		return fmt.Sprintf("BDAT %d LAST\r\n%s", len(chunk), chunk)
	}
	return fmt.Sprintf("BDAT %d\r\n%s", len(chunk), chunk)
}

// dialogues is the table of scripts sent to both servers (see dialogue
// for the step syntax); every reply line must match.
var dialogues = []struct {
	name, service string
	script        []string
}{
	{"helo", "plain", []string{"HELO client.example.org\r\n", "HELO\r\n", "HELO a b c\r\n", "helo [127.0.0.1]\r\n", quit}},
	{"ehlo", "plain", []string{ehlo, "EHLO\r\n", "ehlo [127.0.0.1]\r\n", "EHLO bad_name!\r\n", quit}},
	{"lower case", "plain", []string{"ehlo client\r\n", "mail from:<sender@example.org>\r\n", "rcpt to:" + local + "\r\n", "rset\r\n", "noop\r\n", "quit\r\n"}},
	{"noop rset help", "plain", []string{"NOOP\r\n", "NOOP with text\r\n", "RSET\r\n", "RSET x\r\n", "HELP\r\n", ehlo, "QUIT now\r\n"}},
	{"unknown commands", "plain", []string{"FOO\r\n", "EXPN root\r\n", "TURN\r\n", "\r\n", " \r\n", "MAIL\r\n", "RCPT\r\n", "DATA x\r\n", quit}},
	{"vrfy", "plain", []string{"VRFY root\r\n", "VRFY nosuchuser\r\n", "VRFY\r\n", "VRFY <root@mx.example.test>\r\n", "VRFY someone@example.net\r\n", "VRFY a b\r\n", quit}},
	{"etrn", "plain", []string{"ETRN example.net\r\n", ehlo, "ETRN\r\n", "ETRN a b\r\n", from, "ETRN example.net\r\n", quit}},
	{"sequence", "plain", []string{rcpt, data, ehlo, rcpt, data, from, from, data, rcpt, "BDAT 1 LAST\r\nx", "RSET\r\n", data, quit}},
	{"mail without helo", "plain", []string{from, rcpt, data, body, quit}},
	{"mail syntax", "plain", []string{ehlo, "MAIL FROM:\r\n", "MAIL FROM:<a@b\r\n", "MAIL FROM:a@b c\r\n", "MAIL TO:<a@b>\r\n",
		"MAIL FROM <a@b>\r\n", "MAIL FROM:<a@example.org> FOO=BAR\r\n", "MAIL FROM:<a@example.org> SIZE=abc\r\n",
		"MAIL FROM:<a@example.org> BODY=9BIT\r\n", "MAIL FROM:<a@example.org> RET=XXX\r\n", "MAIL FROM:<a@example.org> ENVID=\r\n",
		"MAIL FROM:<a@example.org> SMTPUTF8\r\n", "RSET\r\n", "MAIL FROM:<@route,@other:a@example.org>\r\n", "RSET\r\n",
		"MAIL FROM:<\"quoted local\"@example.org>\r\n", "RSET\r\n", "MAIL FROM:<>\r\n", "RSET\r\n", "MAIL FROM:bare@example.org\r\n", quit}},
	{"rcpt syntax", "plain", []string{ehlo, from, "RCPT TO:\r\n", "RCPT TO:<>\r\n", "RCPT TO:root\r\n", "RCPT TO:<root@mx.example.test> NOTIFY=BAD\r\n",
		"RCPT TO:<root@mx.example.test> ORCPT=bad\r\n", "RCPT TO:<root@mx.example.test> FOO\r\n", "RCPT TO:<nosuchuser@mx.example.test>\r\n",
		"RCPT TO:<postmaster>\r\n", "RCPT TO:<someone@example.net>\r\n", "RCPT TO:<root@[127.0.0.1]>\r\n", "RCPT TO:<ROOT@MX.EXAMPLE.TEST>\r\n", quit}},
	{"dsn", "plain", []string{ehlo, "MAIL FROM:<sender@example.org> RET=HDRS ENVID=abc+2Bdef\r\n",
		"RCPT TO:<root@mx.example.test> NOTIFY=SUCCESS,DELAY ORCPT=rfc822;root@mx.example.test\r\n",
		"RCPT TO:<postmaster@mx.example.test> NOTIFY=NEVER\r\n", "RCPT TO:<root@mx.example.test> NOTIFY=NEVER,SUCCESS\r\n", data, body, quit}},
	{"dsn held", "plain", []string{ehlo, "MAIL FROM:<hold@example.org> RET=HDRS ENVID=abc+2Bdef SIZE=100 BODY=8BITMIME\r\n",
		"RCPT TO:<root@mx.example.test> NOTIFY=SUCCESS,DELAY ORCPT=rfc822;Root@mx.example.test\r\n",
		"RCPT TO:<postmaster@mx.example.test> NOTIFY=NEVER\r\n", "RCPT TO:<root@localhost> ORCPT=rfc822;x+2By@example.org\r\n", data,
		"Subject: held\r\nFrom: Hold <hold@example.org>\r\n\r\nheld body\r\n.\r\n", quit}},
	{"size", "plain", []string{ehlo, "MAIL FROM:<sender@example.org> SIZE=99999999\r\n", "MAIL FROM:<sender@example.org> SIZE=1000\r\n", quit}},
	{"size over limit", "strict", []string{ehlo, from, rcpt, data, "Subject: big\r\n\r\n" + strings.Repeat(strings.Repeat("x", 70)+"\r\n", 30) + ".\r\n", quit}},
	{"size param over limit", "strict", []string{ehlo, "MAIL FROM:<sender@example.org> SIZE=1001\r\n", quit}},
	{"bdat", "plain", []string{ehlo, from, rcpt, bdat("Subject: bd\r\n", false), bdat("\r\nchunked\n", true), from, rcpt, "BDAT x\r\n", quit}},
	{"bdat zero last", "plain", []string{ehlo, from, rcpt, bdat("Subject: z\r\n\r\nzero end\r\n", false), bdat("", true), quit}},
	{"bdat then data", "plain", []string{ehlo, from, rcpt, bdat("abc", false), data, "RSET\r\n", quit}},
	{"pipelined group", "plain", []string{ehlo, "3|" + from + rcpt + data, body, "2|RSET\r\nNOOP\r\n", quit}},
	{"pipelined with quit", "plain", []string{ehlo, "5|" + from + rcpt + "RCPT TO:<someone@example.net>\r\n" + "RSET\r\n" + quit}},
	{"helo required", "strict", []string{from, "VRFY root\r\n", "HELO client.example.org\r\n", from, quit}},
	{"vrfy disabled", "strict", []string{ehlo, "VRFY root\r\n", quit}},
	{"recipient limit", "strict", []string{ehlo, from, rcpt, rcpt, rcpt, "RCPT TO:<postmaster@mx.example.test>\r\n", data, body, quit}},
	{"hard error limit", "strict", []string{ehlo, "FOO\r\n", "FOO\r\n", "FOO\r\n", "FOO\r\n", "FOO\r\n", "REST|"}},
	{"error sleep", "errors", []string{ehlo, "A\r\n", "B\r\n", "C\r\n", "D\r\n", quit}},
	{"xclient allowed", "xclient", []string{ehlo, "XCLIENT NAME=client.example.org ADDR=192.0.2.7\r\n", ehlo, from,
		"RCPT TO:<someone@example.net>\r\n", rcpt, "RSET\r\n", "XFORWARD NAME=spike.example.org ADDR=192.0.2.8 PROTO=ESMTP HELO=spike\r\n",
		"XFORWARD BAD=x\r\n", "XCLIENT FOO=bar\r\n", quit}},
	{"xclient in transaction", "xclient", []string{ehlo, from, "XCLIENT ADDR=192.0.2.9\r\n", "XFORWARD ADDR=192.0.2.9\r\n", quit}},
	{"xclient denied", "plain", []string{ehlo, "XCLIENT NAME=client.example.org ADDR=192.0.2.7\r\n", "XFORWARD ADDR=192.0.2.8\r\n", quit}},
	{"utf8 and 8bit", "plain", []string{ehlo, "MAIL FROM:<sender@example.org> BODY=8BITMIME\r\n", rcpt, data,
		"Subject: 8bit\r\n\r\ncaf\xc3\xa9\r\n.\r\n", "MAIL FROM:<s\xc3\xa9nder@example.org> SMTPUTF8\r\n", "RCPT TO:<r\xc3\xb6\xc3\xb6t@mx.example.test>\r\n",
		"RSET\r\n", "MAIL FROM:<s\xc3\xa9nder@example.org>\r\n", "RSET\r\n", "MAIL FROM:<sender@example.org> BODY=7BIT SMTPUTF8\r\n", quit}},
	{"custom banner footer and keywords", "custom", []string{ehlo, from, "RCPT TO:<someone@example.net>\r\n", "STARTTLS\r\n", "TLS|", ehlo, "BDAT 1 LAST\r\n", "REST|"}},
	{"unauth pipelining data", "pipe", []string{ehlo, from, rcpt, "2|" + data + "Subject: piped\r\n\r\nx\r\n.\r\n", "REST|"}},
}

// The dialogue table against Debian's Postfix and ours: every reply line
// the same; afterwards both logs have the same smtpd lines, the same
// messages reached root's mailbox and nothing is left in the queue.
func TestDialogues(t *testing.T) {
	t.Parallel()
	p := newPair(t, dialogueMain, dialogueMaster, cyrusSetup(t, "/nonexistent/mux"))
	p.start(t)
	t.Run("table", func(t *testing.T) {
		for _, d := range dialogues {
			d := d
			t.Run(d.name, func(t *testing.T) {
				t.Parallel()
				talk(t, p, d.service, d.script)
			})
		}
	})
	p.each(func(s *system) { waitQuiet(t, s) })
	sameHeld(t, p)
	sameMessages(t, p, "root")
	same(t, "smtpd log", p, logText(p.ref, smtpdLog(p.ref, `smtpd\[\d+\]: (?:[^w]|w[^a])`), true),
		logText(p.our, smtpdLog(p.our, `smtpd\[\d+\]: (?:[^w]|w[^a])`), true))
	p.each(func(s *system) { emptyQueue(t, s, "the dialogues") })
}

// postcatMasks hide what differs by nature in postcat output beyond
// flowtest.Normalize: the client's port and the queue file's times.
var postcatMasks = regexp.MustCompile(`(client_port=|log_client_port=)\d+|(create_time|arrival time|message_arrival_time)[=:] *[^\n]*`)

// sameHeld compares the held queue files of both systems with Debian's
// postcat (the envelope as smtpd wrote it: DSN parameters, client
// attributes, headers) and then removes them.
func sameHeld(t *testing.T, p pair) {
	t.Helper()
	var cat [2]string
	for i, s := range []*system{p.ref, p.our} {
		files, _ := filepath.Glob(filepath.Join(s.Queue, "hold", "*"))
		if len(files) != 1 {
			t.Errorf("%s: %d held messages, want 1", s.who(), len(files))
			continue
		}
		r := testutil.Run(t, "/", testutil.Reference(t, "/usr/sbin/postcat"), "postcat", nil, "-c", s.Etc, "-q", filepath.Base(files[0]))
		if r.Exit != 0 {
			t.Errorf("%s: postcat: exit %d: %s", s.who(), r.Exit, r.Stderr)
		}
		cat[i] = postcatMasks.ReplaceAllString(r.Stdout, "${1}${2}MASKED")
		_ = os.Remove(files[0])
	}
	same(t, "held queue file (postcat)", p, cat[0], cat[1])
	if testing.Verbose() {
		t.Logf("held queue file (Postfix):\n%s", mask(p.ref, cat[0]))
	}
}
