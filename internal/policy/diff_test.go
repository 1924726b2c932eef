package policy

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/postfix-go/postfix/internal/flowtest"
)

// TestRequestMatchesPostfix points Debian's smtpd at a recording policy
// server in every restriction stage and checks that Request.Attrs, filled
// with the same session's values, gives the same records byte for byte.
// Only the values no two sessions share (queue ID, instance, ports) are
// taken from the recorded request.
func TestRequestMatchesPostfix(t *testing.T) {
	t.Parallel()
	srv := newFakeServer(t, "tcp", "127.0.0.1:0", func(req string, n int) string {
		return "action=DUNNO\n\n"
	})
	pol := srv.ln.Addr().String()
	port := flowtest.FreePort(t)
	check := "check_policy_service inet:" + pol
	ctxCheck := "check_policy_service { inet:" + pol + ", policy_context=ctx-x, timeout=5s }"
	mainCF := strings.Join([]string{
		"smtpd_delay_reject = no",
		"smtpd_client_restrictions = " + check,
		"smtpd_helo_restrictions = " + check,
		"smtpd_sender_restrictions = " + check,
		"smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination",
		"smtpd_recipient_restrictions = " + ctxCheck,
		"smtpd_data_restrictions = " + check,
		"smtpd_end_of_data_restrictions = " + check,
		"smtpd_etrn_restrictions = " + check,
		"smtpd_client_connection_count_limit = 0",
		"local_recipient_maps =",
		"",
	}, "\n")
	master := fmt.Sprintf("127.0.0.1:%d inet n - n - - smtpd\n", port)
	sys := flowtest.NewReferenceWithMaster(t, mainCF, master)
	sys.Start()
	flowtest.WaitPort(t, port, 10*time.Second)

	defer func() {
		if t.Failed() {
			t.Log(sys.LogText())
		}
	}()
	k := flowtest.Dial(t, fmt.Sprintf("127.0.0.1:%d", port))
	k.Send("EHLO client.example\r\n", 1)
	k.Send("MAIL FROM:<sender@example.org> SIZE=321\r\n", 1)
	k.Send("RCPT TO:<postmaster@mx.example.test>\r\n", 1)
	k.Send("DATA\r\n", 1)
	got := k.Send("Subject: t\r\n\r\nhello\r\n.\r\n", 1)
	if !strings.HasPrefix(got[0], "250 ") {
		t.Fatalf("end of data: %q\n%s", got, strings.Join(k.Transcript, "\n"))
	}
	k.Send("ETRN example.net\r\n", 1)
	k.Send("QUIT\r\n", 1)

	// WaitPort's probe made a CONNECT request of its own, perhaps from
	// another smtpd process and out of order: keep this session's.
	var reqs []string
	port0 := ""
	for _, r := range srv.requests() {
		if rec := parseRecord(r); rec["protocol_state"] == "EHLO" {
			port0 = rec["client_port"]
		}
	}
	for _, r := range srv.requests() {
		if parseRecord(r)["client_port"] == port0 {
			reqs = append(reqs, r)
		}
	}
	states := []string{"CONNECT", "EHLO", "MAIL", "RCPT", "DATA", "END-OF-MESSAGE", "ETRN"}
	if len(reqs) != len(states) {
		t.Fatalf("recorded %d requests, want %d:\n%s", len(reqs), len(states), strings.Join(reqs, "---\n"))
	}
	for i, st := range states {
		rec := parseRecord(reqs[i])
		r := Request{
			ProtocolState:     st,
			ProtocolName:      "ESMTP",
			ClientAddress:     "127.0.0.1",
			ClientName:        "localhost",
			ReverseClientName: "localhost",
			ServerAddress:     "127.0.0.1",
			ServerPort:        fmt.Sprint(port),
			ClientPort:        rec["client_port"],
			Instance:          rec["instance"],
			QueueID:           rec["queue_id"],
		}
		switch st {
		case "CONNECT":
			r.ProtocolName = "SMTP"
		case "EHLO":
			r.ProtocolName = "SMTP"
			r.HeloName = "client.example"
		case "MAIL", "RCPT", "DATA", "END-OF-MESSAGE":
			r.HeloName = "client.example"
			r.Sender = "sender@example.org"
			r.Size = 321
		case "ETRN":
			r.HeloName = "client.example"
		}
		switch st {
		case "RCPT":
			r.Recipient = "postmaster@mx.example.test"
			r.PolicyContext = "ctx-x"
		case "DATA", "END-OF-MESSAGE":
			r.Recipient = "postmaster@mx.example.test"
			r.RecipientCount = 1
		case "ETRN":
			r.ETRNDomain = "example.net"
		}
		if st == "END-OF-MESSAGE" {
			r.Size = sizeOf(t, rec)
		}
		want, err := encodeRequest(r.Attrs())
		if err != nil {
			t.Fatal(err)
		}
		if string(want) != reqs[i] {
			t.Errorf("%s: Postfix sent\n%s\nwe build\n%s", st, reqs[i], want)
		}
	}
}

// sizeOf returns the size attribute Postfix computed for the message.
func sizeOf(t *testing.T, rec map[string]string) int64 {
	var n int64
	if _, err := fmt.Sscan(rec["size"], &n); err != nil {
		t.Fatalf("size %q: %v", rec["size"], err)
	}
	return n
}
