package policy

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/postfix-go/postfix/conf"
)

// configWith is main.cf with the given lines.
func configWith(t *testing.T, lines ...string) *conf.Config {
	t.Helper()
	dir := t.TempDir()
	text := strings.Join(lines, "\n") + "\n"
	if err := os.WriteFile(filepath.Join(dir, "main.cf"), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := conf.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func echoAction(req string, n int) string {
	return "action=OK " + parseRecord(req)["instance"] + "\n\n"
}

// A unix: path relative to the queue directory, connection reuse,
// request_limit and the request bytes on the wire.
func TestQueryUnixRelative(t *testing.T) {
	t.Parallel()
	q := t.TempDir()
	if err := os.Mkdir(filepath.Join(q, "private"), 0o755); err != nil {
		t.Fatal(err)
	}
	srv := newFakeServer(t, "unix", filepath.Join(q, "private", "policy"), echoAction)
	c := configWith(t, "queue_directory = "+q)
	p, err := New(c, "{ unix:private/policy, request_limit=2 }")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	w := &warnLines{}
	p.Warn = w.warn
	for i := 0; i < 5; i++ {
		r := &Request{ProtocolState: "RCPT", Instance: fmt.Sprint(i), Sender: "a@b"}
		action, err := p.QueryRequest(r)
		if err != nil || action != "OK "+fmt.Sprint(i) {
			t.Fatalf("query %d: %q %v", i, action, err)
		}
	}
	if n := srv.connCount(); n != 3 {
		t.Errorf("5 requests with request_limit=2 used %d connections, want 3", n)
	}
	reqs := srv.requests()
	want, _ := encodeRequest((&Request{ProtocolState: "RCPT", Instance: "4", Sender: "a@b"}).Attrs())
	if reqs[4] != string(want) {
		t.Errorf("request on the wire:\n%s\nwant:\n%s", reqs[4], want)
	}
	if len(w.lines) != 0 {
		t.Errorf("warnings: %q", w.lines)
	}
}

// Concurrent sessions each get a connection of their own; idle ones are
// reused, preferring the one that served the same instance.
func TestQueryConcurrent(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	gate := make(chan struct{})
	inFlight, most := 0, 0
	srv := newFakeServer(t, "tcp", "127.0.0.1:0", func(req string, n int) string {
		mu.Lock()
		inFlight++
		if inFlight > most {
			most = inFlight
		}
		mu.Unlock()
		if n <= 4 {
			<-gate
		}
		mu.Lock()
		inFlight--
		mu.Unlock()
		return echoAction(req, n)
	})
	p, err := New(defaultConfig(t), "inet:"+srv.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			inst := fmt.Sprint("i", i)
			if a, err := p.Query([]Attr{{"request", "smtpd_access_policy"}, {"instance", inst}}); err != nil || a != "OK "+inst {
				t.Errorf("%s: %q %v", inst, a, err)
			}
		}()
	}
	for srv.connCount() < 4 || len(srv.requests()) < 4 {
		time.Sleep(5 * time.Millisecond)
	}
	close(gate)
	wg.Wait()
	if most != 4 || srv.connCount() != 4 {
		t.Errorf("concurrency %d over %d connections, want 4 and 4", most, srv.connCount())
	}
	for i := 0; i < 8; i++ {
		inst := fmt.Sprint("i", i%4)
		if a, err := p.Query([]Attr{{"instance", inst}}); err != nil || a != "OK "+inst {
			t.Fatalf("%s: %q %v", inst, a, err)
		}
	}
	if srv.connCount() != 4 {
		t.Errorf("sequential queries opened new connections: %d", srv.connCount())
	}
}

// A server that closes an idle connection: the client notices before it
// sends, reconnects at once and logs nothing (Postfix does likewise).
func TestQueryServerClosedIdle(t *testing.T) {
	t.Parallel()
	srv := newFakeServer(t, "tcp", "127.0.0.1:0", func(req string, n int) string {
		return "action=DUNNO\n\n" + closeMark
	})
	p, err := New(defaultConfig(t), "inet:"+srv.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	w := &warnLines{}
	p.Warn = w.warn
	if _, err := p.Query([]Attr{{"request", "x"}}); err != nil {
		t.Fatal(err)
	}
	// Wait until the hang-up has reached the client's end of the pooled
	// connection (on a loaded machine the kernel may deliver it well
	// after the server's close).
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		p.mu.Lock()
		seen := len(p.idle) == 1 && p.idle[0].stale()
		p.mu.Unlock()
		if seen {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the client never saw the server hang up")
		}
	}
	// The client notices the hang-up before it sends: with one try
	// allowed, a request written to the dead connection would fail.
	p.TryLimit = 1
	if a, err := p.Query([]Attr{{"request", "x"}}); err != nil || a != "DUNNO" {
		t.Fatalf("after close: %q %v", a, err)
	}
	srv.mu.Lock()
	if srv.conns != 2 {
		t.Errorf("%d connections, want 2", srv.conns)
	}
	srv.mu.Unlock()
	if len(w.lines) != 0 {
		t.Errorf("warnings: %q", w.lines)
	}
}
