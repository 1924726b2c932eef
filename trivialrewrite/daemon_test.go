package trivialrewrite

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/postfix-go/postfix/internal/rewrite"
	"github.com/postfix-go/postfix/internal/testutil"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
	buildOut  []byte
)

// ourBinary builds cmd/trivial-rewrite (only it, so that other daemons'
// build state does not matter here).
func ourBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := testutil.BuildDir("pfgo-tr-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "trivial-rewrite")
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/trivial-rewrite")
		cmd.Dir = testutil.Root()
		buildOut, buildErr = cmd.CombinedOutput()
	})
	if buildErr != nil {
		t.Fatalf("building trivial-rewrite: %v\n%s", buildErr, buildOut)
	}
	return binPath
}

// system is a private configuration directory and queue.
type system struct{ dir, etc, maillog string }

func newSystem(t *testing.T, extra string) *system {
	t.Helper()
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	s := &system{dir: dir, etc: filepath.Join(dir, "etc"), maillog: filepath.Join(dir, "maillog")}
	for _, d := range []string{s.etc, filepath.Join(dir, "queue"), filepath.Join(dir, "data")} {
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
		"inet_interfaces = loopback-only\n" +
		"inet_protocols = ipv4\n" + extra
	old := time.Now().Add(-time.Hour)
	for name, text := range map[string]string{"main.cf": mainCF, "master.cf": ""} {
		p := filepath.Join(s.etc, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// start runs path as master would for service "rewrite" of type unix with
// the listener on fd 6 and the status socket on fd 5; the returned
// function plays master going away and waits for the exit status.
func start(t *testing.T, s *system, path, sockName string, args ...string) (string, func() int) {
	t.Helper()
	sock := filepath.Join(s.dir, sockName)
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	if err := os.Chmod(sock, 0o666); err != nil {
		t.Fatal(err)
	}
	lnFile, err := ln.File()
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
	fr, fw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	// Our skeleton wants a socketpair on fd 5; Postfix's daemons notice
	// that master has gone only with the pipe its master uses.
	var parent, child *os.File
	if path == ourBinary(t) {
		fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		// Non-blocking, so that Close interrupts the drain goroutine's
		// Read and the child sees end of file at once.
		if err := syscall.SetNonblock(fds[0], true); err != nil {
			t.Fatal(err)
		}
		parent, child = os.NewFile(uintptr(fds[0]), "status"), os.NewFile(uintptr(fds[1]), "status")
	} else if parent, child, err = os.Pipe(); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(path, append(args, "-n", "rewrite", "-t", "unix")...)
	cmd.Args[0] = "trivial-rewrite"
	cmd.Dir = s.dir
	cmd.Env = []string{"MAIL_CONFIG=" + s.etc, "MAIL_LOGTAG=postfix", "PATH=/usr/bin:/bin"}
	cmd.ExtraFiles = []*os.File{fr, fw, child, lnFile}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for _, f := range []*os.File{fr, fw, child, lnFile} {
		f.Close()
	}
	go func() { // drain status messages
		b := make([]byte, 64)
		for {
			if _, err := parent.Read(b); err != nil {
				return
			}
		}
	}()
	var once sync.Once
	code := -1
	stop := func() int {
		once.Do(func() {
			parent.Close()
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case <-done:
				code = cmd.ProcessState.ExitCode()
			case <-time.After(10 * time.Second):
				_ = cmd.Process.Signal(syscall.SIGQUIT)
				time.Sleep(time.Second)
				_ = cmd.Process.Kill()
				<-done
				t.Errorf("%s did not exit after master went away; stderr: %s", path, stderr.String())
			}
		})
		return code
	}
	t.Cleanup(func() { stop() })
	return sock, stop
}

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("PFGO_NO_REFERENCE") != "" {
			t.Skip("running daemons as master does needs root; PFGO_NO_REFERENCE is set")
		}
		t.Fatal("this test needs root (tests run as root in CI); set PFGO_NO_REFERENCE to skip")
	}
}

// TestDaemonAgainstPostfix runs our trivial-rewrite binary and Debian's,
// both as master would (ours chrooted to the queue directory and dropped
// to mail_owner: master.cf columns chroot=y, unprivileged=y), with the
// same main.cf, and compares every reply byte for byte through the
// client both would use.
func TestDaemonAgainstPostfix(t *testing.T) {
	needRoot(t)
	ref := testutil.Reference(t, "/usr/lib/postfix/sbin/trivial-rewrite")
	ours := ourBinary(t)
	s := newSystem(t, "relay_domains = relay.example\n"+
		"transport_maps = inline:{special.example=smtp:[mx.special.example]:2525, error.example=error:bad}\n")
	refSock, _ := start(t, s, ref, "ref.sock", "-l")
	ourSock, stopOurs := start(t, s, ours, "our.sock", "-c", "-u")

	addrs := []string{"user", "user@host.example.com", "user@relay.example", "x@special.example",
		"x@error.example", "a!b@c", "\"a b\"@host.example.com", "", "user@[127.0.0.1]", "u@remote.example.net"}
	type result struct {
		raw string
		res string
	}
	run := func(sock string) []result {
		rc := &recConn{}
		cl := rewrite.NewClientDial("private/rewrite", func() (net.Conn, error) {
			c, err := net.Dial("unix", sock)
			rc.Conn = c
			return rc, err
		})
		defer cl.Close()
		var out []result
		for _, a := range addrs {
			rc.got.Reset()
			w, err := cl.RewriteExternal("local", a)
			out = append(out, result{rc.got.String(), w + errText(err)})
			for _, f := range []func(string, string) (rewrite.Resolution, error){cl.Resolve, cl.Verify} {
				rc.got.Reset()
				r, err := f("sender@example.org", a)
				out = append(out, result{rc.got.String(), r.Transport + "|" + r.Nexthop + "|" + r.Recipient + errText(err)})
			}
		}
		return out
	}
	want, got := run(refSock), run(ourSock)
	for i := range want {
		if want[i] != got[i] {
			t.Errorf("exchange %d: postfix %q, ours %q", i, want[i], got[i])
		}
	}
	// Our daemon exits cleanly when master goes away.
	if code := stopOurs(); code != 0 {
		t.Errorf("exit status %d after master went away", code)
	}
}

func errText(err error) string {
	if err != nil {
		return " error: " + err.Error()
	}
	return ""
}

type recConn struct {
	net.Conn
	got strings.Builder
}

func (c *recConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.got.Write(p[:n])
	return n, err
}
