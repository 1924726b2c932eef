package sendmail

import (
	"bytes"
	"os"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/postfix-go/postfix/internal/record"
	"github.com/postfix-go/postfix/internal/testutil"
)

// mailSystem is a private configuration and queue for one sendmail, ours
// or Debian's, laid out as a real installation has it.
type mailSystem struct {
	etc, queue string
}

// newSystem makes DIR/etc/main.cf and DIR/queue; commandDir is where
// sendmail finds postdrop.
func newSystem(t *testing.T, dir, commandDir, extra string) *mailSystem {
	t.Helper()
	s := &mailSystem{etc: filepath.Join(dir, "etc"), queue: filepath.Join(dir, "queue")}
	for _, d := range []string{s.etc, filepath.Join(dir, "data")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	mainCF := "compatibility_level = 3.6\n" +
		"queue_directory = " + s.queue + "\n" +
		"data_directory = " + filepath.Join(dir, "data") + "\n" +
		"command_directory = " + commandDir + "\n" +
		"myhostname = host.example.com\nmydomain = example.com\nmyorigin = example.org\n" +
		"alias_database = \n" + extra
	old := time.Now().Add(-time.Hour)
	for f, text := range map[string]string{"main.cf": mainCF, "master.cf": ""} {
		p := filepath.Join(s.etc, f)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		// Postfix pauses when main.cf is younger than a second.
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
	makeQueue(t, s.queue)
	return s
}

// makeQueue creates a queue directory owned as Postfix's post-install
// leaves it: mail_owner owns the queues, maildrop and public are writable
// by group postdrop.
func makeQueue(t *testing.T, q string) {
	t.Helper()
	owner, errU := user.Lookup("postfix")
	group, errG := user.LookupGroup("postdrop")
	for _, d := range []string{"", "maildrop", "incoming", "active", "deferred", "hold", "corrupt", "bounce", "defer", "trace", "flush", "saved", "public", "private", "pid"} {
		p := filepath.Join(q, d)
		if err := os.MkdirAll(p, 0o700); err != nil {
			t.Fatal(err)
		}
		if d == "" || d == "pid" || errU != nil || errG != nil || os.Geteuid() != 0 {
			os.Chmod(p, 0o755)
			continue
		}
		uid, _ := strconv.Atoi(owner.Uid)
		gid, _ := strconv.Atoi(group.Gid)
		switch d {
		case "maildrop":
			os.Chown(p, uid, gid)
			os.Chmod(p, 0o1730|os.ModeSticky)
		case "public":
			os.Chown(p, uid, gid)
			os.Chmod(p, 0o2710|os.ModeSetgid)
		default:
			os.Chown(p, uid, -1)
		}
	}
}

// maildrop returns the one file in the maildrop queue (nil when none) and
// removes it.
func (s *mailSystem) maildrop(t *testing.T) (data []byte, mode os.FileMode) {
	t.Helper()
	names, _ := filepath.Glob(filepath.Join(s.queue, "maildrop", "*"))
	if len(names) > 1 {
		t.Fatalf("maildrop holds %d files", len(names))
	}
	if len(names) == 0 {
		return nil, 0
	}
	data, err := os.ReadFile(names[0])
	if err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(names[0])
	os.Remove(names[0])
	return data, st.Mode().Perm()
}

// skipTime drops the leading T record, the one part that must differ.
func skipTime(t *testing.T, data []byte) []byte {
	t.Helper()
	r := record.NewReader(bytes.NewReader(data), 0)
	typ, _, err := r.Next()
	if err != nil || typ != record.Time {
		t.Fatalf("maildrop file does not start with a time record: %q", data)
	}
	return data[r.Offset():]
}

var pidRE = regexp.MustCompile(`\[[0-9]+\]`)

// TestDifferential runs Debian's sendmail (with Debian's postdrop) and ours
// (with our postdrop) on the same input and options, and compares the exit
// status, output, diagnostics and the maildrop file byte for byte (all but
// the arrival time).
func TestDifferential(t *testing.T) {
	ref := testutil.Reference(t, "/usr/sbin/sendmail")
	testutil.Reference(t, "/usr/sbin/postdrop")
	if os.Geteuid() != 0 {
		t.Skip("needs root: Debian's postdrop is set-gid postdrop and the queue is owned by postfix")
	}
	ours := testutil.Bin(t, "sendmail")
	testutil.Bin(t, "postdrop")
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	// With maillog_file set, Postfix's commands send each log line to
	// postlogd on public/postlog; a stand-in collects them. Ours append
	// to the file themselves.
	logConf := "maillog_file_prefixes = " + dir + "\nmaillog_file = " + filepath.Join(dir, "maillog") + "\n"
	refSys := newSystem(t, filepath.Join(dir, "ref"), "/usr/sbin", logConf)
	refLog := testutil.Postlog(t, filepath.Join(refSys.queue, "public", "postlog"))
	ourSys := newSystem(t, filepath.Join(dir, "ours"), filepath.Dir(ours), logConf)
	var ourLogOff int64
	ourLog := func() string {
		data, _ := os.ReadFile(filepath.Join(dir, "maillog"))
		out := string(data[ourLogOff:])
		ourLogOff = int64(len(data))
		return out
	}

	long := bytes.Repeat([]byte("x"), 3000)
	cases := []struct {
		name  string
		stdin string
		args  []string
	}{
		{"plain", "Subject: hi\n\nbody\n", []string{"-f", "me@x.org", "you@y.org"}},
		{"options", "From me Sat\n>From x\nSubject: a\r\nTo: a@b, \"c d\" <e@f>\r\nCc: g\r\n  , h@i\r\nBcc: j@k\r\n\r\nbody\r\n.\r\nafter\r\n",
			[]string{"-t", "-N", "success,delay", "-V", "envid1", "-F", "Full N", "-f", "Me <me@x>", "-B", "8BITMIME", "x@y"}},
		{"resent", "Resent-To: r@r\nTo: a@b\nResent-Cc: s@s\n\n.\nmore\n", []string{"-t", "-i"}},
		{"mixed", "line\n", []string{"-v", "-oi", "-bm", "-R", "full", "-o", "x", "y", "-R", "hdrs", "a@b, c@d", "Foo <e@f>", ""}},
		{"probe", "line\n", []string{"-bv", "a@b", "c@d"}},
		{"verp-null", "line\n", []string{"-r", "<>", "-XV", "a@b"}},
		{"verp", "line\n", []string{"-XV", "a@b"}},
		{"verp-bad", "line\n", []string{"-XVab", "a@b"}},
		{"verp-old", "line\n", []string{"-V", "+=", "a@b"}},
		{"two-senders", "line\n", []string{"-f", "a@b c@d", "-N", "never", "x"}},
		{"notify-bad", "x\n", []string{"-N", "bogus", "a"}},
		{"notify-mixed", "x\n", []string{"-N", "never,success", "a"}},
		{"ret-bad", "x\n", []string{"-R", "bogus", "a"}},
		{"envid-bad", "x\n", []string{"-V", "a\tb", "a"}},
		{"gateway", "x\n", []string{"-B", "7BIT", "-G", "-U", "-m", "a"}},
		{"dashdash", "x\n", []string{"--", "-a"}},
		{"bad-option", "", []string{"-Z"}},
		{"bad-b", "", []string{"-bx"}},
		{"mailq-rcpt", "", []string{"-bp", "x"}},
		{"no-rcpt", "x\n", nil},
		{"no-rcpt-t", "x\n", []string{"-t"}},
		{"t-bp", "", []string{"-t", "-bp"}},
		{"n", "", []string{"-n"}},
		{"qX", "", []string{"-qX"}},
		{"qR", "", []string{"-qR"}},
		{"q-interval", "", []string{"-q1h"}},
		{"bh", "", []string{"-bh"}},
		{"bv-t", "x\n", []string{"-bv", "-t", "a"}},
		{"bv-N", "x\n", []string{"-bv", "-N", "success", "a"}},
		{"B-bad", "", []string{"-B", "foo"}},
		{"missing-arg", "", []string{"-f"}},
		{"long-lines", "Subject: " + string(long) + "\nTo: a@b,\n c@d\n\n" + string(long) + string(long) + "\nlast", []string{"-t"}},
		{"long-lines-no-t", "Subject: " + string(long) + "\n\nbody\nlast", []string{"x"}},
		{"header-only", "Subject: foo", []string{"-t", "a"}},
		{"header-only-nl", "To: a@b\n", []string{"-t"}},
		{"no-header", " leading space\nTo: a@b\n", []string{"-t", "x"}},
		{"empty", "", []string{"x"}},
		{"dot", ".\n", []string{"x"}},
		{"crlf-only-first", "a\r\nb\nc\r\n", []string{"x"}},
		{"no-blank-line", "To: a@b\nbody\n", []string{"-t"}},
		{"group", "To: friends: a@b, c@d;, e@f\nCc: <>, \"q u\"@x\n\n", []string{"-t"}},
	}
	allRefLog := ""
	defer func() {
		for _, want := range []string{"postfix/sendmail: fatal: usage", "postfix/postdrop: warning: unable to look up public/pickup"} {
			if !strings.Contains(allRefLog, want) {
				t.Errorf("Postfix's log as collected lacks %q:\n%s", want, allRefLog)
			}
		}
	}()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := func(s *mailSystem) { os.Setenv("MAIL_CONFIG", s.etc) }
			env(refSys)
			want := testutil.Run(t, dir, ref, "sendmail", []byte(tc.stdin), tc.args...)
			wantFile, wantMode := refSys.maildrop(t)
			env(ourSys)
			got := testutil.Run(t, dir, ours, "sendmail", []byte(tc.stdin), tc.args...)
			gotFile, gotMode := ourSys.maildrop(t)
			os.Unsetenv("MAIL_CONFIG")
			if got.Exit != want.Exit {
				t.Errorf("exit %d, Postfix %d", got.Exit, want.Exit)
			}
			w := logText(refLog())
			allRefLog += w
			if g := logText(ourLog()); g != w {
				t.Errorf("log:\n%s\nPostfix:\n%s", g, w)
			}
			if got.Stdout != want.Stdout {
				t.Errorf("stdout %q, Postfix %q", got.Stdout, want.Stdout)
			}
			if g, w := pidRE.ReplaceAllString(got.Stderr, ""), pidRE.ReplaceAllString(want.Stderr, ""); g != w {
				t.Errorf("stderr:\n%s\nPostfix:\n%s", g, w)
			}
			if (gotFile == nil) != (wantFile == nil) {
				t.Fatalf("maildrop file: ours %v, Postfix %v", gotFile != nil, wantFile != nil)
			}
			if wantFile == nil {
				return
			}
			if gotMode != wantMode {
				t.Errorf("mode %o, Postfix %o", gotMode, wantMode)
			}
			if g, w := skipTime(t, gotFile), skipTime(t, wantFile); !bytes.Equal(g, w) {
				t.Errorf("maildrop records differ:\nours    %q\nPostfix %q", g, w)
			}
		})
	}
}

// TestDifferentialACL compares the refusal of a user that
// authorized_submit_users does not list, by sendmail and by postdrop.
func TestDifferentialACL(t *testing.T) {
	ref := testutil.Reference(t, "/usr/sbin/sendmail")
	if os.Geteuid() != 0 {
		t.Skip("needs root: Debian's postdrop is set-gid postdrop and the queue is owned by postfix")
	}
	ours := testutil.Bin(t, "sendmail")
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	extra := "authorized_submit_users = !root, static:anyone\n"
	refSys := newSystem(t, filepath.Join(dir, "ref"), "/usr/sbin", extra)
	ourSys := newSystem(t, filepath.Join(dir, "ours"), filepath.Dir(ours),
		extra+"maillog_file = "+filepath.Join(dir, "maillog")+"\n")
	for _, args := range [][]string{{"x@y"}, {"-bs"}, {"-bi", "x"}, {"-bi"}} {
		os.Setenv("MAIL_CONFIG", refSys.etc)
		want := testutil.Run(t, dir, ref, "sendmail", []byte("x\n"), args...)
		os.Setenv("MAIL_CONFIG", ourSys.etc)
		got := testutil.Run(t, dir, ours, "sendmail", []byte("x\n"), args...)
		os.Unsetenv("MAIL_CONFIG")
		if got.Exit != want.Exit || got.Stderr != want.Stderr {
			t.Errorf("%v: exit %d %q, Postfix %d %q", args, got.Exit, got.Stderr, want.Exit, want.Stderr)
		}
	}
	// postdrop itself enforces the list.
	os.Setenv("MAIL_CONFIG", refSys.etc)
	want := testutil.Run(t, dir, "/usr/sbin/postdrop", "postdrop", nil, "-r")
	os.Setenv("MAIL_CONFIG", ourSys.etc)
	got := testutil.Run(t, dir, testutil.Bin(t, "postdrop"), "postdrop", nil, "-r")
	os.Unsetenv("MAIL_CONFIG")
	if got.Exit != want.Exit || got.Stderr != want.Stderr || got.Stdout != want.Stdout {
		t.Errorf("postdrop: %+v, Postfix %+v", got, want)
	}
	log, _ := os.ReadFile(filepath.Join(dir, "maillog"))
	if !regexp.MustCompile(`postfix/sendmail\[\d+\]: fatal: User root\(0\) is not allowed to submit mail`).Match(log) {
		t.Errorf("our log lacks sendmail's fatal line:\n%s", log)
	}
}

// TestStandaloneSMTPMissing: sendmail -bs runs $daemon_directory/smtpd -S
// and says so clearly when it is not there, as Postfix does.
func TestStandaloneSMTPMissing(t *testing.T) {
	ours := testutil.Bin(t, "sendmail")
	dir := t.TempDir()
	empty := filepath.Join(dir, "nodaemons")
	os.Mkdir(empty, 0o755)
	sys := newSystem(t, filepath.Join(dir, "ours"), filepath.Dir(ours),
		"daemon_directory = "+empty+"\nmaillog_file = "+filepath.Join(dir, "maillog")+"\n")
	os.Setenv("MAIL_CONFIG", sys.etc)
	defer os.Unsetenv("MAIL_CONFIG")
	r := testutil.Run(t, dir, ours, "sendmail", nil, "-bs")
	want := "sendmail: fatal: execv " + empty + "/smtpd: No such file or directory\n"
	if r.Exit != 75 || r.Stderr != want {
		t.Errorf("exit %d stderr %q, want 75 %q", r.Exit, r.Stderr, want)
	}
}

// TestNewAliasMode: sendmail -bi (and -I) rebuilds $alias_database with
// $command_directory/postalias, as Postfix's newaliases mode does; -oA
// names another database.
func TestNewAliasMode(t *testing.T) {
	ours := testutil.Bin(t, "sendmail")
	testutil.Bin(t, "postalias")
	dir := t.TempDir()
	aliases := filepath.Join(dir, "aliases")
	other := filepath.Join(dir, "other")
	os.WriteFile(aliases, []byte("postmaster: root\n"), 0o644)
	os.WriteFile(other, []byte("abuse: root\n"), 0o644)
	sys := newSystem(t, filepath.Join(dir, "ours"), filepath.Dir(ours),
		"alias_database = hash:"+aliases+"\nalias_maps = hash:"+aliases+"\nmaillog_file = "+filepath.Join(dir, "maillog")+"\n")
	os.Setenv("MAIL_CONFIG", sys.etc)
	defer os.Unsetenv("MAIL_CONFIG")
	if r := testutil.Run(t, dir, ours, "sendmail", nil, "-bi"); r.Exit != 0 {
		t.Fatalf("sendmail -bi: %+v", r)
	}
	if _, err := os.Stat(aliases + ".db"); err != nil {
		t.Errorf("sendmail -bi built nothing: %v", err)
	}
	if r := testutil.Run(t, dir, ours, "sendmail", nil, "-I", "-oAhash:"+other); r.Exit != 0 {
		t.Fatalf("sendmail -I -oA: %+v", r)
	}
	if _, err := os.Stat(other + ".db"); err != nil {
		t.Errorf("sendmail -I -oA built nothing: %v", err)
	}
}

// TestDifferentialSizeLimit: a message over message_size_limit is refused
// by postdrop ("File too large") and sendmail reports it as Postfix does.
func TestDifferentialSizeLimit(t *testing.T) {
	ref := testutil.Reference(t, "/usr/sbin/sendmail")
	if os.Geteuid() != 0 {
		t.Skip("needs root: Debian's postdrop is set-gid postdrop and the queue is owned by postfix")
	}
	ours := testutil.Bin(t, "sendmail")
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	extra := "message_size_limit = 1000\n"
	refSys := newSystem(t, filepath.Join(dir, "ref"), "/usr/sbin", extra)
	ourSys := newSystem(t, filepath.Join(dir, "ours"), filepath.Dir(ours),
		extra+"maillog_file = "+filepath.Join(dir, "maillog")+"\n")
	for _, size := range []int{10, 60, 500} {
		msg := bytes.Repeat([]byte(strings.Repeat("y", 50)+"\n"), size)
		os.Setenv("MAIL_CONFIG", refSys.etc)
		want := testutil.Run(t, dir, ref, "sendmail", msg, "a@b")
		wantFile, _ := refSys.maildrop(t)
		os.Setenv("MAIL_CONFIG", ourSys.etc)
		got := testutil.Run(t, dir, ours, "sendmail", msg, "a@b")
		gotFile, _ := ourSys.maildrop(t)
		os.Unsetenv("MAIL_CONFIG")
		if got.Exit != want.Exit || got.Stderr != want.Stderr {
			t.Errorf("%d lines: exit %d %q, Postfix %d %q", size, got.Exit, got.Stderr, want.Exit, want.Stderr)
		}
		if (gotFile == nil) != (wantFile == nil) {
			t.Errorf("%d lines: maildrop file ours %v, Postfix %v", size, gotFile != nil, wantFile != nil)
		}
	}
}

var stampRE = regexp.MustCompile(`(?m)^[A-Z][a-z][a-z] [ 0-9][0-9] [0-9:]{8} `)

// logText drops what differs between two runs: time stamps and PIDs.
func logText(s string) string {
	return pidRE.ReplaceAllString(stampRE.ReplaceAllString(s, ""), "")
}
