package check

import (
	"strings"
	"testing"
)

// These cover what the recorded dialogues cannot pose: flags smtpd sets
// itself (pipelining), the sleep hook, the rewrite context, the session
// bookkeeping and concurrent use.

func TestUnauthPipelining(t *testing.T) {
	t.Parallel()
	k, sink, _ := newChecker(t, "smtpd_data_restrictions = reject_unauth_pipelining\n", Deps{}, nil)
	s := &Session{Name: "unknown", Addr: "192.0.2.9", Protocol: "SMTP", HELO: "h.example", Stage: "DATA",
		Sender: "a@example.org", Recipient: "root@mx.example.test", RcptCount: 1}
	if r := k.Data(s); r != nil {
		t.Fatalf("without pipelining: %v", r)
	}
	s.Pipelined = true
	r := k.Data(s)
	want := "503 5.5.0 <DATA>: Data command rejected: Improper use of SMTP command pipelining"
	if r == nil || r.String() != want {
		t.Fatalf("got %v, want %s", r, want)
	}
	logs := strings.Join(sink.take(), "\n")
	if !strings.Contains(logs, "NOQUEUE: reject: DATA from unknown[192.0.2.9]: "+want+"; from=<a@example.org> to=<root@mx.example.test> proto=SMTP helo=<h.example>") {
		t.Errorf("log: %s", logs)
	}
}

func TestSleepRestriction(t *testing.T) {
	t.Parallel()
	var slept []int
	k, _, _ := newChecker(t, "smtpd_client_restrictions = sleep 3, permit\nsmtpd_delay_reject = no\n", Deps{Sleep: func(n int) { slept = append(slept, n) }}, nil)
	if r := k.Connect(&Session{Name: "unknown", Addr: "192.0.2.9", Stage: "CONNECT"}); r != nil {
		t.Fatal(r)
	}
	if len(slept) != 1 || slept[0] != 3 {
		t.Fatalf("slept %v", slept)
	}
}

func TestRewriteContext(t *testing.T) {
	t.Parallel()
	k, _, _ := newChecker(t, "local_header_rewrite_clients = permit_mynetworks, permit_sasl_authenticated, inline:{ {203.0.113.5 = x} }\nsmtpd_sasl_auth_enable = yes\n", Deps{}, nil)
	for _, c := range []struct {
		addr, user, want string
	}{
		{"127.0.0.1", "", "local"},
		{"192.0.2.1", "", "remote"},
		{"192.0.2.1", "alice", "local"},
		{"203.0.113.5", "", "local"},
	} {
		got, r := k.RewriteContext(&Session{Name: "unknown", Addr: c.addr, SASLUser: c.user})
		if got != c.want || r != nil {
			t.Errorf("%s %q: got %s %v, want %s", c.addr, c.user, got, r, c.want)
		}
	}
}

func TestResetTransaction(t *testing.T) {
	t.Parallel()
	s := &Session{Sender: "a@b", SenderSet: true, Recipient: "c@d", RcptCount: 2, QueueID: "X", Hold: true,
		Prepend: []string{"X-A: b"}, BCC: []string{"e@f"}, HELO: "keep.example"}
	s.st.senderMapsChk = true
	s.ResetTransaction()
	if s.SenderSet || s.Sender != "" || s.Recipient != "" || s.RcptCount != 0 || s.QueueID != "" || s.Hold ||
		s.Prepend != nil || s.BCC != nil || s.st.senderMapsChk {
		t.Errorf("not reset: %+v", s)
	}
	if s.HELO != "keep.example" {
		t.Errorf("HELO lost")
	}
}

func TestDelayRejectNo(t *testing.T) {
	t.Parallel()
	k, sink, _ := newChecker(t, "smtpd_delay_reject = no\nsmtpd_client_restrictions = reject_unknown_client_hostname\nsmtpd_sender_restrictions = reject_non_fqdn_sender\n", Deps{}, nil)
	s := &Session{Name: "unknown", ReverseName: "unknown", NameStatus: 5, ReverseNameStatus: 5, Addr: "192.0.2.9", Protocol: "SMTP", Stage: "CONNECT"}
	r := k.Connect(s)
	want := "450 4.7.25 Client host rejected: cannot find your hostname, [192.0.2.9]"
	if r == nil || r.String() != want {
		t.Fatalf("connect: %v", r)
	}
	if l := sink.take(); len(l) != 1 || l[0] != "NOQUEUE: reject: CONNECT from unknown[192.0.2.9]: "+want+"; proto=SMTP" {
		t.Errorf("log %q", l)
	}
	s.Name, s.NameStatus = "ok.example", 2
	s.Stage, s.Sender = "MAIL", "x@localhost"
	if r := k.Mail(s); r == nil || !strings.HasPrefix(r.String(), "504 5.5.2 <x@localhost>: Sender address rejected") {
		t.Fatalf("mail: %v", r)
	}
	// The restrictions already applied are not repeated at RCPT.
	s.Stage, s.Sender, s.SenderSet, s.Recipient = "RCPT", "x@example.org", true, "root@mx.example.test"
	if r := k.Rcpt(s); r != nil {
		t.Fatalf("rcpt: %v", r)
	}
}

// TestConcurrentSessions runs many sessions on one Checker at once (under
// -race this checks the shared state).
func TestConcurrentSessions(t *testing.T) {
	t.Parallel()
	k, _, dir := newChecker(t, "smtpd_recipient_restrictions = check_recipient_access texthash:DIR/r, reject_unauth_destination\n", Deps{},
		func(dir string) {
			writeFile(t, dir+"/r", "bad@mx.example.test REJECT no\n")
		})
	_ = dir
	done := make(chan string)
	for i := range 8 {
		go func() {
			s := &Session{Name: "unknown", Addr: "192.0.2.9", Protocol: "ESMTP", HELO: "h.example", Stage: "RCPT",
				Sender: "a@example.org", SenderSet: true}
			var out []string
			for j := range 50 {
				s.Recipient = []string{"root@mx.example.test", "bad@mx.example.test", "x@example.net"}[(i+j)%3]
				out = append(out, replyOrOK(k.Rcpt(s)))
			}
			done <- strings.Join(out, ",")
		}()
	}
	for range 8 {
		for _, r := range strings.Split(<-done, ",") {
			if r != "ok" && !strings.HasPrefix(r, "554 5.7.1 <bad@mx.example.test>: Recipient address rejected: no") &&
				!strings.HasPrefix(r, "454 4.7.1 <x@example.net>: Relay access denied") {
				t.Fatalf("unexpected reply %q", r)
			}
		}
	}
}

func replyOrOK(r *Reply) string {
	if r == nil {
		return "ok"
	}
	return r.String()
}
