package smtptest

import (
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/postfix-go/postfix/internal/flowtest"
	"github.com/postfix-go/postfix/internal/xsasl/sasltest"
)

// cyrusSetup returns a setup that writes $config_directory/sasl/smtpd.conf
// as the guides do (pwcheck_method: saslauthd, mech_list: plain login),
// pointing at the test's saslauthd socket.
func cyrusSetup(t *testing.T, socket string) func(s *system) {
	return func(s *system) {
		dir := filepath.Join(s.Etc, "sasl")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		sasltest.WriteSmtpdConf(t, dir, socket, "plain login")
	}
}

// plain returns the base64 initial response of AUTH PLAIN.
func plain(user, pass string) string {
	return base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + pass))
}

// contains fails the test unless out holds want.
func contains(t *testing.T, what, out, want string) {
	t.Helper()
	if !strings.Contains(out, want) {
		t.Errorf("%s: no %q in:\n%s", what, want, out)
	}
}

// saslSteps are the guides' submission steps with a SASL backend in
// place: MAIL before STARTTLS is refused; after STARTTLS, AUTH PLAIN and
// AUTH LOGIN succeed with the right password (and the mail is relayed)
// and fail with 535 5.7.8 with a wrong one; without AUTH the client is
// refused. Then the first guide's telnet dialogue on the smtp port, AUTH
// PLAIN in plaintext included. It returns how many messages were relayed.
func saslSteps(t *testing.T, p pair, user, pass string) int {
	base := []string{"--ehlo", "client.example.org", "--from", "test@test.com", "--to", "someone@example.net"}
	ref, our := swaksBoth(t, p, "submission", append(base, "--quit-after", "MAIL")...)
	for _, r := range []string{ref.Stdout, our.Stdout} {
		contains(t, "MAIL before STARTTLS", r, "<** 530 5.7.0 Must issue a STARTTLS command first")
	}
	// telnet localhost 587, ehlo: the first guide's STEP 11.
	swaksBoth(t, p, "submission", "--quit-after", "EHLO")
	swaksBoth(t, p, "submission", "--tls", "--quit-after", "EHLO")
	relayed := 0
	for _, mech := range []string{"PLAIN", "LOGIN"} {
		ref, our = swaksBoth(t, p, "submission", append(base, "--tls", "--auth", mech, "--auth-user", user, "--auth-password", pass,
			"--header", "Subject: relayed with "+mech)...)
		for _, r := range []string{ref.Stdout, our.Stdout} {
			contains(t, "AUTH "+mech, r, "<~  235 2.7.0 Authentication successful")
			contains(t, "relay after AUTH "+mech, r, "<~  250 2.0.0 Ok: queued as ")
		}
		relayed++
		ref, our = swaksBoth(t, p, "submission", append(base, "--tls", "--auth", mech, "--auth-user", user, "--auth-password", pass+"x")...)
		for _, r := range []string{ref.Stdout, our.Stdout} {
			contains(t, "AUTH "+mech+" wrong password", r, "<~* 535 5.7.8 Error: authentication failed:")
		}
	}
	ref, our = swaksBoth(t, p, "submission", append(base, "--tls")...)
	for _, r := range []string{ref.Stdout, our.Stdout} {
		contains(t, "no AUTH on submission", r, "<~* 554 5.7.1 <localhost[127.0.0.1]>: Client host rejected: Access denied")
	}

	// smtps: TLS from the first byte (smtpd_tls_wrappermode).
	ref, our = swaksBoth(t, p, "smtps", append(base, "--tlsc", "--auth", "LOGIN", "--auth-user", user, "--auth-password", pass,
		"--header", "Subject: relayed over smtps")...)
	for _, r := range []string{ref.Stdout, our.Stdout} {
		contains(t, "smtps", r, "<~  250 2.0.0 Ok: queued as ")
	}
	relayed++
	// Local mail over submission and smtps: the Received header says
	// ESMTPSA, and with smtpd_tls_received_header how TLS was used.
	for _, svc := range []string{"submission", "smtps"} {
		tls := "--tls"
		if svc == "smtps" {
			tls = "--tlsc"
		}
		swaksBoth(t, p, svc, "--ehlo", "client.example.org", "--from", "test@test.com", "--to", "root@mx.example.test",
			tls, "--auth", "PLAIN", "--auth-user", user, "--auth-password", pass, "--header", "Subject: local over "+svc)
	}

	authFlood(t, p, user, pass)

	// The second guide's manual test, typed as into telnet.
	var tr [2][]string
	p.each(func(s *system) {
		k := flowtest.Dial(t, s.addr("smtp"))
		for _, c := range []string{"helo localhost", "ehlo localhost", "mail from:test@test.com", "rcpt to:root@mx.example.test", "data"} {
			k.Cmd(c)
		}
		k.Send("subject:test\r\ntest\r\n.\r\n", 1)
		for _, c := range []string{"rset", "mail from:test@test.com", "rcpt to:slowlygo@example.net", "rset",
			"auth plain " + plain(user, pass), "mail from:test.com", "rcpt to:slowlygo@example.net", "data"} {
			k.Cmd(c)
		}
		k.Send("subject:test\r\ntest\r\n.\r\n", 1)
		k.Cmd("quit")
		i := 0
		if s == p.our {
			i = 1
		}
		tr[i] = k.Transcript
	})
	sameLines(t, "the guide's telnet dialogue", p, tr[0], tr[1])
	for _, want := range []string{"S: 554 5.7.1 <slowlygo@example.net>: Relay access denied", "S: 235 2.7.0 Authentication successful",
		"C: rcpt to:slowlygo@example.net\nS: 250 2.1.5 Ok"} {
		contains(t, "the guide's telnet dialogue", strings.Join(tr[1], "\n"), want)
	}
	return relayed + 1
}

// authFlood sends bad AUTH commands until the error limit hangs up, and
// more AUTH commands than smtpd_client_auth_rate_limit allows.
func authFlood(t *testing.T, p pair, user, pass string) {
	t.Helper()
	script := []string{ehlo, "AUTH FOO\r\n", "AUTH PLAIN !!!\r\n", "AUTH LOGIN\r\n", "*\r\n", "AUTH PLAIN\r\n", "\r\n",
		"AUTH LOGIN " + base64.StdEncoding.EncodeToString([]byte(user)) + "\r\n", base64.StdEncoding.EncodeToString([]byte(pass+"x")) + "\r\n"}
	for i := 0; i < 8; i++ {
		script = append(script, "AUTH PLAIN "+plain(user, pass+"y")+"\r\n")
	}
	_, our := talk(t, p, "authflood", append(script, "REST|"))
	if text := strings.Join(our, "\n"); !strings.Contains(text, "S: 421 4.7.0 mx.example.test Error: too many errors\n") || !strings.HasSuffix(text, "S: <EOF>") {
		t.Errorf("the AUTH flood did not end in 421:\n%s", strings.Join(our, "\n"))
	}
	var rate []string
	for i := 0; i < 3; i++ {
		_, our = talk(t, p, "authrate", []string{ehlo, "AUTH PLAIN " + plain(user, pass) + "\r\n", quit})
		rate = append(rate, our...)
	}
	contains(t, "smtpd_client_auth_rate_limit", strings.Join(rate, "\n"), "S: 450 4.7.1 Error: too many AUTH commands from 127.0.0.1")
}

// checkRelayed waits until n messages were relayed (to the discard
// transport) and 3 delivered to root on each system, and compares the
// smtpd, cleanup and delivery log lines.
func checkRelayed(t *testing.T, p pair, n int) {
	p.each(func(s *system) {
		waitQuiet(t, s)
		if got := len(s.LogLines(`postfix/discard\[\d+\]: .*status=sent \(relayed\)`)); got != n {
			t.Errorf("%s: %d messages relayed, want %d; log:\n%s", s.who(), got, n, s.LogText())
		}
		m := waitMbox(t, s, "root", 3)
		for _, want := range []string{"\nsubject:test\n", "with ESMTPSA id ", "(using TLSv1."} {
			contains(t, s.who()+": root's mailbox", m, want)
		}
		emptyQueue(t, s, "the guide's steps")
	})
	sameMessages(t, p, "root")
	goCipher(t, p.our)
	re := `postfix(/\w+)?/(smtpd|cleanup|discard|local)\[\d+\]: (?:[^w]|w[^a])`
	same(t, "log", p, logText(p.ref, p.ref.LogLines(re), true), logText(p.our, p.our.LogLines(re), true))
}

// The first guide with Cyrus SASL: smtpd.conf says pwcheck_method:
// saslauthd and mech_list: plain login, and a real saslauthd checks a
// real account's password.
func TestGuideSubmissionSaslauthd(t *testing.T) {
	t.Parallel()
	user, pass := sasltest.AddUser(t)
	sd := sasltest.StartSaslauthd(t, "")
	p := newPair(t, guideMain, guideMaster, cyrusSetup(t, sd.Socket))
	p.start(t)
	checkRelayed(t, p, saslSteps(t, p, user, pass))
}

// The same steps with smtpd_sasl_type = dovecot against a real Dovecot.
func TestGuideSubmissionDovecot(t *testing.T) {
	t.Parallel()
	d := sasltest.StartDovecot(t, map[string]string{"guide": "Secret-99"}, "")
	master := guideMaster + fmt.Sprintf("127.0.0.1:{dovinet} inet n - n - - smtpd\n  -o smtpd_sasl_path=inet:127.0.0.1:%d\n", d.Port)
	p := newPair(t, guideMain+"smtpd_sasl_type = dovecot\nsmtpd_sasl_path = "+d.Socket+"\n", master, nil)
	p.start(t)
	n := saslSteps(t, p, "guide", "Secret-99")
	// Dovecot's auth service over TCP (smtpd_sasl_path = inet:host:port).
	for _, pass := range []string{"Secret-99", "wrong"} {
		swaksBoth(t, p, "dovinet", "--ehlo", "client.example.org", "--quit-after", "AUTH", "--auth", "PLAIN", "--auth-user", "guide", "--auth-password", pass)
	}
	checkRelayed(t, p, n)
}
