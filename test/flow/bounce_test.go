package flow

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/postfix-go/postfix/internal/flowtest"
)

// A command that fails permanently bounces the message: the sender gets
// an RFC 3464 report that Python's email parser reads as a DSN, with the
// same content as Postfix's.
func TestCommandFailureBounces(t *testing.T) {
	t.Parallel()
	p := newPair(t, "", func(s *flowtest.System) {
		s.WriteFile("aliases", "postmaster: root\nfailer: \"|echo cannot take this; exit 1\"\n")
	})
	p.start()
	msg := "From: root\nTo: failer\nSubject: to a failing command\nMessage-ID: <fail@example.org>\n\nbody\n"
	p.each(func(s *flowtest.System) {
		send(t, s, msg, "failer")
		s.WaitLog(`status=bounced`, wait)
		s.WaitLog(`sender non-delivery notification`, wait)
		waitQuiet(t, s)
	})
	sameText(t, "bounce", messages(p.file(p.ref, "spool/root")), messages(p.file(p.our, "spool/root")))
	sameText(t, "log", lineSet(logEvents(p.ref)), lineSet(logEvents(p.our)))
	got := python(t, `
import mailbox, sys
for m in mailbox.mbox(sys.argv[1]):
    print(m.get_content_type(), m.get_param("report-type"))
    for part in m.walk():
        if part.get_content_type() == "message/delivery-status":
            blocks = part.get_payload()
            print(blocks[0]["Reporting-MTA"])
            print(blocks[1]["Final-Recipient"], blocks[1]["Action"], blocks[1]["Status"])
`, filepath.Join(p.our.Spool, "root"))
	want := "multipart/report delivery-status\ndns; mx.example.test\nrfc822; failer@mx.example.test failed 5.3.0\n"
	if got != want {
		t.Errorf("python read the bounce as\n%s\nwant\n%s", got, want)
	}
}

// A message over message_size_limit is refused by sendmail (postdrop
// checks the limit) with Postfix's words and exit status; one queued
// before the limit was lowered is bounced by cleanup with 5.3.4 (the
// bounce carries only the start of the message, so that it fits).
func TestOversize(t *testing.T) {
	t.Parallel()
	p := newPair(t, "message_size_limit = 4000\nbounce_size_limit = 1000\n", nil)
	big := "Subject: too big\nMessage-ID: <big@example.org>\n\n" + strings.Repeat("0123456789012345678901234567890123456789\n", 150)
	var res [2]string
	for i, s := range []*flowtest.System{p.ref, p.our} {
		// postfix check makes the queue directories postdrop needs.
		s.Command("postfix", "", "-c", s.Etc, "check")
		r := s.Sendmail(big, "root")
		res[i] = fmt.Sprintf("exit %d\n%s", r.Exit, r.Stderr)
	}
	if res[0] != res[1] {
		t.Errorf("sendmail of an over-size message\n--- Postfix\n%s\n--- ours\n%s", res[0], res[1])
	}
	// Queue it while the system is down and the limit is high, then
	// lower the limit and start.
	p.each(func(s *flowtest.System) {
		if r := s.Command("postconf", "", "-c", s.Etc, "-e", "message_size_limit = 0"); r.Exit != 0 {
			t.Fatal(r.Stderr)
		}
		// With the system down, postdrop warns that it cannot wake
		// pickup; the message waits in maildrop.
		if r := s.Sendmail(big, "root"); r.Exit != 0 || r.Stderr != "postdrop: warning: unable to look up public/pickup: No such file or directory\n" {
			t.Errorf("%s: sendmail with the system down: exit %d, stderr %q", name(s), r.Exit, r.Stderr)
		}
		if r := s.Command("postconf", "", "-c", s.Etc, "-e", "message_size_limit = 4000"); r.Exit != 0 {
			t.Fatal(r.Stderr)
		}
		s.Backdate()
		s.Start()
		s.WaitLog(`sender non-delivery notification`, wait)
		waitQuiet(t, s)
	})
	our := p.file(p.our, "spool/root")
	if !strings.Contains(our, "Status: 5.3.4") {
		t.Errorf("our bounce has no 5.3.4 status:\n%s", our)
	}
	sameText(t, "bounce", messages(p.file(p.ref, "spool/root")), messages(our))
	sameText(t, "log", lineSet(logEvents(p.ref)), lineSet(logEvents(p.our)))
}
