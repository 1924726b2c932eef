package server

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestMain turns the test binary into a tiny daemon when SERVER_TEST_MODE
// is set, so the tests can start it the way master does.
func TestMain(m *testing.M) {
	switch os.Getenv("SERVER_TEST_MODE") {
	case "":
		os.Exit(m.Run())
	case "single":
		Run("testd", Options{Mode: Single, Conn: echo})
	case "multi":
		Run("testd", Options{Mode: Multi, Conn: echo})
	case "fdcheck":
		Run("testd", Options{Mode: Single, Conn: func(s *Service, c net.Conn) {
			bufio.NewReader(c).ReadString('\n')
			out, _ := exec.Command("sh", "-c", "for fd in 3 4 5 6; do test -e /proc/$$/fd/$fd && echo $fd; done").Output()
			fmt.Fprintf(c, "open:%s\n", strings.Join(strings.Fields(string(out)), " "))
		}})
	case "trigger":
		Run("testd", Options{Mode: Trigger, Trigger: func(s *Service, data []byte) {
			// Relative path: the daemon runs in queue_directory.
			f, err := os.OpenFile("triggers", os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0666)
			if err != nil {
				panic(err)
			}
			fmt.Fprintf(f, "%s\n", data)
			f.Close()
		}})
	}
}

// echo answers each line with "PID UID CWD ARGS: LINE".
func echo(s *Service, c net.Conn) {
	r := bufio.NewReader(c)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		cwd, _ := os.Getwd()
		fmt.Fprintf(c, "%d %d %s %s %s: %s", os.Getpid(), os.Getuid(), cwd+"|"+s.Layout.Dir+"|"+s.Config.Get("queue_directory"), s.Name, strings.Join(s.Args, ","), line)
	}
}

// harness is a minimal master: a queue directory, one listener, a status
// socketpair and the child process.
type harness struct {
	t       *testing.T
	dir     string // config dir and base
	queue   string
	sock    string
	status  *os.File // master's end
	cmd     *exec.Cmd
	lnFile  *os.File
	waitErr chan error
}

func newHarness(t *testing.T, mode, typ, extraMain string, args ...string) *harness {
	t.Helper()
	return newHarnessN(t, 1, mode, typ, extraMain, args...)
}

// newHarnessN is newHarness with n listeners: private/testd, testd1, ….
func newHarnessN(t *testing.T, n int, mode, typ, extraMain string, args ...string) *harness {
	t.Helper()
	dir := t.TempDir()
	os.Chmod(dir, 0755)
	h := &harness{t: t, dir: dir, queue: filepath.Join(dir, "queue"), waitErr: make(chan error, 1)}
	for _, d := range []string{"private", "public"} {
		if err := os.MkdirAll(filepath.Join(h.queue, d), 0755); err != nil {
			t.Fatal(err)
		}
	}
	os.Chmod(h.queue, 0777)
	main := fmt.Sprintf("queue_directory = %s\nmaillog_file = %s/maillog\nmaillog_file_prefixes = %s\n%s", h.queue, dir, dir, extraMain)
	if err := os.WriteFile(filepath.Join(dir, "main.cf"), []byte(main), 0644); err != nil {
		t.Fatal(err)
	}
	h.sock = filepath.Join(h.queue, "private", "testd")
	switch typ {
	case "fifo":
		if err := syscall.Mkfifo(h.sock, 0622); err != nil {
			t.Fatal(err)
		}
		f, err := os.OpenFile(h.sock, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		h.lnFile = f
	default:
		ln, err := net.Listen("unix", h.sock)
		if err != nil {
			t.Fatal(err)
		}
		os.Chmod(h.sock, 0666)
		ln.(*net.UnixListener).SetUnlinkOnClose(false)
		h.lnFile, _ = ln.(*net.UnixListener).File()
		ln.Close()
	}
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	h.status = os.NewFile(uintptr(fds[0]), "status-master")
	child := os.NewFile(uintptr(fds[1]), "status-child")
	fr, fw, _ := os.Pipe()
	h.cmd = exec.Command(os.Args[0], append([]string{"-n", "testd", "-t", typ}, args...)...)
	h.cmd.Args[0] = "testd"
	h.cmd.Env = append(os.Environ(), "SERVER_TEST_MODE="+mode, "MAIL_CONFIG="+dir, "GENERATION=17")
	h.cmd.ExtraFiles = []*os.File{fr, fw, child, h.lnFile}
	for i := 1; i < n; i++ {
		ln, err := net.Listen("unix", fmt.Sprintf("%s%d", h.sock, i))
		if err != nil {
			t.Fatal(err)
		}
		ln.(*net.UnixListener).SetUnlinkOnClose(false)
		f, _ := ln.(*net.UnixListener).File()
		ln.Close()
		defer f.Close()
		h.cmd.ExtraFiles = append(h.cmd.ExtraFiles, f)
	}
	if n > 1 {
		h.cmd.Args = append(h.cmd.Args[:1], append([]string{"-s", fmt.Sprint(n)}, h.cmd.Args[1:]...)...)
	}
	var stderr strings.Builder
	h.cmd.Stderr = &stderr
	if err := h.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	child.Close()
	fr.Close()
	fw.Close()
	go func() { h.waitErr <- h.cmd.Wait() }()
	t.Cleanup(func() {
		h.cmd.Process.Kill()
		<-h.waitErr
		h.status.Close()
		h.lnFile.Close()
		if stderr.Len() > 0 {
			t.Logf("daemon stderr: %s", stderr.String())
		}
	})
	return h
}

// readStatus reads one status message.
func (h *harness) readStatus() Status {
	h.t.Helper()
	buf := make([]byte, StatusSize)
	h.status.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(h.status, buf); err != nil {
		h.t.Fatalf("reading status: %v", err)
	}
	return DecodeStatus(buf)
}

// exchange sends one line and returns the answer.
func (h *harness) exchange(c net.Conn, line string) string {
	h.t.Helper()
	fmt.Fprintf(c, "%s\n", line)
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	ans, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		h.t.Fatalf("reading answer: %v", err)
	}
	return ans
}

// exited waits for the child to exit and returns its exit status.
func (h *harness) exited(timeout time.Duration) int {
	h.t.Helper()
	select {
	case <-h.waitErr:
		h.waitErr <- nil
		return h.cmd.ProcessState.ExitCode()
	case <-time.After(timeout):
		h.t.Fatalf("daemon did not exit within %v", timeout)
		return -1
	}
}

func TestSingleStatusAndMaxUse(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "single", "unix", "max_use = 2\n", "-o", "myhostname=x.example", "extra-arg")
	st := h.readStatus()
	if st.Status != StatusAvail || st.Gen != 15 || st.Pid != h.cmd.Process.Pid {
		t.Fatalf("first status %+v, pid %d", st, h.cmd.Process.Pid)
	}
	for i := 0; i < 2; i++ {
		c, err := net.Dial("unix", h.sock)
		if err != nil {
			t.Fatal(err)
		}
		ans := h.exchange(c, "hello")
		want := fmt.Sprintf("%d %d %s|%s|%s testd extra-arg: hello\n", h.cmd.Process.Pid, os.Getuid(), h.queue, ".", h.queue)
		if ans != want {
			t.Errorf("answer %q, want %q", ans, want)
		}
		if s := h.readStatus(); s.Status != StatusTaken {
			t.Errorf("status after accept: %+v", s)
		}
		c.Close()
		if s := h.readStatus(); s.Status != StatusAvail {
			t.Errorf("status after close: %+v", s)
		}
	}
	if code := h.exited(10 * time.Second); code != 0 {
		t.Errorf("exit status %d after max_use", code)
	}
}

func TestSingleMaxIdle(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "single", "unix", "max_idle = 1s\n")
	h.readStatus()
	start := time.Now()
	if code := h.exited(10 * time.Second); code != 0 {
		t.Errorf("exit status %d", code)
	}
	if d := time.Since(start); d < 500*time.Millisecond {
		t.Errorf("exited after %v, before max_idle", d)
	}
}

func TestMasterGone(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "single", "unix", "")
	h.readStatus()
	c, err := net.Dial("unix", h.sock)
	if err != nil {
		t.Fatal(err)
	}
	h.exchange(c, "x")
	h.readStatus()
	// Master goes away while a client is served: the client is finished
	// first, then the process exits.
	h.status.Close()
	if ans := h.exchange(c, "still there"); !strings.HasSuffix(ans, ": still there\n") {
		t.Errorf("answer %q", ans)
	}
	c.Close()
	if code := h.exited(10 * time.Second); code != 0 {
		t.Errorf("exit status %d", code)
	}
}

func TestMultiConcurrent(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "multi", "unix", "max_use = 3\n")
	h.readStatus()
	var conns []net.Conn
	for i := 0; i < 3; i++ {
		c, err := net.Dial("unix", h.sock)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns = append(conns, c)
	}
	var wg sync.WaitGroup
	answers := make([]string, len(conns))
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fmt.Fprintf(c, "n%d\n", i)
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			answers[i], _ = bufio.NewReader(c).ReadString('\n')
		}()
	}
	wg.Wait()
	// One process serves all three at once.
	for i, a := range answers {
		if !strings.HasPrefix(a, fmt.Sprint(h.cmd.Process.Pid)) || !strings.HasSuffix(a, fmt.Sprintf(": n%d\n", i)) {
			t.Errorf("answer %d: %q", i, a)
		}
	}
	// The third client reached max_use: the process is no longer
	// available, and it exits once its clients are done.
	if s := h.readStatus(); s.Status != StatusTaken {
		t.Errorf("status %+v", s)
	}
	for _, c := range conns {
		c.Close()
	}
	if code := h.exited(10 * time.Second); code != 0 {
		t.Errorf("exit status %d", code)
	}
}

func waitFile(t *testing.T, path, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, _ := os.ReadFile(path)
		if string(b) == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s holds %q, want %q", path, b, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestTriggerUnixAndFifo(t *testing.T) {
	t.Parallel()
	for _, typ := range []string{"unix", "fifo"} {
		t.Run(typ, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, "trigger", typ, "")
			h.readStatus()
			for _, req := range []string{"FADI", "W"} {
				if typ == "fifo" {
					f, err := os.OpenFile(h.sock, os.O_WRONLY, 0)
					if err != nil {
						t.Fatal(err)
					}
					f.Write([]byte(req))
					f.Close()
				} else {
					c, err := net.Dial("unix", h.sock)
					if err != nil {
						t.Fatal(err)
					}
					c.Write([]byte(req))
					if req == "W" {
						// As Postfix's trigger clients: wait for
						// the server to close.
						c.SetReadDeadline(time.Now().Add(5 * time.Second))
						if _, err := c.Read(make([]byte, 1)); err != io.EOF {
							t.Errorf("server did not close: %v", err)
						}
					}
					c.Close()
				}
				if s := h.readStatus(); s.Status != StatusTaken {
					t.Errorf("status %+v", s)
				}
				if s := h.readStatus(); s.Status != StatusAvail {
					t.Errorf("status %+v", s)
				}
			}
			waitFile(t, filepath.Join(h.queue, "triggers"), "FADI\nW\n")
		})
	}
}

func TestStandalone(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	q := filepath.Join(dir, "q")
	os.Mkdir(q, 0755)
	os.WriteFile(filepath.Join(dir, "main.cf"), []byte("queue_directory = "+q+"\nmaillog_file = "+dir+"/maillog\n"), 0644)
	cmd := exec.Command(os.Args[0], "-S", "-n", "sa")
	cmd.Env = append(os.Environ(), "SERVER_TEST_MODE=single", "MAIL_CONFIG="+dir)
	cmd.Stdin = strings.NewReader("one\ntwo\n")
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(out), " sa : "); n != 2 || !strings.HasSuffix(string(out), ": two\n") {
		t.Errorf("output %q", out)
	}
}

func TestWithoutMasterIsFatal(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "main.cf"), []byte("queue_directory = "+dir+"\nmaillog_file = "+dir+"/maillog\n"), 0644)
	cmd := exec.Command(os.Args[0])
	cmd.Args[0] = "testd"
	cmd.Env = append(os.Environ(), "SERVER_TEST_MODE=single", "MAIL_CONFIG="+dir)
	err := cmd.Run()
	if cmd.ProcessState.ExitCode() != 1 {
		t.Fatalf("exit %v", err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "maillog"))
	if !strings.Contains(string(b), "postfix/testd[") || !strings.Contains(string(b), "fatal: testd: no status descriptor from master") {
		t.Errorf("maillog %q", b)
	}
}

func TestChrootAndDropPrivileges(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("chroot and setuid need root")
	}
	u, err := user.Lookup("postfix")
	if err != nil {
		t.Skip("no postfix account to drop to")
	}
	h := newHarness(t, "single", "unix", "mail_owner = postfix\n", "-c", "-u")
	h.readStatus()
	c, err := net.Dial("unix", h.sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ans := h.exchange(c, "who")
	// In the jail the working directory is "/", queue paths start at "/"
	// and the user is postfix.
	want := fmt.Sprintf("%d %s /|.|/ testd : who\n", h.cmd.Process.Pid, u.Uid)
	if ans != want {
		t.Errorf("answer %q, want %q", ans, want)
	}
}

func TestParseArgs(t *testing.T) {
	t.Parallel()
	a, err := parseArgs("smtpd", []string{"-c", "-u", "-z", "-s", "2", "-n", "submission", "-t", "inet", "-o", "syslog_name=postfix/submission", "-o", "x = y", "flags=R", "-o", "z"})
	if err != nil {
		t.Fatal(err)
	}
	if !a.chroot || !a.unpriv || a.maxproc != 0 || a.listeners != 2 || a.service != "submission" || a.typ != "inet" {
		t.Errorf("%+v", a)
	}
	if len(a.overrides) != 2 || a.overrides[1].Name != "x" || a.overrides[1].Value != "y" {
		t.Errorf("overrides %+v", a.overrides)
	}
	if strings.Join(a.operands, " ") != "flags=R -o z" {
		t.Errorf("operands %q", a.operands)
	}
	if _, err := parseArgs("smtpd", []string{"-s", "0"}); err == nil {
		t.Error("bad -s accepted")
	}
	if s := DecodeStatus(Status{Pid: 42, Gen: 3, Status: StatusTaken}.Encode()); s != (Status{42, 3, StatusTaken}) {
		t.Errorf("round trip %+v", s)
	}
}

func TestDescriptorsCloseOnExec(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "fdcheck", "unix", "")
	h.readStatus()
	c, err := net.Dial("unix", h.sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// The daemon runs a shell that reports which of the descriptors
	// master passed (3 to 6) it inherited: none may be.
	if ans := h.exchange(c, "x"); ans != "open:\n" {
		t.Errorf("descriptors leak into programs the daemon runs: %q", ans)
	}
}

func TestSeveralListeners(t *testing.T) {
	t.Parallel()
	h := newHarnessN(t, 3, "single", "unix", "")
	h.readStatus()
	// One process, three listeners: each connection is served in turn,
	// whichever listener it arrives on.
	for round := 0; round < 2; round++ {
		for i, path := range []string{h.sock + "2", h.sock, h.sock + "1"} {
			c, err := net.Dial("unix", path)
			if err != nil {
				t.Fatal(err)
			}
			want := fmt.Sprintf(": r%d-%d\n", round, i)
			if ans := h.exchange(c, fmt.Sprintf("r%d-%d", round, i)); !strings.HasSuffix(ans, want) {
				t.Errorf("listener %s: %q", path, ans)
			}
			c.Close()
			h.readStatus()
			h.readStatus()
		}
	}
}
