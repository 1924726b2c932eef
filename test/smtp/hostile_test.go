package smtptest

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/postfix-go/postfix/internal/flowtest"
)

// hostileMain: 127.0.0.1 is a stranger, TLS is offered, and the limits
// are small enough to reach.
const hostileMain = `mynetworks = 10.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_tls_cert_file = $config_directory/mx.example.test.crt
smtpd_tls_key_file = $config_directory/mx.example.test.key
smtpd_tls_security_level = may
smtpd_error_sleep_time = 0
`

const hostileMaster = `127.0.0.1:{plain} inet n - n - - smtpd
127.0.0.1:{small} inet n - n - - smtpd
  -o message_size_limit=2000
127.0.0.1:{bare} inet n - n - - smtpd
  -o smtpd_forbid_bare_newline=yes
127.0.0.1:{barereject} inet n - n - - smtpd
  -o smtpd_forbid_bare_newline=reject
127.0.0.1:{pipe} inet n - n - - smtpd
  -o smtpd_data_restrictions=reject_unauth_pipelining
127.0.0.1:{slow} inet n - n - - smtpd
  -o smtpd_timeout=1s
`

// mailRset returns, for each address, a MAIL FROM with it and an RSET in
// one write (two replies).
func mailRset(addrs ...string) []string {
	var out []string
	for _, a := range addrs {
		out = append(out, "2|MAIL FROM:"+a+"\r\nRSET\r\n")
	}
	return out
}

// hostileCase is one dialogue of the hostile table.
type hostileCase struct {
	name, service string
	script        []string
}

var hostile = append(append(smuggled("bare"), smuggled("barereject")...), []hostileCase{
	{"2000-character command", "plain", []string{ehlo, "MAIL FROM:<" + strings.Repeat("a", 2000) + "@example.org>\r\n", rcpt, "RSET\r\n",
		"NOOP " + strings.Repeat("n", 2000) + "\r\n", quit}},
	{"line over line_length_limit", "plain", []string{ehlo, "2|MAIL FROM:<" + strings.Repeat("b", 5000) + "@example.org>\r\n" + "NOOP\r\n", quit}},
	{"long command line", "plain", []string{ehlo, "2|NOOP " + strings.Repeat("x", 10000) + "\r\nNOOP\r\n", quit}},
	{"long content lines", "plain", []string{ehlo, from, rcpt, data, "Subject: long\r\nX-Long: " + strings.Repeat("h", 2000) + "\r\n\r\n" +
		strings.Repeat("y", 2000) + "\r\n" + strings.Repeat("z", 10000) + "\r\nend\r\n.\r\n", quit}},
	{"NUL bytes", "plain", []string{"EHLO client\x00.example.org\r\n", "MAIL FROM:<a\x00b@example.org>\r\n", from,
		"RCPT TO:<root\x00@mx.example.test>\r\n", rcpt, data, "Subject: nul\x00here\r\n\r\nbody\x00with nul\r\n.\r\n", quit}},
	{"malformed addresses", "plain", append([]string{ehlo}, mailRset("<<a@example.org>>", "<a@b@example.org>", "<a@>", "<@>",
		"<a b@example.org>", "<a@[1.2.3.4>", "<a@example.org", "a@example.org>", "<\"unterminated@example.org>",
		"<a(comment)@example.org>", "<a\\@b@example.org>", "<"+strings.Repeat("@", 300)+">", "<a@example.org> <b@example.org>",
		"<a@exa mple.org>", "<a@.example.org>", "<a@example..org>", "<.a@example.org>", "<a@-example.org>",
		"<a@example.org:b@example.net>", "<a@[999.1.1.1]>", "<a@[IPv6:::1]>", "<a@\xc3\xa9xample.org>")...)},
	{"routed addresses", "plain", []string{ehlo, from, "RCPT TO:<user%host.example.net@mx.example.test>\r\n",
		"RCPT TO:<host.example.net!user@mx.example.test>\r\n", "RCPT TO:<\"user@host.example.net\"@mx.example.test>\r\n",
		"RCPT TO:<@mx.example.test:user@host.example.net>\r\n", "RCPT TO:<@host.example.net:root@mx.example.test>\r\n",
		"RCPT TO:<root%mx.example.test@mx.example.test>\r\n", "RSET\r\n", quit}},
	{"over-size message", "small", []string{ehlo, from, rcpt, data, "Subject: big\r\n\r\n" + strings.Repeat(strings.Repeat("o", 76)+"\r\n", 100) + ".\r\n",
		from, rcpt, bdat(strings.Repeat("p", 1500), false), bdat(strings.Repeat("q", 1500), true), quit}},
	{"pipelining abuse", "pipe", []string{ehlo, "103|" + from + strings.Repeat(rcpt, 100) + "RSET\r\n" + "NOOP\r\n", from, rcpt,
		"2|" + data + "Subject: piped\r\n\r\n.\r\n", "REST|"}},
	{"pipelined after data", "plain", []string{ehlo, from, rcpt, data, "2|Subject: x\r\n\r\nbody\r\n.\r\nNOOP\r\n", "2|" + from + "RSET\r\n", quit}},
	{"bare newline forbidden", "bare", []string{ehlo, from, rcpt, data, "Subject: bare\r\n\r\nline\n.\nmore\r\n.\r\n", "REST|"}},
	{"bare newline command forbidden", "bare", []string{"EHLO client.example.org\n", "REST|"}},
	{"AUTH not enabled flood", "plain", []string{ehlo, "AUTH PLAIN AHRlc3QAdGVzdA==\r\n", "AUTH LOGIN\r\n", "AUTH PLAIN\r\n", "AUTH\r\n",
		"AUTH PLAIN =\r\n", "AUTH PLAIN AHRlc3QAdGVzdA==\r\n", "AUTH PLAIN AHRlc3QAdGVzdA==\r\n", "AUTH PLAIN AHRlc3QAdGVzdA==\r\n",
		"AUTH PLAIN AHRlc3QAdGVzdA==\r\n", "AUTH PLAIN AHRlc3QAdGVzdA==\r\n", "AUTH PLAIN AHRlc3QAdGVzdA==\r\n", "AUTH PLAIN AHRlc3QAdGVzdA==\r\n",
		"AUTH PLAIN AHRlc3QAdGVzdA==\r\n", "AUTH PLAIN AHRlc3QAdGVzdA==\r\n", "AUTH PLAIN AHRlc3QAdGVzdA==\r\n", "AUTH PLAIN AHRlc3QAdGVzdA==\r\n",
		"AUTH PLAIN AHRlc3QAdGVzdA==\r\n", "AUTH PLAIN AHRlc3QAdGVzdA==\r\n", "AUTH PLAIN AHRlc3QAdGVzdA==\r\n", "AUTH PLAIN AHRlc3QAdGVzdA==\r\n",
		"AUTH PLAIN AHRlc3QAdGVzdA==\r\n", "REST|"}},
	{"lost connection in DATA", "plain", []string{ehlo, from, rcpt, data, "0|Subject: cut\r\n\r\npartial line"}},
	{"lost connection in BDAT", "plain", []string{ehlo, from, rcpt, bdat("Subject: cut\r\n\r\n", false), "0|BDAT 100 LAST\r\nshort"}},
	{"lost connection after RCPT", "plain", []string{ehlo, from, rcpt}},
	{"timeout in DATA", "slow", []string{ehlo, from, rcpt, data, "0|Subject: slow\r\n\r\nnever ends\r\n", "SLOW|"}},
	{"timeout idle", "slow", []string{ehlo, "SLOW|"}},
	{"junk after quit", "plain", []string{"2|QUIT\r\nNOOP\r\n", "REST|"}},
	{"STARTTLS injection", "plain", []string{ehlo, "STARTTLS\r\nRSET\r\n", "TLS|", "REST|", ehlo, "STARTTLS\r\n", quit}},
	{"STARTTLS injection of MAIL", "plain", []string{ehlo, "STARTTLS\r\nMAIL FROM:<evil@example.org>\r\n", "TLS|", "REST|", ehlo, rcpt, quit}},
	{"STARTTLS twice and with argument", "plain", []string{"STARTTLS now\r\n", ehlo, from, "STARTTLS\r\n", "TLS|", rcpt, ehlo, "STARTTLS\r\n", quit}},
	{"bare newline rejected", "barereject", []string{ehlo, from, rcpt, data, "Subject: bare\r\n\r\nline\nmore\r\n.\r\n", "REST|"}},
	{"bare newline command rejected", "barereject", []string{"EHLO client.example.org\n", "REST|"}},
}...)

// Each payload is one message to a server that ends DATA only at
// <CR><LF>.<CR><LF>, and two to one that also ends it at the
// smuggled dot.
var smuggling = []string{
	"Subject: smuggle lf\r\n\r\nbefore\n.\nMAIL FROM:<evil@example.org>\nRCPT TO:<root@mx.example.test>\nDATA\nSubject: smuggled lf\n\nevil\r\n.\r\n",
	"Subject: smuggle cr\r\n\r\nbefore\r.\rMAIL FROM:<evil@example.org>\rRCPT TO:<root@mx.example.test>\rDATA\rSubject: smuggled cr\r\revil\r\n.\r\n",
	"Subject: smuggle mixed\r\n\r\nbefore\r\n.\nMAIL FROM:<evil@example.org>\r\nRCPT TO:<root@mx.example.test>\r\nDATA\r\nSubject: smuggled mixed\r\n\r\nevil\r\n.\r\n",
	"Subject: smuggle crlf-cr\r\n\r\nbefore\r\n.\rMAIL FROM:<evil@example.org>\r\nRCPT TO:<root@mx.example.test>\r\nDATA\r\nSubject: smuggled crlf-cr\r\n\r\nevil\r\n.\r\n",
}

// smuggled returns table entries sending each smuggling payload to service.
func smuggled(service string) (out []hostileCase) {
	for i, p := range smuggling {
		out = append(out, hostileCase{fmt.Sprintf("smuggling %d on %s", i, service), service, []string{ehlo, from, rcpt, data, p, "REST|"}})
	}
	return out
}

// Hostile input against Debian's Postfix and ours: the same replies to
// every line, the same messages delivered, nothing half-queued.
func TestHostile(t *testing.T) {
	t.Parallel()
	p := newPair(t, hostileMain, hostileMaster, nil)
	p.start(t)
	t.Run("table", func(t *testing.T) {
		for _, d := range hostile {
			d := d
			t.Run(d.name, func(t *testing.T) {
				t.Parallel()
				ref, our := talk(t, p, d.service, d.script)
				if strings.HasPrefix(d.name, "smuggling") {
					if n := strings.Count(strings.Join(our, "\n"), "queued as"); n > 1 {
						t.Errorf("one DATA became %d messages:\n%s", n, strings.Join(our, "\n"))
					}
				}
				if d.name == "STARTTLS injection of MAIL" {
					contains(t, "injected MAIL", strings.Join(our, "\n"), "C: RCPT TO:<root@mx.example.test>\nS: 503 5.5.1 Error: need MAIL command")
				}
				if strings.HasPrefix(d.name, "STARTTLS injection") {
					for _, tr := range [][]string{ref, our} {
						checkNoInjection(t, tr)
					}
				}
			})
		}
		// Routed addresses are refused as relaying.
		t.Run("routed refused", func(t *testing.T) {
			t.Parallel()
			for _, s := range []*system{p.ref, p.our} {
				k := flowtest.Dial(t, s.addr("plain"))
				k.Cmd(ehlo)
				k.Cmd(from)
				for _, a := range []string{"user%host.example.net@mx.example.test", "host.example.net!user@mx.example.test",
					`"user@host.example.net"@mx.example.test`} {
					r := k.Cmd("RCPT TO:<" + a + ">")
					if len(r) != 1 || !strings.HasPrefix(r[0], "554 5.7.1 <") || !strings.HasSuffix(r[0], ">: Relay access denied") {
						t.Errorf("%s: RCPT TO:<%s> got %q, want 554 5.7.1 … Relay access denied", s.who(), a, r)
					}
				}
				k.Cmd("QUIT")
			}
		})
	})
	p.each(func(s *system) { waitQuiet(t, s) })
	sameMessages(t, p, "root")
	same(t, "smtpd log", p, logText(p.ref, smtpdLog(p.ref, `smtpd\[\d+\]: (?:[^w]|w[^a])`), true),
		logText(p.our, smtpdLog(p.our, `smtpd\[\d+\]: (?:[^w]|w[^a])`), true))
	p.each(func(s *system) { emptyQueue(t, s, "hostile input") })
}

// checkNoInjection checks a STARTTLS-injection transcript: the RSET sent
// in the same packet as STARTTLS is never answered (no 250 between the
// 220 Ready and the first reply to the EHLO sent over TLS).
func checkNoInjection(t *testing.T, tr []string) {
	t.Helper()
	text := strings.Join(tr, "\n")
	i := strings.Index(text, "C: <TLS handshake>")
	j := strings.Index(text[max(i, 0):], "C: EHLO client.example.org\nS: 250-mx.example.test")
	if i < 0 || j < 0 {
		t.Errorf("STARTTLS injection dialogue went wrong:\n%s", text)
		return
	}
	if strings.Contains(text[i:i+j], "S: ") {
		t.Errorf("the command injected behind STARTTLS was answered:\n%s", text)
	}
}

// sameMessages compares the messages in user's mailbox on both systems,
// in any order, with dates and queue IDs masked.
func sameMessages(t *testing.T, p pair, user string) {
	t.Helper()
	split := func(s *system) string {
		var out []string
		for _, m := range regexp.MustCompile(`(?m)^From `).Split(mbox(s, user), -1) {
			if m != "" {
				out = append(out, mask(s, "From "+m))
			}
		}
		sort.Strings(out)
		return strings.Join(out, "\n=====\n")
	}
	r, o := split(p.ref), split(p.our)
	if r != o {
		t.Errorf("%s's mailbox differs (masked)%s", user, diff(r, o))
		dump(t, user+"-mailbox", r, o)
	}
}

// SMTP smuggling payloads ("\n.\n", "\r.\r" and mixed, before the real end of
// data) never split one message into two in our smtpd: one 250 reply,
// one message, whose content holds the payload. (Postfix 3.7's default,
// smtpd_forbid_bare_newline = no, does split on "\n.\n"; this asserts
// ours only.)
func TestNoSmuggling(t *testing.T) {
	t.Parallel()
	s := newSystem(t, hostileMain, hostileMaster, selftest(), nil)
	s.Start()
	flowtest.WaitPort(t, s.port["plain"], 10*time.Second)
	if s.Ref {
		t.Log("self-test: Debian's Postfix splits on a bare-LF dot by default; the assertion is for ours")
	}
	for _, payload := range smuggling {
		k := flowtest.Dial(t, s.addr("plain"))
		k.Cmd(ehlo)
		k.Cmd(from)
		k.Cmd(rcpt)
		k.Cmd(data)
		r := k.Send(payload, 1)
		rest := k.Send(quit, 1)
		k.Rest(300 * time.Millisecond)
		if s.Ref {
			t.Logf("Postfix: %q then %q", r, rest)
			continue
		}
		if len(r) != 1 || !strings.HasPrefix(r[0], "250 2.0.0 Ok: queued as ") || len(rest) != 1 || rest[0] != "221 2.0.0 Bye" {
			t.Errorf("payload %q: transcript:\n%s", payload, strings.Join(k.Transcript, "\n"))
		}
	}
	if s.Ref {
		return
	}
	waitQuiet(t, s)
	m := waitMbox(t, s, "root", len(smuggling))
	if n := strings.Count("\n"+m, "\nFrom "); n != len(smuggling) {
		t.Errorf("%d messages delivered, want %d:\n%s", n, len(smuggling), m)
	}
	for _, want := range []string{"Subject: smuggle lf", "Subject: smuggle cr", "Subject: smuggle mixed", "Subject: smuggle crlf-cr", "evil@example.org"} {
		if !strings.Contains(m, want) {
			t.Errorf("mailbox lacks %q:\n%s", want, m)
		}
	}
	emptyQueue(t, s, "smuggling")
}
