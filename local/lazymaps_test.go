package local

import (
	"strings"
	"testing"
)

// The mailbox and fallback transport tables and mailbox_command_maps do
// not stop the agent when they cannot be opened (Postfix's local opens
// them at the first delivery that needs them); a recipient whose lookup
// fails, or finds an empty value, is deferred with "table lookup
// failure", and other recipients are not affected.
func TestLazyMapsFailures(t *testing.T) {
	t.Parallel()
	cases := []struct {
		param, rcpt string
	}{
		{"mailbox_transport_maps = hash:/nonexistent/mbox", "alice@host.example.com"},
		{"mailbox_command_maps = inline:{alice=}", "alice@host.example.com"},
		{"fallback_transport_maps = fail:fallback", "nobody@host.example.com"},
	}
	for _, tc := range cases {
		e := newEnv(t, tc.param)
		if got := e.agent.mboxTransportMaps.opened(); len(got) != 0 {
			t.Errorf("%s: tables opened before any delivery", tc.param)
		}
		m := e.deliver(e.queueMessage("s@example.org", "Subject: x\n\nx\n", tc.rcpt))
		equalLines(t, tc.param, statusLines(t, m.id), []string{
			m.id + ": to=<" + tc.rcpt + ">, relay=local, DELAYS, dsn=4.3.0, status=deferred (table lookup failure)",
		})
		if strings.HasPrefix(tc.param, "mailbox_command_maps") {
			// The user without an entry gets the mailbox.
			m = e.deliver(e.queueMessage("s@example.org", "Subject: x\n\nx\n", "bob@host.example.com"))
			equalLines(t, tc.param+" bob", statusLines(t, m.id), []string{
				m.id + ": to=<bob@host.example.com>, relay=local, DELAYS, dsn=2.0.0, status=sent (delivered to mailbox)",
			})
		}
	}
}
