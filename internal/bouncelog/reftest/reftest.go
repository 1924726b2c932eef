// Package reftest runs Debian's real bounce(8) daemon for differential
// tests of package bouncelog and of our bounce daemon: a private queue
// directory owned by mail_owner, the daemon started as master would start
// it, a collector for the log records daemons send to postlogd, and a fake
// cleanup service (public/cleanup) that records the notices a bounce
// daemon submits.
//
// Everything lives under t.TempDir(); running Postfix's daemons needs
// root, and tests skip (PFGO_NO_REFERENCE set) or fail otherwise.
package reftest

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/postfix-go/postfix/internal/queue"
	"github.com/postfix-go/postfix/internal/testutil"
)

// Bounce is the path of Debian's bounce daemon.
const Bounce = "/usr/lib/postfix/sbin/bounce"

// Env is one private configuration and queue directory.
type Env struct {
	Dir    string // top directory, mode 0755: etc/, queue/, data/
	Etc    string // config_directory
	Layout queue.Layout
	Logs   *LogSink     // records sent to public/postlog
	Posted *FakeCleanup // notices submitted to public/cleanup
	root   bool
}

// MailOwner returns the uid and gid of Postfix's mail_owner "postfix".
func MailOwner(t testing.TB) (int, int) {
	t.Helper()
	u, err := user.Lookup("postfix")
	if err != nil {
		t.Fatalf("user postfix: %v", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return uid, gid
}

// NeedRoot fails or skips the test when Postfix's daemons cannot run.
func NeedRoot(t testing.TB) {
	t.Helper()
	testutil.Reference(t, Bounce)
	if os.Geteuid() != 0 {
		if os.Getenv("PFGO_NO_REFERENCE") != "" {
			t.Skip("Postfix daemons need root and PFGO_NO_REFERENCE is set")
		}
		t.Fatal("running Postfix's daemons needs root (tests run as root in CI); set PFGO_NO_REFERENCE to skip")
	}
}

// MainCF is the main.cf of an Env under dir, before the extra lines.
func MainCF(dir string) string {
	return "compatibility_level = 3.6\n" +
		"queue_directory = " + filepath.Join(dir, "queue") + "\n" +
		"data_directory = " + filepath.Join(dir, "data") + "\n" +
		"myhostname = host.example.com\n" +
		"mydomain = example.com\n" +
		"myorigin = example.org\n" +
		"mydestination = localhost, $myhostname\n" +
		"inet_interfaces = loopback-only\n" +
		"maillog_file = " + filepath.Join(dir, "maillog") + "\n" +
		"maillog_file_prefixes = " + dir + "\n"
}

// NewEnv makes DIR/etc (main.cf: MainCF plus extra, empty master.cf),
// DIR/queue with every queue directory owned by mail_owner, DIR/data, and
// serves public/postlog and public/cleanup.
func NewEnv(t testing.TB, extra string) *Env {
	t.Helper()
	NeedRoot(t)
	return newEnv(t, extra, true)
}

// NewPlainEnv is NewEnv for tests that run no Postfix daemon: it needs no
// root, and leaves the queue to the current user.
func NewPlainEnv(t testing.TB, extra string) *Env {
	t.Helper()
	return newEnv(t, extra, false)
}

func newEnv(t testing.TB, extra string, root bool) *Env {
	t.Helper()
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	e := &Env{Dir: dir, Etc: filepath.Join(dir, "etc"), root: root}
	qdir := filepath.Join(dir, "queue")
	for _, d := range []string{e.Etc, qdir, filepath.Join(dir, "data")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-time.Hour)
	for f, text := range map[string]string{"main.cf": MainCF(dir) + extra, "master.cf": ""} {
		p := filepath.Join(e.Etc, f)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		// Postfix pauses when main.cf is younger than a second.
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
	e.Layout = queue.Layout{Dir: qdir, Hashed: []string{queue.Deferred, queue.Defer}, Depth: 1, LineLimit: queue.DefaultLineLimit}
	for _, q := range append(queue.Names, "public", "private") {
		p := filepath.Join(qdir, q)
		if err := os.MkdirAll(p, 0o700); err != nil {
			t.Fatal(err)
		}
		e.Chown(t, p)
	}
	e.Logs = listenPostlog(t, qdir)
	e.Posted = listenCleanup(t, filepath.Join(qdir, "public", "cleanup"))
	return e
}

// Chown gives path and its parents below the queue directory to
// mail_owner (queue files the daemon must open); without root it does
// nothing.
func (e *Env) Chown(t testing.TB, path string) {
	t.Helper()
	if !e.root {
		return
	}
	uid, gid := MailOwner(t)
	for p := path; len(p) > len(e.Layout.Dir); p = filepath.Dir(p) {
		if err := os.Chown(p, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
}

// LogSink collects the records daemons send to public/postlog (used when
// maillog_file is set).
type LogSink struct {
	mu    sync.Mutex
	lines []string
	path  string
	seen  chan string // sync markers read back
}

// Sync waits until every record sent before the call has been collected:
// it sends a marker through the socket (datagrams arrive in order) and
// waits for it to come back.
func (s *LogSink) Sync() {
	marker := "\x00sync " + strconv.FormatInt(time.Now().UnixNano(), 10)
	c, err := net.Dial("unixgram", s.path)
	if err != nil {
		return
	}
	defer c.Close()
	if _, err := c.Write([]byte(marker)); err != nil {
		return
	}
	timeout := time.After(5 * time.Second)
	for {
		select {
		case m := <-s.seen:
			if m == marker {
				return
			}
		case <-timeout:
			return
		}
	}
}

// Lines returns the log records received so far.
func (s *LogSink) Lines() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.lines...)
}

func listenPostlog(t testing.TB, qdir string) *LogSink {
	t.Helper()
	p := filepath.Join(qdir, "public", "postlog")
	pc, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: p, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, 0o666); err != nil {
		t.Fatal(err)
	}
	s := &LogSink{path: p, seen: make(chan string, 16)}
	go func() {
		buf := make([]byte, 65536)
		for {
			n, _, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if n > 0 && buf[0] == 0 {
				s.seen <- string(buf[:n])
				continue
			}
			s.mu.Lock()
			s.lines = append(s.lines, string(buf[:n]))
			s.mu.Unlock()
		}
	}()
	t.Cleanup(func() { pc.Close() })
	return s
}

// Daemon is Debian's bounce daemon run as one service (bounce, defer or
// trace), with the test as its master: the listening socket on descriptor
// 6, the status pipe on 5, the flow pipes on 3 and 4; -l so that it takes
// no shared lock and -z for the process limit 0 that bounce requires.
type Daemon struct {
	Sock   string
	cmd    *exec.Cmd
	status *os.File
	stderr bytes.Buffer
	env    *Env
	mayDie atomic.Bool
}

// MayExit says that the daemon is expected to die (a fatal error), so a
// non-zero exit status is not a test failure.
func (d *Daemon) MayExit() { d.mayDie.Store(true) }

// Start runs the daemon at path (Bounce, or ours) as service svc, with
// extra arguments after the skeleton's.
func (e *Env) Start(t testing.TB, path, svc string, extra ...string) *Daemon {
	t.Helper()
	d := &Daemon{Sock: filepath.Join(e.Dir, svc+"-"+strconv.Itoa(len(path))+".sock"), env: e}
	if _, err := os.Stat(d.Sock); err == nil {
		d.Sock = filepath.Join(e.Dir, svc+"-"+strconv.FormatInt(time.Now().UnixNano(), 36)+".sock")
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: d.Sock, Net: "unix"})
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
	// The status channel is a socketpair, as our master makes it.
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	statusR, statusW := os.NewFile(uintptr(fds[0]), "status"), os.NewFile(uintptr(fds[1]), "status-child")
	d.status = statusR
	args := append([]string{"-l", "-z", "-n", svc, "-t", "unix"}, extra...)
	d.cmd = exec.Command(path, args...)
	d.cmd.Dir = e.Dir
	d.cmd.Env = []string{"MAIL_CONFIG=" + e.Etc, "PATH=/usr/bin:/bin"}
	d.cmd.ExtraFiles = []*os.File{flowR, flowW, statusW, lnFile}
	d.cmd.Stderr = &d.stderr
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
			if err != nil && !d.mayDie.Load() {
				t.Errorf("%s exited: %v; stderr: %s; log: %q", path, err, d.stderr.String(), e.Logs.Lines())
			}
		case <-time.After(5 * time.Second):
			_ = d.cmd.Process.Kill()
			<-done
			t.Errorf("%s did not exit after master disconnect", path)
		}
	})
	return d
}
