package local

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/postfix-go/postfix/internal/flowtest"
)

// TestFlowLocal sends mail with sendmail through the whole mail system
// (master, pickup, cleanup, trivial-rewrite, qmgr, local): to a user, to
// an alias that fans out to a user and a file, and to an unknown user,
// and reads the mailbox back.
func TestFlowLocal(t *testing.T) {
	t.Parallel()
	s := flowtest.New(t, "")
	user := "nobody"
	if os.Geteuid() != 0 {
		if u := os.Getenv("USER"); u != "" {
			user = u
		}
	}
	out := filepath.Join(s.Base, "out")
	if err := os.MkdirAll(out, 0o1777); err != nil {
		t.Fatal(err)
	}
	_ = os.Chmod(out, 0o1777)
	s.WriteFile("aliases", "team: "+user+", "+out+"/team.mbox\n")
	s.Start()
	if r := s.Sendmail("Subject: flow\n\nhello flow\n", "-f", "sender@example.org", user, "team", "nosuchuser"); r.Exit != 0 {
		t.Fatalf("sendmail: %+v", r)
	}
	s.WaitLog(`to=<`+user+`@[^>]*>, orig_to=<team>, relay=local, .*status=sent \(delivered to mailbox\)`, 30*time.Second)
	s.WaitLog(`to=<team@[^>]*>, orig_to=<team>, relay=local, .*status=sent \(delivered to file: `+out+`/team.mbox\)`, 30*time.Second)
	s.WaitLog(`to=<nosuchuser@[^>]*>, orig_to=<nosuchuser>, relay=local, .*dsn=5.1.1, status=bounced \(unknown user: "nosuchuser"\)`, 30*time.Second)
	box := filepath.Join(s.Spool, user)
	deadline := time.Now().Add(10 * time.Second)
	var msgs []string
	for time.Now().Before(deadline) {
		if _, err := os.Stat(box); err == nil {
			if msgs = pyMailbox(t, "mbox", box); len(msgs) >= 2 {
				break
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	var flow int
	for _, m := range msgs {
		if strings.Contains(m, "|flow|hello flow") {
			flow++
		}
	}
	if flow != 2 {
		t.Errorf("mailbox %s: %q (want two copies of the message)", box, msgs)
	}
}
