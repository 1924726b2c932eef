package qmgr

import (
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/postfix-go/postfix/internal/deliver"
	"github.com/postfix-go/postfix/internal/queue"
)

// waitIdle waits for the active queue to empty, failing the test when a
// message stays in it.
func waitIdle(t *testing.T, m *Manager, ids ...string) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		m.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		var stuck []string
		for _, id := range ids {
			if l := logs(id); len(l) > 0 && !strings.Contains(strings.Join(l, "\n"), ": removed") {
				stuck = append(stuck, strings.Join(l, "\n"))
			}
		}
		t.Fatalf("%d messages never left the active queue; logs of the unfinished:\n%s", m.Active(), strings.Join(stuck, "\n--\n"))
	}
}

// An entry whose destination queue was pruned between assign and its
// queueing (another delivery finishing runs dispatch, which forgets idle
// destinations) must still be delivered: it used to land on the
// forgotten queue, where nothing ever picked it, and its message stayed
// in the active queue with nothing more logged.
func TestPrunedDestinationLosesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	local := e.agent("local", sent)
	id := e.submit("s@example.com", "bench@local.example")
	if err := e.m.rename(id, queue.Incoming, queue.Active); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(e.l.Path(queue.Active, id))
	if err != nil {
		t.Fatal(err)
	}
	msg, err := readMessage(f, id, "active/"+id)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	e.m.mu.Lock()
	e.m.msgs[id] = msg
	e.m.mu.Unlock()
	entries := e.m.assign(msg)
	if len(entries) != 1 {
		t.Fatalf("%d entries, want 1", len(entries))
	}
	// What a delivery finishing elsewhere does in the window: dispatch,
	// which prunes the still-empty destination queue.
	e.m.mu.Lock()
	e.m.dispatch()
	_, kept := e.m.transports["local"].queues[entries[0].q.name]
	if !kept {
		e.m.enqueue(msg, entries)
	}
	e.m.mu.Unlock()
	if kept {
		t.Fatal("dispatch kept the idle destination: the test does not reach the race")
	}
	waitIdle(t, e.m, id)
	e.waitLog(id, ": removed")
	if len(local) != 1 {
		t.Errorf("local saw %d requests, want 1", len(local))
	}
}

// Delivery agents that fail in every way Postfix's queue manager copes
// with, under load and one delivery at a time per destination: whatever
// happens, every message leaves the active queue, delivered (removed) or
// deferred, and none is lost.
func TestFailingAgentsLoseNoMail(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "local_destination_concurrency_limit", "1",
		"smtp_destination_concurrency_limit", "1", "transport_retry_time", "1s")
	var n atomic.Int64
	flaky := func(c netConn) {
		k := n.Add(1)
		switch {
		case k%7 == 3:
			// Hangs up before announcing the protocol (an agent exiting
			// after max_use).
			return
		case k%5 == 2:
			// Dies in the middle of the request.
			_ = deliver.ServeConn(e.cfg, e.l, c, func(r *deliver.Request) int {
				c.Close()
				return deliver.StatFinal
			})
			return
		}
		_ = deliver.ServeConn(e.cfg, e.l, c, func(r *deliver.Request) int {
			if k%3 == 0 {
				time.Sleep(time.Millisecond)
			}
			return sent(r)
		})
	}
	e.listen("local", flaky)
	e.listen("smtp", flaky)
	// No retry service: mail for a suspended transport is deferred by the
	// queue manager itself.
	var ids []string
	for i := 0; i < 60; i++ {
		rc := []string{"bench@local.example"}
		switch i % 4 {
		case 1:
			rc = append(rc, "other@local.example")
		case 2:
			rc = []string{"x@remote.example"}
		case 3:
			rc = append(rc, "y@remote.example")
		}
		ids = append(ids, e.submit("s@example.com", rc...))
	}
	scanned := make(chan struct{})
	go func() {
		e.m.Trigger([]byte("I"))
		e.m.runScans()
		close(scanned)
	}()
	select {
	case <-scanned:
	case <-time.After(15 * time.Second):
		t.Fatal("the incoming queue scan did not finish")
	}
	waitIdle(t, e.m, ids...)
	removed, deferred := 0, 0
	for _, id := range ids {
		switch {
		case e.exists(queue.Active, id) || e.exists(queue.Incoming, id):
			t.Errorf("%s still queued:\n%s", id, strings.Join(logs(id), "\n"))
		case e.exists(queue.Deferred, id):
			deferred++
		default:
			removed++
			if !strings.Contains(strings.Join(logs(id), "\n"), id+": removed") {
				t.Errorf("%s gone without a \"removed\" line:\n%s", id, strings.Join(logs(id), "\n"))
			}
		}
	}
	if removed == 0 || deferred == 0 {
		t.Errorf("%d removed, %d deferred: the agents should have both delivered and failed", removed, deferred)
	}
}
