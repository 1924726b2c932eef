package deliver

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/postfix-go/postfix/internal/attr"
	"github.com/postfix-go/postfix/internal/bouncelog"
	"github.com/postfix-go/postfix/internal/dsn"
	"github.com/postfix-go/postfix/internal/queue"
)

// traceService fakes the trace service in queueDir: every request is
// answered with success and sent on the returned channel.
func traceService(t *testing.T, queueDir string) chan *bouncelog.Request {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(queueDir, "private"), 0o755); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("unix", filepath.Join(queueDir, "private", "trace"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	seen := make(chan *bouncelog.Request, 10)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			enc := attr.NewEncoder(c, attr.Zero)
			if enc.WriteProtocol(bouncelog.Protocol) == nil && enc.Flush() == nil {
				if r, err := bouncelog.ReadRequest(attr.NewDecoder(c, attr.Zero)); err == nil {
					seen <- r
					_ = enc.Write(attr.Int("status", 0))
					_ = enc.Flush()
				}
			}
			c.Close()
		}
	}()
	return seen
}

// TestProbeAgainstPostfixAgents sends an address probe (sendmail -bv) to
// Debian's discard (sent), error (bounce) and retry (defer) agents: each
// reports to the trace service, logs "deliverable" or "undeliverable",
// marks the recipient done and answers 0. Sent, Bounce and Defer must do
// the same with a probe.
func TestProbeAgainstPostfixAgents(t *testing.T) {
	for _, c := range []struct {
		agent, code, action string
		record              func(r *Request, rc *dsn.Recipient, relay string, st dsn.Status) error
	}{
		{"discard", "2.0.0", "deliverable", (*Request).Sent},
		{"error", "5.0.0", "undeliverable", (*Request).Bounce},
		{"retry", "4.1.1", "undeliverable", (*Request).Defer},
	} {
		d := startRefDaemon(t, c.agent)
		l := queue.Layout{Dir: d.queueDir, Hashed: []string{"deferred", "defer"}, Depth: 1}
		if err := l.MakeDirs(); err != nil {
			t.Fatal(err)
		}
		traces := traceService(t, d.queueDir)
		id, offs, size := writeQueueFile(t, l, queue.Active, queue.Recipient{Address: "one@example.com"})
		chownTree(t, d.queueDir)
		nc, err := net.Dial("unix", d.sock)
		if err != nil {
			t.Fatal(err)
		}
		conn, err := NewConn(nc, "private/"+c.agent, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		req := testRequest(id, offs, size, "one@example.com")
		req.Flags |= FlagUserVerify
		req.Nexthop = c.code + " probe text"
		st, err := conn.Deliver(req)
		conn.Close()
		if err != nil || st != StatFinal {
			t.Fatalf("%s: status %d, %v", c.agent, st, err)
		}
		tr := <-traces
		if tr.Entry.Status.Action != c.action || tr.Entry.Status.Code != c.code {
			t.Errorf("%s: trace entry %+v", c.agent, tr.Entry.Status)
		}
		if got := recordTypes(t, l.Path(queue.Active, id), offs); got != "D" {
			t.Errorf("Postfix's %s left the probe recipient %q", c.agent, got)
		}
		line := d.waitLog(t, "to=<one@example.com>")
		_, refText, _ := strings.Cut(line, "]: ")

		// Ours, on a file of our own.
		r, ol, ooffs := newLocalRequest(t, "one@example.com")
		r.Flags |= FlagUserVerify
		if err := c.record(r, &r.Recipients[0], "none", dsn.New(c.code, "probe text")); err != nil {
			t.Fatalf("%s: %v", c.agent, err)
		}
		if r.Deferred() {
			t.Errorf("%s: a probe counts as deferred", c.agent)
		}
		if got := recordTypes(t, ol.Path(queue.Active, r.QueueID), ooffs); got != "D" {
			t.Errorf("%s: our probe recipient %q", c.agent, got)
		}
		lines := linesFor(r.QueueID)
		if len(lines) == 0 {
			t.Fatalf("%s: we logged nothing", c.agent)
		}
		norm := func(s, id string) string {
			s = strings.ReplaceAll(s, id, "ID")
			return delayFields.ReplaceAllString(s, "DELAYS")
		}
		if a, b := norm(refText, id), norm(lines[len(lines)-1], r.QueueID); a != b {
			t.Errorf("Postfix logged %q\n     we logged %q", a, b)
		}
	}
}
