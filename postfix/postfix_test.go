package postfixcmd

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/postfix-go/postfix/internal/testutil"
)

var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
)

// ourBin builds our master and postfix commands (only these, so that the
// test does not depend on every other command building).
func ourBin(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = testutil.BuildDir("pfgo-postfix-")
		if buildErr != nil {
			return
		}
		os.Chmod(buildDir, 0755)
		cmd := exec.Command("go", "build", "-buildvcs=false", "-o", buildDir+"/", "./cmd/master", "./cmd/postfix")
		cmd.Dir = testutil.Root()
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("%v: %s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildDir
}

// instance is a private configuration for our postfix or Debian's.
type instance struct {
	t       *testing.T
	dir     string
	etc     string
	queue   string
	postfix string // the postfix command
	seen    int    // maillog bytes already returned
}

const testMasterCf = "cleanup unix n - n - 0 cleanup\npostlog unix-dgram n - n - 1 postlogd\n"

func newInstance(t *testing.T, debian bool) *instance {
	t.Helper()
	dir := t.TempDir()
	// Debian's master and postlogd run as mail_owner: they must reach dir.
	os.Chmod(filepath.Dir(dir), 0755)
	os.Chmod(dir, 0755)
	in := &instance{t: t, dir: dir, etc: filepath.Join(dir, "etc"), queue: filepath.Join(dir, "queue")}
	for _, d := range []string{in.etc, in.queue, filepath.Join(dir, "data")} {
		if err := os.MkdirAll(d, 0755); err != nil {
			t.Fatal(err)
		}
	}
	main := fmt.Sprintf("queue_directory = %[1]s/queue\ndata_directory = %[1]s/data\nmaillog_file = %[1]s/maillog\nmaillog_file_prefixes = %[1]s\ninet_interfaces = loopback-only\ncompatibility_level = 3.6\n", dir)
	if debian {
		in.postfix = testutil.Reference(t, "/usr/sbin/postfix")
	} else {
		bin := ourBin(t)
		in.postfix = filepath.Join(bin, "postfix")
		main += fmt.Sprintf("daemon_directory = %[1]s\ncommand_directory = %[1]s\n", bin)
	}
	if os.Geteuid() != 0 {
		u, _ := user.Current()
		main += "mail_owner = " + u.Username + "\n"
	}
	in.write("main.cf", main)
	in.write("master.cf", testMasterCf)
	if os.Geteuid() == 0 {
		// Debian's master creates master.lock and its postlogd writes
		// the log as mail_owner.
		if u, err := user.Lookup("postfix"); err == nil {
			uid, _ := strconv.Atoi(u.Uid)
			gid, _ := strconv.Atoi(u.Gid)
			os.Chown(filepath.Join(dir, "data"), uid, gid)
			os.Chmod(filepath.Join(dir, "data"), 0700)
			os.WriteFile(filepath.Join(dir, "maillog"), nil, 0600)
			os.Chown(filepath.Join(dir, "maillog"), uid, gid)
		}
	}
	return in
}

func (in *instance) write(name, text string) {
	if err := os.WriteFile(filepath.Join(in.etc, name), []byte(text), 0644); err != nil {
		in.t.Fatal(err)
	}
}

// run runs postfix -c etc args... and returns exit status and stderr.
func (in *instance) run(args ...string) (int, string) {
	in.t.Helper()
	r := testutil.Run(in.t, "/", in.postfix, "postfix", nil, append([]string{"-c", in.etc}, args...)...)
	return r.Exit, r.Stderr
}

var (
	logPrefix = regexp.MustCompile(`(?m)^[A-Z][a-z]{2} [0-3][0-9] [0-9:]{8} \S+ (\S+?)\[\d+\]: `)
	pidText   = regexp.MustCompile(`PID: \d+`)
)

// lines returns the maillog lines written since the last call, without
// time, host and pid, with the instance's directory replaced by DIR.
func (in *instance) lines() []string {
	b, _ := os.ReadFile(filepath.Join(in.dir, "maillog"))
	s := string(b[in.seen:])
	in.seen = len(b)
	s = logPrefix.ReplaceAllString(s, "$1: ")
	s = pidText.ReplaceAllString(s, "PID: N")
	s = strings.ReplaceAll(s, in.dir, "DIR")
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l != "" {
			out = append(out, l)
		}
	}
	return out
}

// scriptLines keeps the postfix-script lines and master's start and reload
// lines.
func scriptLines(lines []string) []string {
	var out []string
	for _, l := range lines {
		if strings.HasPrefix(l, "postfix/postfix-script: ") ||
			strings.Contains(l, "daemon started -- ") || strings.Contains(l, ": reload -- ") {
			out = append(out, l)
		}
	}
	return out
}

func needRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("Debian's postfix(1) must run as root")
	}
}

func TestNotRunningLikePostfix(t *testing.T) {
	t.Parallel()
	needRoot(t)
	ours, ref := newInstance(t, false), newInstance(t, true)
	for _, op := range [][]string{{"status"}, {"stop"}, {"abort"}, {"reload"}, {"flush"}, {"foo"}, {}} {
		oc, oerr := ours.run(op...)
		rc, rerr := ref.run(op...)
		ol, rl := scriptLines(ours.lines()), scriptLines(ref.lines())
		if oc != rc || oerr != rerr || strings.Join(ol, "\n") != strings.Join(rl, "\n") {
			t.Errorf("postfix %v:\nours exit %d stderr %q log %q\nref  exit %d stderr %q log %q", op, oc, oerr, ol, rc, rerr, rl)
		}
	}
}

func TestLifecycleLikePostfix(t *testing.T) {
	t.Parallel()
	needRoot(t)
	ours, ref := newInstance(t, false), newInstance(t, true)
	ops := [][]string{{"status"}, {"start"}, {"status"}, {"start"}, {"reload"}, {"stop"}, {"status"}}
	var all [2][]string
	for _, op := range ops {
		var codes [2]int
		for i, in := range []*instance{ours, ref} {
			codes[i], _ = in.run(op...)
			if op[0] == "reload" {
				time.Sleep(500 * time.Millisecond) // Debian's reload logs via postlogd
			}
			all[i] = append(all[i], scriptLines(in.lines())...)
		}
		if codes[0] != codes[1] && op[0] == "start" {
			b, _ := os.ReadFile(filepath.Join(ref.dir, "maillog"))
			t.Logf("Postfix maillog:\n%s", b)
		}
		if codes[0] != codes[1] {
			t.Errorf("postfix %v: exit %d, Postfix %d", op, codes[0], codes[1])
		}
	}
	// Postfix's postfix-script logs through postlogd while master runs, so
	// its "stopping" line races with postlogd's own end and is often lost;
	// ours must have it, and it is left out of the comparison.
	// "waiting for ... to terminate" appears only when master is slow
	// to exit (a loaded machine), so it is left out too.
	const stopping = "postfix/postfix-script: stopping the Postfix mail system"
	const waiting = "postfix/postfix-script: waiting for the Postfix mail system to terminate"
	for i := range all {
		var kept []string
		found := false
		for _, l := range all[i] {
			if l == stopping {
				found = true
				continue
			}
			if l == waiting {
				continue
			}
			kept = append(kept, l)
		}
		if i == 0 && !found {
			t.Errorf("no %q line", stopping)
		}
		all[i] = kept
		sort.Strings(all[i])
	}
	if strings.Join(all[0], "\n") != strings.Join(all[1], "\n") {
		t.Errorf("log lines differ:\nours:\n%s\nPostfix:\n%s", strings.Join(all[0], "\n"), strings.Join(all[1], "\n"))
	}
}

// breakTree damages an instance's directories the same way for both.
func breakTree(t *testing.T, in *instance) {
	t.Helper()
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Skip("no nobody account")
	}
	uid, _ := strconv.Atoi(nobody.Uid)
	must := func(err error) {
		if err != nil {
			t.Helper()
			t.Fatal(err)
		}
	}
	must(os.RemoveAll(filepath.Join(in.queue, "incoming")))
	must(os.RemoveAll(filepath.Join(in.queue, "hold")))
	must(os.Chown(filepath.Join(in.queue, "pid"), uid, 0))
	must(os.Chmod(in.queue, 0777))
	must(os.WriteFile(filepath.Join(in.queue, "corrupt", "XYZ"), []byte("x"), 0600))
	must(os.Chown(filepath.Join(in.queue, "public"), uidOf("postfix"), 0))
	must(os.Chown(filepath.Join(in.etc, "main.cf"), uid, 0))
	must(os.Chmod(filepath.Join(in.etc, "master.cf"), 0664))
	must(os.Symlink("/etc/hosts", filepath.Join(in.etc, "hosts")))
	must(os.Chown(filepath.Join(in.dir, "data"), 0, 0))
}

func TestCheckLikePostfix(t *testing.T) {
	t.Parallel()
	needRoot(t)
	if _, err := user.Lookup("postfix"); err != nil {
		t.Skip("no postfix account")
	}
	var got [2][]string
	for i, debian := range []bool{false, true} {
		in := newInstance(t, debian)
		// First a clean check creates the queue directories.
		if code, _ := in.run("check"); code != 0 {
			t.Fatalf("clean check exit %d: %q", code, in.lines())
		}
		for _, d := range []string{"active", "incoming", "maildrop", "public", "pid", "corrupt"} {
			if _, err := os.Stat(filepath.Join(in.queue, d)); err != nil {
				t.Errorf("debian=%v: check did not create %s", debian, d)
			}
		}
		in.lines()
		breakTree(t, in)
		if code, _ := in.run("check"); code != 0 {
			t.Errorf("debian=%v: check exit %d", debian, code)
		}
		got[i] = in.lines()
		sort.Strings(got[i])
		for _, d := range []string{"incoming", "hold"} {
			if _, err := os.Stat(filepath.Join(in.queue, d)); err != nil {
				t.Errorf("debian=%v: check did not re-create %s", debian, d)
			}
		}
	}
	if strings.Join(got[0], "\n") != strings.Join(got[1], "\n") {
		t.Errorf("check warnings differ:\nours:\n%s\nPostfix:\n%s", strings.Join(got[0], "\n"), strings.Join(got[1], "\n"))
	}
	if len(got[0]) < 8 {
		t.Errorf("too few warnings: %q", got[0])
	}
}

func TestStatusAgainstOurMaster(t *testing.T) {
	t.Parallel()
	in := newInstance(t, false)
	if code, _ := in.run("start"); code != 0 {
		t.Fatalf("start: %d %q", code, in.lines())
	}
	defer in.run("abort")
	b, err := os.ReadFile(filepath.Join(in.queue, "pid", "master.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid := strings.TrimSpace(string(b))
	in.lines()
	if code, _ := in.run("status"); code != 0 {
		t.Errorf("status exit %d", code)
	}
	if l := in.lines(); len(l) != 1 || l[0] != "postfix/postfix-script: the Postfix mail system is running: PID: N" {
		t.Errorf("status lines %q", l)
	}
	// The PID printed is the master's.
	raw, _ := os.ReadFile(filepath.Join(in.dir, "maillog"))
	if !strings.Contains(string(raw), "running: PID: "+pid+"\n") {
		t.Errorf("status does not name pid %s:\n%s", pid, raw)
	}
	if code, _ := in.run("stop"); code != 0 {
		t.Errorf("stop exit %d", code)
	}
	if code, _ := in.run("status"); code != 1 {
		t.Errorf("status after stop: exit %d", code)
	}
}

func TestFlushTriggers(t *testing.T) {
	t.Parallel()
	in := newInstance(t, false)
	got := map[string]chan string{}
	for _, name := range []string{"qmgr", "pickup"} {
		os.MkdirAll(filepath.Join(in.queue, "public"), 0755)
		ln, err := net.Listen("unix", filepath.Join(in.queue, "public", name))
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		ch := make(chan string, 1)
		got[name] = ch
		go func() {
			c, err := ln.Accept()
			if err != nil {
				ch <- err.Error()
				return
			}
			b, _ := io.ReadAll(c)
			c.Close()
			ch <- string(b)
		}()
	}
	if code, stderr := in.run("flush"); code != 0 || stderr != "" {
		t.Fatalf("flush: exit %d %q", code, stderr)
	}
	for name, want := range map[string]string{"qmgr": "FADI", "pickup": "W"} {
		select {
		case s := <-got[name]:
			if s != want {
				t.Errorf("public/%s got %q, want %q", name, s, want)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("no trigger on public/%s", name)
		}
	}
}

func TestSetPermissions(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("changing owners needs root")
	}
	pf, err := user.Lookup("postfix")
	if err != nil {
		t.Skip("no postfix account")
	}
	in := newInstance(t, false)
	if code, _ := in.run("check"); code != 0 {
		t.Fatal("check failed")
	}
	incoming := filepath.Join(in.queue, "incoming")
	os.Chown(incoming, 0, 0)
	os.Chmod(incoming, 0755)
	os.WriteFile(filepath.Join(incoming, "F"), nil, 0600)
	if code, _ := in.run("set-permissions"); code != 0 {
		t.Fatal("set-permissions failed")
	}
	for _, p := range []string{incoming, filepath.Join(incoming, "F")} {
		st, _ := os.Stat(p)
		if fmt.Sprint(st.Sys().(*syscall.Stat_t).Uid) != pf.Uid {
			t.Errorf("%s owner %d, want %s", p, st.Sys().(*syscall.Stat_t).Uid, pf.Uid)
		}
	}
	if st, _ := os.Stat(incoming); st.Mode().Perm() != 0700 {
		t.Errorf("incoming mode %v", st.Mode())
	}
	if g, err := user.LookupGroup("postdrop"); err == nil {
		st, _ := os.Stat(filepath.Join(in.queue, "public"))
		if fmt.Sprint(st.Sys().(*syscall.Stat_t).Gid) != g.Gid || st.Mode().Perm() != 0710 {
			t.Errorf("public: gid %d mode %v", st.Sys().(*syscall.Stat_t).Gid, st.Mode())
		}
	}
}

func TestStartForeground(t *testing.T) {
	t.Parallel()
	in := newInstance(t, false)
	cmd := exec.Command(in.postfix, "-c", in.etc, "start-fg")
	cmd.Args[0] = "postfix"
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if code, _ := in.run("status"); code == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("start-fg: master not running; log %q", in.lines())
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The master runs in the foreground: postfix start-fg has not returned.
	select {
	case <-done:
		t.Fatal("start-fg returned while the master runs")
	default:
	}
	if b, _ := os.ReadFile(filepath.Join(in.queue, "pid", "master.pid")); strings.TrimSpace(string(b)) == "" {
		t.Error("no master.pid")
	}
	if code, _ := in.run("stop"); code != 0 {
		t.Errorf("stop: %d", code)
	}
	select {
	case <-done:
		if code := cmd.ProcessState.ExitCode(); code != 143 {
			t.Errorf("start-fg exit %d, want 143 (master ended by SIGTERM)", code)
		}
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		t.Fatal("start-fg did not return after stop")
	}
}

func TestMissingMasterCfLikePostfix(t *testing.T) {
	t.Parallel()
	needRoot(t)
	ours, ref := newInstance(t, false), newInstance(t, true)
	for _, in := range []*instance{ours, ref} {
		os.Remove(filepath.Join(in.etc, "master.cf"))
	}
	// Debian's post-install also prints postconf's complaints on stderr;
	// only exit status and log lines are compared.
	for _, op := range []string{"start", "check"} {
		oc, _ := ours.run(op)
		rc, _ := ref.run(op)
		ol, rl := scriptLines(ours.lines()), scriptLines(ref.lines())
		if oc != rc || strings.Join(ol, "\n") != strings.Join(rl, "\n") {
			t.Errorf("postfix %s:\nours exit %d log %q\nref  exit %d log %q", op, oc, ol, rc, rl)
		}
	}
}

func TestLogrotateLikePostfix(t *testing.T) {
	t.Parallel()
	needRoot(t)
	for _, debian := range []bool{false, true} {
		in := newInstance(t, debian)
		os.WriteFile(filepath.Join(in.dir, "maillog"), []byte("old line\n"), 0600)
		if code, _ := in.run("logrotate", "extra"); code != 1 {
			t.Errorf("debian=%v: logrotate with an argument: exit %d", debian, code)
		}
		if code, stderr := in.run("logrotate"); code != 0 {
			t.Errorf("debian=%v: logrotate exit %d %q", debian, code, stderr)
		}
		gz, _ := filepath.Glob(filepath.Join(in.dir, "maillog.2*.gz"))
		if len(gz) != 1 || !regexp.MustCompile(`/maillog\.\d{8}-\d{6}\.gz$`).MatchString(gz[0]) {
			t.Errorf("debian=%v: rotated files %q", debian, gz)
		}
		// A missing log file cannot be rotated.
		os.Remove(filepath.Join(in.dir, "maillog"))
		in.seen = 0
		code, _ := in.run("logrotate")
		got := scriptLines(in.lines())
		want := "postfix/postfix-script: fatal: logfile 'DIR/maillog' rotation failed: mv: cannot stat 'DIR/maillog': No such file or directory"
		if code != 1 || len(got) != 1 || got[0] != want {
			t.Errorf("debian=%v: missing file: exit %d log %q", debian, code, got)
		}
	}
}
