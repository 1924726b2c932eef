package errorsvc

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/postfix-go/postfix/conf"
	"github.com/postfix-go/postfix/internal/bouncelog"
	"github.com/postfix-go/postfix/internal/deliver"
	"github.com/postfix-go/postfix/internal/dsn"
	"github.com/postfix-go/postfix/internal/maillog"
	"github.com/postfix-go/postfix/internal/queue"
	"github.com/postfix-go/postfix/internal/record"
)

var logPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "errorsvctest")
	if err != nil {
		panic(err)
	}
	logPath = filepath.Join(dir, "maillog")
	c := conf.New(dir, nil)
	c.Set("maillog_file", logPath)
	c.Set("myhostname", "host.example.com")
	maillog.Init("error", c)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

var delayRE = regexp.MustCompile(`delay=[0-9.]+, delays=[0-9.]+/[0-9.]+/[0-9.]+/[0-9.]+`)

// logged returns the log lines about queue ID id, delays masked.
func logged(t *testing.T, id string) []string {
	t.Helper()
	b, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if _, text, ok := strings.Cut(l, "]: "); ok && strings.Contains(text, id) {
			out = append(out, delayRE.ReplaceAllString(text, "DELAYS"))
		}
	}
	return out
}

// queued writes a queue file with the recipients and returns a request
// for it and the recipient record offsets.
func queued(t *testing.T, nexthop string, rcpts ...string) (*deliver.Request, queue.Layout, []int64) {
	t.Helper()
	dir := t.TempDir()
	c := conf.New(dir, nil)
	c.Set("queue_directory", filepath.Join(dir, "queue"))
	l := queue.FromConfig(c)
	if err := l.MakeDirs(); err != nil {
		t.Fatal(err)
	}
	m := &queue.Message{Arrival: time.Now(), Sender: "s@example.org", Content: []byte("Subject: x\n\nx\n")}
	for _, r := range rcpts {
		m.Recipients = append(m.Recipients, queue.Recipient{Address: r, Orig: r})
	}
	id, err := l.WriteMessage(queue.Active, m)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(l.Path(queue.Active, id))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rr := record.NewReader(bufio.NewReader(f), 0)
	var offs []int64
	for {
		off := rr.Offset()
		typ, _, err := rr.Next()
		if err != nil || typ == record.Mesg {
			break
		}
		if typ == record.Rcpt {
			offs = append(offs, off)
		}
	}
	r := &deliver.Request{Flags: deliver.FlagDefault, QueueName: queue.Active, QueueID: id, Nexthop: nexthop,
		Sender: "s@example.org", Arrival: m.Arrival, ActiveAt: time.Now(), AgentAt: time.Now(), Config: c}
	for i, a := range rcpts {
		r.Recipients = append(r.Recipients, dsn.Recipient{Address: a, Orig: a, Offset: offs[i]})
	}
	return r, l, offs
}

func marks(t *testing.T, r *deliver.Request, offs []int64) string {
	b, err := os.ReadFile(r.Layout().Path(r.QueueName, r.QueueID))
	if err != nil {
		t.Fatal(err)
	}
	var s []byte
	for _, o := range offs {
		s = append(s, b[o])
	}
	return string(s)
}

func entries(t *testing.T, l queue.Layout, log, id string) []string {
	ents, err := bouncelog.Read(l, log, id)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, fmt.Sprintf("%s %s %s %s", e.Rcpt.Address, e.Status.Code, e.Status.Action, e.Status.Reason))
	}
	return out
}

func check(t *testing.T, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s:\n got %q\nwant %q", what, got, want)
	}
}

// TestError bounces every recipient with the next-hop text and its
// enhanced status code, relay=none, and marks them done.
func TestError(t *testing.T) {
	t.Parallel()
	r, l, offs := queued(t, "5.1.1 user has moved", "a@example.com", "b@example.com")
	if st := Deliver(ServiceError, r); st != deliver.StatFinal {
		t.Errorf("status %d", st)
	}
	if m := marks(t, r, offs); m != "DD" {
		t.Errorf("marks %q", m)
	}
	check(t, "bounce log", entries(t, l, queue.Bounce, r.QueueID), []string{
		"a@example.com 5.1.1 failed user has moved", "b@example.com 5.1.1 failed user has moved"})
	check(t, "log", logged(t, r.QueueID), []string{
		r.QueueID + ": to=<a@example.com>, relay=none, DELAYS, dsn=5.1.1, status=bounced (user has moved)",
		r.QueueID + ": to=<b@example.com>, relay=none, DELAYS, dsn=5.1.1, status=bounced (user has moved)"})
}

// TestRetry defers every recipient (default code 4.0.0) and leaves them
// in the queue file.
func TestRetry(t *testing.T) {
	t.Parallel()
	r, l, offs := queued(t, "try again later", "a@example.com")
	if st := Deliver(ServiceRetry, r); st == deliver.StatFinal {
		t.Errorf("status %d, want non-zero", st)
	}
	if m := marks(t, r, offs); m != "R" {
		t.Errorf("marks %q", m)
	}
	check(t, "defer log", entries(t, l, queue.Defer, r.QueueID), []string{"a@example.com 4.0.0 delayed try again later"})
	check(t, "log", logged(t, r.QueueID), []string{
		r.QueueID + ": to=<a@example.com>, relay=none, DELAYS, dsn=4.0.0, status=deferred (try again later)"})
}

// TestSplitDSNGolden checks SplitDSN against testdata/splitdsn.golden:
// each input line (between "|") is followed by "=> code|text".
func TestSplitDSNGolden(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("testdata/splitdsn.golden")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, line := range strings.Split(string(b), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		in, want, ok := strings.Cut(line, " => ")
		if !ok {
			t.Fatalf("bad golden line %q", line)
		}
		in = strings.TrimSuffix(strings.TrimPrefix(in, "|"), "|")
		code, text := SplitDSN("5.0.0", in)
		if got := code + "|" + text; got != want {
			t.Errorf("SplitDSN(%q) = %q, want %q", in, got, want)
		}
		n++
	}
	if n < 10 {
		t.Fatalf("only %d cases", n)
	}
}

// FuzzSplitDSN: the code is always valid and the text a suffix of the
// input.
func FuzzSplitDSN(f *testing.F) {
	f.Add("5.1.1 gone")
	f.Add("  4.0.0\ttext")
	f.Add("2.0.0")
	f.Fuzz(func(t *testing.T, s string) {
		code, text := SplitDSN("5.0.0", s)
		if !dsn.Valid(code) {
			t.Fatalf("invalid code %q for %q", code, s)
		}
		if !strings.HasSuffix(s, text) {
			t.Fatalf("text %q not a suffix of %q", text, s)
		}
	})
}
