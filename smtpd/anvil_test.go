package smtpd

import (
	"net"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/postfix-go/postfix/anvil"
)

// waitLogsUnordered is waitLogs for sessions that overlap: the lines are
// compared as sorted sets.
func waitLogsUnordered(t *testing.T, ours, ref *system, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if len(ours.LogLines(`smtpd\[.*disconnect from`)) >= n && len(ref.LogLines(`smtpd\[.*disconnect from`)) >= n {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	sorted := func(s string) string {
		l := strings.Split(s, "\n")
		sort.Strings(l)
		return strings.Join(l, "\n")
	}
	if got, want := sorted(smtpdLog(ours)), sorted(smtpdLog(ref)); got != want {
		t.Errorf("smtpd log lines differ\n--- ours:\n%s\n--- Postfix:\n%s", got, want)
	}
}

// TestConnectionLimitsMatchPostfix compares anvil's connection count and
// rate limits (the loopback client is not exempt here).
func TestConnectionLimitsMatchPostfix(t *testing.T) {
	t.Parallel()
	ours, ref := startPair(t, baseMain+"smtpd_client_event_limit_exceptions =\nsmtpd_client_connection_count_limit = 2\nsmtpd_client_connection_rate_limit = 4\nsmtpd_client_message_rate_limit = 1\n", "")
	for _, s := range []*system{ours, ref} {
		// The start-up probe counted as one connection; hold two more.
		a, b := dial(t, s.addr), dial(t, s.addr)
		for _, c := range []*client{a, b} {
			c.reply(5 * time.Second)
		}
		c := dial(t, s.addr)
		s.t = c.reply(5 * time.Second)
		a.c.Close()
		b.c.Close()
		c.c.Close()
		// anvil must have seen the disconnects before the next test.
		ac := anvil.NewClientDial("private/anvil", func() (net.Conn, error) {
			return net.Dial("unix", filepath.Join(s.Queue, "private", "anvil"))
		})
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			st, err := ac.Lookup(s.addr, "127.0.0.1")
			if err == nil && st.Count == 0 {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		ac.Close()
	}
	if mask(ours.t) != mask(ref.t) {
		t.Errorf("third connection: ours %q, Postfix %q", ours.t, ref.t)
	}
	// The connection rate limit (4 per minute) is now reached.
	steps := cmds("EHLO c")
	compare(t, ours, ref, steps)
	// Sessions overlap, so only the set of lines is compared.
	waitLogsUnordered(t, ours, ref, 5)
}

// TestMessageRateLimitsMatchPostfix compares the message and recipient
// rate limits.
func TestMessageRateLimitsMatchPostfix(t *testing.T) {
	t.Parallel()
	ours, ref := startPair(t, baseMain+"smtpd_client_event_limit_exceptions =\nsmtpd_client_message_rate_limit = 1\nsmtpd_client_recipient_rate_limit = 2\n", "")
	compare(t, ours, ref, cmds("EHLO c", "MAIL FROM:<a@example.com>", "RCPT TO:<root@mx.example.test>",
		"RCPT TO:<postmaster@mx.example.test>", "RCPT TO:<root@mx.example.test>", "RSET", "MAIL FROM:<a@example.com>", "QUIT"))
	waitLogs(t, ours, ref, 2)
}
