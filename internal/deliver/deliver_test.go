package deliver

import (
	"io"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/postfix-go/postfix/internal/attr"
	"github.com/postfix-go/postfix/internal/dsn"
	"github.com/postfix-go/postfix/internal/queue"
	"github.com/postfix-go/postfix/internal/record"
)

// logCapture collects the lines Sent, Defer and Bounce log.
var logCapture struct {
	sync.Mutex
	lines []string
}

func TestMain(m *testing.M) {
	logInfo = func(format string, args ...any) {
		logCapture.Lock()
		logCapture.lines = append(logCapture.lines, sprintf(format, args...))
		logCapture.Unlock()
	}
	logWarn = func(format string, args ...any) {
		logCapture.Lock()
		logCapture.lines = append(logCapture.lines, "warning: "+sprintf(format, args...))
		logCapture.Unlock()
	}
	os.Exit(m.Run())
}

// linesFor returns the captured lines that start with "ID: ".
func linesFor(id string) []string {
	logCapture.Lock()
	defer logCapture.Unlock()
	var out []string
	for _, l := range logCapture.lines {
		if strings.HasPrefix(l, id+": ") || strings.Contains(l, " "+id+" ") || strings.Contains(l, "/"+id) {
			out = append(out, l)
		}
	}
	return out
}

// writeQueueFile writes a message with the given recipients to queue q
// and returns its ID and the offsets of the recipient records.
func writeQueueFile(t *testing.T, l queue.Layout, q string, rcpts ...queue.Recipient) (string, []int64, queue.Size) {
	t.Helper()
	m := &queue.Message{
		Arrival:        time.Now().Add(-3 * time.Second),
		Sender:         "sender@example.com",
		RewriteContext: "local",
		Recipients:     rcpts,
		Content:        []byte("Subject: test\n\nline one\nline two\n"),
	}
	id, err := l.WriteMessage(q, m)
	if err != nil {
		t.Fatal(err)
	}
	offs, size := recipientOffsets(t, l.Path(q, id))
	return id, offs, size
}

// recipientOffsets lists the offsets of R and D records and the size record.
func recipientOffsets(t *testing.T, path string) ([]int64, queue.Size) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rr := record.NewReader(f, 0)
	var offs []int64
	var size queue.Size
	for {
		off := rr.Offset()
		typ, data, err := rr.Next()
		if err != nil {
			t.Fatal(err)
		}
		switch typ {
		case record.Size:
			size, _ = queue.ParseSize(string(data))
		case record.Rcpt, record.Done:
			offs = append(offs, off)
		case record.Mesg:
			return offs, size
		}
	}
}

// recordTypes returns the type byte at each offset.
func recordTypes(t *testing.T, path string, offs []int64) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var s []byte
	for _, o := range offs {
		s = append(s, b[o])
	}
	return string(s)
}

func testRequest(id string, offs []int64, size queue.Size, addrs ...string) *Request {
	r := &Request{
		Flags: FlagDefault, QueueName: queue.Active, QueueID: id,
		DataOffset: size.DataOffset, DataSize: size.ContLength, Nexthop: "example.com",
		Sender: "sender@example.com", Arrival: time.Now().Add(-3 * time.Second),
		ActiveAt: time.Now().Add(-time.Second), LogIdent: id, RewriteContext: "local",
	}
	for i, a := range addrs {
		r.Recipients = append(r.Recipients, dsn.Recipient{Address: a, Orig: a, Offset: offs[i]})
	}
	return r
}

func TestRequestRoundTrip(t *testing.T) {
	t.Parallel()
	r := &Request{
		Flags: FlagDefault | FlagRecord, QueueName: "active", QueueID: "97F04988064",
		DataOffset: 342, DataSize: 304, Nexthop: "example.com", Encoding: "8bit", SMTPUTF8: 1,
		Sender: "a@b", EnvID: "env 1", Ret: dsn.RetHdrs,
		Arrival:  time.Unix(1700000000, 0),
		ActiveAt: time.Unix(1700000001, 250000000), AgentAt: time.Unix(1700000002, 5000),
		ConnSetupAt: time.Unix(1700000003, 0), DoneAt: time.Unix(1700000004, 999999000), ReuseCount: 3,
		ClientName: "c.example", ClientAddr: "192.0.2.1", ClientPort: "25", ClientProto: "ESMTP",
		HeloName: "helo", SASLMethod: "PLAIN", SASLUsername: "u", SASLSender: "s", LogIdent: "97F04988064",
		RewriteContext: "remote",
		Recipients: []dsn.Recipient{
			{Orig: "X@b", Address: "x@b", DSNOrig: "rfc822;X@b", Notify: dsn.NotifyFailure | dsn.NotifyDelay, Offset: 245},
			{Address: "y@b", Offset: 321},
		},
	}
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	go func() { _ = WriteRequest(attr.NewEncoder(a, attr.Zero), r) }()
	got, err := ReadRequest(attr.NewDecoder(b, attr.Zero))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, r) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, r)
	}

	hop := &dsn.Status{Code: "4.4.1", Reason: "connect to x: refused", Action: dsn.Delayed, MTAType: "dns", MTA: "x"}
	go func() { _ = writeReply(attr.NewEncoder(a, attr.Zero), hop, StatDefer) }()
	gotHop, st, err := readReply(attr.NewDecoder(b, attr.Zero))
	if err != nil || st != StatDefer || !reflect.DeepEqual(gotHop, hop) {
		t.Errorf("reply: %v %d %v", gotHop, st, err)
	}
	go func() { _ = writeReply(attr.NewEncoder(a, attr.Zero), nil, StatFinal) }()
	gotHop, st, err = readReply(attr.NewDecoder(b, attr.Zero))
	if err != nil || st != StatFinal || gotHop != nil {
		t.Errorf("reply: %v %d %v", gotHop, st, err)
	}
}

// serveOnce runs ServeConn on a fresh unix socket and returns a connected
// client.
func serveOnce(t *testing.T, l queue.Layout, handle func(*Request) int) (*Conn, chan error) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "agent")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		ln.Close()
		if err != nil {
			done <- err
			return
		}
		defer c.Close()
		done <- ServeConn(nil, l, c, handle)
	}()
	nc, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewConn(nc, "private/test", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return c, done
}

func TestServeOutcomes(t *testing.T) {
	t.Parallel()
	l := queue.Layout{Dir: t.TempDir(), Hashed: []string{"deferred", "defer"}, Depth: 1}
	if err := l.MakeDirs(); err != nil {
		t.Fatal(err)
	}
	id, offs, size := writeQueueFile(t, l, queue.Active,
		queue.Recipient{Address: "ok@example.com"},
		queue.Recipient{Address: "later@example.com"},
		queue.Recipient{Address: "bad@example.com", Orig: "Alias@example.com"})
	var content string
	c, done := serveOnce(t, l, func(r *Request) int {
		rd, err := r.Content()
		if err != nil {
			t.Error(err)
			return StatDefer
		}
		b, _ := io.ReadAll(rd)
		rd.Close()
		content = string(b)
		r.Sent(&r.Recipients[0], "local", dsn.New("2.0.0", "delivered to mailbox"))
		r.Defer(&r.Recipients[1], "none", dsn.New("4.2.0", "mailbox busy"))
		r.Bounce(&r.Recipients[2], "local", dsn.New("5.1.1", "unknown user: \"bad\""))
		return StatFinal
	})
	req := testRequest(id, offs, size, "ok@example.com", "later@example.com", "bad@example.com")
	req.Recipients[2].Orig = "Alias@example.com"
	st, err := c.Deliver(req)
	c.Close()
	// One recipient was deferred: the agent answers "defer" as Postfix's do.
	if err != nil || st != StatDefer {
		t.Fatalf("Deliver: %d %v, want StatDefer", st, err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if content != "Subject: test\n\nline one\nline two\n" {
		t.Errorf("content %q", content)
	}
	if got := recordTypes(t, l.Path(queue.Active, id), offs); got != "DRD" {
		t.Errorf("recipient records %q, want DRD", got)
	}
	for log, want := range map[string]string{queue.Defer: "later@example.com", queue.Bounce: "bad@example.com"} {
		b, err := os.ReadFile(l.Path(log, id))
		if err != nil || !strings.Contains(string(b), "recipient="+want) {
			t.Errorf("%s log: %q %v", log, b, err)
		}
	}
	lines := linesFor(id)
	wantRe := []string{
		`^` + id + `: to=<ok@example.com>, relay=local, delay=[34](\.\d)?, delays=[123](\.\d)?/[0-9.]+/0/[0-9.]+, dsn=2.0.0, status=sent \(delivered to mailbox\)$`,
		`^` + id + `: to=<later@example.com>, relay=none, delay=[34](\.\d)?, delays=[123](\.\d)?/[0-9.]+/0/[0-9.]+, dsn=4.2.0, status=deferred \(mailbox busy\)$`,
		`^` + id + `: to=<bad@example.com>, orig_to=<Alias@example.com>, relay=local, delay=[34](\.\d)?, delays=[123](\.\d)?/[0-9.]+/0/[0-9.]+, dsn=5.1.1, status=bounced \(unknown user: "bad"\)$`,
	}
	if len(lines) != len(wantRe) {
		t.Fatalf("log lines:\n%s", strings.Join(lines, "\n"))
	}
	for i, re := range wantRe {
		if !regexpMatch(re, lines[i]) {
			t.Errorf("line %d: %q does not match %s", i, lines[i], re)
		}
	}
}

func TestServeMissingFile(t *testing.T) {
	t.Parallel()
	l := queue.Layout{Dir: t.TempDir()}
	if err := l.MakeDirs(); err != nil {
		t.Fatal(err)
	}
	called := false
	c, done := serveOnce(t, l, func(r *Request) int { called = true; return StatFinal })
	st, err := c.Deliver(testRequest("ABCDEF12345", []int64{100}, queue.Size{}, "x@y"))
	c.Close()
	if err != nil || st != StatDefer {
		t.Errorf("Deliver: %d %v, want StatDefer", st, err)
	}
	if err := <-done; err == nil || !strings.Contains(err.Error(), "open active ABCDEF12345: No such file or directory") {
		t.Errorf("ServeConn: %v", err)
	}
	if called {
		t.Error("handler ran for a missing file")
	}
}

func TestServeHangup(t *testing.T) {
	t.Parallel()
	l := queue.Layout{Dir: t.TempDir()}
	c, done := serveOnce(t, l, func(r *Request) int { t.Error("handler ran"); return 0 })
	c.Close()
	if err := <-done; err != nil {
		t.Errorf("hang-up before a request: %v", err)
	}
}

// newLocalRequest writes a queue file and returns a request for it that
// records outcomes without any agent connection.
func newLocalRequest(t *testing.T, addrs ...string) (*Request, queue.Layout, []int64) {
	t.Helper()
	l := queue.Layout{Dir: t.TempDir(), Hashed: []string{"deferred", "defer"}, Depth: 1}
	if err := l.MakeDirs(); err != nil {
		t.Fatal(err)
	}
	var rcpts []queue.Recipient
	for _, a := range addrs {
		rcpts = append(rcpts, queue.Recipient{Address: a})
	}
	id, offs, size := writeQueueFile(t, l, queue.Active, rcpts...)
	r := testRequest(id, offs, size, addrs...)
	r.UseLayout(l)
	return r, l, offs
}

func TestSentTraceAndVerify(t *testing.T) {
	t.Parallel()
	r, l, offs := newLocalRequest(t, "a@x.example", "b@x.example")
	r.Recipients[0].Notify = dsn.NotifySuccess
	if err := r.Sent(&r.Recipients[0], "local", dsn.New("2.0.0", "delivered to mailbox")); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(l.Path(queue.Trace, r.QueueID)); err != nil || !strings.Contains(string(b), "recipient=a@x.example") {
		t.Errorf("NOTIFY=SUCCESS recipient not in the trace log: %q %v", b, err)
	}
	// An address probe (sendmail -bv) records in the trace log instead
	// of delivering, and the recipient is done, as with Postfix's agents
	// (TestProbeAgainstPostfixAgents).
	r.Flags |= FlagUserVerify
	if err := r.Sent(&r.Recipients[1], "local", dsn.New("2.0.0", "delivers to mailbox")); err != nil {
		t.Fatal(err)
	}
	if got := recordTypes(t, l.Path(queue.Active, r.QueueID), offs); got != "DD" {
		t.Errorf("records %q, want DD", got)
	}
	lines := linesFor(r.QueueID)
	if len(lines) != 2 || !strings.HasSuffix(lines[1], "dsn=2.0.0, status=deliverable (delivers to mailbox)") {
		t.Errorf("lines %q", lines)
	}
}

func TestDeferLogFailure(t *testing.T) {
	t.Parallel()
	r, l, _ := newLocalRequest(t, "a@x.example")
	// A file where the defer log directory should be: the log cannot be written.
	if err := os.RemoveAll(filepath.Join(l.Dir, queue.Defer)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(l.Dir, queue.Defer), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := r.Defer(&r.Recipients[0], "none", dsn.New("4.2.0", "busy")); err == nil {
		t.Fatal("Defer reported success without a defer log")
	}
	lines := linesFor(r.QueueID)
	if len(lines) != 1 || !strings.HasSuffix(lines[0], "dsn=4.3.0, status=deferred (defer or trace service failure)") {
		t.Errorf("lines %q", lines)
	}
}

func TestWrongClassCodes(t *testing.T) {
	t.Parallel()
	r, _, _ := newLocalRequest(t, "a@x.example", "b@x.example")
	r.Defer(&r.Recipients[0], "none", dsn.New("5.1.1", "wrong class"))
	r.Bounce(&r.Recipients[1], "none", dsn.New("4.1.1", "wrong class"))
	logCapture.Lock()
	lines := strings.Join(logCapture.lines, "\n")
	logCapture.Unlock()
	for _, want := range []string{`warning: defer_append: ignoring dsn code "5.1.1"`, "dsn=4.0.0, status=deferred (wrong class)",
		`warning: bounce_append: ignoring dsn code "4.1.1"`, "dsn=5.0.0, status=bounced (wrong class)"} {
		if !strings.Contains(lines, want) {
			t.Errorf("no %q in\n%s", want, lines)
		}
	}
}

func TestContentRecords(t *testing.T) {
	t.Parallel()
	// Long lines split into continued-line records are joined again.
	l := queue.Layout{Dir: t.TempDir(), LineLimit: 4}
	if err := l.MakeDirs(); err != nil {
		t.Fatal(err)
	}
	m := &queue.Message{Arrival: time.Now(), Sender: "s@x", Recipients: []queue.Recipient{{Address: "a@x"}},
		Content: []byte("Subject: a long header line\n\nbody that is longer than four\n\n")}
	id, err := l.WriteMessage(queue.Active, m)
	if err != nil {
		t.Fatal(err)
	}
	_, size := recipientOffsets(t, l.Path(queue.Active, id))
	r := &Request{QueueName: queue.Active, QueueID: id, DataOffset: size.DataOffset}
	r.UseLayout(l)
	if got := readContent(t, r); got != string(m.Content) {
		t.Errorf("content %q, want %q", got, m.Content)
	}

	// testdata/pointers.queue keeps its recipients behind pointer records
	// and has a continued line (postcat reads it).
	pl := queue.Layout{Dir: t.TempDir()}
	if err := pl.MakeDirs(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("testdata/pointers.queue")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pl.Path(queue.Active, "ABCDEF12345"), b, 0o700); err != nil {
		t.Fatal(err)
	}
	r = &Request{QueueName: queue.Active, QueueID: "ABCDEF12345", DataOffset: 249}
	r.UseLayout(pl)
	if got := readContent(t, r); got != "Subject: hi\n\nlong line\n" {
		t.Errorf("content %q", got)
	}
}

func readContent(t *testing.T, r *Request) string {
	t.Helper()
	rd, err := r.Content()
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	b, err := io.ReadAll(rd)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
