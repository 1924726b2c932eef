package master

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/postfix-go/postfix/conf"
	"github.com/postfix-go/postfix/internal/rewrite"
	"github.com/postfix-go/postfix/internal/testutil"
)

func TestOnDemandAndMaxproc(t *testing.T) {
	t.Parallel()
	s := newSystem(t, "echo unix - n n - 2 tsingle\npub unix n n n - - tmulti\n", "")
	s.start()
	st, err := os.Stat(filepath.Join(s.queue, "private", "echo"))
	if err != nil || st.Mode()&os.ModeSocket == 0 || st.Mode().Perm() != 0666 {
		t.Fatalf("private/echo: %v %v", st, err)
	}
	if _, err := os.Stat(filepath.Join(s.queue, "public", "pub")); err != nil {
		t.Fatalf("public/pub: %v", err)
	}
	if n := len(children(s.cmd.Process.Pid)); n != 0 {
		t.Fatalf("%d children before any connection", n)
	}
	c1 := s.dial("echo")
	a1 := ask(c1, "one", 10*time.Second)
	p1 := pidOf(t, a1)
	if want := fmt.Sprintf("%d %d %s echo: one\n", p1, os.Getuid(), s.queue); a1 != want {
		t.Errorf("answer %q, want %q", a1, want)
	}
	if cl := cmdline(p1); cl != "tsingle -n echo -t unix -d" {
		t.Errorf("child command line %q", cl)
	}
	c2 := s.dial("echo")
	p2 := pidOf(t, ask(c2, "two", 10*time.Second))
	if p2 == p1 {
		t.Errorf("second session served by the busy process %d", p1)
	}
	// maxproc 2: a third client waits until a process is free.
	c3 := s.dial("echo")
	if a := ask(c3, "three", 700*time.Millisecond); a != "" {
		t.Fatalf("third client served beyond maxproc: %q", a)
	}
	s.waitLog(`postfix/master\[\d+\]: warning: service "echo" \(private/echo\) has reached its process limit "2": new clients may experience noticeable delays$`, 5*time.Second)
	c1.Close()
	c3.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 200)
	n, _ := c3.Read(buf)
	if p3 := pidOf(t, string(buf[:n])); p3 != p1 {
		t.Errorf("third client served by %d, want the freed process %d", p3, p1)
	}
	if n := len(children(s.cmd.Process.Pid)); n != 2 {
		t.Errorf("%d children, want 2", n)
	}
}

func TestRestartAfterKill(t *testing.T) {
	t.Parallel()
	s := newSystem(t, "echo unix - n n - 1 tsingle\n", "")
	s.start()
	c := s.dial("echo")
	p1 := pidOf(t, ask(c, "x", 10*time.Second))
	syscall.Kill(p1, syscall.SIGKILL)
	s.waitLog(fmt.Sprintf(`postfix/master\[\d+\]: warning: process %s pid %d killed by signal 9$`, regexp.QuoteMeta(s.bin+"/tsingle"), p1), 10*time.Second)
	c2 := s.dial("echo")
	p2 := pidOf(t, ask(c2, "y", 10*time.Second))
	if p2 == p1 {
		t.Errorf("same pid after kill")
	}
	// The killed process had done work: no throttling.
	if strings.Contains(s.maillog(), "throttling") {
		t.Errorf("throttled after kill of a used process:\n%s", s.maillog())
	}
}

func TestThrottle(t *testing.T) {
	t.Parallel()
	s := newSystem(t, "crash unix - n n - 1 tcrash\n", "")
	s.start()
	sock := filepath.Join(s.queue, "private", "crash")
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	path := regexp.QuoteMeta(s.bin + "/tcrash")
	s.waitLog(`postfix/master\[\d+\]: warning: process `+path+` pid \d+ exit status 1$`, 10*time.Second)
	s.waitLog(`postfix/master\[\d+\]: warning: `+path+`: bad command startup -- throttling$`, 10*time.Second)
	time.Sleep(time.Second)
	if n := strings.Count(s.maillog(), "exit status 1"); n != 1 {
		t.Errorf("%d starts during the throttle time, want 1", n)
	}
	// After service_throttle_time (2s) the pending client starts it again.
	deadline := time.Now().Add(10 * time.Second)
	for strings.Count(s.maillog(), "exit status 1") < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("not restarted after the throttle time:\n%s", s.maillog())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestWakeup(t *testing.T) {
	t.Parallel()
	s := newSystem(t, "tick unix - n n 1 1 ttrigger\nlazy unix - n n 1? 1 ttrigger\nfif fifo - n n 1 1 ttrigger\n", "")
	s.start()
	deadline := time.Now().Add(15 * time.Second)
	for {
		tick, _ := os.ReadFile(filepath.Join(s.queue, "triggers.tick"))
		fif, _ := os.ReadFile(filepath.Join(s.queue, "triggers.fif"))
		if strings.Count(string(tick), "W\n") >= 2 && strings.Count(string(fif), "W") >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("wakeups: tick %q fif %q", tick, fif)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, err := os.Stat(filepath.Join(s.queue, "triggers.lazy")); err == nil {
		t.Errorf("conditional wakeup of an unused service")
	}
	st, err := os.Stat(filepath.Join(s.queue, "private", "fif"))
	if err != nil || st.Mode()&os.ModeNamedPipe == 0 || st.Mode().Perm() != 0622 {
		t.Errorf("fifo %v %v", st, err)
	}
	// Use the lazy service once: from then on it is woken too.
	c := s.dial("lazy")
	c.Write([]byte("I"))
	c.Close()
	deadline = time.Now().Add(10 * time.Second)
	for {
		b, _ := os.ReadFile(filepath.Join(s.queue, "triggers.lazy"))
		if strings.HasPrefix(string(b), "I\n") && strings.Contains(string(b), "W\n") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("lazy triggers %q", b)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestReloadKeepsSessions(t *testing.T) {
	t.Parallel()
	s := newSystem(t, "echo unix - n n - - tsingle\ngone unix - n n - - tsingle\n", "")
	s.start()
	old := s.dial("echo")
	p1 := pidOf(t, ask(old, "before", 10*time.Second))
	// A second process that is idle at the time of the reload.
	idle := s.dial("echo")
	pIdle := pidOf(t, ask(idle, "before", 10*time.Second))
	idle.Close()
	time.Sleep(100 * time.Millisecond)
	s.write("master.cf", "echo unix - n n - - tsingle -o myhostname=new.example\nnew unix - n n - - tmulti\n")
	s.cmd.Process.Signal(syscall.SIGHUP)
	s.waitLog(`postfix/master\[\d+\]: reload -- version 3\.7\.11, configuration `+regexp.QuoteMeta(s.etc)+`$`, 10*time.Second)
	// The idle process of the old generation exits at once.
	deadline := time.Now().Add(5 * time.Second)
	for syscall.Kill(pIdle, 0) == nil {
		if time.Now().After(deadline) {
			t.Fatalf("idle process %d of the old generation still runs after reload", pIdle)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The session opened before the reload is still served by its process.
	if a := ask(old, "after", 10*time.Second); pidOf(t, a) != p1 || !strings.HasSuffix(a, "echo: after\n") {
		t.Errorf("old session after reload: %q", a)
	}
	// New sessions go to a new process of the new generation.
	fresh := s.dial("echo")
	if p2 := pidOf(t, ask(fresh, "new", 10*time.Second)); p2 == p1 {
		t.Errorf("new session served by the retired process")
	}
	if cl := cmdline(pidOf(t, ask(fresh, "again", 10*time.Second))); !strings.HasSuffix(cl, "-o myhostname=new.example") {
		t.Errorf("new process command line %q", cl)
	}
	if a := ask(s.dial("new"), "hi", 10*time.Second); !strings.HasSuffix(a, "new: hi\n") {
		t.Errorf("added service: %q", a)
	}
	if c, err := net.Dial("unix", filepath.Join(s.queue, "private", "gone")); err == nil {
		c.Close()
		out, _ := exec.Command("sh", "-c", "ss -xlp | grep "+s.queue).CombinedOutput()
		t.Errorf("removed service still accepts connections: %s", out)
	}
	// When the old session ends, the retired process exits.
	old.Close()
	deadline = time.Now().Add(10 * time.Second)
	for {
		if err := syscall.Kill(p1, 0); err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("retired process %d still running", p1)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestStop(t *testing.T) {
	t.Parallel()
	s := newSystem(t, "echo unix - n n - - tsingle\n", "")
	s.start()
	p := pidOf(t, ask(s.dial("echo"), "x", 10*time.Second))
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		t.Fatal("master did not stop")
	}
	s.waitLog(`postfix/master\[\d+\]: terminating on signal 15$`, time.Second)
	if ws, ok := s.cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGTERM {
		t.Errorf("master exit %v", s.cmd.ProcessState)
	}
	deadline := time.Now().Add(10 * time.Second)
	for syscall.Kill(p, 0) == nil {
		if time.Now().After(deadline) {
			t.Fatalf("child %d survived the master", p)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestMissingCommandSkipped(t *testing.T) {
	t.Parallel()
	s := newSystem(t, "smtp inet n - y - - smtpd\necho unix - n n - - tsingle\n", "")
	s.start()
	log := s.maillog()
	want := fmt.Sprintf("warning: master.cf: line 1: service smtp/inet: program %s/smtpd not found -- skipping this service\n", s.bin)
	if strings.Count(log, "smtpd") != 1 || !strings.Contains(log, want) {
		t.Errorf("maillog:\n%s\nwant one line %q", log, want)
	}
	if a := ask(s.dial("echo"), "x", 10*time.Second); !strings.HasSuffix(a, "echo: x\n") {
		t.Errorf("answer %q", a)
	}
}

func TestInetListener(t *testing.T) {
	t.Parallel()
	s := newSystem(t, "127.0.0.1:0 inet n n n - - tsingle\n", "")
	// Port 0 cannot be found again; listen on a free port instead.
	port := testutil.FreePort(t)
	s.write("master.cf", fmt.Sprintf("%d inet n n n - - tsingle\n", port))
	s.start()
	c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if a := ask(c, "tcp", 10*time.Second); !strings.HasSuffix(a, fmt.Sprintf(" %d: tcp\n", port)) {
		t.Errorf("answer %q", a)
	}
}

func TestLockFilesAndTestMode(t *testing.T) {
	t.Parallel()
	s := newSystem(t, "echo unix - n n - - tsingle\n", "")
	run := func(args ...string) (int, string) {
		var out strings.Builder
		cmd := execMaster(s, args...)
		cmd.Stdout, cmd.Stderr = &out, &out
		cmd.Run()
		return cmd.ProcessState.ExitCode(), out.String()
	}
	if code, out := run("-t", "-c", s.etc); code != 0 || out != "" {
		t.Errorf("-t before start: %d %q", code, out)
	}
	s.start()
	for _, f := range []string{filepath.Join(s.queue, "pid", "master.pid"), filepath.Join(s.dir, "data", "master.lock")} {
		b, err := os.ReadFile(f)
		if want := fmt.Sprintf("%32d\n", s.cmd.Process.Pid); err != nil || string(b) != want {
			t.Errorf("%s: %q, want %q", f, b, want)
		}
	}
	if code, out := run("-t", "-c", s.etc); code != 1 || out != "" {
		t.Errorf("-t while running: %d %q", code, out)
	}
	if code, _ := run("-d", "-c", s.etc); code != 1 {
		t.Errorf("second master started: %d", code)
	}
}

func TestWaitModeDetaches(t *testing.T) {
	t.Parallel()
	s := newSystem(t, "echo unix - n n - - tsingle\n", "")
	cmd := execMaster(s, "-w", "-c", s.etc)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("master -w: %v %s", err, out)
	}
	b, err := os.ReadFile(filepath.Join(s.queue, "pid", "master.pid"))
	if err != nil {
		t.Fatal(err)
	}
	var pid int
	fmt.Sscan(strings.TrimSpace(string(b)), &pid)
	defer syscall.Kill(pid, syscall.SIGTERM)
	if !strings.Contains(s.maillog(), fmt.Sprintf("postfix/master[%d]: daemon started", pid)) {
		t.Errorf("maillog:\n%s", s.maillog())
	}
	if sid, _ := syscall.Getpgid(pid); sid != pid {
		t.Errorf("background master is not a group leader: pgid %d pid %d", sid, pid)
	}
	if a := ask(s.dial("echo"), "bg", 10*time.Second); !strings.HasSuffix(a, "echo: bg\n") {
		t.Errorf("answer %q", a)
	}
	// A broken configuration makes -w fail.
	s2 := newSystem(t, "echo unix - n n bad - tsingle\n", "")
	cmd = execMaster(s2, "-w", "-c", s2.etc)
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "daemon initialization failure") {
		t.Errorf("master -w on bad master.cf: %v %q", err, out)
	}
}

func TestPrivilegedChild(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("privileged mode needs root")
	}
	u, err := user.Lookup("postfix")
	if err != nil {
		t.Skip("no postfix account")
	}
	s := newSystem(t, "priv unix - - y - 1 tsingle\n", "")
	s.start()
	st, _ := os.Stat(filepath.Join(s.queue, "private", "priv"))
	if sys := st.Sys().(*syscall.Stat_t); fmt.Sprint(sys.Uid) != u.Uid {
		t.Errorf("socket owner %d, want %s", sys.Uid, u.Uid)
	}
	a := ask(s.dial("priv"), "x", 10*time.Second)
	if want := fmt.Sprintf("%s / priv: x\n", u.Uid); !strings.HasSuffix(a, want) {
		t.Errorf("answer %q, want suffix %q", a, want)
	}
	if cl := cmdline(pidOf(t, a)); cl != "tsingle -l -n priv -t unix -d -u -c" {
		t.Errorf("command line %q", cl)
	}
}

func TestUnprivilegedMode(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("needs root to become another user")
	}
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Skip("no nobody account")
	}
	uid, _ := strconv.Atoi(nobody.Uid)
	gid, _ := strconv.Atoi(nobody.Gid)
	// mail_owner stays "postfix": unprivileged mode ignores it.
	s := newSystem(t, "echo unix - - y - 1 tsingle\n", "")
	// The test binary must be reachable by nobody: copy it in.
	exe, _ := os.Executable()
	data, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	own := filepath.Join(s.dir, "testbin")
	if err := os.WriteFile(own, data, 0755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"master", "tsingle"} {
		os.Remove(filepath.Join(s.bin, name))
		os.Symlink(own, filepath.Join(s.bin, name))
	}
	filepath.Walk(s.dir, func(p string, _ os.FileInfo, _ error) error { return os.Lchown(p, uid, gid) })
	s.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	s.start()
	a := ask(s.dial("echo"), "x", 10*time.Second)
	if want := fmt.Sprintf(" %d %s echo: x\n", uid, s.queue); !strings.HasSuffix(a, want) {
		t.Errorf("answer %q, want suffix %q (no chroot, same user)", a, want)
	}
	for _, f := range []string{filepath.Join(s.queue, "private", "echo"), filepath.Join(s.dir, "data", "master.lock"), filepath.Join(s.queue, "pid", "master.pid")} {
		st, err := os.Stat(f)
		if err != nil || st.Sys().(*syscall.Stat_t).Uid != uint32(uid) {
			t.Errorf("%s not owned by the user: %v", f, err)
		}
	}
}

func TestSecondMasterAndExitTime(t *testing.T) {
	t.Parallel()
	s := newSystem(t, "echo unix - n n - - tsingle\n", "")
	s.start()
	cmd := execMaster(s, "-d", "-c", s.etc)
	if err := cmd.Run(); cmd.ProcessState.ExitCode() != 1 {
		t.Errorf("second master: %v", err)
	}
	s.waitLog(`postfix/master\[\d+\]: fatal: open lock file `+regexp.QuoteMeta(s.queue)+`/pid/master.pid: unable to set exclusive lock: Resource temporarily unavailable$`, 5*time.Second)

	// -e: the master leaves after exit_time seconds.
	s2 := newSystem(t, "echo unix - n n - - tsingle\n", "")
	start := time.Now()
	cmd = execMaster(s2, "-d", "-e", "1", "-c", s2.etc)
	if err := cmd.Run(); err != nil {
		t.Errorf("master -e 1: %v", err)
	}
	if d := time.Since(start); d < time.Second || d > 8*time.Second {
		t.Errorf("master -e 1 ran %v", d)
	}
}

func TestCrashReportLogged(t *testing.T) {
	t.Parallel()
	s := newSystem(t, "boom unix - n n - - tpanic\n", "")
	// In the background, a daemon's standard error goes to the log.
	if out, err := execMaster(s, "-w", "-c", s.etc).CombinedOutput(); err != nil {
		t.Fatalf("master -w: %v %s", err, out)
	}
	defer func() {
		b, _ := os.ReadFile(filepath.Join(s.queue, "pid", "master.pid"))
		var pid int
		fmt.Sscan(strings.TrimSpace(string(b)), &pid)
		if pid > 0 {
			syscall.Kill(pid, syscall.SIGTERM)
		}
	}()
	c := s.dial("boom")
	c.Write([]byte("x\n"))
	path := regexp.QuoteMeta(s.bin + "/tpanic")
	s.waitLog(`postfix/master\[\d+\]: warning: process `+path+` pid \d+: panic: boom in boom$`, 10*time.Second)
	s.waitLog(`postfix/master\[\d+\]: warning: process `+path+` pid \d+ exit status 2$`, 10*time.Second)
}

// Postfix's own daemons speak the same descriptor and status protocol:
// Debian's trivial-rewrite runs under our master and answers.
func TestPostfixDaemonUnderOurMaster(t *testing.T) {
	t.Parallel()
	ref := testutil.Reference(t, "/usr/lib/postfix/sbin/trivial-rewrite")
	if os.Geteuid() != 0 {
		t.Skip("Postfix's daemons expect to start as root")
	}
	s := newSystem(t, "rewrite unix - - n - 1 trivial-rewrite\n", "myhostname = mx.example.com\nmydomain = example.com\ncompatibility_level = 3.6\n")
	if err := os.Symlink(ref, filepath.Join(s.bin, "trivial-rewrite")); err != nil {
		t.Fatal(err)
	}
	// Postfix's daemons insist on maillog_file_prefixes.
	main, _ := os.ReadFile(filepath.Join(s.etc, "main.cf"))
	s.write("main.cf", string(main)+"maillog_file_prefixes = "+s.dir+"\n")
	s.start()
	c, err := conf.Load(s.etc)
	if err != nil {
		t.Fatal(err)
	}
	cl := rewrite.NewClient(c)
	for i := 0; i < 2; i++ {
		type result struct {
			addr string
			err  error
		}
		ch := make(chan result, 1)
		go func() {
			got, err := cl.Rewrite("local", "root")
			ch <- result{got, err}
		}()
		select {
		case r := <-ch:
			if r.err != nil || r.addr != "root@mx.example.com" {
				t.Fatalf("rewrite: %q %v\n%s", r.addr, r.err, s.maillog())
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no answer from Postfix's trivial-rewrite\n%s", s.maillog())
		}
	}
	// It reported itself available and busy as it should: one process.
	if n := len(children(s.cmd.Process.Pid)); n != 1 {
		t.Errorf("%d trivial-rewrite processes", n)
	}
	if strings.Contains(s.maillog(), "warning") {
		t.Errorf("warnings:\n%s", s.maillog())
	}
}

func TestUnixDgramService(t *testing.T) {
	t.Parallel()
	s := newSystem(t, "dg unix-dgram - n n - 1 ttrigger\n", "")
	s.start()
	path := filepath.Join(s.queue, "private", "dg")
	c, err := net.Dial("unixgram", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("hello datagram"))
	waitFor(t, filepath.Join(s.queue, "triggers.dg"), "hello datagram\n")
	if cl := cmdline(children(s.cmd.Process.Pid)[0]); cl != "ttrigger -l -n dg -t unix-dgram -d" {
		t.Errorf("command line %q", cl)
	}
}

// waitFor waits until the file at path holds want.
func waitFor(t *testing.T, path, want string) {
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
