package smtptest

import (
	"strings"
	"testing"

	"github.com/postfix-go/postfix/internal/dnstest"
	"github.com/postfix-go/postfix/internal/flowtest"
)

// The second guide's DNS blocklist (smtpd_client_restrictions =
// permit_mynetworks, reject_rbl_client LIST) against a test DNS server:
// both systems run inside a private network namespace whose resolver is
// internal/dnstest, so Debian's smtpd and ours ask the same server. With
// smtpd_delay_reject = yes the listed client is refused at RCPT, with the
// TXT record in the reply when there is one; a reply outside the
// =127.0.0.[2..9] filter does not list; rbl_reply_maps replaces the
// reply (with the client's forward-confirmed name from the test DNS when
// it has one); an unlisted client passes. With smtpd_delay_reject = no
// the refusal comes before RCPT.
func TestGuideRBL(t *testing.T) {
	dns, inside := dnstest.InNamespace(t, "")
	if !inside {
		return
	}
	dns.MustAdd(t,
		"2.0.0.127.zen.test. A 127.0.0.2",
		`2.0.0.127.zen.test. TXT "listed for testing, see http://zen.test/q?127.0.0.2"`,
		"3.0.0.127.zen.test. A 127.0.0.10",
		"3.0.0.127.bl.test. A 127.0.0.2",
		"4.0.0.127.bl.test. A 127.0.0.4",
		"4.0.0.127.in-addr.arpa. PTR client4.example.org.",
		"client4.example.org. A 127.0.0.4",
	)
	main := `mynetworks = 10.0.0.0/8
smtpd_client_restrictions = permit_mynetworks, reject_rbl_client zen.test=127.0.0.[2..9], reject_rbl_client bl.test
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
rbl_reply_maps = texthash:$config_directory/rbl_reply
`
	master := "127.0.0.1:{smtp} inet n - n - - smtpd\n127.0.0.1:{early} inet n - n - - smtpd\n  -o smtpd_delay_reject=no\n"
	p := newPair(t, main, master, func(s *system) {
		s.WriteFile("rbl_reply", "bl.test 550 5.7.1 Go away $client_name[$client_address] ($rbl_domain said $rbl_code)\n")
	})
	p.start(t)
	script := []string{"EHLO client.example.org", "MAIL FROM:<test@test.com>", "RCPT TO:<root@mx.example.test>", "QUIT"}
	var got [2][]string
	for i, s := range []*system{p.ref, p.our} {
		for _, from := range []string{"127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4"} {
			k := flowtest.DialFrom(t, from, s.addr("smtp"))
			for _, c := range script {
				k.Cmd(c)
			}
			got[i] = append(got[i], k.Transcript...)
		}
	}
	sameLines(t, "RBL dialogues", p, got[0], got[1])
	// Without smtpd_delay_reject the client restrictions act before RCPT.
	var early [2][]string
	for i, s := range []*system{p.ref, p.our} {
		k := flowtest.DialFrom(t, "127.0.0.2", s.addr("early"))
		for _, c := range []string{"HELO client.example.org", "MAIL FROM:<test@test.com>", "RCPT TO:<root@mx.example.test>", "RSET", "QUIT"} {
			k.Cmd(c)
		}
		early[i] = k.Transcript
	}
	sameLines(t, "RBL without smtpd_delay_reject", p, early[0], early[1])
	contains(t, "RBL without smtpd_delay_reject", strings.Join(early[1], "\n"), "blocked using zen.test")
	text := strings.Join(got[1], "\n")
	for _, want := range []string{
		"S: 554 5.7.1 Service unavailable; Client host [127.0.0.2] blocked using zen.test; listed for testing, see http://zen.test/q?127.0.0.2",
		"S: 550 5.7.1 Go away unknown[127.0.0.3] (bl.test said 554)",
		"S: 550 5.7.1 Go away client4.example.org[127.0.0.4] (bl.test said 554)",
	} {
		contains(t, "RBL replies", text, want)
	}
	if n := strings.Count(text, "S: 250 2.1.5 Ok"); n != 1 {
		t.Errorf("%d recipients accepted, want 1 (from 127.0.0.1):\n%s", n, text)
	}
	p.each(func(s *system) { waitQuiet(t, s) })
	same(t, "reject log", p, logText(p.ref, smtpdLog(p.ref, `reject:|connect from`), true),
		logText(p.our, smtpdLog(p.our, `reject:|connect from`), true))
}
