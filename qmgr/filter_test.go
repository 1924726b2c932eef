package qmgr

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/postfix-go/postfix/internal/deliver"
	"github.com/postfix-go/postfix/internal/queue"
	"github.com/postfix-go/postfix/internal/record"
)

// rec is one queue file record for withRecords.
type rec struct {
	t    record.Type
	data string
}

// withRecords returns the queue file data with recs inserted right after
// the first record of type after: record.From puts them in the envelope
// (as cleanup does for content_filter), record.Xtra in the extracted
// section (as cleanup does for header_checks FILTER and REDIRECT). The
// size record's data offset follows the envelope growing.
func withRecords(t *testing.T, data []byte, after record.Type, recs ...rec) []byte {
	t.Helper()
	var extra int64
	if after != record.Xtra {
		for _, r := range recs {
			extra += int64(1 + record.LengthSize(len(r.data)) + len(r.data))
		}
	}
	var out bytes.Buffer
	w := record.NewWriter(&out)
	rr := record.NewReader(bytes.NewReader(data), 0)
	done, inContent := false, false
	for {
		typ, d, err := rr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if typ == record.Size {
			sz, err := queue.ParseSize(string(d))
			if err != nil {
				t.Fatal(err)
			}
			sz.DataOffset += extra
			d = []byte(sz.String())
		}
		if err := w.Put(typ, d); err != nil {
			t.Fatal(err)
		}
		switch typ {
		case record.Mesg:
			inContent = true
		case record.Xtra:
			inContent = false
		}
		if typ == after && !done && (!inContent || typ == record.Xtra) {
			done = true
			for _, r := range recs {
				if err := w.PutString(r.t, r.data); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if !done {
		t.Fatalf("no %c record to insert after", after)
	}
	return out.Bytes()
}

// filterCase is one queue file for TestPostfixQmgrFilterRedirect.
type filterCase struct {
	name  string
	after record.Type
	recs  []rec
}

var filterCases = []filterCase{
	{"filter with nexthop", record.From, []rec{{record.Filter, "smtp:[127.0.0.1]:10025"}}},
	// Without a nexthop the recipient's domain is the destination; the
	// last filter record wins.
	{"filter without nexthop", record.Xtra, []rec{{record.Filter, "nosuch:x"}, {record.Filter, "smtp"}}},
	{"filter with empty nexthop", record.Xtra, []rec{{record.Filter, "smtp:"}}},
	// One recipient, the first by domain, is replaced by the rewritten
	// target; the others are dropped. A redirect overrides a filter.
	{"redirect", record.Xtra, []rec{{record.Redirect, "boss"}}},
	{"redirect and filter", record.Xtra, []rec{{record.Filter, "nosuch:x"}, {record.Redirect, "chief@remote.example"}}},
	// VERP: one recipient per request, sender with the recipient.
	{"verp", record.From, []rec{{record.Verp, "+="}}},
	{"bad verp", record.From, []rec{{record.Verp, "xy"}}},
	// An address probe (sendmail -bv) is not filtered.
	{"probe", record.From, []rec{{record.Filter, "nosuch:x"}, {record.Attr, "trace_flags=512"}}},
}

// filterMessage is refMessage with a recipient at a domain that sorts
// first and one without a domain (that sorts last).
func filterMessage() *queue.Message {
	m := refMessage()
	m.Recipients = append(m.Recipients, queue.Recipient{Address: "c@other.example"}, queue.Recipient{Address: "d"})
	return m
}

// TestPostfixQmgrFilterRedirect runs Debian's qmgr and ours over the same
// queue files with content filter, redirect and VERP records, and
// compares the delivery requests each sends, what each logs, and that
// each removes the file once the requests are done.
func TestPostfixQmgrFilterRedirect(t *testing.T) {
	t.Parallel()
	ref := startRefQmgr(t, sent)
	e := newEnv(t, "compatibility_level", "3.6")
	e.bounceService()
	ours := e.agent("smtp", sent)
	e.agent("nosuch", sent)

	type file struct{ refID, ourID string }
	var files []file
	for _, c := range filterCases {
		refID, b := stageMessage(t, filterMessage())
		b = withRecords(t, b, c.after, c.recs...)
		placeFile(t, ref.l.Path(queue.Incoming, refID), b)
		ourID := e.submitMsg(&queue.Message{Sender: "x"})
		placeFile(t, e.l.Path(queue.Incoming, ourID), b)
		files = append(files, file{refID, ourID})
	}
	ref.kick(t)
	for _, f := range files {
		ref.waitLog(t, f.refID+": removed")
	}
	e.run("I")
	for _, f := range files {
		e.waitLog(f.ourID, f.ourID+": removed")
	}
	byID := func(ch chan *deliver.Request) map[string][]*deliver.Request {
		out := map[string][]*deliver.Request{}
		for {
			select {
			case r := <-ch:
				out[r.QueueID] = append(out[r.QueueID], r)
			case <-time.After(200 * time.Millisecond):
				return out
			}
		}
	}
	refReqs, ourReqs := byID(ref.requests), byID(ours)
	for i, c := range filterCases {
		f := files[i]
		t.Run(c.name, func(t *testing.T) {
			a, b := refReqs[f.refID], ourReqs[f.ourID]
			if len(a) == 0 {
				t.Fatalf("Postfix's qmgr sent no request to smtp")
			}
			if len(a) != len(b) {
				t.Fatalf("Postfix's qmgr sent %d requests to smtp, ours %d", len(a), len(b))
			}
			key := func(r *deliver.Request) string { return r.Nexthop + " " + r.Sender + " " + sprint(r.Recipients) }
			sort.Slice(a, func(i, j int) bool { return key(a[i]) < key(a[j]) })
			sort.Slice(b, func(i, j int) bool { return key(b[i]) < key(b[j]) })
			for i := range a {
				// The on-demand connection caching flags depend on timing
				// (back-to-back deliveries); TestSessionCacheFlags tests them.
				ra, rb := *a[i], *b[i]
				ra.Flags &^= deliver.FlagConnLoad | deliver.FlagConnStore
				rb.Flags &^= deliver.FlagConnLoad | deliver.FlagConnStore
				compareRequests(t, &ra, &rb)
			}
			// The queue managers' lines, and the fake agent's lines for
			// each (in our log file for both).
			isAgent := func(l string) bool { return strings.Contains(l, ", relay=test, ") }
			norm := func(lines []string, id string, agent bool) string {
				var out []string
				for _, l := range lines {
					if isAgent(l) == agent {
						out = append(out, delayFields.ReplaceAllString(strings.ReplaceAll(l, id, "ID"), "DELAYS"))
					}
				}
				if agent {
					sort.Strings(out)
				}
				return strings.Join(out, "\n")
			}
			if a, b := norm(ref.linesAbout(f.refID), f.refID, false), norm(logs(f.ourID), f.ourID, false); a != b {
				t.Errorf("Postfix's qmgr logged:\n%s\nours:\n%s", a, b)
			}
			if a, b := norm(logs(f.refID), f.refID, true), norm(logs(f.ourID), f.ourID, true); a != b || a == "" {
				t.Errorf("agent logged for Postfix's requests:\n%s\nfor ours:\n%s", a, b)
			}
		})
	}
	// What the cases are about, so that a change on both sides is seen.
	want := map[string]string{
		"filter with nexthop": "[127.0.0.1]:10025 s@example.com c@other.example,a@remote.example,b@remote.example,d",
		"filter without nexthop": "host.example.com s@example.com d|other.example s@example.com c@other.example|" +
			"remote.example s@example.com a@remote.example,b@remote.example",
		"filter with empty nexthop": "host.example.com s@example.com d|other.example s@example.com c@other.example|" +
			"remote.example s@example.com a@remote.example,b@remote.example",
		"redirect":            "example.com s@example.com boss@example.com",
		"redirect and filter": "remote.example s@example.com chief@remote.example",
		"verp": "d s+d@example.com d|other.example s+c=other.example@example.com c@other.example|" +
			"remote.example s+A=remote.example@example.com a@remote.example|" +
			"remote.example s+b=remote.example@example.com b@remote.example",
		"bad verp": "d s@example.com d|other.example s@example.com c@other.example|" +
			"remote.example s@example.com a@remote.example,b@remote.example",
		"probe": "d s@example.com d|other.example s@example.com c@other.example|" +
			"remote.example s@example.com a@remote.example,b@remote.example",
	}
	for i, c := range filterCases {
		var got []string
		for _, r := range ourReqs[files[i].ourID] {
			var rcpts []string
			for _, rc := range r.Recipients {
				rcpts = append(rcpts, rc.Address)
			}
			got = append(got, fmt.Sprintf("%s %s %s", r.Nexthop, r.Sender, strings.Join(rcpts, ",")))
		}
		sort.Strings(got)
		if g := strings.Join(got, "|"); g != want[c.name] {
			t.Errorf("%s: requests %q, want %q", c.name, g, want[c.name])
		}
		for _, l := range []queue.Layout{e.l} {
			if _, err := os.Stat(l.Path(queue.Active, files[i].ourID)); err == nil {
				t.Errorf("%s: file left in the active queue", c.name)
			}
		}
	}
}

// linesAbout returns what Debian's qmgr logged about id, in order.
func (r *refQmgr) linesAbout(id string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, l := range r.logs {
		if _, text, ok := strings.Cut(l, "]: "); ok && strings.Contains(text, id) {
			out = append(out, text)
		}
	}
	return out
}

// submitWith queues m with recs inserted after the first record of type
// after, in one rename as cleanup does.
func (e *env) submitWith(m *queue.Message, after record.Type, recs ...rec) string {
	e.t.Helper()
	t := e.t.(*testing.T)
	id := e.submitMsg(m)
	p := e.l.Path(queue.Incoming, id)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	placeFile(t, p, withRecords(t, b, after, recs...))
	return id
}

func rcpts(addrs ...string) []queue.Recipient {
	var out []queue.Recipient
	for _, a := range addrs {
		out = append(out, queue.Recipient{Address: a, Orig: a})
	}
	return out
}

// The header_checks FILTER action of the end-to-end test: every recipient
// goes to the error service with the text as next hop, in one request.
func TestFilterToErrorService(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	seen := e.agent("error", sent)
	id := e.submitWith(&queue.Message{Sender: "s@example.com", Recipients: rcpts("root@local.example", "x@remote.example")},
		record.Xtra, rec{record.Filter, "error:filtered away"})
	e.run("I")
	r := <-seen
	if r.Nexthop != "filtered away" || len(r.Recipients) != 2 || r.Recipients[0].Address != "root@local.example" {
		t.Errorf("request: nexthop %q, recipients %+v", r.Nexthop, r.Recipients)
	}
	if e.exists(queue.Active, id) || e.exists(queue.Deferred, id) {
		t.Error("message not removed")
	}
}

// default_filter_nexthop replaces the recipient domain; address probes
// (sendmail -bv) are not filtered.
func TestFilterDefaultNexthopAndProbes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "default_filter_nexthop", "[10.0.0.1]:10025")
	e.bounceService()
	filt := e.agent("filt", sent)
	smtp := e.agent("smtp", sent)
	e.submitWith(&queue.Message{Sender: "s@example.com", Recipients: rcpts("a@remote.example")},
		record.From, rec{record.Filter, "filt"})
	probe := &queue.Message{Sender: "s@example.com", Recipients: rcpts("b@remote.example"),
		Attrs: []queue.Attr{{Name: "trace_flags", Value: fmt.Sprint(deliver.FlagUserVerify)}}}
	e.submitWith(probe, record.From, rec{record.Filter, "filt"})
	e.run("I")
	if r := <-filt; r.Nexthop != "[10.0.0.1]:10025" || r.Recipients[0].Address != "a@remote.example" {
		t.Errorf("filter request: nexthop %q, recipients %+v", r.Nexthop, r.Recipients)
	}
	if r := <-smtp; r.Nexthop != "remote.example" || r.Recipients[0].Address != "b@remote.example" || r.Flags&deliver.FlagUserVerify == 0 {
		t.Errorf("probe request: nexthop %q, flags %#x, recipients %+v", r.Nexthop, r.Flags, r.Recipients)
	}
	select {
	case r := <-filt:
		t.Errorf("the probe went to the filter: %+v", r.Recipients)
	default:
	}
}

// A redirected message whose delivery is deferred keeps all its
// recipients; the next attempt redirects again, once.
func TestRedirectDeferred(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var deferNow atomic.Bool
	deferNow.Store(true)
	seen := e.agent("smtp", func(r *deliver.Request) int {
		if deferNow.Load() {
			for i := range r.Recipients {
				_ = r.Defer(&r.Recipients[i], "test", deliverStatus("4.0.0", "later"))
			}
			return deliver.StatFinal
		}
		return sent(r)
	})
	id := e.submitWith(&queue.Message{Sender: "s@example.com", Recipients: rcpts("b@y.example", "a@y.example", "z@x.example")},
		record.Xtra, rec{record.Redirect, "boss@remote.example"})
	e.run("I")
	r := <-seen
	if len(r.Recipients) != 1 || r.Recipients[0].Address != "boss@remote.example" || r.Recipients[0].Orig != "z@x.example" {
		t.Fatalf("first attempt: %+v", r.Recipients)
	}
	if !e.exists(queue.Deferred, id) {
		t.Fatal("deferred message not in the deferred queue")
	}
	f, err := os.Open(e.l.Path(queue.Deferred, id))
	if err != nil {
		t.Fatal(err)
	}
	m, err := readMessage(f, id, "")
	f.Close()
	if err != nil || len(m.rcpts) != 3 {
		t.Fatalf("deferred file: %v, %d recipients", err, len(m.rcpts))
	}
	deferNow.Store(false)
	e.run("A")
	r = <-seen
	if len(r.Recipients) != 1 || r.Recipients[0].Address != "boss@remote.example" {
		t.Fatalf("second attempt: %+v", r.Recipients)
	}
	e.waitLog(id, id+": removed")
	select {
	case r := <-seen:
		t.Errorf("more than one delivery: %+v", r.Recipients)
	default:
	}
}

// An address probe whose recipient the agent finds undeliverable for now
// is not retried: its report is sent and the file removed, as Postfix
// does.
func TestProbeNotRetried(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	traces := e.bounceService()
	e.agent("smtp", func(r *deliver.Request) int {
		for i := range r.Recipients {
			_ = r.Defer(&r.Recipients[i], "test", deliverStatus("4.0.0", "later"))
		}
		return deliver.StatFinal
	})
	probe := &queue.Message{Sender: "s@example.com", Recipients: rcpts("b@remote.example"),
		Attrs: []queue.Attr{{Name: "trace_flags", Value: fmt.Sprint(deliver.FlagUserVerify)}}}
	id := e.submitMsg(probe)
	e.run("I")
	e.waitLog(id, id+": removed")
	if e.exists(queue.Deferred, id) {
		t.Error("probe deferred")
	}
	if r := <-traces; r.QueueID != id {
		t.Errorf("report for %s", r.QueueID)
	}
}
