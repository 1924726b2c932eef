package master

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/postfix-go/postfix/internal/server"
)

// TestMain makes the test binary play master and the test daemons, by the
// name it is run under (symbolic links in the test's daemon directory).
func TestMain(m *testing.M) {
	switch filepath.Base(os.Args[0]) {
	case "master":
		os.Exit(Main(os.Args[1:]))
	case "tsingle":
		server.Run("tsingle", server.Options{Mode: server.Single, Conn: echo})
	case "tmulti":
		server.Run("tmulti", server.Options{Mode: server.Multi, Conn: echo})
	case "ttrigger":
		server.Run("ttrigger", server.Options{Mode: server.Trigger, Trigger: func(s *server.Service, data []byte) {
			f, err := os.OpenFile("triggers."+s.Name, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0666)
			if err == nil {
				fmt.Fprintf(f, "%s\n", data)
				f.Close()
			}
		}})
	case "tenv":
		server.Run("tenv", server.Options{Mode: server.Single, Conn: func(s *server.Service, c net.Conn) {
			fmt.Fprintf(c, "procs=%d\n%s\n", runtime.GOMAXPROCS(0), strings.Join(os.Environ(), "\n"))
		}})
	case "tcrash":
		os.Exit(1)
	case "tpanic":
		server.Run("tpanic", server.Options{Mode: server.Single, Conn: func(s *server.Service, c net.Conn) {
			panic("boom in " + s.Name)
		}})
	}
	os.Exit(m.Run())
}

// echo answers each line with "PID UID CWD SERVICE: LINE".
func echo(s *server.Service, c net.Conn) {
	r := bufio.NewReader(c)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		cwd, _ := os.Getwd()
		fmt.Fprintf(c, "%d %d %s %s: %s", os.Getpid(), os.Getuid(), cwd, s.Name, line)
	}
}

// system is a private mail system directory with our master.
type system struct {
	t     *testing.T
	dir   string
	etc   string
	queue string
	bin   string
	cmd   *exec.Cmd
	done  chan struct{}
	cred  *syscall.Credential // run master as this user
	env   []string            // master's environment, if not the test's
}

func newSystem(t *testing.T, masterCf, extraMain string) *system {
	t.Helper()
	dir := t.TempDir()
	os.Chmod(filepath.Dir(dir), 0755)
	os.Chmod(dir, 0755)
	s := &system{t: t, dir: dir, etc: filepath.Join(dir, "etc"), queue: filepath.Join(dir, "queue"),
		bin: filepath.Join(dir, "bin")}
	for _, d := range []string{s.etc, s.queue, s.bin, filepath.Join(dir, "data")} {
		if err := os.MkdirAll(d, 0755); err != nil {
			t.Fatal(err)
		}
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"master", "tsingle", "tmulti", "ttrigger", "tcrash", "tpanic", "tenv"} {
		if err := os.Symlink(exe, filepath.Join(s.bin, name)); err != nil {
			t.Fatal(err)
		}
	}
	owner := "postfix"
	if os.Geteuid() != 0 {
		u, _ := user.Current()
		owner = u.Username
	}
	main := fmt.Sprintf(`queue_directory = %[1]s/queue
data_directory = %[1]s/data
daemon_directory = %[1]s/bin
command_directory = %[1]s/bin
maillog_file = %[1]s/maillog
mail_owner = %[2]s
service_throttle_time = 2s
inet_interfaces = 127.0.0.1
import_environment = MAIL_CONFIG MAIL_LOGTAG TZ LANG=C GORACE
%[3]s`, dir, owner, extraMain)
	s.write("main.cf", main)
	s.write("master.cf", masterCf)
	return s
}

func (s *system) write(name, text string) {
	if err := os.WriteFile(filepath.Join(s.etc, name), []byte(text), 0644); err != nil {
		s.t.Fatal(err)
	}
}

// start runs master -d in the foreground and waits until it has started.
func (s *system) start() {
	s.t.Helper()
	var out strings.Builder
	// A binary a test has just written may still be open for writing in
	// a child that another parallel test forked at that moment (until that
	// child execs): exec then fails with ETXTBSY for a short while.
	for try := 0; ; try++ {
		s.cmd = exec.Command(filepath.Join(s.bin, "master"), "-d", "-c", s.etc)
		s.cmd.Args[0] = "master"
		s.cmd.Env = s.env
		if s.cred != nil {
			s.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
		}
		s.cmd.Stdout, s.cmd.Stderr = &out, &out
		err := s.cmd.Start()
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.ETXTBSY) || try == 50 {
			s.t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.done = make(chan struct{})
	go func() { s.cmd.Wait(); close(s.done) }()
	s.t.Cleanup(func() {
		s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(5 * time.Second):
			s.cmd.Process.Kill()
		}
		if s.t.Failed() {
			s.t.Logf("master output:\n%s\nmaillog:\n%s", out.String(), s.maillog())
		}
	})
	s.waitLog(`postfix/master\[\d+\]: daemon started -- version 3\.7\.11, configuration `+regexp.QuoteMeta(s.etc)+`$`, 10*time.Second)
}

func (s *system) maillog() string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "maillog"))
	return string(b)
}

// waitLog waits for a maillog line matching re and returns it.
func (s *system) waitLog(re string, timeout time.Duration) string {
	s.t.Helper()
	rx := regexp.MustCompile(`(?m)` + re)
	deadline := time.Now().Add(timeout)
	for {
		if m := rx.FindString(s.maillog()); m != "" {
			return m
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("no log line matching %q within %v; maillog:\n%s", re, timeout, s.maillog())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// dial connects to a private service.
func (s *system) dial(name string) net.Conn {
	s.t.Helper()
	c, err := net.Dial("unix", filepath.Join(s.queue, "private", name))
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() { c.Close() })
	return c
}

// ask sends a line and reads the answer within timeout ("" on timeout).
func ask(c net.Conn, line string, timeout time.Duration) string {
	fmt.Fprintf(c, "%s\n", line)
	c.SetReadDeadline(time.Now().Add(timeout))
	ans, _ := bufio.NewReader(c).ReadString('\n')
	c.SetReadDeadline(time.Time{})
	return ans
}

func pidOf(t *testing.T, ans string) int {
	t.Helper()
	f := strings.Fields(ans)
	if len(f) == 0 {
		t.Fatalf("empty answer")
	}
	pid, err := strconv.Atoi(f[0])
	if err != nil {
		t.Fatalf("answer %q", ans)
	}
	return pid
}

// children returns the pids whose parent is pid.
func children(pid int) []int {
	var out []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
		if len(f) > 1 && f[1] == strconv.Itoa(pid) {
			out = append(out, n)
		}
	}
	return out
}

func cmdline(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return strings.TrimSpace(strings.ReplaceAll(string(b), "\x00", " "))
}

// execMaster prepares a run of our master with argv[0] "master".
func execMaster(s *system, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(s.bin, "master"), args...)
	cmd.Args[0] = "master"
	return cmd
}
