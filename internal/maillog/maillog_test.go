package maillog

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/postfix-go/postfix/conf"
	"github.com/postfix-go/postfix/internal/msg"
	"github.com/postfix-go/postfix/internal/testutil"
)

func config(t testing.TB, extra string) (*conf.Config, string) {
	t.Helper()
	dir := t.TempDir()
	log := filepath.Join(dir, "maillog")
	main := "maillog_file = " + log + "\nmaillog_file_prefixes = " + dir + "\nmyhostname = mx1.example.com\n" + extra
	if err := os.WriteFile(filepath.Join(dir, "main.cf"), []byte(main), 0644); err != nil {
		t.Fatal(err)
	}
	c, err := conf.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return c, log
}

// stripVariable replaces the time stamp and pid of log lines.
var variable = regexp.MustCompile(`(?m)^[A-Z][a-z]{2} [0-3][0-9] [0-2][0-9]:[0-5][0-9]:[0-6][0-9] (\S+) (\S+)\[[0-9]+\]: `)

func TestFileFormatMatchesPostlog(t *testing.T) {
	c, log := config(t, "")
	defer SetExit(SetExit(func(int) {}))
	Init("postlog", c)
	Info("hello world")
	Warn("warnme %d", 7)
	Error("e")
	got, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}

	// Debian's postlog writes the same lines into its own maillog_file.
	ref := testutil.Reference(t, "/usr/sbin/postlog")
	rc, rlog := config(t, "")
	for _, args := range [][]string{{"hello world"}, {"-p", "warning", "warnme 7"}, {"-p", "error", "e"}} {
		cmd := exec.Command(ref, append([]string{"-c", rc.Dir}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("postlog: %v %s", err, out)
		}
	}
	want, err := os.ReadFile(rlog)
	if err != nil {
		t.Fatal(err)
	}
	g := variable.ReplaceAllString(string(got), "TIME $1 $2[PID]: ")
	w := variable.ReplaceAllString(string(want), "TIME $1 $2[PID]: ")
	if g != w {
		t.Errorf("ours:\n%s\npostlog:\n%s", got, want)
	}
	if !strings.Contains(g, "TIME mx1 postfix/postlog[PID]: hello world\n") {
		t.Errorf("unexpected line shape:\n%s", got)
	}
}

func TestTimeStampZeroPadded(t *testing.T) {
	c, log := config(t, "syslog_name = pfx")
	defer SetExit(SetExit(func(int) {}))
	old := now
	now = func() time.Time { return time.Date(2026, 1, 5, 8, 0, 0, 0, time.Local) }
	defer func() { now = old }()
	Init("cleanup", c)
	Info("x")
	got, _ := os.ReadFile(log)
	want := "Jan 05 08:00:00 mx1 pfx/cleanup[" + strconv.Itoa(os.Getpid()) + "]: x\n"
	if string(got) != want {
		t.Errorf("got %q want %q", got, want)
	}
}

func TestMsgRoutedAndFatal(t *testing.T) {
	c, log := config(t, "")
	code := -1
	defer SetExit(SetExit(func(n int) { code = n }))
	oldExit := msg.SetExit(func(n int) { code = n })
	defer msg.SetExit(oldExit)
	Init("qmgr", c)
	msg.Warn("from msg")
	func() {
		defer func() { recover() }()
		Fatal("bad %s", "thing")
	}()
	if code != 1 {
		t.Errorf("Fatal exit code %d", code)
	}
	func() {
		defer func() { recover() }()
		Panic("broken")
	}()
	if code != 2 {
		t.Errorf("Panic exit code %d", code)
	}
	got, _ := os.ReadFile(log)
	g := variable.ReplaceAllString(string(got), "")
	want := "warning: from msg\nfatal: bad thing\npanic: broken\n"
	if g != want {
		t.Errorf("got %q want %q", g, want)
	}
}

func TestBadPrefixFatal(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "main.cf"), []byte("maillog_file = /nonexistent-dir/x\n"), 0644)
	c, err := conf.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	code := -1
	defer SetExit(SetExit(func(n int) { code = n }))
	var buf strings.Builder
	errOut = &buf
	defer func() { errOut = os.Stderr }()
	func() {
		defer func() { recover() }()
		Init("postqueue", c)
	}()
	if code != 1 || !strings.Contains(buf.String(), "fatal: maillog_file value '/nonexistent-dir/x' does not match any prefix in maillog_file_prefixes") {
		t.Errorf("code %d, output %q", code, buf.String())
	}
}

func TestSyslogFormat(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "log")
	pc, err := net.ListenPacket("unixgram", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	old := syslogPath
	syslogPath = sock
	defer func() { syslogPath = old }()
	oldNow := now
	now = func() time.Time { return time.Date(2026, 1, 5, 8, 0, 0, 0, time.Local) }
	defer func() { now = oldNow }()
	os.WriteFile(filepath.Join(dir, "main.cf"), []byte("syslog_facility = local3\n"), 0644)
	c, err := conf.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer SetExit(SetExit(func(int) {}))
	Init("smtpd", c)
	Info("connect from x")
	Warn("w")
	buf := make([]byte, 512)
	pid := strconv.Itoa(os.Getpid())
	// glibc's syslog(3) form: <PRI>, "Mmm dd hh:mm:ss" with the day
	// padded by a space, the tag and pid, no host name.
	for _, want := range []string{"<158>Jan  5 08:00:00 postfix/smtpd[" + pid + "]: connect from x",
		"<156>Jan  5 08:00:00 postfix/smtpd[" + pid + "]: warning: w"} {
		pc.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, _, err := pc.ReadFrom(buf)
		if err != nil {
			t.Fatal(err)
		}
		if string(buf[:n]) != want {
			t.Errorf("got %q, want %q", buf[:n], want)
		}
	}
}
