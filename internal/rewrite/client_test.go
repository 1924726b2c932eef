package rewrite

import (
	"fmt"
	"net"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/postfix-go/postfix/internal/attr"
)

// fakeServer serves perConn requests on each connection, then hangs up;
// every reply carries server flags sflags. It counts connections.
func fakeServer(t *testing.T, perConn int, sflags uint32) (string, *atomic.Int32) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "rewrite")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	var conns atomic.Int32
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			enc, dec := attr.NewEncoder(c, attr.Zero), attr.NewDecoder(c, attr.Zero)
			enc.WriteProtocol(Protocol)
			enc.Flush()
			for i := 0; i < perConn; i++ {
				var req, rule, addr string
				if _, err := dec.Scan(attr.Strict, attr.WantStr("request", &req), attr.WantStr("rule", &rule), attr.WantStr("address", &addr)); err != nil {
					break
				}
				enc.Write(attr.Int("flags", sflags), attr.Str("address", fmt.Sprintf("%s/%d", addr, conns.Load())))
				enc.Flush()
			}
			c.Close()
		}
	}()
	return sock, &conns
}

func dialer(sock string) func() (net.Conn, error) {
	return func() (net.Conn, error) { return net.Dial("unix", sock) }
}

// A server that hangs up between requests costs the client one redial,
// not an error.
func TestClientRedialsOnce(t *testing.T) {
	t.Parallel()
	sock, conns := fakeServer(t, 1, 0)
	cl := NewClientDial("private/rewrite", dialer(sock))
	defer cl.Close()
	for i := 1; i <= 3; i++ {
		got, err := cl.RewriteExternal("local", "a")
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		if want := fmt.Sprintf("a/%d", i); got != want {
			t.Errorf("request %d: got %q, want %q", i, got, want)
		}
	}
	if n := conns.Load(); n != 3 {
		t.Errorf("%d connections, want 3", n)
	}
}

// Non-zero server flags ask the client to reconnect before its next
// request; a zero keeps the connection.
func TestClientServerFlags(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		sflags uint32
		want   int32
	}{{0, 1}, {1, 3}} {
		sock, conns := fakeServer(t, 10, tc.sflags)
		cl := NewClientDial("private/rewrite", dialer(sock))
		for i := 0; i < 3; i++ {
			if _, err := cl.RewriteExternal("local", "a"); err != nil {
				t.Fatal(err)
			}
		}
		cl.Close()
		if n := conns.Load(); n != tc.want {
			t.Errorf("server flags %d: %d connections, want %d", tc.sflags, n, tc.want)
		}
	}
}

// No server: the error names the service as Postfix's warning does.
func TestClientNoServer(t *testing.T) {
	t.Parallel()
	cl := NewClientDial("private/rewrite", dialer(filepath.Join(t.TempDir(), "none")))
	_, err := cl.Resolve("", "a@b")
	if err == nil {
		t.Fatal("no error without a server")
	}
	if got := err.Error(); len(got) < 40 || got[:40] != "problem talking to service private/rewri" {
		t.Errorf("error %q", got)
	}
}

// The client is safe for concurrent use, and Rewrite converts between the
// internal and the external form around the request.
func TestClientConcurrentAndInternalForm(t *testing.T) {
	t.Parallel()
	s := newSysDir(t, "myorigin = example.org\n", nil)
	sock, _ := startOurs(t, s)
	cl := NewClientDial("private/rewrite", dialer(sock))
	defer cl.Close()
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				local := fmt.Sprintf("first last%d.%d", g, i)
				got, err := cl.Rewrite("local", local)
				if want := local + "@example.org"; err != nil || got != want {
					t.Errorf("Rewrite(%q) = %q, %v; want %q", local, got, err, want)
					return
				}
				r, err := cl.Resolve("", local+"@example.org")
				if err != nil || r.Transport != "smtp" || r.Recipient != local+"@example.org" || r.Flags != ClassDefault {
					t.Errorf("Resolve(%q) = %+v, %v", local, r, err)
					return
				}
			}
		}(g)
	}
	wg.Wait()
}

// Our Rewrite (internal form in and out) gives what Postfix's does.
func TestClientRewriteInternalAgainstPostfix(t *testing.T) {
	t.Parallel()
	needReference(t)
	s := newSysDir(t, "myorigin = example.org\nappend_dot_mydomain = yes\n", nil)
	ref := NewClientDial("private/rewrite", dialer(startReference(t, s)))
	oursSock, _ := startOurs(t, s)
	ours := NewClientDial("private/rewrite", dialer(oursSock))
	defer ref.Close()
	defer ours.Close()
	for _, a := range []string{"a b", "a b@c", "a\"b@host", "user@host", "\"x\"", "a@b@c", "@r:u@d"} {
		for _, rule := range []string{RuleLocal, RuleRemote} {
			w, werr := ref.Rewrite(rule, a)
			g, gerr := ours.Rewrite(rule, a)
			if w != g || (werr == nil) != (gerr == nil) {
				t.Errorf("Rewrite(%s, %q): postfix %q %v, ours %q %v", rule, a, w, werr, g, gerr)
			}
		}
	}
}

// An unknown request is refused the way Postfix's daemon refuses it: a
// warning, and the connection is closed without a reply.
func TestServeBadCommand(t *testing.T) {
	t.Parallel()
	s := newSysDir(t, "", nil)
	sock, warns := startOurs(t, s)
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ac, err := attr.NewClient(c, attr.Zero, "private/rewrite", Protocol, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var flags uint32
	err = ac.Call([]attr.Attr{attr.Str("request", "frobnicate\x01")}, attr.WantInt("flags", &flags))
	if err == nil {
		t.Fatal("reply to an unknown request")
	}
	deadline := time.Now().Add(5 * time.Second)
	for warns.text() == "" && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := warns.text(); got != "bad command frobnicate?" {
		t.Errorf("warning %q", got)
	}
}
