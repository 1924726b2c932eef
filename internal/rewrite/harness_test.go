package rewrite

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/postfix-go/postfix/conf"
	"github.com/postfix-go/postfix/internal/testutil"
)

// The differential tests act as master for Debian's real trivial-rewrite
// (as internal/attr's daemon tests do): the listening socket goes in on
// descriptor 6, the status pipe on 5, the flow pipes on 3 and 4, and "-l"
// keeps it from taking the shared accept lock. Our side is an Engine
// serving a unix socket in the same temporary directory, built from the
// same main.cf and tables.

// sysDir is a private configuration: etc/main.cf, queue/, data/.
type sysDir struct {
	dir, etc string
}

// baseMain is what every test configuration starts with.
func baseMain(dir, extra string) string {
	var b strings.Builder
	for _, kv := range [][2]string{
		{"compatibility_level", "3.6"},
		{"queue_directory", filepath.Join(dir, "queue")},
		{"data_directory", filepath.Join(dir, "data")},
		{"myhostname", "host.example.com"},
		{"mydomain", "example.com"},
		{"inet_protocols", "ipv4"},
		{"inet_interfaces", "loopback-only"},
	} {
		if !strings.Contains(extra, kv[0]+" =") {
			b.WriteString(kv[0] + " = " + kv[1] + "\n")
		}
	}
	return b.String()
}

// newSysDir writes main.cf (baseMain plus extra) and the named table
// files (relative names are placed in etc/; "@ETC@" in any text is the
// etc directory).
func newSysDir(t testing.TB, extra string, files map[string]string) *sysDir {
	t.Helper()
	dir := t.TempDir()
	s := &sysDir{dir: dir, etc: filepath.Join(dir, "etc")}
	for _, d := range []string{s.etc, filepath.Join(dir, "queue"), filepath.Join(dir, "data")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-time.Hour)
	write := func(name, text string) {
		p := filepath.Join(s.etc, name)
		if err := os.WriteFile(p, []byte(strings.ReplaceAll(text, "@ETC@", s.etc)), 0o644); err != nil {
			t.Fatal(err)
		}
		// Postfix pauses when main.cf is younger than a second.
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
	write("main.cf", baseMain(dir, extra)+extra)
	write("master.cf", "")
	for name, text := range files {
		write(name, text)
	}
	return s
}

func (s *sysDir) config(t testing.TB) *conf.Config {
	t.Helper()
	c, err := conf.Load(s.etc)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// needReference returns the path of Debian's trivial-rewrite, or skips.
func needReference(t testing.TB) string {
	t.Helper()
	path := testutil.Reference(t, "/usr/lib/postfix/sbin/trivial-rewrite")
	if os.Geteuid() != 0 {
		if os.Getenv("PFGO_NO_REFERENCE") != "" {
			t.Skip("Postfix daemons need root and PFGO_NO_REFERENCE is set")
		}
		t.Fatal("running Postfix's daemons needs root (tests run as root in CI); set PFGO_NO_REFERENCE to skip")
	}
	return path
}

// startReference runs Debian's trivial-rewrite on s and returns the path
// of its socket.
func startReference(t testing.TB, s *sysDir) string {
	t.Helper()
	path := needReference(t)
	sock := filepath.Join(s.dir, "ref.sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
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
	cmd := exec.Command(path, "-l", "-n", "rewrite", "-t", "unix")
	cmd.Dir = s.dir
	cmd.Env = []string{"MAIL_CONFIG=" + s.etc, "PATH=/usr/bin:/bin"}
	cmd.ExtraFiles = []*os.File{flowR, flowW, statusW, lnFile}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for _, f := range []*os.File{flowR, flowW, statusW, lnFile} {
		f.Close()
	}
	ln.Close()
	t.Cleanup(func() {
		statusR.Close()
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	return sock
}

// warnLog collects an Engine's warnings.
type warnLog struct {
	mu    sync.Mutex
	lines []string
}

func (w *warnLog) warn(format string, args ...any) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.lines = append(w.lines, fmt.Sprintf(format, args...))
}

func (w *warnLog) text() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return strings.Join(w.lines, "\n")
}

// startOurs serves an Engine built from s on a unix socket.
func startOurs(t testing.TB, s *sysDir) (string, *warnLog) {
	t.Helper()
	wl := &warnLog{}
	e := NewEngine(s.config(t), wl.warn)
	sock := filepath.Join(s.dir, "our.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				e.Serve(c, 10*time.Second)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	return sock, wl
}

// recConn records what is read from a connection.
type recConn struct {
	net.Conn
	got bytes.Buffer
}

func (c *recConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.got.Write(p[:n])
	return n, err
}

// rawClient is a Client whose connection records the bytes it reads.
func rawClient(t testing.TB, sock string) (*Client, *recConn) {
	t.Helper()
	rc := &recConn{}
	cl := NewClientDial("private/rewrite", func() (net.Conn, error) {
		c, err := net.Dial("unix", sock)
		if err != nil {
			return nil, err
		}
		rc.Conn = c
		rc.got.Reset()
		return rc, nil
	})
	cl.Timeout = 10 * time.Second
	t.Cleanup(func() { cl.Close() })
	return cl, rc
}
