// Package oracle runs Debian's real Postfix cleanup(8) and trivial-rewrite(8)
// daemons against a private configuration and queue directory, for
// differential tests of the cleanup protocol (internal/submit) and of our
// cleanup daemon (package cleanup).
//
// The test acts as master(8): each daemon gets its listening socket on
// descriptor 6, the master status pipe on 5 and the flow pipes on 3 and 4,
// and "-l" keeps it from taking the shared accept lock. The test also
// stands in for the services cleanup talks to besides trivial-rewrite: a
// unix socket at public/qmgr records the trigger bytes cleanup sends, and
// a datagram socket at public/postlog collects the log records cleanup
// sends to postlogd(8) when maillog_file is set, so tests can compare log
// lines too.
//
// Everything lives under t.TempDir(); nothing touches the system's Postfix.
// Running the daemons needs root (they drop to mail_owner "postfix").
package oracle

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/postfix-go/postfix/internal/attr"
	"github.com/postfix-go/postfix/internal/bouncelog"
	"github.com/postfix-go/postfix/internal/queue"
	"github.com/postfix-go/postfix/internal/testutil"
)

// Cleanup is the path of Debian's cleanup daemon.
const Cleanup = "/usr/lib/postfix/sbin/cleanup"

// System is one private set of real Postfix daemons.
type System struct {
	Dir   string // the base directory (mode 0755)
	Etc   string // config_directory, holding main.cf
	Queue string // queue_directory

	mu       sync.Mutex
	triggers []byte
	logs     []string
	bounces  []BounceRequest
}

// BaseMain is the main.cf every System starts from; extra lines follow it.
func BaseMain(dir string) string {
	return "compatibility_level = 3.6\n" +
		"queue_directory = " + filepath.Join(dir, "queue") + "\n" +
		"data_directory = " + filepath.Join(dir, "data") + "\n" +
		"myhostname = host.example.com\n" +
		"mydomain = example.com\n" +
		"myorigin = example.org\n" +
		"mydestination = localhost, $myhostname\n" +
		"inet_interfaces = loopback-only\n" +
		"maillog_file = " + filepath.Join(dir, "maillog") + "\n" +
		"maillog_file_prefixes = " + dir + "\n" +
		"in_flow_delay = 0s\n" +
		"ipc_timeout = 10s\n"
}

// Skip reports whether the real daemons cannot run here, after calling
// t.Skip or t.Fatal as testutil.Reference does.
func need(t testing.TB) {
	t.Helper()
	testutil.Reference(t, Cleanup)
	if os.Geteuid() != 0 {
		if os.Getenv("PFGO_NO_REFERENCE") != "" {
			t.Skip("Postfix daemons need root and PFGO_NO_REFERENCE is set")
		}
		t.Fatal("running Postfix's daemons needs root (tests run as root in CI); set PFGO_NO_REFERENCE to skip")
	}
}

// New prepares a base directory: etc/main.cf (BaseMain plus extraMain),
// the files named in files (relative to the base directory; "$DIR" in
// their text and in extraMain is replaced by the base directory), and a
// queue directory owned by mail_owner. It starts nothing.
func New(t testing.TB, extraMain string, files map[string]string) *System {
	t.Helper()
	need(t)
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	s := &System{Dir: dir, Etc: filepath.Join(dir, "etc"), Queue: filepath.Join(dir, "queue")}
	for _, d := range []string{s.Etc, filepath.Join(dir, "data")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	l := queue.Layout{Dir: s.Queue, Hashed: []string{"deferred", "defer"}, Depth: 1}
	if err := l.MakeDirs(); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"public", "private"} {
		if err := os.MkdirAll(filepath.Join(s.Queue, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	uid, gid := MailOwner(t)
	filepath.Walk(s.Queue, func(p string, _ os.FileInfo, _ error) error {
		return os.Chown(p, uid, gid)
	})
	old := time.Now().Add(-time.Hour)
	write := func(rel, text string) {
		p := filepath.Join(dir, rel)
		os.MkdirAll(filepath.Dir(p), 0o755)
		text = strings.ReplaceAll(text, "$DIR", dir)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		// Postfix pauses when main.cf is younger than a second.
		os.Chtimes(p, old, old)
	}
	write("etc/main.cf", BaseMain(dir)+strings.ReplaceAll(extraMain, "$DIR", dir))
	write("etc/master.cf", "")
	for name, text := range files {
		write(name, text)
	}
	return s
}

// MailOwner returns the uid and gid of the "postfix" account.
func MailOwner(t testing.TB) (int, int) {
	t.Helper()
	u, err := user.Lookup("postfix")
	if err != nil {
		t.Skipf("no postfix account: %v", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return uid, gid
}

// Start starts trivial-rewrite on private/rewrite and the daemon prog
// (Debian's cleanup by default: prog "") on public/cleanup, and the
// stand-ins for qmgr and postlogd. It returns the path of the cleanup
// socket.
func (s *System) Start(t testing.TB, prog string) string {
	t.Helper()
	if prog == "" {
		prog = Cleanup
	}
	s.listenQmgr(t)
	s.listenPostlog(t)
	s.Daemon(t, "/usr/lib/postfix/sbin/trivial-rewrite", "rewrite", filepath.Join(s.Queue, "private", "rewrite"))
	sock := filepath.Join(s.Queue, "public", "cleanup")
	s.Daemon(t, prog, "cleanup", sock)
	return sock
}

// Daemon starts program path as service svc (type unix) listening on sock,
// with the master descriptor contract.
func (s *System) Daemon(t testing.TB, path, svc, sock string) {
	t.Helper()
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(sock, 0o666)
	ln.SetUnlinkOnClose(false)
	lnFile, err := ln.File()
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
	flowR, flowW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	// A daemon with in_flow_delay takes one token from the flow pipe per
	// connection; the master keeps it filled. Fill it up front.
	if _, err := flowW.Write(make([]byte, 8192)); err != nil {
		t.Fatal(err)
	}
	// The status channel is a socketpair, as our master makes it (Postfix's
	// daemons accept it as well as a pipe).
	pair, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	statusR, statusW := os.NewFile(uintptr(pair[0]), "status"), os.NewFile(uintptr(pair[1]), "status")
	args := []string{"-l", "-n", svc, "-t", "unix"}
	if svc == "cleanup" {
		args = append(args, "-z") // master.cf process limit 0
	}
	if !strings.HasPrefix(path, "/usr/lib/postfix/") {
		// master.cf's unprivileged column: our skeleton drops to
		// mail_owner only when told so (Postfix's daemons always do).
		args = append(args, "-u")
	}
	cmd := exec.Command(path, args...)
	if tr := os.Getenv("ORACLE_STRACE"); tr != "" {
		cmd = exec.Command("strace", append([]string{"-f", "-s", "200", "-o", tr + "." + svc, path}, args...)...)
	}
	cmd.Dir = s.Dir
	cmd.Env = []string{"MAIL_CONFIG=" + s.Etc, "PATH=/usr/bin:/bin", "MAIL_LOGTAG=postfix"}
	cmd.ExtraFiles = []*os.File{flowR, flowW, statusW, lnFile}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for _, f := range []*os.File{flowR, flowW, statusW, lnFile} {
		f.Close()
	}
	t.Cleanup(func() {
		statusR.Close()
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("%s exited: %v; stderr: %s", path, err, stderr.String())
			}
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
			t.Errorf("%s did not exit after master disconnect", path)
		}
	})
}

func (s *System) listenQmgr(t testing.TB) {
	p := filepath.Join(s.Queue, "public", "qmgr")
	ln, err := net.Listen("unix", p)
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(p, 0o666)
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			// Postfix's trigger client writes, then waits for the server
			// to hang up: read until the client pauses.
			var b []byte
			var buf [1024]byte
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			for {
				n, err := c.Read(buf[:])
				b = append(b, buf[:n]...)
				if err != nil {
					break
				}
				c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
			}
			c.Close()
			s.mu.Lock()
			s.triggers = append(s.triggers, b...)
			s.mu.Unlock()
		}
	}()
}

func (s *System) listenPostlog(t testing.TB) {
	p := filepath.Join(s.Queue, "public", "postlog")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: p, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(p, 0o666)
	t.Cleanup(func() { c.Close() })
	go func() {
		var b [65536]byte
		for {
			n, _, err := c.ReadFrom(b[:])
			if err != nil {
				return
			}
			s.mu.Lock()
			s.logs = append(s.logs, string(b[:n]))
			s.mu.Unlock()
		}
	}()
}

// Triggers returns the bytes written to public/qmgr by the connections
// that have ended so far.
func (s *System) Triggers() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return string(s.triggers)
}

// Logs returns the log records received on public/postlog so far.
func (s *System) Logs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.logs...)
}

// BounceRequest is one request the stand-in bounce service received, with
// what the queue file held when a notice was asked for.
type BounceRequest struct {
	Request *bouncelog.Request
	// Queue is a copy of the queue file the request names (flush and
	// similar requests; nil when there was none), taken before the reply.
	Queue []byte
}

// ListenBounce stands in for the bounce service on private/bounce: it
// answers every request with status 0 (as a working bounce daemon would),
// keeping each request and, for notice requests, a copy of the queue file
// that the real daemon would read. Call it before Start.
func (s *System) ListenBounce(t testing.TB) {
	t.Helper()
	p := filepath.Join(s.Queue, "private", "bounce")
	ln, err := net.Listen("unix", p)
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(p, 0o666)
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serveBounce(c)
		}
	}()
}

func (s *System) serveBounce(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	enc, dec := attr.NewEncoder(c, attr.Zero), attr.NewDecoder(c, attr.Zero)
	enc.WriteProtocol(bouncelog.Protocol)
	if enc.Flush() != nil {
		return
	}
	r, err := bouncelog.ReadRequest(dec)
	if err != nil {
		return
	}
	br := BounceRequest{Request: r}
	if r.Cmd != bouncelog.CmdAppend && r.QueueName != "" && !strings.ContainsAny(r.QueueName+r.QueueID, "/.") {
		br.Queue, _ = os.ReadFile(filepath.Join(s.Queue, r.QueueName, r.QueueID))
	}
	s.mu.Lock()
	s.bounces = append(s.bounces, br)
	s.mu.Unlock()
	enc.Write(attr.Int("status", 0))
	enc.Flush()
}

// Bounces returns the requests the stand-in bounce service has answered.
func (s *System) Bounces() []BounceRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]BounceRequest(nil), s.bounces...)
}
