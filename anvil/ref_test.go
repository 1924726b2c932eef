package anvil

import (
	"bufio"
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/postfix-go/postfix/internal/testutil"
)

// The differential test plays master for Debian's anvil and for ours
// (flow pipes on descriptors 3 and 4, the status socketpair on 5, the
// listening socket on 6), sends both the same requests over the same
// pattern of connections, and compares every reply byte for byte and the
// log lines: Debian's arrive on public/postlog, ours in maillog_file.

// refSys is one private configuration with a running anvil.
type refSys struct {
	dir, queue, sock string
	mu               sync.Mutex
	logs             []string
	status           *os.File
	cmd              *exec.Cmd
}

func newRefSys(t *testing.T, path string) *refSys {
	t.Helper()
	dir := t.TempDir()
	s := &refSys{dir: dir, queue: filepath.Join(dir, "queue")}
	for _, d := range []string{"etc", "queue/public", "queue/private", "queue/pid", "data"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	mainCF := "compatibility_level = 3.6\nqueue_directory = " + s.queue + "\ndata_directory = " + dir + "/data\n" +
		"myhostname = host.example.com\nmydomain = example.com\ninet_interfaces = loopback-only\n" +
		"maillog_file = " + dir + "/maillog\nmaillog_file_prefixes = " + dir + "\n" +
		"anvil_rate_time_unit = 4s\nanvil_status_update_time = 1h\n"
	old := time.Now().Add(-time.Hour)
	for f, text := range map[string]string{"main.cf": mainCF, "master.cf": ""} {
		p := filepath.Join(dir, "etc", f)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		_ = os.Chtimes(p, old, old)
	}
	ls, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: filepath.Join(s.queue, "public", "postlog"), Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ls.Close() })
	go func() {
		buf := make([]byte, 65536)
		for {
			n, _, err := ls.ReadFrom(buf)
			if err != nil {
				return
			}
			s.mu.Lock()
			s.logs = append(s.logs, strings.TrimRight(string(buf[:n]), "\n"))
			s.mu.Unlock()
		}
	}()

	s.sock = filepath.Join(s.queue, "private", "anvil")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: s.sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	lnFile, _ := ln.File()
	flowR, flowW, _ := os.Pipe()
	_, _ = flowW.Write(bytes.Repeat([]byte{'x'}, 4096))
	pair, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	s.status = os.NewFile(uintptr(pair[0]), "status")
	statusW := os.NewFile(uintptr(pair[1]), "status")
	s.cmd = exec.Command(path, "-l", "-n", "anvil", "-t", "unix")
	s.cmd.Args[0] = "anvil"
	s.cmd.Dir = s.queue
	s.cmd.Env = []string{"MAIL_CONFIG=" + filepath.Join(dir, "etc"), "PATH=/usr/bin:/bin", "TZ=UTC"}
	s.cmd.ExtraFiles = []*os.File{flowR, flowW, statusW, lnFile}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for _, f := range []*os.File{flowR, flowW, statusW, lnFile} {
		f.Close()
	}
	ln.Close()
	t.Cleanup(func() { s.stop(t) })
	return s
}

// stop closes the status socket (master went away) and waits for exit.
func (s *refSys) stop(t *testing.T) {
	if s.cmd == nil {
		return
	}
	s.status.Close()
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-done
		t.Errorf("%s did not exit after master went away", s.cmd.Path)
	}
	s.cmd = nil
}

// logLines returns the log texts after "anvil[PID]: ", from Postfix's
// socket and from maillog_file.
func (s *refSys) logLines() []string {
	s.mu.Lock()
	all := append([]string(nil), s.logs...)
	s.mu.Unlock()
	if b, err := os.ReadFile(filepath.Join(s.dir, "maillog")); err == nil {
		all = append(all, strings.Split(string(b), "\n")...)
	}
	var out []string
	for _, l := range all {
		if _, text, ok := strings.Cut(l, "]: "); ok {
			out = append(out, text)
		}
	}
	return out
}

// settledLogLines is logLines once no new line has come for 200 ms (at
// most 3 s): the statistics a daemon logs as it exits may still be on
// their way through the log socket when it has been reaped.
func (s *refSys) settledLogLines() []string {
	lines := s.logLines()
	for quiet, start := 0, time.Now(); quiet < 4 && time.Since(start) < 3*time.Second; {
		time.Sleep(50 * time.Millisecond)
		if next := s.logLines(); len(next) != len(lines) {
			lines, quiet = next, 0
		} else {
			quiet++
		}
	}
	return lines
}

// rawConn sends raw request text and returns the raw reply record.
type rawConn struct {
	c     net.Conn
	br    *bufio.Reader
	hello string // the server's announcement
}

func (s *refSys) dial(t *testing.T) *rawConn {
	t.Helper()
	var c net.Conn
	var err error
	for i := 0; i < 100; i++ {
		if c, err = net.Dial("unix", s.sock); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	r := &rawConn{c: c, br: bufio.NewReader(c)}
	r.hello = r.do("")
	return r
}

// do sends req and reads the reply up to its empty line; a reply cut
// short by the server closing is returned with "<EOF>".
func (r *rawConn) do(req string) string {
	_ = r.c.SetDeadline(time.Now().Add(5 * time.Second))
	if req != "" {
		if _, err := r.c.Write([]byte(req)); err != nil {
			return "<write error>"
		}
	}
	var b strings.Builder
	for {
		line, err := r.br.ReadString('\n')
		b.WriteString(line)
		if err != nil {
			b.WriteString("<EOF>")
			return b.String()
		}
		if line == "\n" {
			return b.String()
		}
	}
}

// waitCount polls ident's connection count on a connection of its own
// (lookups change nothing) until it is want, for at most 5 s.
func (s *refSys) waitCount(t *testing.T, ident string, want int) {
	t.Helper()
	probe := s.dial(t)
	defer probe.c.Close()
	line := "count=" + strconv.Itoa(want) + "\n"
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		r := probe.do(req("lookup", ident))
		if strings.Contains(r, line) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("lookup %s never answered %q: %q", ident, line, r)
		}
	}
}

func req(name, ident string) string { return "request=" + name + "\nident=" + ident + "\n\n" }

// scenario runs the request sequence against s and returns the
// transcript of requests and replies.
func scenario(t *testing.T, s *refSys, pause func()) []string {
	const a, b = "smtp:192.0.2.7", "smtp:2001:db8::1"
	c1, c2, c3 := s.dial(t), s.dial(t), s.dial(t)
	out := []string{"announcement: " + c1.hello}
	step := func(name string, c *rawConn, text string) {
		out = append(out, name+": "+strings.ReplaceAll(text, "\n", "|")+" => "+strings.ReplaceAll(c.do(text), "\n", "|"))
	}
	step("c1", c1, req("connect", a))
	step("c1", c1, req("connect", a)) // same connection: rate grows, count not
	step("c2", c2, req("connect", a))
	step("c1", c1, req("message", a))
	step("c1", c1, req("recipient", a))
	step("c1", c1, req("recipient", a))
	step("c1", c1, req("newtls", a))
	step("c1", c1, req("newtls_status", a))
	step("c1", c1, req("auth", a))
	step("c2", c2, req("lookup", a))
	step("c3", c3, req("message", b)) // never connected: registers c3's session
	step("c3", c3, req("lookup", b))
	step("c2", c2, req("disconnect", a))
	step("c2", c2, req("disconnect", a)) // not linked any more: no change
	step("c2", c2, req("lookup", a))
	step("c2", c2, req("lookup", "smtp:198.51.100.1"))
	step("c2", c2, req("newtls_status", "smtp:198.51.100.1"))
	step("c2", c2, req("bogus", a))
	c3.c.Close() // its session of b ends
	time.Sleep(100 * time.Millisecond)
	step("c1", c1, req("lookup", b))
	step("c1", c1, req("connect", b)) // c1's session of a ends
	step("c1", c1, req("lookup", a))
	pause() // the rate period (4s) ends; a (no sessions) is forgotten
	step("c1", c1, req("lookup", a))
	step("c1", c1, req("lookup", b))
	step("c1", c1, req("newtls_status", b))
	step("c2", c2, req("connect", b))
	step("c1", c1, req("lookup", b))
	// Malformed requests end the connection, and its session.
	step("c2", c2, "request=lookup\n\n")
	s.waitCount(t, b, 1) // the server has seen c2 go; c1 still has b
	step("c1", c1, req("lookup", b))
	c4 := s.dial(t)
	step("c4", c4, "request=lookup\nident=x\nextra=1\n\n")
	c5 := s.dial(t)
	step("c5", c5, "ident=x\nrequest=lookup\n\n")
	c6 := s.dial(t)
	step("c6", c6, "request\n\n")
	c1.c.Close()
	return out
}

func TestReferenceAnvil(t *testing.T) {
	ref := testutil.Reference(t, "/usr/lib/postfix/sbin/anvil")
	if os.Geteuid() != 0 {
		if os.Getenv("PFGO_NO_REFERENCE") != "" {
			t.Skip("Postfix daemons need root and PFGO_NO_REFERENCE is set")
		}
		t.Fatal("running Postfix's daemons needs root (tests run as root in CI); set PFGO_NO_REFERENCE to skip")
	}
	t.Parallel()
	ours := anvilBin(t)
	theirs, mine := newRefSys(t, ref), newRefSys(t, ours)
	var wg sync.WaitGroup
	var got [2][]string
	start := time.Now()
	// Both run the scenario at the same time, so that their clocks agree
	// to the second; the pause waits for both.
	var pauseWG sync.WaitGroup
	pauseWG.Add(2)
	pause := func() {
		pauseWG.Done()
		pauseWG.Wait()
		time.Sleep(5100 * time.Millisecond)
	}
	for i, s := range []*refSys{theirs, mine} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i] = scenario(t, s, pause)
		}()
	}
	wg.Wait()
	for i := range got[0] {
		if i >= len(got[1]) || got[0][i] != got[1][i] {
			var g string
			if i < len(got[1]) {
				g = got[1][i]
			}
			t.Errorf("step %d:\nPostfix: %s\nours:    %s", i, got[0][i], g)
		}
	}
	time.Sleep(100 * time.Millisecond)
	theirs.stop(t)
	mine.stop(t)
	end := time.Now()
	stamp := regexp.MustCompile(` at ([A-Z][a-z][a-z] [ 0-9]\d \d\d:\d\d:\d\d)$`)
	norm := func(lines []string) []string {
		var out []string
		for _, l := range lines {
			if m := stamp.FindStringSubmatch(l); m != nil {
				when, err := time.ParseInLocation("Jan _2 15:04:05", m[1], time.UTC)
				if err != nil {
					t.Errorf("bad time in %q", l)
				}
				when = when.AddDate(start.UTC().Year(), 0, 0)
				if when.Before(start.UTC().Truncate(time.Second)) || when.After(end.UTC()) {
					t.Errorf("time out of the test's span in %q", l)
				}
				l = strings.Replace(l, m[1], "TIME", 1)
			}
			out = append(out, l)
		}
		return out
	}
	lt, lo := norm(theirs.settledLogLines()), norm(mine.settledLogLines())
	if strings.Join(lt, "\n") != strings.Join(lo, "\n") {
		t.Errorf("log lines differ:\nPostfix:\n%s\nours:\n%s", strings.Join(lt, "\n"), strings.Join(lo, "\n"))
	}
	if len(lt) < 5 {
		t.Errorf("Postfix logged only %q", lt)
	}
}

var (
	buildOnce sync.Once
	buildPath string
	buildErr  error
	buildOut  []byte
)

// anvilBin builds cmd/anvil alone (the build cache makes this cheap), so
// this package's tests do not depend on every other command compiling.
func anvilBin(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := testutil.BuildDir("pfgo-anvil-")
		if err != nil {
			buildErr = err
			return
		}
		buildPath = filepath.Join(dir, "anvil")
		cmd := exec.Command("go", "build", "-o", buildPath, "./cmd/anvil")
		cmd.Dir = testutil.Root()
		buildOut, buildErr = cmd.CombinedOutput()
	})
	if buildErr != nil {
		t.Fatalf("building anvil: %v\n%s", buildErr, buildOut)
	}
	return buildPath
}
