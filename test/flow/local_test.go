package flow

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/postfix-go/postfix/internal/flowtest"
)

const wait = 30 * time.Second

func send(t *testing.T, s *flowtest.System, msg string, args ...string) {
	t.Helper()
	if r := s.Sendmail(msg, args...); r.Exit != 0 || r.Stderr != "" {
		t.Fatalf("%s: sendmail %v: exit %d, stderr %q", name(s), args, r.Exit, r.Stderr)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// A message from sendmail lands in root's mbox with the headers Postfix
// adds (Return-Path, X-Original-To, Delivered-To, Received, Message-Id,
// Date, From) and the body's "From " lines quoted, and Python's mailbox
// module reads it.
func TestMboxDelivery(t *testing.T) {
	t.Parallel()
	p := newPair(t, "", nil)
	p.start()
	msg := "Subject: hello\n\nfirst line\nFrom the start\n>From quoted\n.\nlast\n"
	p.each(func(s *flowtest.System) { send(t, s, msg, "root") })
	p.each(func(s *flowtest.System) { s.WaitLog(`: removed$`, wait) })
	sameText(t, "mbox", p.file(p.ref, "spool/root"), p.file(p.our, "spool/root"))
	sameText(t, "log", lineSet(logEvents(p.ref)), lineSet(logEvents(p.our)))
	got := python(t, `
import mailbox, sys
for m in mailbox.mbox(sys.argv[1]):
    print(m["Subject"], "|", m["From"], "|", m.get_payload().count("\n"))
`, filepath.Join(p.our.Spool, "root"))
	// Without -i a line of one dot ends the message, as in Postfix.
	if got != "hello | root <root@mx.example.test> | 3\n" {
		t.Errorf("python mailbox read %q", got)
	}
}

// Aliases fan out to users, :include: files, files and Maildir
// directories; owner- aliases and the headers match Postfix.
func TestAliasFanOut(t *testing.T) {
	t.Parallel()
	p := newPair(t, "", func(s *flowtest.System) {
		out := filepath.Join(s.Base, "out")
		if err := os.MkdirAll(out, 0o777); err != nil {
			t.Fatal(err)
		}
		_ = os.Chmod(out, 0o777)
		// A file named in an :include: file is refused by default
		// (allow_mail_to_files), one named in aliases is not.
		s.WriteFile("team.inc", "# the team\npostmaster\n"+out+"/refused.mbox\n")
		s.WriteFile("aliases", "postmaster: root\nteam: root, :include:"+s.Etc+"/team.inc, "+out+"/Maildir/, "+out+"/file.mbox\n")
	})
	p.start()
	msg := "From: Sender <sender@example.org>\nTo: team\nSubject: fan out\nMessage-ID: <fan@example.org>\n\nbody\n"
	p.each(func(s *flowtest.System) { send(t, s, msg, "-f", "sender@example.org", "team") })
	p.each(func(s *flowtest.System) {
		s.WaitLog(`message-id=<fan@example.org>`, wait)
		s.WaitLog(`sender non-delivery notification`, wait)
		waitQuiet(t, s)
	})
	sameText(t, "root's mailbox", messages(p.file(p.ref, "spool/root")), messages(p.file(p.our, "spool/root")))
	sameText(t, "file", messages(p.file(p.ref, "out/file.mbox")), messages(p.file(p.our, "out/file.mbox")))
	sameText(t, "log", lineSet(logEvents(p.ref)), lineSet(logEvents(p.our)))
	// root: the direct copy and the copy forwarded through the :include:
	// file's postmaster; the bounce for the refused file went to the
	// remote sender.
	got := python(t, `
import mailbox, sys
print(sorted(str(m["Subject"]) for m in mailbox.mbox(sys.argv[1])), [m["Subject"] for m in mailbox.Maildir(sys.argv[2], factory=None)])
`, filepath.Join(p.our.Spool, "root"), filepath.Join(p.our.Base, "out", "Maildir"))
	if got != "['fan out', 'fan out'] ['fan out']\n" {
		t.Errorf("python read %q", got)
	}
}
