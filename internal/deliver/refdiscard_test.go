package deliver

import (
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/postfix-go/postfix/conf"
	"github.com/postfix-go/postfix/internal/dsn"
	"github.com/postfix-go/postfix/internal/queue"
)

// chownTree gives dir and everything below to the postfix user, as the
// real daemons drop privileges to it before they open queue files.
func chownTree(t *testing.T, dir string) {
	t.Helper()
	uid, gid := 102, 105 // looked up below
	if u, err := lookupIDs("postfix"); err == nil {
		uid, gid = u[0], u[1]
	}
	err := filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
	if err != nil {
		t.Fatal(err)
	}
}

var delayFields = regexp.MustCompile(`delay=[0-9.]+, delays=[0-9.]+/[0-9.]+/[0-9.]+/[0-9.]+`)

// TestDiscardDaemon sends requests with Dial/Deliver's encoding to
// Debian's discard daemon, which must accept them, mark the recipients
// done in the queue file and log what LogLine logs for the same request.
func TestDiscardDaemon(t *testing.T) {
	d := startRefDaemon(t, "discard")
	l := queue.Layout{Dir: d.queueDir, Hashed: []string{"deferred", "defer"}, Depth: 1}
	if err := l.MakeDirs(); err != nil {
		t.Fatal(err)
	}
	id, offs, size := writeQueueFile(t, l, queue.Active,
		queue.Recipient{Address: "one@example.com", Orig: "One@Example.com"},
		queue.Recipient{Address: "a b@example.com", Orig: "alias@example.com"})
	chownTree(t, d.queueDir)

	nc, err := net.Dial("unix", d.sock)
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewConn(nc, "private/discard", 10*time.Second)
	if err != nil {
		t.Fatalf("handshake with Postfix's discard: %v", err)
	}
	req := testRequest(id, offs, size, "one@example.com", "a b@example.com")
	req.Recipients[0].Orig = "One@Example.com"
	req.Recipients[1].Orig = "alias@example.com"
	req.Nexthop = "nexthop text"
	st, err := c.Deliver(req)
	c.Close()
	if err != nil || st != StatFinal || req.HopStatus != nil {
		time.Sleep(200 * time.Millisecond)
		d.mu.Lock()
		defer d.mu.Unlock()
		t.Fatalf("Deliver to Postfix's discard: status %d, hop %v, err %v; log:\n%s", st, req.HopStatus, err, strings.Join(d.logs, "\n"))
	}
	if got := recordTypes(t, l.Path(queue.Active, id), offs); got != "DD" {
		t.Errorf("recipient records after Postfix's discard: %q, want DD", got)
	}
	for i := range req.Recipients {
		rc := &req.Recipients[i]
		line := d.waitLog(t, "to=<"+logAddr(rc.Address)+">")
		_, text, ok := strings.Cut(line, "]: ")
		if !ok || !strings.Contains(line, " postfix/discard[") {
			t.Fatalf("log line %q", line)
		}
		ours := req.LogLine(rc, "none", dsn.New("2.0.0", "nexthop text"), "sent", time.Now())
		if a, b := delayFields.ReplaceAllString(text, "DELAYS"), delayFields.ReplaceAllString(ours, "DELAYS"); a != b {
			t.Errorf("Postfix logged %q\n             we log %q", text, ours)
		}
		if !delayFields.MatchString(text) {
			t.Errorf("no delay fields in %q", text)
		}
	}
}

// TestDiscardDelays has Postfix's discard daemon log requests whose time
// stamps are all given (delivery-done included), so its delay= and
// delays= numbers are exact, and compares them with ours.
func TestDiscardDelays(t *testing.T) {
	for _, res := range []int{2, 0, 1, 6} {
		t.Run(sprintf("resolution%d", res), func(t *testing.T) { discardDelays(t, res) })
	}
}

func discardDelays(t *testing.T, res int) {
	d := startRefDaemon(t, "discard", sprintf("delay_logging_resolution_limit = %d\n", res))
	cfg := conf.New(filepath.Join(d.dir, "etc"), nil)
	cfg.Set("delay_logging_resolution_limit", sprintf("%d", res))
	l := queue.Layout{Dir: d.queueDir}
	if err := l.MakeDirs(); err != nil {
		t.Fatal(err)
	}
	steps := []time.Duration{0, 4 * time.Microsecond, 4999 * time.Microsecond, 5 * time.Millisecond,
		9999 * time.Microsecond, 10 * time.Millisecond, 94999 * time.Microsecond, 95 * time.Millisecond,
		123456 * time.Microsecond, 994999 * time.Microsecond, 995 * time.Millisecond, 999999 * time.Microsecond,
		time.Second, 1049999 * time.Microsecond, 1050 * time.Millisecond, 9949999 * time.Microsecond,
		9950 * time.Millisecond, 10 * time.Second, 10499999 * time.Microsecond, 10500 * time.Millisecond,
		99500 * time.Millisecond, 1234567890 * time.Microsecond}
	var rcpts []queue.Recipient
	for i := range steps {
		rcpts = append(rcpts, queue.Recipient{Address: sprintf("r%d@example.com", i)})
	}
	id, offs, size := writeQueueFile(t, l, queue.Active, rcpts...)
	chownTree(t, d.queueDir)
	base := time.Unix(1700000000, 123456000)
	for i, step := range steps {
		addr := sprintf("r%d@example.com", i)
		req := testRequest(id, offs[i:], size, addr)
		req.Config = cfg
		// delays= gets step, 2*step, 3*step and 4*step; delay= their sum.
		req.Arrival = base
		req.ActiveAt = base.Add(step)
		req.AgentAt = req.ActiveAt.Add(2 * step)
		req.ConnSetupAt = req.AgentAt.Add(3 * step)
		req.DoneAt = req.ConnSetupAt.Add(4 * step)
		nc, err := net.Dial("unix", d.sock)
		if err != nil {
			t.Fatal(err)
		}
		c, err := NewConn(nc, "private/discard", 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		st, err := c.Deliver(req)
		c.Close()
		if err != nil || st != StatFinal {
			t.Fatalf("step %v: status %d err %v", step, st, err)
		}
		line := d.waitLog(t, "to=<"+addr+">")
		_, text, _ := strings.Cut(line, "]: ")
		ours := req.LogLine(&req.Recipients[0], "none", dsn.New("2.0.0", req.Nexthop), "sent", time.Now())
		if text != ours {
			t.Errorf("step %v:\nPostfix logged %q\n        we log %q", step, text, ours)
		}
	}
}
