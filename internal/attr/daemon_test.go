package attr

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/postfix-go/postfix/internal/testutil"
)

// The differential tests below run Debian's real Postfix daemons with a
// private configuration and act as their master process: the listening
// socket goes in on descriptor 6, the master status pipe on 5 and the flow
// pipes on 3 and 4 (the daemons' fixed master interface), and "-l" keeps
// them from taking the shared select lock. Each test talks to nothing but
// its own child over a unix socket in a temporary directory.

// daemon is one running Postfix daemon.
type daemon struct {
	sock   string
	cmd    *exec.Cmd
	status *os.File // master side of the status pipe; closing it stops the daemon
}

// recConn records every byte read from a connection.
type recConn struct {
	net.Conn
	got bytes.Buffer
}

func (c *recConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.got.Write(p[:n])
	return n, err
}

// startDaemon runs /usr/lib/postfix/sbin/NAME as service svc.
func startDaemon(t *testing.T, name, svc string) *daemon {
	t.Helper()
	path := testutil.Reference(t, "/usr/lib/postfix/sbin/"+name)
	if os.Geteuid() != 0 {
		if os.Getenv("PFGO_NO_REFERENCE") != "" {
			t.Skip("Postfix daemons need root and PFGO_NO_REFERENCE is set")
		}
		t.Fatal("running Postfix's daemons needs root (tests run as root in CI); set PFGO_NO_REFERENCE to skip")
	}
	dir := t.TempDir()
	etc := filepath.Join(dir, "etc")
	for _, d := range []string{etc, filepath.Join(dir, "queue"), filepath.Join(dir, "data")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	mainCF := "compatibility_level = 3.6\n" +
		"queue_directory = " + filepath.Join(dir, "queue") + "\n" +
		"data_directory = " + filepath.Join(dir, "data") + "\n" +
		"myhostname = host.example.com\n" +
		"mydomain = example.com\n" +
		"myorigin = example.org\n" +
		"mydestination = localhost, $myhostname\n" +
		"inet_interfaces = loopback-only\n"
	files := map[string]string{"main.cf": mainCF, "master.cf": ""}
	old := time.Now().Add(-time.Hour)
	for f, text := range files {
		p := filepath.Join(etc, f)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		// Postfix pauses when main.cf is younger than a second.
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
	d := &daemon{sock: filepath.Join(dir, svc+".sock")}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: d.sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	lnFile, err := ln.File()
	if err != nil {
		t.Fatal(err)
	}
	flowR, flowW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	statusR, statusW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	d.status = statusR
	d.cmd = exec.Command(path, "-l", "-n", svc, "-t", "unix")
	d.cmd.Dir = dir
	d.cmd.Env = []string{"MAIL_CONFIG=" + etc, "PATH=/usr/bin:/bin"}
	d.cmd.ExtraFiles = []*os.File{flowR, flowW, statusW, lnFile}
	var stderr bytes.Buffer
	d.cmd.Stderr = &stderr
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for _, f := range []*os.File{flowR, flowW, statusW, lnFile} {
		f.Close()
	}
	ln.Close()
	t.Cleanup(func() {
		d.status.Close()
		done := make(chan error, 1)
		go func() { done <- d.cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("%s exited: %v; stderr: %s", name, err, stderr.String())
			}
		case <-time.After(5 * time.Second):
			_ = d.cmd.Process.Kill()
			<-done
			t.Errorf("%s did not exit after master disconnect", name)
		}
	})
	return d
}

// dial connects to the daemon and checks its announcement byte for byte
// against what our encoder produces.
func (d *daemon) dial(t *testing.T, f Format, path, protocol string) (*Client, *recConn) {
	t.Helper()
	conn, err := net.Dial("unix", d.sock)
	if err != nil {
		t.Fatal(err)
	}
	rc := &recConn{Conn: conn}
	c, err := NewClient(rc, f, path, protocol, 10*time.Second)
	if err != nil {
		conn.Close()
		t.Fatalf("handshake: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	checkBytes(t, rc, f, Str(ProtocolAttr, protocol))
	return c, rc
}

// checkBytes compares the bytes read so far with our encoding of want.
func checkBytes(t *testing.T, rc *recConn, f Format, want ...Attr) {
	t.Helper()
	exp, err := Marshal(f, want...)
	if err != nil {
		t.Fatal(err)
	}
	if got := rc.got.Bytes(); !bytes.Equal(got, exp) {
		t.Errorf("daemon sent %q, our encoder gives %q", got, exp)
	}
	rc.got.Reset()
}

func TestAnvilDaemon(t *testing.T) {
	d := startDaemon(t, "anvil", "anvil")
	c1, rc1 := d.dial(t, Plain, "private/anvil", "anvil_protocol")
	c2, rc2 := d.dial(t, Plain, "private/anvil", "anvil_protocol")
	const ident = "smtp:192.0.2.7"
	connect := func(c *Client, rc *recConn, wantCount, wantRate uint32) {
		t.Helper()
		var status, count, rate uint32
		err := c.Call([]Attr{Str("request", "connect"), Str("ident", ident)},
			WantInt("status", &status), WantInt("count", &count), WantInt("rate", &rate))
		if err != nil {
			t.Fatalf("connect: %v", err)
		}
		if status != 0 || count != wantCount || rate != wantRate {
			t.Errorf("connect: status=%d count=%d rate=%d, want 0 %d %d", status, count, rate, wantCount, wantRate)
		}
		checkBytes(t, rc, Plain, Int("status", 0), Int("count", wantCount), Int("rate", wantRate))
	}
	connect(c1, rc1, 1, 1)
	connect(c1, rc1, 1, 2) // same client stream: rate grows, count does not
	connect(c2, rc2, 2, 3) // a second client stream adds to the count

	lookup := func(wantCount, wantRate uint32) {
		t.Helper()
		var status, count, rate, mail, rcpt, newtls, auth uint32
		err := c1.Call([]Attr{Str("request", "lookup"), Str("ident", ident)},
			WantInt("status", &status), WantInt("count", &count), WantInt("rate", &rate),
			WantInt("mail", &mail), WantInt("rcpt", &rcpt), WantInt("newtls", &newtls), WantInt("auth", &auth))
		if err != nil {
			t.Fatalf("lookup: %v", err)
		}
		if status != 0 || count != wantCount || rate != wantRate || mail+rcpt+newtls+auth != 0 {
			t.Errorf("lookup: status=%d count=%d rate=%d mail=%d rcpt=%d newtls=%d auth=%d",
				status, count, rate, mail, rcpt, newtls, auth)
		}
	}
	lookup(2, 3)

	var status uint32
	if err := c2.Call([]Attr{Str("request", "disconnect"), Str("ident", ident)}, WantInt("status", &status)); err != nil || status != 0 {
		t.Fatalf("disconnect: status=%d err=%v", status, err)
	}
	lookup(1, 3)

	// A request missing an attribute makes anvil hang up: our decoder
	// reports the end of input in Postfix's words.
	err := c2.Call([]Attr{Str("request", "connect")}, WantInt("status", &status))
	if err == nil || err.Error() != "premature end-of-input on private/anvil while reading input attribute name" {
		t.Errorf("after bad request: %v", err)
	}
}

func TestTrivialRewriteDaemon(t *testing.T) {
	d := startDaemon(t, "trivial-rewrite", "rewrite")
	c, rc := d.dial(t, Zero, "private/rewrite", "trivial_rewrite_protocol")

	var flags uint32
	var addr string
	err := c.Call([]Attr{Str("request", "rewrite"), Str("rule", "local"), Str("address", "user")},
		WantInt("flags", &flags), WantStr("address", &addr))
	if err != nil {
		t.Fatal(err)
	}
	// man 8 trivial-rewrite: a bare user name gets @$myorigin appended.
	if flags != 0 || addr != "user@example.org" {
		t.Errorf("rewrite local user: flags=%d address=%q", flags, addr)
	}
	checkBytes(t, rc, Zero, Int("flags", 0), Str("address", "user@example.org"))

	resolve := func(rcpt, wantTransport, wantNexthop string, wantClass uint32) {
		t.Helper()
		var f1, f2 uint32
		var transport, nexthop, recipient string
		err := c.Call([]Attr{Str("request", "resolve"), Str("sender", ""), Str("address", rcpt)},
			WantInt("flags", &f1), WantStr("transport", &transport), WantStr("nexthop", &nexthop),
			WantStr("recipient", &recipient), WantInt("flags", &f2))
		if err != nil {
			t.Fatalf("resolve %s: %v", rcpt, err)
		}
		if f1 != 0 || transport != wantTransport || nexthop != wantNexthop || recipient != rcpt || f2 != wantClass {
			t.Errorf("resolve %s: flags=%d transport=%q nexthop=%q recipient=%q class=%d",
				rcpt, f1, transport, nexthop, recipient, f2)
		}
		checkBytes(t, rc, Zero, Int("flags", 0), Str("transport", wantTransport), Str("nexthop", wantNexthop),
			Str("recipient", rcpt), Int("flags", wantClass))
	}
	// A domain in mydestination resolves to the local transport (address
	// class "local", flag 256); anything else goes to smtp ("default", 4096).
	resolve("user@host.example.com", "local", "host.example.com", 256)
	resolve("someone@remote.example.net", "smtp", "remote.example.net", 4096)

	// A request missing an attribute: trivial-rewrite hangs up.
	err = c.Call([]Attr{Str("request", "rewrite"), Str("rule", "local")}, WantInt("flags", &flags))
	if err == nil || err.Error() != "premature end-of-input on private/rewrite while reading input attribute name" {
		t.Errorf("after bad request: %v", err)
	}
}
