package smtptest

import (
	"strings"
	"testing"

	"github.com/postfix-go/postfix/internal/flowtest"
	"github.com/postfix-go/postfix/internal/testutil"
)

// guideMain is main.cf as the guides leave it: the domain settings, TLS
// with a self-signed certificate, SASL through Cyrus (smtpd.conf in
// cyrus_sasl_config_path) and the relay rules. mynetworks is 10.0.0.0/8
// so that the test client, 127.0.0.1, is a stranger, as the guides'
// remote clients are; nothing leaves loopback: relayed mail is discarded.
// smtpd_relay_restrictions (Postfix 2.10 and later) says what the guides'
// Postfix 2.6 did: reject, not defer, unauthorized relaying.
const guideMain = `mydomain = example.test
myorigin = $myhostname
mynetworks_style = host
mynetworks = 10.0.0.0/8
smtpd_tls_cert_file = $config_directory/mx.example.test.crt
smtpd_tls_key_file = $config_directory/mx.example.test.key
smtpd_tls_security_level = may
smtpd_sasl_auth_enable = yes
smtpd_sasl_security_options = noanonymous
smtpd_sasl_local_domain = $myhostname
broken_sasl_auth_clients = yes
cyrus_sasl_config_path = $config_directory/sasl
smtpd_recipient_restrictions = permit_sasl_authenticated, permit_mynetworks, reject_unauth_destination
smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination
transport_maps = inline:{example.net=discard:relayed}
`

// guideMaster is master.cf as the first guide edits it: smtp, and
// submission demanding TLS and AUTH; smtps as Debian's master.cf has it
// (commented out) in the second guide; and two services for AUTH floods.
const guideMaster = `127.0.0.1:{smtp} inet n - n - - smtpd
127.0.0.1:{submission} inet n - n - - smtpd
  -o syslog_name=postfix/submission
  -o smtpd_tls_security_level=encrypt
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_client_restrictions=permit_sasl_authenticated,reject
  -o milter_macro_daemon_name=ORIGINATING
127.0.0.1:{smtps} inet n - n - - smtpd
  -o syslog_name=postfix/smtps
  -o smtpd_tls_wrappermode=yes
  -o smtpd_tls_received_header=yes
  -o smtpd_tls_loglevel=1
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_client_restrictions=permit_sasl_authenticated,reject
127.0.0.1:{authflood} inet n - n - - smtpd
  -o smtpd_soft_error_limit=2
  -o smtpd_hard_error_limit=6
  -o smtpd_error_sleep_time=0
127.0.0.1:{authrate} inet n - n - - smtpd
  -o smtpd_client_auth_rate_limit=2
`

// swaksReplies runs swaks against the service on both systems and
// compares the servers' reply lines; it returns the swaks results.
func swaksBoth(t *testing.T, p pair, service string, args ...string) (ref, our testutil.Result) {
	t.Helper()
	p.each(func(s *system) {
		r := flowtest.Swaks(t, append([]string{"--server", s.addr(service), "--timeout", "15"}, args...)...)
		if s == p.ref {
			ref = r
		} else {
			our = r
		}
	})
	sameLines(t, "swaks "+strings.Join(args, " "), p, flowtest.SwaksReplies(ref.Stdout), flowtest.SwaksReplies(our.Stdout))
	if ref.Exit != our.Exit {
		t.Errorf("swaks %v: exit %d from Postfix, %d from ours", args, ref.Exit, our.Exit)
	}
	return ref, our
}

// The smtp port without SASL: EHLO offers STARTTLS and AUTH (PLAIN and
// LOGIN, also as AUTH= for broken clients); mail for a local domain is
// accepted without AUTH and delivered; relaying is refused with 554 5.7.1.
func TestGuideSMTPPort(t *testing.T) {
	t.Parallel()
	p := newPair(t, guideMain, guideMaster, cyrusSetup(t, "/nonexistent/mux"))
	p.start(t)

	ref, our := swaksBoth(t, p, "smtp", "--quit-after", "EHLO", "--ehlo", "client.example.org")
	for _, r := range []testutil.Result{ref, our} {
		for _, want := range []string{"250-STARTTLS", "250-AUTH PLAIN LOGIN", "250-AUTH=PLAIN LOGIN"} {
			if !strings.Contains(r.Stdout, want) {
				t.Errorf("EHLO does not offer %q:\n%s", want, r.Stdout)
			}
		}
	}

	swaksBoth(t, p, "smtp", "--ehlo", "client.example.org", "--from", "test@test.com", "--to", "root@mx.example.test",
		"--header", "Subject: local delivery", "--body", "local mail needs no AUTH")
	p.each(func(s *system) {
		m := waitMbox(t, s, "root", 1)
		if !strings.Contains(m, "Subject: local delivery") || !strings.Contains(m, "local mail needs no AUTH") {
			t.Errorf("%s: root's mailbox:\n%s", s.who(), m)
		}
	})

	ref, our = swaksBoth(t, p, "smtp", "--ehlo", "client.example.org", "--from", "test@test.com", "--to", "someone@example.net")
	for _, r := range []testutil.Result{ref, our} {
		if !strings.Contains(r.Stdout, "<** 554 5.7.1 <someone@example.net>: Relay access denied") {
			t.Errorf("relay not refused:\n%s", r.Stdout)
		}
	}
	p.each(func(s *system) { waitQuiet(t, s) })
	same(t, "reject log", p, logText(p.ref, smtpdLog(p.ref, `reject:`), false), logText(p.our, smtpdLog(p.our, `reject:`), false))
	p.each(func(s *system) { emptyQueue(t, s, "relay refusal") })
}
