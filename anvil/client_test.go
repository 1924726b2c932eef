package anvil

import (
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// testServer runs Serve on a unix socket in a temporary directory.
type testServer struct {
	path  string
	table *Table
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
	warns []string
	wg    sync.WaitGroup
}

func startServer(t *testing.T, path string, table *Table) *testServer {
	t.Helper()
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	s := &testServer{path: path, table: table, ln: ln}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns = append(s.conns, c)
			s.mu.Unlock()
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer c.Close()
				Serve(table, c, func(f string, a ...any) {
					s.mu.Lock()
					s.warns = append(s.warns, fmt.Sprintf(f, a...))
					s.mu.Unlock()
				})
			}()
		}
	}()
	t.Cleanup(s.stop)
	return s
}

// stop closes the listener and every connection, as an exiting anvil.
func (s *testServer) stop() {
	s.ln.Close()
	s.mu.Lock()
	for _, c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

type warnings struct {
	mu    sync.Mutex
	lines []string
}

func (w *warnings) warn(f string, a ...any) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.lines = append(w.lines, fmt.Sprintf(f, a...))
}

func (w *warnings) text() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return strings.Join(w.lines, "\n")
}

func newTestClient(path string, w *warnings) *Client {
	c := NewClientDial("private/anvil", func() (net.Conn, error) {
		return net.Dial("unix", path)
	})
	c.RetryDelay = 10 * time.Millisecond
	c.Warn = w.warn
	return c
}

// Concurrent sessions from one address each count: the client gives
// every session its own anvil connection.
func TestClientConcurrentSessions(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "anvil")
	startServer(t, path, NewTable(time.Minute))
	w := &warnings{}
	a := newTestClient(path, w)
	defer a.Close()
	const n = 20
	var wg sync.WaitGroup
	counts := make(chan int, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			count, _, err := a.Connect("smtp", "192.0.2.1")
			if err != nil {
				t.Error(err)
			}
			counts <- count
			if _, err := a.Rcpt("smtp", "192.0.2.1"); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	close(counts)
	seen := map[int]bool{}
	for c := range counts {
		seen[c] = true
	}
	for i := 1; i <= n; i++ {
		if !seen[i] {
			t.Errorf("no session saw count %d (saw %v)", i, seen)
		}
	}
	st, err := a.Lookup("smtp", "192.0.2.1")
	if err != nil || st.Count != n || st.Rate != n || st.Rcpt != n {
		t.Fatalf("lookup: %+v %v", st, err)
	}
	for i := 0; i < n/2; i++ {
		if err := a.Disconnect("smtp", "192.0.2.1"); err != nil {
			t.Fatal(err)
		}
	}
	if st, _ = a.Lookup("smtp", "192.0.2.1"); st.Count != n/2 {
		t.Errorf("after %d disconnects: count %d", n/2, st.Count)
	}
	// A new session reuses a connection that has been given back.
	if c, r, err := a.Connect("smtp", "192.0.2.2"); err != nil || c != 1 || r != 1 {
		t.Errorf("connect other: %d %d %v", c, r, err)
	}
	if st, _ = a.Lookup("smtp", "192.0.2.1"); st.Count != n/2 {
		t.Errorf("reusing a connection changed the count: %d", st.Count)
	}
	if w.text() != "" {
		t.Errorf("warnings: %s", w.text())
	}
}

// When anvil is down every call fails with ErrUnavailable after two
// tries and Postfix's warnings; once it is back the client reconnects.
func TestClientDownAndRestart(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "anvil")
	w := &warnings{}
	a := newTestClient(path, w)
	defer a.Close()
	_, _, err := a.Connect("smtp", "192.0.2.9")
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("no server: %v", err)
	}
	want := "connect to private/anvil: No such file or directory\n" +
		"connect to private/anvil: No such file or directory\n" +
		"problem talking to server private/anvil: No such file or directory"
	if w.text() != want {
		t.Errorf("warnings:\n%s\nwant:\n%s", w.text(), want)
	}

	table := NewTable(time.Minute)
	srv := startServer(t, path, table)
	w.lines = nil
	if c, r, err := a.Connect("smtp", "192.0.2.9"); err != nil || c != 1 || r != 1 {
		t.Fatalf("connect: %d %d %v", c, r, err)
	}
	if r, err := a.Mail("smtp", "192.0.2.9"); err != nil || r != 1 {
		t.Fatalf("mail: %d %v", r, err)
	}
	// anvil restarts (postfix reload): it forgets everything, and the
	// client reconnects without a warning, as Postfix's does.
	srv.stop()
	startServer(t, path, NewTable(time.Minute))
	if r, err := a.Mail("smtp", "192.0.2.9"); err != nil || r != 1 {
		t.Fatalf("mail after restart: %d %v", r, err)
	}
	if err := a.Disconnect("smtp", "192.0.2.9"); err != nil {
		t.Fatal(err)
	}
	if w.text() != "" {
		t.Errorf("warnings after restart: %s", w.text())
	}
}

// The table's clock: rates start over after the period, and a pair
// without sessions is forgotten a period after its last disconnect.
func TestTablePeriods(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_000_000, 0)
	tb := NewTable(60 * time.Second)
	tb.Now = func() time.Time { return now }
	l1, l2 := &local{}, &local{}
	if c, r := tb.Connect(l1, "s:a"); c != 1 || r != 1 {
		t.Fatalf("connect: %d %d", c, r)
	}
	now = now.Add(60 * time.Second) // start+unit == now: same period
	if c, r := tb.Connect(l2, "s:a"); c != 2 || r != 2 {
		t.Fatalf("connect at the period's end: %d %d", c, r)
	}
	now = now.Add(time.Second)
	if r := tb.Event(l1, ReqRecipient, "s:a"); r != 1 {
		t.Fatalf("rcpt in a new period: %d", r)
	}
	if st := tb.Lookup("s:a"); st.Rate != 0 || st.Rcpt != 1 || st.Count != 2 {
		t.Fatalf("lookup: %+v", st)
	}
	tb.Disconnect(l1, "s:a")
	tb.Gone(l2)
	if st := tb.Lookup("s:a"); st.Count != 0 || st.Rcpt != 1 {
		t.Fatalf("after disconnects: %+v", st)
	}
	now = now.Add(59 * time.Second)
	if st := tb.Lookup("s:a"); st.Rcpt != 1 {
		t.Fatalf("forgotten too early: %+v", st)
	}
	now = now.Add(time.Second)
	if st := tb.Lookup("s:a"); st != (Stats{}) {
		t.Fatalf("not forgotten: %+v", st)
	}
	got := strings.Join(tb.Report(), "\n")
	want := "statistics: max connection rate 2/60s for (s:a) at " + stamp(now.Add(-61*time.Second).Unix()) + "\n" +
		"statistics: max connection count 2 for (s:a) at " + stamp(now.Add(-61*time.Second).Unix()) + "\n" +
		"statistics: max recipient rate 1/60s for (s:a) at " + stamp(now.Add(-60*time.Second).Unix()) + "\n" +
		"statistics: max cache size 1 at " + stamp(1_000_000)
	if got != want {
		t.Errorf("report:\n%s\nwant:\n%s", got, want)
	}
	if r := tb.Report(); len(r) != 0 {
		t.Errorf("second report: %q", r)
	}
}
