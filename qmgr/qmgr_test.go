package qmgr

import (
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/postfix-go/postfix/internal/deliver"
	"github.com/postfix-go/postfix/internal/queue"
)

func TestDeliverAndRemove(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	local := e.agent("local", sent)
	smtp := e.agent("smtp", sent)
	id := e.submit("sender@example.com", "a@local.example", "b+ext@local.example", "c@local.example",
		"x@remote.example", "y@remote.example")
	e.run("I")
	if e.exists(queue.Active, id) || e.exists(queue.Incoming, id) || e.exists(queue.Deferred, id) {
		t.Fatal("queue file still exists after every recipient was delivered")
	}
	lines := logs(id)
	if len(lines) != 7 {
		t.Fatalf("log lines:\n%s", strings.Join(lines, "\n"))
	}
	// size is the content's length in the queue file (record bytes), as
	// Postfix counts it: three records of 15, 2 and 6 bytes.
	if want := id + ": from=<sender@example.com>, size=23, nrcpt=5 (queue active)"; lines[0] != want {
		t.Errorf("first line %q, want %q", lines[0], want)
	}
	if want := id + ": removed"; lines[6] != want {
		t.Errorf("last line %q, want %q", lines[6], want)
	}
	sentRe := regexp.MustCompile(`^` + id + `: to=<[a-z+]+@(local|remote)\.example>, relay=test, delay=[0-9.]+, delays=[0-9.]+/[0-9.]+/0/[0-9.]+, dsn=2\.0\.0, status=sent \(ok\)$`)
	for _, l := range lines[1:6] {
		if !sentRe.MatchString(l) {
			t.Errorf("line %q", l)
		}
	}
	// local takes one recipient per request (local_destination_recipient_limit = 1);
	// smtp gets both of its recipients in one request.
	if n := len(local); n != 3 {
		t.Errorf("local saw %d requests, want 3", n)
	}
	for len(local) > 0 {
		r := <-local
		if len(r.Recipients) != 1 || r.Nexthop != "host.example.com" || r.Sender != "sender@example.com" {
			t.Errorf("local request %+v", r)
		}
	}
	if n := len(smtp); n != 1 {
		t.Fatalf("smtp saw %d requests, want 1", n)
	}
	r := <-smtp
	if len(r.Recipients) != 2 || r.Nexthop != "remote.example" || r.QueueName != "active" || r.QueueID != id {
		t.Errorf("smtp request %+v", r)
	}
	// Idle destinations are forgotten (one per local recipient otherwise)
	// by the dispatch that follows the last delivery, which may run just
	// after the message has left the active queue.
	idle := func() string {
		e.m.mu.Lock()
		defer e.m.mu.Unlock()
		for name, tr := range e.m.transports {
			if len(tr.order) != 0 || len(tr.queues) != 0 {
				return fmt.Sprintf("transport %s keeps %d idle destinations", name, len(tr.order))
			}
		}
		return ""
	}
	for deadline := time.Now().Add(5 * time.Second); idle() != ""; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal(idle())
		}
	}
}

func TestDeferRetryAndRemove(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var mu sync.Mutex
	fail := true
	seen := e.agent("smtp", func(r *deliver.Request) int {
		mu.Lock()
		defer mu.Unlock()
		if fail {
			for i := range r.Recipients {
				r.Defer(&r.Recipients[i], "mx.remote.example[192.0.2.1]:25", deliverStatus("4.4.1", "connection timed out"))
			}
			return deliver.StatFinal // Serve answers "defer" because of Defer
		}
		return sent(r)
	})
	id := e.submit("sender@example.com", "x@remote.example")
	start := time.Now()
	e.run("I")
	if !e.exists(queue.Deferred, id) {
		t.Fatal("deferred message is not in the deferred queue")
	}
	if !strings.Contains(e.l.RelPath(queue.Deferred, id), "deferred/"+id[:1]+"/") {
		t.Errorf("deferred path %s is not hashed", e.l.RelPath(queue.Deferred, id))
	}
	st, err := os.Stat(e.l.Path(queue.Deferred, id))
	if err != nil {
		t.Fatal(err)
	}
	// The next attempt is minimal_backoff_time (300s) from now.
	if d := st.ModTime().Sub(start); d < 299*time.Second || d > 302*time.Second {
		t.Errorf("deferred file time %v ahead, want about 300s", d)
	}
	if !e.exists(queue.Defer, id) {
		t.Error("no defer log")
	}
	e.waitLog(id, "status=deferred (connection timed out)")

	// A deferred-queue scan leaves it alone: its time has not come.
	e.run("D")
	if !e.exists(queue.Deferred, id) || len(seen) != 1 {
		t.Fatalf("message retried before its time (%d requests)", len(seen))
	}
	// 'A' ignores the time stamps (postqueue -f).
	mu.Lock()
	fail = false
	mu.Unlock()
	e.run("A")
	if e.exists(queue.Deferred, id) || e.exists(queue.Defer, id) {
		t.Fatalf("message or defer log left after successful retry: %v %v\n%s", e.exists(queue.Deferred, id), e.exists(queue.Defer, id), strings.Join(logs(id), "\n"))
	}
	e.waitLog(id, ": removed")
	if n := strings.Count(strings.Join(logs(id), "\n"), "(queue active)"); n != 2 {
		t.Errorf("%d '(queue active)' lines, want 2", n)
	}
}

func TestBackoffDoubles(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "minimal_backoff_time", "100s", "maximal_backoff_time", "1000s")
	e.agent("smtp", func(r *deliver.Request) int {
		r.Defer(&r.Recipients[0], "none", deliverStatus("4.0.0", "try later"))
		return deliver.StatFinal
	})
	for _, c := range []struct {
		age  time.Duration
		want time.Duration
	}{{10 * time.Second, 100 * time.Second}, {400 * time.Second, 400 * time.Second}, {5000 * time.Second, 1000 * time.Second}} {
		m := &queue.Message{Sender: "s@example.com", Arrival: time.Now().Add(-c.age), Created: time.Now().Add(-c.age)}
		id := e.submitMsg(m, "x@remote.example")
		start := time.Now()
		e.run("I")
		st, err := os.Stat(e.l.Path(queue.Deferred, id))
		if err != nil {
			t.Fatal(err)
		}
		if d := st.ModTime().Sub(start); d < c.want-2*time.Second || d > c.want+2*time.Second {
			t.Errorf("queued %v: next attempt in %v, want %v", c.age, d, c.want)
		}
	}
}

func TestExpire(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "maximal_queue_lifetime", "1d", "bounce_queue_lifetime", "1d")
	bounces := e.bounceService()
	e.agent("smtp", func(r *deliver.Request) int {
		r.Defer(&r.Recipients[0], "none", deliverStatus("4.4.1", "host unreachable"))
		return deliver.StatFinal
	})
	old := time.Now().Add(-25 * time.Hour)
	id := e.submitMsg(&queue.Message{Sender: "s@example.com", Arrival: old, Created: old}, "x@remote.example")
	e.run("I")
	e.waitLog(id, id+": from=<s@example.com>, status=expired, returned to sender")
	if e.exists(queue.Deferred, id) || e.exists(queue.Active, id) {
		t.Fatal("expired message was not removed after the defer log was returned")
	}
	e.waitLog(id, id+": removed")
	r := <-bounces
	if r.Cmd != 1 || r.QueueID != id || r.Sender != "s@example.com" || r.QueueName != "active" {
		t.Errorf("defer flush request %+v", r)
	}

	// A younger message is kept.
	id2 := e.submit("s@example.com", "y@remote.example")
	e.run("I")
	if !e.exists(queue.Deferred, id2) {
		t.Error("young message not deferred")
	}
}

func TestBounceFlushed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	bounces := e.bounceService()
	e.agent("smtp", func(r *deliver.Request) int {
		r.Bounce(&r.Recipients[0], "none", deliverStatus("5.1.1", "no such user"))
		return deliver.StatFinal
	})
	id := e.submit("s@example.com", "x@remote.example")
	e.run("I")
	e.waitLog(id, "status=bounced (no such user)")
	e.waitLog(id, id+": removed")
	if r := <-bounces; r.Cmd != 1 || r.QueueID != id {
		t.Errorf("bounce flush request %+v", r)
	}
	if e.exists(queue.Bounce, id) {
		t.Error("bounce log left")
	}
}

func TestBounceServiceDown(t *testing.T) {
	t.Parallel()
	e := newEnv(t) // no bounce service: the notice cannot be sent
	e.agent("smtp", func(r *deliver.Request) int {
		r.Bounce(&r.Recipients[0], "none", deliverStatus("5.1.1", "no such user"))
		return deliver.StatFinal
	})
	id := e.submit("s@example.com", "x@remote.example")
	e.run("I")
	if !e.exists(queue.Deferred, id) || !e.exists(queue.Bounce, id) {
		t.Fatal("message with an unsent bounce log must wait in the deferred queue")
	}
}

func TestConcurrencyLimits(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "smtp_destination_concurrency_limit", "2")
	var mu sync.Mutex
	cur, max := map[string]int{}, map[string]int{}
	total, maxTotal := 0, 0
	e.m.SetProcessLimit("smtp", 3)
	e.agent("smtp", func(r *deliver.Request) int {
		mu.Lock()
		cur[r.Nexthop]++
		total++
		if cur[r.Nexthop] > max[r.Nexthop] {
			max[r.Nexthop] = cur[r.Nexthop]
		}
		if total > maxTotal {
			maxTotal = total
		}
		mu.Unlock()
		time.Sleep(30 * time.Millisecond)
		mu.Lock()
		cur[r.Nexthop]--
		total--
		mu.Unlock()
		return sent(r)
	})
	var ids []string
	for i := 0; i < 8; i++ {
		ids = append(ids, e.submit("s@example.com", "x@one.example"), e.submit("s@example.com", "y@two.example"))
	}
	e.run("I")
	for _, id := range ids {
		if e.exists(queue.Active, id) || e.exists(queue.Deferred, id) {
			t.Errorf("%s not delivered", id)
		}
	}
	if max["one.example"] != 2 || max["two.example"] != 2 {
		t.Errorf("per-destination peaks %v, want 2 each", max)
	}
	if maxTotal != 3 {
		t.Errorf("peak concurrency %d, want the process limit 3", maxTotal)
	}
}

func TestAgentCrash(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var mu sync.Mutex
	var got [][]string
	crash := true
	e.listen("smtp", func(c netConn) {
		_ = deliver.ServeConn(e.cfg, e.l, c, func(r *deliver.Request) int {
			mu.Lock()
			defer mu.Unlock()
			var addrs []string
			for _, rc := range r.Recipients {
				addrs = append(addrs, rc.Address)
			}
			got = append(got, addrs)
			if crash {
				// Deliver the first recipient, then die without an answer.
				r.Sent(&r.Recipients[0], "test", deliverStatus("2.0.0", "ok"))
				c.Close()
				return deliver.StatFinal
			}
			return sent(r)
		})
	})
	id := e.submit("s@example.com", "a@remote.example", "b@remote.example")
	e.run("I")
	waitAny(t, "warning: private/smtp socket: malformed response")
	for _, l := range logs(id) {
		if strings.Contains(l, "deferred") {
			t.Errorf("Postfix logs no deferral after an agent crash: %s", l)
		}
	}
	if !e.exists(queue.Deferred, id) {
		t.Fatal("message not deferred after agent crash")
	}
	mu.Lock()
	crash = false
	mu.Unlock()
	e.run("FA")
	if e.exists(queue.Deferred, id) {
		t.Fatal("message not delivered on retry")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 2 || strings.Join(got[1], ",") != "b@remote.example" {
		t.Errorf("requests %v: the retry must carry only the undelivered recipient", got)
	}
}

func TestMissingTransport(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.res.route["nowhere.example"] = rewriteRes("nosuch", "nowhere.example")
	id := e.submit("s@example.com", "x@nowhere.example")
	e.run("I")
	waitAny(t, "warning: connect to transport private/nosuch: No such file or directory")
	l := e.waitLog(id, "to=<x@nowhere.example>")
	if !regexp.MustCompile(`relay=none, delay=[0-9.]+, delays=[0-9.]+/[0-9.]+/0/0, dsn=4\.3\.0, status=deferred \(mail transport unavailable\)$`).MatchString(l) {
		t.Errorf("line %q", l)
	}
	if !e.exists(queue.Deferred, id) {
		t.Error("message not deferred")
	}
	// The transport is now suspended: the next message is not even tried
	// (its recipient goes to the retry service, here missing as well).
	id2 := e.submit("s@example.com", "y@nowhere.example")
	e.run("I")
	if l := e.waitLog(id2, "to=<y@nowhere.example>"); !strings.HasSuffix(l, "dsn=4.3.0, status=deferred (mail transport unavailable)") {
		t.Errorf("line %q", l)
	}
	id3 := e.submit("s@example.com", "z@nowhere.example")
	e.run("I")
	if l := e.waitLog(id3, "to=<z@nowhere.example>"); !strings.HasSuffix(l, "dsn=4.3.0, status=deferred (mail transport unavailable)") {
		t.Errorf("line %q", l)
	}
}

func TestResolverFailureGoesToRetry(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	retry := e.agent("retry", func(r *deliver.Request) int {
		code, text, _ := strings.Cut(r.Nexthop, " ")
		for i := range r.Recipients {
			r.Defer(&r.Recipients[i], "none", deliverStatus(code, text))
		}
		return deliver.StatFinal
	})
	e.res.fail["x@remote.example"] = true
	id := e.submit("s@example.com", "x@remote.example")
	e.run("I")
	r := <-retry
	if r.Nexthop != "4.3.0 address resolver failure" {
		t.Errorf("retry nexthop %q", r.Nexthop)
	}
	e.waitLog(id, "dsn=4.3.0, status=deferred (address resolver failure)")
	if !e.exists(queue.Deferred, id) {
		t.Error("not deferred")
	}
}

func TestDeferTransports(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "defer_transports", "smtp")
	retry := e.agent("retry", func(r *deliver.Request) int {
		r.Defer(&r.Recipients[0], "none", deliverStatus("4.3.2", "deferred transport"))
		return deliver.StatFinal
	})
	e.submit("s@example.com", "x@remote.example")
	e.run("I")
	if r := <-retry; r.Nexthop != "4.3.2 deferred transport" {
		t.Errorf("nexthop %q", r.Nexthop)
	}
}

func TestCorruptFile(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.submit("s@example.com", "x@remote.example")
	// Cut the file short: no end record.
	p := e.l.Path(queue.Incoming, id)
	b, _ := os.ReadFile(p)
	if err := os.WriteFile(p, b[:len(b)-3], 0o700); err != nil {
		t.Fatal(err)
	}
	e.run("I")
	if !e.exists(queue.Corrupt, id) {
		t.Fatal("corrupt file not moved to the corrupt queue")
	}
	e.waitLog(id, "warning: saving corrupt file \""+id+"\" from queue \"active\" to queue \"corrupt\"")
}

func TestNotReadyAndHoldIgnored(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	seen := e.agent("smtp", sent)
	id := e.submit("s@example.com", "x@remote.example")
	if err := os.Chmod(e.l.Path(queue.Incoming, id), 0o600); err != nil { // still being written
		t.Fatal(err)
	}
	held, err := e.l.WriteMessage(queue.Hold, &queue.Message{Sender: "s@example.com", Arrival: time.Now(),
		Recipients: []queue.Recipient{{Address: "y@remote.example"}}, Content: []byte("x\n")})
	if err != nil {
		t.Fatal(err)
	}
	e.run("AIDW")
	if len(seen) != 0 || !e.exists(queue.Incoming, id) || !e.exists(queue.Hold, held) {
		t.Errorf("a file being written or on hold was touched (%d deliveries)", len(seen))
	}
}

func TestRestartRequeuesActive(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	seen := e.agent("smtp", sent)
	id := e.submit("s@example.com", "x@remote.example", "y@remote.example")
	// A previous queue manager moved it to active and one recipient was done.
	if err := os.Rename(e.l.Path(queue.Incoming, id), e.l.Path(queue.Active, id)); err != nil {
		t.Fatal(err)
	}
	f, _ := os.Open(e.l.Path(queue.Active, id))
	msg, err := readMessage(f, id, "")
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if err := deliver.MarkDone(e.l.Path(queue.Active, id), msg.rcpts[0].Offset); err != nil {
		t.Fatal(err)
	}
	e.m.Start()
	defer e.m.Stop()
	e.waitLog(id, ": removed")
	r := <-seen
	if len(r.Recipients) != 1 || r.Recipients[0].Address != "y@remote.example" {
		t.Errorf("after restart, request %+v; want only the undone recipient", r.Recipients)
	}
}

func TestDoubleBounceDiscarded(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.submit("", "double-bounce@local.example")
	e.run("I")
	e.waitLog(id, "to=<double-bounce@local.example>, relay=none")
	l := e.waitLog(id, "status=sent")
	if !strings.HasSuffix(l, "dsn=2.0.0, status=sent (undeliverable postmaster notification discarded)") {
		t.Errorf("line %q", l)
	}
	e.waitLog(id, ": removed")
}

func TestDeadDestination(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "smtp_destination_concurrency_limit", "1", "initial_destination_concurrency", "1")
	e.agent("smtp", func(r *deliver.Request) int {
		for i := range r.Recipients {
			r.Defer(&r.Recipients[i], "none", deliverStatus("4.4.1", "connect to mx: Connection refused"))
		}
		r.HopStatus = ptr(deliverStatus("4.4.1", "connect to mx: Connection refused"))
		return deliver.StatDefer
	})
	retry := e.agent("retry", func(r *deliver.Request) int {
		code, text, _ := strings.Cut(r.Nexthop, " ")
		for i := range r.Recipients {
			r.Defer(&r.Recipients[i], "none", deliverStatus(code, text))
		}
		return deliver.StatFinal
	})
	first := e.submit("s@example.com", "x@dead.example")
	e.run("I")
	e.waitLog(first, "status=deferred (connect to mx: Connection refused)")
	// The destination is now suspended: new mail for it goes to retry.
	second := e.submit("s@example.com", "y@dead.example")
	e.run("I")
	r := <-retry
	if r.Nexthop != "4.4.1 delivery temporarily suspended: connect to mx: Connection refused" {
		t.Errorf("retry nexthop %q", r.Nexthop)
	}
	e.waitLog(second, "status=deferred (delivery temporarily suspended: connect to mx: Connection refused)")
}

// waitAny waits for any maillog line containing sub.
func waitAny(t *testing.T, sub string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		b, _ := os.ReadFile(maillogPath)
		for _, l := range strings.Split(string(b), "\n") {
			if strings.Contains(l, sub) {
				return l
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no log line with %q", sub)
	return ""
}

func TestActiveLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "qmgr_message_active_limit", "2")
	var mu sync.Mutex
	active, peak := 0, 0
	e.agent("smtp", func(r *deliver.Request) int {
		mu.Lock()
		if n := e.m.Active(); n > peak {
			peak = n
		}
		active++
		mu.Unlock()
		time.Sleep(10 * time.Millisecond)
		return sent(r)
	})
	var ids []string
	for i := 0; i < 6; i++ {
		ids = append(ids, e.submit("s@example.com", "x@remote.example"))
	}
	e.m.Start()
	defer e.m.Stop()
	for _, id := range ids {
		e.waitLog(id, ": removed")
	}
	mu.Lock()
	defer mu.Unlock()
	if peak > 2 || active != 6 {
		t.Errorf("peak active %d (limit 2), deliveries %d", peak, active)
	}
}

func TestRecipientLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "smtp_destination_recipient_limit", "2")
	seen := e.agent("smtp", sent)
	id := e.submit("s@example.com", "a@r.example", "b@r.example", "c@r.example", "d@r.example", "e@r.example", "f@other.example")
	e.run("I")
	e.waitLog(id, ": removed")
	var sizes []int
	for len(seen) > 0 {
		r := <-seen
		sizes = append(sizes, len(r.Recipients))
	}
	sort.Ints(sizes)
	if fmt.Sprint(sizes) != "[1 1 2 2]" {
		t.Errorf("request sizes %v, want [1 1 2 2] (5 recipients at r.example in twos, 1 elsewhere)", sizes)
	}
}

func TestInitialConcurrency(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "initial_destination_concurrency", "1", "smtp_destination_concurrency_limit", "20")
	var mu sync.Mutex
	cur, peak, order := 0, 0, []int{}
	e.agent("smtp", func(r *deliver.Request) int {
		mu.Lock()
		cur++
		if cur > peak {
			peak = cur
		}
		order = append(order, cur)
		mu.Unlock()
		time.Sleep(20 * time.Millisecond)
		mu.Lock()
		cur--
		mu.Unlock()
		return sent(r)
	})
	for i := 0; i < 12; i++ {
		e.submit("s@example.com", "x@slow.example")
	}
	e.run("I")
	mu.Lock()
	defer mu.Unlock()
	// The window opens slowly: the first request runs alone.
	if order[0] != 1 || peak >= 12 || peak < 2 {
		t.Errorf("concurrency over time %v, peak %d", order, peak)
	}
}

func TestMissingTransportGoesToRetry(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	retry := e.agent("retry", func(r *deliver.Request) int {
		code, text, _ := strings.Cut(r.Nexthop, " ")
		for i := range r.Recipients {
			r.Defer(&r.Recipients[i], "none", deliverStatus(code, text))
		}
		return deliver.StatFinal
	})
	e.res.route["nowhere.example"] = rewriteRes("nosuch", "nowhere.example")
	id := e.submit("s@example.com", "x@nowhere.example")
	e.run("I")
	r := <-retry
	if r.Nexthop != "4.3.0 mail transport unavailable" || len(r.Recipients) != 1 {
		t.Errorf("retry request nexthop %q recipients %v", r.Nexthop, r.Recipients)
	}
	e.waitLog(id, "dsn=4.3.0, status=deferred (mail transport unavailable)")
	if !e.exists(queue.Deferred, id) {
		t.Error("not deferred")
	}
}

func TestNullSenderExpiresSooner(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "maximal_queue_lifetime", "5d", "bounce_queue_lifetime", "1d")
	e.bounceService()
	e.agent("smtp", func(r *deliver.Request) int {
		r.Defer(&r.Recipients[0], "none", deliverStatus("4.4.1", "host unreachable"))
		return deliver.StatFinal
	})
	old := time.Now().Add(-25 * time.Hour)
	bounceID := e.submitMsg(&queue.Message{Sender: "", Arrival: old, Created: old}, "x@remote.example")
	mailID := e.submitMsg(&queue.Message{Sender: "s@example.com", Arrival: old, Created: old}, "x@remote.example")
	e.run("I")
	e.waitLog(bounceID, bounceID+": from=<>, status=expired, returned to sender")
	if !e.exists(queue.Deferred, mailID) {
		t.Error("ordinary mail of the same age must wait for maximal_queue_lifetime")
	}
}

func TestMasterCfProcessLimit(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(dir+"/master.cf", []byte("smtp unix - - n - 2 smtp\nrelay unix - - n - - smtp\nlocal unix - n n - 0 local\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c := newEnv(t).cfg
	c.Dir = dir
	c.Set("default_process_limit", "7")
	m := New(c, queue.Layout{Dir: dir}, nil)
	m.mu.Lock()
	defer m.mu.Unlock()
	for name, want := range map[string]int{"smtp": 2, "relay": 7, "local": 0, "other": 7} {
		if got := m.transportFor(name).procLimit; got != want {
			t.Errorf("%s: process limit %d, want %d", name, got, want)
		}
	}
}

// BenchmarkDeliver measures messages per second through the queue
// manager with an agent that delivers at once.
func BenchmarkDeliver(b *testing.B) {
	e := newEnv(b)
	e.agent("smtp", sent)
	for i := 0; i < b.N; i++ {
		e.submit("s@example.com", "x@remote.example")
	}
	b.ResetTimer()
	e.run("I")
}

func TestLockedFileWaits(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	seen := e.agent("smtp", sent)
	id := e.submit("s@example.com", "x@remote.example")
	// An agent of an earlier queue manager still holds its shared lock.
	f, err := os.Open(e.l.Path(queue.Incoming, id))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	e.run("I")
	e.waitLog(id, id+": skipped, still being delivered")
	st, err := os.Stat(e.l.Path(queue.Incoming, id))
	if err != nil {
		t.Fatal("locked file did not go back to incoming")
	}
	if d := st.ModTime().Sub(start); d < 59*time.Second || d > 62*time.Second {
		t.Errorf("locked file waits %v, want 60s", d)
	}
	if len(seen) != 0 {
		t.Error("a locked file was delivered")
	}
}
