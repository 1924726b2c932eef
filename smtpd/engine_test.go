package smtpd

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/postfix-go/postfix/conf"
	"github.com/postfix-go/postfix/internal/record"
)

// engineMain keeps the in-process tests away from other services: no
// restriction needs trivial-rewrite, no name lookups.
const engineMain = `myhostname = mx.example.test
smtpd_peername_lookup = no
smtpd_relay_restrictions = permit_mynetworks, reject
mynetworks = 127.0.0.0/8
smtpd_recipient_restrictions = permit
smtpd_reject_unlisted_recipient = no
smtpd_reject_unlisted_sender = no
local_recipient_maps =
smtpd_delay_reject = no
`

// newTestServer makes an in-process Server from main.cf text.
func newTestServer(t *testing.T, extra string) *Server {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.cf"), []byte(engineMain+extra), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := conf.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := NewServer(c, "smtp")
	if err != nil {
		t.Fatal(err)
	}
	return srv
}

// listen serves srv on a loopback port until the test ends.
func listen(t *testing.T, srv *Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				srv.Serve(c)
			}()
		}
	}()
	return ln.Addr().String()
}

// fakeCleanup records what smtpd sends and answers with a fixed status.
type fakeCleanup struct {
	mu      sync.Mutex
	records []string
	status  int
	closed  bool
}

func (f *fakeCleanup) QueueID() string { return "ABCDEF1234" }
func (f *fakeCleanup) Put(t record.Type, data []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.records = append(f.records, string(rune(t))+" "+string(data))
	return nil
}
func (f *fakeCleanup) PutAttr(name, value string) error {
	return f.Put(record.Attr, []byte(name+"="+value))
}
func (f *fakeCleanup) PutString(t record.Type, s string) error { return f.Put(t, []byte(s)) }
func (f *fakeCleanup) Close() (int, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	return f.status, "", nil
}
func (f *fakeCleanup) Abort() {}

// TestNoAckWithoutQueueFile: mail is never acknowledged unless cleanup
// said it is queued.
func TestNoAckWithoutQueueFile(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		open      func(int) (cleanupStream, error)
		rcpt, end string
	}{
		{"unreachable", func(int) (cleanupStream, error) { return nil, errors.New("connect to public/cleanup: no such file") },
			"451 4.3.0 Error: queue file write error\r\n", ""},
		{"write error", func(int) (cleanupStream, error) { return &fakeCleanup{status: 2}, nil },
			"250 2.1.5 Ok\r\n", "451 4.3.0 Error: queue file write error\r\n"},
		{"too big", func(int) (cleanupStream, error) { return &fakeCleanup{status: 4}, nil },
			"250 2.1.5 Ok\r\n", "552 5.3.4 Error: message file too big\r\n"},
		{"queued", func(int) (cleanupStream, error) { return &fakeCleanup{}, nil },
			"250 2.1.5 Ok\r\n", "250 2.0.0 Ok: queued as ABCDEF1234\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newTestServer(t, "")
			srv.cleanup = tc.open
			c := dial(t, listen(t, srv))
			c.reply(5 * time.Second)
			c.send("EHLO c\r\nMAIL FROM:<a@example.com>\r\n")
			c.reply(5 * time.Second)
			if got := c.reply(5 * time.Second); got != "250 2.1.0 Ok\r\n" {
				t.Fatalf("MAIL: %q", got)
			}
			c.send("RCPT TO:<b@example.com>\r\n")
			if got := c.reply(5 * time.Second); got != tc.rcpt {
				t.Fatalf("RCPT: got %q, want %q", got, tc.rcpt)
			}
			if tc.end == "" {
				return
			}
			c.send("DATA\r\n")
			c.reply(5 * time.Second)
			c.send("Subject: x\r\n\r\nbody\r\n.\r\n")
			if got := c.reply(5 * time.Second); got != tc.end {
				t.Errorf("end of data: got %q, want %q", got, tc.end)
			}
		})
	}
}

// TestMaxProcBoundsSessions: with maxproc 1 a second client waits for
// the first session to end before it gets the greeting.
func TestMaxProcBoundsSessions(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t, "")
	srv.slots = make(chan struct{}, 1)
	addr := listen(t, srv)
	a := dial(t, addr)
	if r := a.reply(5 * time.Second); !strings.HasPrefix(r, "220 ") {
		t.Fatalf("first client: %q", r)
	}
	b := dial(t, addr)
	if r := b.reply(300 * time.Millisecond); r != "<no reply>\n" {
		t.Fatalf("second client served beyond maxproc: %q", r)
	}
	a.send("QUIT\r\n")
	a.reply(5 * time.Second)
	if r := b.reply(5 * time.Second); !strings.HasPrefix(r, "220 ") {
		t.Fatalf("second client after the first left: %q", r)
	}
}

// TestIdleSessionMemory: idle sessions (greeted, waiting for a command)
// stay small: 10,000 of them must fit in 300 MB with room to spare.
func TestIdleSessionMemory(t *testing.T) {
	srv := newTestServer(t, "")
	addr := listen(t, srv)
	const n = 500
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	buf := make([]byte, 512)
	for i := 0; i < n; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Read(buf); err != nil {
			t.Fatal(err)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	// Both ends live in this process: the client side is counted too.
	per := (int64(after.Sys) - int64(before.Sys)) / n
	heap := (int64(after.HeapInuse+after.StackInuse) - int64(before.HeapInuse+before.StackInuse)) / n
	t.Logf("per idle session: %d bytes heap+stack, %d bytes from the OS", heap, per)
	if heap > 24*1024 {
		t.Errorf("an idle session uses %d bytes of heap and stack; 10,000 would not fit in 300 MB", heap)
	}
}
