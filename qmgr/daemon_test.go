package qmgr

import (
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/postfix-go/postfix/conf"
	"github.com/postfix-go/postfix/internal/deliver"
	"github.com/postfix-go/postfix/internal/queue"
)

// TestDaemon starts the queue manager the way master does (the trigger
// listener on descriptor 6, the status socket on 5, -u to drop to
// mail_owner) over a private queue with a fake trivial-rewrite and a fake
// smtp agent: a message already queued is delivered at start-up, and one
// queued later after an 'I' trigger.
func TestDaemon(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the daemon drops privileges to mail_owner: needs root")
	}
	pf, err := user.Lookup("postfix")
	if err != nil {
		t.Skip("no postfix account")
	}
	uid, _ := strconv.Atoi(pf.Uid)
	gid, _ := strconv.Atoi(pf.Gid)
	dir := t.TempDir()
	_ = os.Chmod(dir, 0o755)
	qdir := filepath.Join(dir, "queue")
	mainCF := "queue_directory = " + qdir + "\nmaillog_file = " + filepath.Join(dir, "maillog") +
		"\nmaillog_file_prefixes = " + dir + "\nmyhostname = host.example.com\n"
	if err := os.WriteFile(filepath.Join(dir, "main.cf"), []byte(mainCF), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := conf.New(dir, nil)
	cfg.Set("queue_directory", qdir)
	l := queue.FromConfig(cfg)
	if err := l.MakeDirs(); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"private", "public"} {
		if err := os.MkdirAll(filepath.Join(qdir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	listen := func(name string, fn func(net.Conn)) {
		ln, err := net.Listen("unix", filepath.Join(qdir, "private", name))
		if err != nil {
			t.Fatal(err)
		}
		_ = os.Chmod(filepath.Join(qdir, "private", name), 0o666)
		t.Cleanup(func() { ln.Close() })
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				go func() { defer c.Close(); fn(c) }()
			}
		}()
	}
	listen("rewrite", fakeRewrite)
	listen("smtp", func(c net.Conn) {
		_ = deliver.ServeConn(cfg, l, c, func(r *deliver.Request) int { return sent(r) })
	})
	msg := func() string {
		id, err := l.WriteMessage(queue.Incoming, &queue.Message{Sender: "s@example.com", Arrival: time.Now(),
			Recipients: []queue.Recipient{{Address: "x@remote.example"}}, Content: []byte("hi\n")})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	first := msg()
	_ = filepath.Walk(qdir, func(p string, _ os.FileInfo, err error) error {
		if err == nil {
			_ = os.Lchown(p, uid, gid)
		}
		return nil
	})

	trig := filepath.Join(qdir, "public", "qmgr")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: trig, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	_ = os.Chmod(trig, 0o666)
	ln.SetUnlinkOnClose(false)
	lnFile, _ := ln.File()
	ln.Close()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	status := os.NewFile(uintptr(fds[0]), "status-master")
	child := os.NewFile(uintptr(fds[1]), "status-child")
	fr, fw, _ := os.Pipe()
	cmd := exec.Command(os.Args[0], "-c", "-u", "-n", "qmgr", "-t", "unix")
	cmd.Args[0] = "qmgr"
	cmd.Env = append(os.Environ(), "QMGR_TEST_DAEMON=1", "MAIL_CONFIG="+dir)
	cmd.ExtraFiles = []*os.File{fr, fw, child, lnFile}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	child.Close()
	fr.Close()
	fw.Close()
	lnFile.Close()
	t.Cleanup(func() {
		status.Close() // master gone: the daemon exits
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if stderr.Len() > 0 {
			t.Logf("qmgr stderr: %s", stderr.String())
		}
	})

	waitMaillog := func(sub string) {
		t.Helper()
		for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			b, _ := os.ReadFile(filepath.Join(dir, "maillog"))
			if strings.Contains(string(b), sub) {
				return
			}
		}
		b, _ := os.ReadFile(filepath.Join(dir, "maillog"))
		t.Fatalf("maillog has no %q:\n%s", sub, b)
	}
	waitMaillog(" postfix/qmgr[")
	waitMaillog(first + ": removed")

	second := msg()
	_ = os.Lchown(l.Path(queue.Incoming, second), uid, gid)
	c, err := net.Dial("unix", trig)
	if err != nil {
		t.Fatal(err)
	}
	c.Write([]byte("I"))
	c.Close()
	waitMaillog(second + ": from=<s@example.com>, size=4, nrcpt=1 (queue active)")
	waitMaillog(second + ": removed")
}
