package discard

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/postfix-go/postfix/conf"
	"github.com/postfix-go/postfix/internal/deliver"
	"github.com/postfix-go/postfix/internal/dsn"
	"github.com/postfix-go/postfix/internal/maillog"
	"github.com/postfix-go/postfix/internal/queue"
	"github.com/postfix-go/postfix/internal/record"
)

var logPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "discardtest")
	if err != nil {
		panic(err)
	}
	logPath = filepath.Join(dir, "maillog")
	c := conf.New(dir, nil)
	c.Set("maillog_file", logPath)
	c.Set("myhostname", "host.example.com")
	maillog.Init("discard", c)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

var delayRE = regexp.MustCompile(`delay=[0-9.]+, delays=[0-9.]+/[0-9.]+/[0-9.]+/[0-9.]+`)

// TestDiscard reports each recipient as sent with the next-hop text
// (and its status code), relay=none, and marks it done; a recipient
// without a queue file record (offset -1) is skipped.
func TestDiscard(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	c := conf.New(dir, nil)
	c.Set("queue_directory", filepath.Join(dir, "queue"))
	l := queue.FromConfig(c)
	if err := l.MakeDirs(); err != nil {
		t.Fatal(err)
	}
	m := &queue.Message{Arrival: time.Now(), Sender: "s@example.org", Content: []byte("x\n"),
		Recipients: []queue.Recipient{{Address: "a@example.com"}, {Address: "b@example.com", Orig: "alias@example.com"}}}
	id, err := l.WriteMessage(queue.Active, m)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(l.Path(queue.Active, id))
	rr := record.NewReader(strings.NewReader(string(b)), 0)
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
	r := &deliver.Request{Flags: deliver.FlagDefault, QueueName: queue.Active, QueueID: id, Nexthop: "2.1.5 silently dropped",
		Sender: "s@example.org", Arrival: m.Arrival, ActiveAt: time.Now(), AgentAt: time.Now(), Config: c,
		Recipients: []dsn.Recipient{{Address: "a@example.com", Offset: offs[0]}, {Address: "b@example.com", Orig: "alias@example.com", Offset: offs[1]},
			{Address: "c@example.com", Offset: -1}}}
	if st := Deliver(r); st != deliver.StatFinal {
		t.Errorf("status %d", st)
	}
	b, _ = os.ReadFile(l.Path(queue.Active, id))
	if got := string([]byte{b[offs[0]], b[offs[1]]}); got != "DD" {
		t.Errorf("marks %q", got)
	}
	lb, _ := os.ReadFile(logPath)
	var got []string
	for _, line := range strings.Split(string(lb), "\n") {
		if _, text, ok := strings.Cut(line, "]: "); ok && strings.HasPrefix(text, id) {
			got = append(got, delayRE.ReplaceAllString(text, "DELAYS"))
		}
	}
	want := []string{
		id + ": to=<a@example.com>, relay=none, DELAYS, dsn=2.1.5, status=sent (silently dropped)",
		id + ": to=<b@example.com>, orig_to=<alias@example.com>, relay=none, DELAYS, dsn=2.1.5, status=sent (silently dropped)",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("log:\n got %q\nwant %q", got, want)
	}
}
