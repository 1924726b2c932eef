package qmgr

import (
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/postfix-go/postfix/internal/flowtest"
)

var (
	flowPrefix = regexp.MustCompile(`^\w{3} [ 0-9]\d \d\d:\d\d:\d\d \S+ `)
	flowPID    = regexp.MustCompile(`\[\d+\]`)
	flowQID    = regexp.MustCompile(`\b[0-9A-F]{10,12}\b`)
	flowNotice = regexp.MustCompile(`from=<>, size=\d+`)
)

// flowEvents returns a system's qmgr and error (retry) log lines with times,
// process IDs, queue IDs and delays replaced, sorted.
func flowEvents(s *flowtest.System) string {
	var out []string
	for _, l := range s.LogLines(`postfix/(qmgr|error)\[`) {
		l = flowPrefix.ReplaceAllString(l, "")
		l = flowPID.ReplaceAllString(l, "[PID]")
		l = flowQID.ReplaceAllString(l, "QID")
		l = delayFields.ReplaceAllString(l, "DELAYS")
		// The size of a non-delivery notice is the bounce daemon's
		// business (its text), not the queue manager's.
		l = flowNotice.ReplaceAllString(l, "from=<>, size=N")
		out = append(out, l)
	}
	sort.Strings(out)
	return strings.Join(out, "\n")
}

// TestFlowMissingTransport runs the whole mail system, ours and Debian's,
// with local_transport naming a service master.cf does not have: the
// queue manager warns, hands the recipient to the retry service, and the
// message is deferred, with the same log lines from both.
func TestFlowMissingTransport(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts two mail systems")
	}
	const extra = "local_transport = nosuch\n"
	ref := flowtest.NewReference(t, extra)
	ours := flowtest.New(t, extra)
	var got [2]string
	for i, s := range []*flowtest.System{ref, ours} {
		s.Start()
		if r := s.Sendmail("Subject: x\n\nbody\n", "root"); r.Exit != 0 {
			t.Fatalf("sendmail: exit %d: %s", r.Exit, r.Stderr)
		}
		s.WaitLog(`postfix/error\[\d+\]: .*status=deferred \(mail transport unavailable\)`, 30*time.Second)
		time.Sleep(500 * time.Millisecond)
		got[i] = flowEvents(s)
		s.Stop()
	}
	if got[0] != got[1] {
		t.Errorf("Postfix logged:\n%s\n\nwe logged:\n%s", got[0], got[1])
	}
}

// TestFlowExpire runs both mail systems with maximal_queue_lifetime = 0
// (try once): a recipient whose command fails temporarily is deferred,
// the queue manager at once returns the message to the sender
// ("status=expired, returned to sender") and the notice is delivered;
// both log the same queue manager lines.
func TestFlowExpire(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts two mail systems")
	}
	const extra = "maximal_queue_lifetime = 0\nbounce_queue_lifetime = 0\n"
	ref := flowtest.NewReference(t, extra)
	ours := flowtest.New(t, extra)
	var got [2]string
	for i, s := range []*flowtest.System{ref, ours} {
		script := s.WriteFile("tmpfail.sh", "#!/bin/sh\necho not now; exit 75\n")
		if err := os.Chmod(script, 0o755); err != nil {
			t.Fatal(err)
		}
		s.WriteFile("aliases", "postmaster: root\nlater: \"|"+script+"\"\n")
		s.Start()
		if r := s.Sendmail("Subject: x\n\nbody\n", "later"); r.Exit != 0 {
			t.Fatalf("sendmail: exit %d: %s", r.Exit, r.Stderr)
		}
		s.WaitLog(`postfix/qmgr\[\d+\]: \w+: from=<root@[^>]*>, status=expired, returned to sender`, 30*time.Second)
		s.WaitLog(`postfix/local\[\d+\]: .*to=<root@.*status=sent \(delivered to mailbox\)`, 30*time.Second)
		time.Sleep(time.Second)
		got[i] = flowEvents(s)
		s.Stop()
	}
	if got[0] != got[1] {
		t.Errorf("Postfix logged:\n%s\n\nwe logged:\n%s", got[0], got[1])
	}
}
