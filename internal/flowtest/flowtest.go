// Package flowtest starts a complete private mail system for end-to-end
// tests: our master with every daemon the project has, under a temporary
// base directory laid out by internal/devconf, with the log in
// BASE/maillog. Tests hand mail in with the real sendmail command, wait for
// Postfix-format log lines and read the mailboxes back.
//
// For the SMTP server: FreePort gives loopback ports for the inet
// services a test adds to master.cf, Conn talks raw SMTP (scripted
// dialogues, pipelining, STARTTLS) and keeps a transcript, Swaks runs
// Debian's swaks, Reload and Postconf act on a running system, and
// Normalize masks what differs by nature between two runs (queue IDs,
// dates, process IDs) so that Debian's Postfix and ours compare equal.
//
// Run as root the system is privileged (daemons drop to mail_owner
// postfix, local delivers as the recipient), so the base directory is made
// traversable for other users; run as another user it is unprivileged.
package flowtest

import (
	"bytes"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/postfix-go/postfix/internal/devconf"
	"github.com/postfix-go/postfix/internal/testutil"
)

var (
	setgidOnce sync.Once
	setgidErr  error
)

// installSetgid gives postdrop and postqueue the set-gid postdrop bits
// they have in a real installation (postfix check looks for them), and
// adds the mailq link to sendmail.
func installSetgid(bin string) error {
	if err := os.Symlink("sendmail", filepath.Join(bin, "mailq")); err != nil && !os.IsExist(err) {
		return err
	}
	if os.Geteuid() != 0 {
		return nil
	}
	g, err := user.LookupGroup("postdrop")
	if err != nil {
		return nil
	}
	gid, _ := strconv.Atoi(g.Gid)
	for _, name := range []string{"postdrop", "postqueue"} {
		p := filepath.Join(bin, name)
		if err := os.Chown(p, 0, gid); err != nil {
			return err
		}
		if err := os.Chmod(p, 0o2755|os.ModeSetgid); err != nil {
			return err
		}
	}
	return nil
}

// System is one private mail system.
type System struct {
	t       *testing.T
	Base    string // base directory
	Etc     string // configuration directory (MAIL_CONFIG)
	Queue   string // queue_directory
	Spool   string // mail_spool_directory
	Log     string // maillog_file
	Bin     string // directory of the programs: ours, or Debian's /usr/sbin
	Ref     bool   // Debian's Postfix rather than ours
	started bool
}

// New writes a private mail system's configuration under a new temporary
// directory; extraMain is appended to main.cf. Nothing runs until Start.
func New(t *testing.T, extraMain string) *System {
	return NewWithMaster(t, extraMain, "")
}

// NewWithMaster is New with extra master.cf lines as well.
func NewWithMaster(t *testing.T, extraMain, extraMaster string) *System {
	t.Helper()
	return newSystem(t, extraMain, extraMaster, false)
}

// NewReference is New for Debian's Postfix 3.7, configured the same way,
// for differential tests. It needs root; without root the test is skipped
// when PFGO_NO_REFERENCE is set and fails otherwise.
func NewReference(t *testing.T, extraMain string) *System {
	t.Helper()
	testutil.Reference(t, "/usr/lib/postfix/sbin/master")
	if os.Geteuid() != 0 {
		if os.Getenv("PFGO_NO_REFERENCE") != "" {
			t.Skip("Debian's Postfix needs root here and PFGO_NO_REFERENCE is set")
		}
		t.Fatal("running Debian's Postfix needs root (CI runs as root); set PFGO_NO_REFERENCE to skip")
	}
	return newSystem(t, extraMain, "", true)
}

func newSystem(t *testing.T, extraMain, extraMaster string, ref bool) *System {
	base := t.TempDir()
	// t.TempDir makes 0700 directories; daemons that dropped privileges
	// must reach the queue below them.
	for d := base; d != os.TempDir() && d != "/"; d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	bin := devconf.RefCommandDir
	if !ref {
		bin = filepath.Dir(testutil.Bin(t, "postfix"))
		setgidOnce.Do(func() { setgidErr = installSetgid(bin) })
		if setgidErr != nil {
			t.Fatal(setgidErr)
		}
	}
	o := devconf.Options{Base: base, BinDir: bin, ExtraMain: extraMain, ExtraMaster: extraMaster,
		Hostname: "mx.example.test", Reference: ref}
	etc, err := devconf.Write(&o, true)
	if err != nil {
		t.Fatal(err)
	}
	s := &System{t: t, Base: o.Base, Etc: etc, Queue: filepath.Join(o.Base, "queue"),
		Spool: filepath.Join(o.Base, "spool"), Log: filepath.Join(o.Base, "maillog"), Bin: bin, Ref: ref}
	// Postfix commands re-read a main.cf younger than a second; keep
	// ours as old as an administrator's.
	s.Backdate()
	return s
}

// Backdate makes main.cf and master.cf an hour old: Postfix's commands
// wait and re-read a main.cf changed less than a second ago, and tests
// that edit it with postconf -e call this after.
func (s *System) Backdate() {
	old := time.Now().Add(-time.Hour)
	for _, f := range []string{"main.cf", "master.cf"} {
		_ = os.Chtimes(filepath.Join(s.Etc, f), old, old)
	}
}

// WriteFile writes a file under the configuration directory (a lookup
// table source, an aliases file) and returns its path.
func (s *System) WriteFile(name, text string) string {
	s.t.Helper()
	p := filepath.Join(s.Etc, name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		s.t.Fatal(err)
	}
	return p
}

// Command runs one of the system's programs (ours, or Debian's for a
// reference system) with MAIL_CONFIG pointing at its configuration.
func (s *System) Command(name string, stdin string, args ...string) testutil.Result {
	s.t.Helper()
	cmd := exec.Command(filepath.Join(s.Bin, name), args...)
	cmd.Args[0] = name
	cmd.Dir = s.Base
	cmd.Env = append(os.Environ(), "MAIL_CONFIG="+s.Etc, "LANG=C", "LC_ALL=C", "TZ=UTC")
	cmd.Stdin = strings.NewReader(stdin)
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			s.t.Fatalf("running %s: %v", name, err)
		}
		code = ee.ExitCode()
	}
	return testutil.Result{Stdout: so.String(), Stderr: se.String(), Exit: code, Pid: cmd.Process.Pid}
}

// Postmap runs our postmap on a file under the configuration directory.
func (s *System) Postmap(args ...string) {
	s.t.Helper()
	if r := s.Command("postmap", "", args...); r.Exit != 0 {
		s.t.Fatalf("postmap %v: exit %d: %s", args, r.Exit, r.Stderr)
	}
}

// Start builds the aliases database and starts the mail system with
// `postfix start`, waiting until master has logged that it runs. The
// system is stopped when the test ends.
func (s *System) Start() {
	s.t.Helper()
	if r := s.Command("postalias", "", filepath.Join(s.Etc, "aliases")); r.Exit != 0 {
		s.t.Fatalf("postalias: exit %d: %s", r.Exit, r.Stderr)
	}
	r := s.Command("postfix", "", "-c", s.Etc, "start")
	if r.Exit != 0 {
		s.t.Fatalf("postfix start: exit %d\n%s%s\nlog:\n%s", r.Exit, r.Stdout, r.Stderr, s.LogText())
	}
	s.started = true
	s.t.Cleanup(s.Stop)
	s.WaitLog(`postfix/master\[\d+\]: daemon started`, 10*time.Second)
}

// MasterPID returns the running master's process ID, or 0.
func (s *System) MasterPID() int {
	b, err := os.ReadFile(filepath.Join(s.Queue, "pid", "master.pid"))
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

// Stop stops the mail system with `postfix stop`, and kills what is left
// of it when that fails.
func (s *System) Stop() {
	if !s.started {
		return
	}
	s.started = false
	pid := s.MasterPID()
	r := s.Command("postfix", "", "-c", s.Etc, "stop")
	if pid == 0 {
		return
	}
	for i := 0; i < 100; i++ {
		if syscall.Kill(pid, 0) != nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.t.Errorf("master %d still runs after postfix stop (exit %d: %s%s); killing it", pid, r.Exit, r.Stdout, r.Stderr)
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	_ = syscall.Kill(pid, syscall.SIGKILL)
}

// Sendmail runs our sendmail with stdin and args.
func (s *System) Sendmail(stdin string, args ...string) testutil.Result {
	s.t.Helper()
	return s.Command("sendmail", stdin, args...)
}

// LogText returns the whole log so far.
func (s *System) LogText() string {
	b, _ := os.ReadFile(s.Log)
	return string(b)
}

// WaitLog waits until a log line matches re and returns the first such
// line; the test fails (showing the log) when none appears within timeout.
func (s *System) WaitLog(re string, timeout time.Duration) string {
	s.t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.Now().Add(timeout)
	for {
		for _, line := range strings.Split(s.LogText(), "\n") {
			if rx.MatchString(line) {
				return line
			}
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("no log line matches %q within %v; log:\n%s", re, timeout, s.LogText())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// LogLines returns every log line that matches re.
func (s *System) LogLines(re string) []string {
	rx := regexp.MustCompile(re)
	var out []string
	for _, line := range strings.Split(s.LogText(), "\n") {
		if rx.MatchString(line) {
			out = append(out, line)
		}
	}
	return out
}

// QueueIDOf returns the queue ID of the message whose message-id log line
// contains msgid, waiting up to timeout for it.
func (s *System) QueueIDOf(msgid string, timeout time.Duration) string {
	s.t.Helper()
	line := s.WaitLog(`: [0-9A-Za-z]+: message-id=<`+regexp.QuoteMeta(msgid)+`>`, timeout)
	m := regexp.MustCompile(`: ([0-9A-Za-z]+): message-id=`).FindStringSubmatch(line)
	return m[1]
}
