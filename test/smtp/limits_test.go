package smtptest

import (
	"strings"
	"testing"
	"time"

	"github.com/postfix-go/postfix/internal/flowtest"
)

// limitsMaster: one service per limit, so that anvil's counts (per
// service and client) do not mix.
const limitsMaster = `127.0.0.1:{maxproc} inet n - n - 2 smtpd
127.0.0.1:{conncount} inet n - n - - smtpd
  -o smtpd_client_connection_count_limit=2
127.0.0.1:{connrate} inet n - n - - smtpd
  -o smtpd_client_connection_rate_limit=2
127.0.0.1:{msgrate} inet n - n - - smtpd
  -o smtpd_client_message_rate_limit=2
127.0.0.1:{rcptrate} inet n - n - - smtpd
  -o smtpd_client_recipient_rate_limit=3
127.0.0.1:{exempt} inet n - n - - smtpd
  -o smtpd_client_connection_count_limit=1
  -o smtpd_client_event_limit_exceptions=127.0.0.1
`

// Rate and concurrency limits against Debian's Postfix and ours: the
// service's maxproc bounds concurrent sessions (a third client waits for
// a free one), and the anvil limits give Postfix's replies.
func TestLimits(t *testing.T) {
	t.Parallel()
	p := newPair(t, "mynetworks = 10.0.0.0/8\n", limitsMaster, nil)
	p.start(t)
	var tr [2][]string
	for i, s := range []*system{p.ref, p.our} {
		var all []string
		// smtpd_client_connection_count_limit: the third concurrent
		// session is refused; with the client exempted, it is not.
		var open []*flowtest.Conn
		for j := 0; j < 3; j++ {
			k := flowtest.Dial(t, s.addr("conncount"))
			open = append(open, k)
			all = append(all, k.Transcript...)
		}
		for _, k := range open {
			k.Close()
		}
		open = nil
		for j := 0; j < 2; j++ {
			k := flowtest.Dial(t, s.addr("exempt"))
			open = append(open, k)
			all = append(all, k.Transcript...)
		}
		for _, k := range open {
			k.Close()
		}
		// smtpd_client_connection_rate_limit: the third connection in
		// the time unit is refused (the first was the harness's check
		// that the port listens).
		for j := 0; j < 3; j++ {
			k := flowtest.Dial(t, s.addr("connrate"))
			k.Cmd("QUIT")
			all = append(all, k.Transcript...)
		}
		// smtpd_client_message_rate_limit and _recipient_rate_limit.
		k := flowtest.Dial(t, s.addr("msgrate"))
		k.Cmd(ehlo)
		for j := 0; j < 3; j++ {
			k.Cmd(from)
			k.Cmd("RSET")
		}
		k.Cmd("QUIT")
		all = append(all, k.Transcript...)
		k = flowtest.Dial(t, s.addr("rcptrate"))
		k.Cmd(ehlo)
		k.Cmd(from)
		for j := 0; j < 4; j++ {
			k.Cmd(rcpt)
		}
		k.Cmd("QUIT")
		all = append(all, k.Transcript...)
		tr[i] = all
	}
	sameLines(t, "anvil limits", p, tr[0], tr[1])
	text := strings.Join(tr[1], "\n")
	if testing.Verbose() {
		t.Logf("limits (ours):\n%s", text)
	}
	for _, want := range []string{"S: 421 4.7.0 mx.example.test Error: too many connections from 127.0.0.1",
		"S: 450 4.7.1 Error: too much mail from 127.0.0.1", "S: 450 4.7.1 Error: too many recipients from 127.0.0.1"} {
		contains(t, "anvil limits", text, want)
	}

	// maxproc 2: two sessions run, the third gets its greeting only when
	// one of them ends.
	var mp [2][]string
	for i, s := range []*system{p.ref, p.our} {
		a := flowtest.Dial(t, s.addr("maxproc"))
		b := flowtest.Dial(t, s.addr("maxproc"))
		c := flowtest.DialNoGreeting(t, s.addr("maxproc"))
		early := c.Rest(time.Second)
		a.Cmd("QUIT")
		c.Reply()
		c.Cmd("QUIT")
		b.Cmd("QUIT")
		if len(early) != 0 {
			t.Errorf("%s: a third session got %q while maxproc 2 were busy", s.who(), early)
		}
		mp[i] = append(append(a.Transcript, b.Transcript...), c.Transcript...)
	}
	sameLines(t, "maxproc", p, mp[0], mp[1])
	p.each(func(s *system) { waitQuiet(t, s) })
	if testing.Verbose() {
		t.Logf("maxproc (ours):\n%s\nlog:\n%s", strings.Join(mp[1], "\n"), p.our.LogText())
	}
	re := `postfix(/\w+)?/(smtpd|master)\[\d+\]: (warning: service|.*too many|.*reject|.*limit exceeded)`
	same(t, "limit log lines", p, logText(p.ref, p.ref.LogLines(re), true), logText(p.our, p.our.LogLines(re), true))
}
