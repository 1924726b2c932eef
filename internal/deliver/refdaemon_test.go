package deliver

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/postfix-go/postfix/internal/testutil"
)

// refDaemon is one of Debian's Postfix daemons run as a delivery agent
// with a private configuration; this test acts as its master process
// (flow pipes on 3 and 4, status on 5, the listener on 6; "-l" skips the
// shared accept lock). Its log lines arrive as datagrams on
// public/postlog, where Postfix sends them when maillog_file is set.
type refDaemon struct {
	dir, queueDir, sock string
	cmd                 *exec.Cmd
	status              *os.File

	mu   sync.Mutex
	logs []string
}

// startRefDaemon runs Debian's daemon for service name ("retry" is the
// error program under that service name, as in master.cf).
func startRefDaemon(t *testing.T, name string, extraMain ...string) *refDaemon {
	t.Helper()
	program := name
	if name == "retry" {
		program = "error"
	}
	path := testutil.Reference(t, "/usr/lib/postfix/sbin/"+program)
	if os.Geteuid() != 0 {
		t.Skip("Postfix's daemons need root (tests run as root in CI)")
	}
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	d := &refDaemon{dir: dir, queueDir: filepath.Join(dir, "queue"), sock: filepath.Join(dir, name+".sock")}
	etc := filepath.Join(dir, "etc")
	for _, sub := range []string{etc, filepath.Join(d.queueDir, "public"), filepath.Join(dir, "data")} {
		if err := os.MkdirAll(sub, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	mainCF := "compatibility_level = 3.6\n" +
		"queue_directory = " + d.queueDir + "\n" +
		"data_directory = " + filepath.Join(dir, "data") + "\n" +
		"myhostname = host.example.com\n" +
		"mydomain = example.com\n" +
		"inet_interfaces = loopback-only\n" +
		"maillog_file = " + filepath.Join(dir, "maillog") + "\n" +
		"maillog_file_prefixes = " + dir + "\n" + strings.Join(extraMain, "")
	old := time.Now().Add(-time.Hour)
	for f, text := range map[string]string{"main.cf": mainCF, "master.cf": ""} {
		p := filepath.Join(etc, f)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
	logSock, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: filepath.Join(d.queueDir, "public", "postlog"), Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		buf := make([]byte, 65536)
		for {
			n, _, err := logSock.ReadFrom(buf)
			if err != nil {
				return
			}
			d.mu.Lock()
			d.logs = append(d.logs, strings.TrimRight(string(buf[:n]), "\n"))
			d.mu.Unlock()
		}
	}()
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
	d.cmd = exec.Command(path, "-l", "-n", name, "-t", "unix")
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
		case <-done:
		case <-time.After(5 * time.Second):
			_ = d.cmd.Process.Kill()
			<-done
			t.Errorf("%s did not exit after master disconnect", name)
		}
		logSock.Close()
	})
	return d
}

// waitLog returns the first log line containing sub, or fails.
func (d *refDaemon) waitLog(t *testing.T, sub string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		d.mu.Lock()
		for _, l := range d.logs {
			if strings.Contains(l, sub) {
				d.mu.Unlock()
				return l
			}
		}
		d.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	t.Fatalf("no log line with %q; got:\n%s", sub, strings.Join(d.logs, "\n"))
	return ""
}
