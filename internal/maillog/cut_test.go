package maillog

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/postfix-go/postfix/conf"
	"github.com/postfix-go/postfix/internal/msg"
	"github.com/postfix-go/postfix/internal/testutil"
)

// cutTexts are texts around the 2000-byte cut: exactly at it, one byte
// over, far over, a UTF-8 sequence split by the cut, and control bytes
// (masked before the cut, one '?' each).
func cutTexts() []string {
	abc := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte('a' + i%26)
		}
		return string(b)
	}
	return []string{
		abc(2000),
		abc(2001),
		abc(2100),
		strings.Repeat("x", 1999) + "\xc3\xa9yz",
		strings.Repeat("x", 1998) + "\x01\x02abc",
	}
}

// TestLongLinesCutAsPostlog logs long texts at info and warning level into
// maillog_file, ours and Debian's postlog(1), and compares the files: the
// text is cut after 2000 bytes, the "warning: " prefix not counted, no
// marker added, by bytes even inside a UTF-8 sequence.
func TestLongLinesCutAsPostlog(t *testing.T) {
	ref := testutil.Reference(t, "/usr/sbin/postlog")
	defer SetExit(SetExit(func(int) {}))
	defer msg.SetUTF8(msg.UTF8())
	for _, utf8 := range []string{"yes", "no"} {
		extra := "smtputf8_enable = " + utf8 + "\n"
		c, log := config(t, extra)
		Init("postlog", c)
		for _, text := range cutTexts() {
			Info("%s", text)
			Warn("%s", text)
		}
		got, err := os.ReadFile(log)
		if err != nil {
			t.Fatal(err)
		}
		rc, rlog := config(t, extra)
		for _, text := range cutTexts() {
			for _, args := range [][]string{{text}, {"-p", "warning", text}} {
				cmd := exec.Command(ref, append([]string{"-c", rc.Dir}, args...)...)
				if out, err := cmd.CombinedOutput(); err != nil {
					t.Fatalf("postlog: %v %s", err, out)
				}
			}
		}
		want, err := os.ReadFile(rlog)
		if err != nil {
			t.Fatal(err)
		}
		g := variable.ReplaceAllString(string(got), "TIME $1 $2[PID]: ")
		w := variable.ReplaceAllString(string(want), "TIME $1 $2[PID]: ")
		if g != w {
			gl, wl := strings.Split(g, "\n"), strings.Split(w, "\n")
			for i := 0; i < max(len(gl), len(wl)); i++ {
				var a, b string
				if i < len(gl) {
					a = gl[i]
				}
				if i < len(wl) {
					b = wl[i]
				}
				if a != b {
					t.Errorf("smtputf8_enable=%s, line %d (%d bytes, postlog %d):\nours:    ...%q\npostlog: ...%q",
						utf8, i, len(a), len(b), a[max(0, len(a)-20):], b[max(0, len(b)-20):])
				}
			}
		}
	}
}

// TestSyslogLineCut checks the same cut on the syslog socket. Debian's
// postlog, run with a datagram socket of ours bound at /dev/log in a
// private mount namespace, sent "<22>Mmm dd hh:mm:ss postfix/test[PID]: "
// and 2000 bytes of a 2100-byte text, and with -p warning
// "...: warning: " and the same 2000 bytes; the test suite does not
// replace /dev/log, so that comparison is not repeated here.
func TestSyslogLineCut(t *testing.T) {
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
	defer SetExit(SetExit(func(int) {}))
	os.WriteFile(filepath.Join(dir, "main.cf"), nil, 0644)
	c, err := conf.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	Init("smtpd", c)
	text := cutTexts()[2]
	var stderr strings.Builder
	errOut = &stderr
	defer func() { errOut = os.Stderr }()
	Stderr(true)
	Warn("%s", text)
	Stderr(false)
	buf := make([]byte, 4096)
	pc.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, _, err := pc.ReadFrom(buf)
	if err != nil {
		t.Fatal(err)
	}
	want := "]: warning: " + text[:MaxText]
	if !strings.HasSuffix(string(buf[:n]), want) {
		t.Errorf("syslog line of %d bytes ends in %q, want the text cut at %d bytes", n, buf[max(0, n-20):n], MaxText)
	}
	// The copy on standard error is whole, as Postfix's msg_vstream's.
	if !strings.HasSuffix(stderr.String(), ": warning: "+text+"\n") {
		t.Errorf("stderr copy was cut: %d bytes", stderr.Len())
	}
}

// TestLongHeloCutAsPostfix sends HELO names long enough to make smtpd's
// reject line (which holds the name twice) longer than 2000 bytes to
// Debian's smtpd and ours, and compares the log lines, as they reach
// maillog_file through postlogd in Postfix and directly in ours.
func TestLongHeloCutAsPostfix(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two mail systems")
	}
	extra := "smtpd_delay_reject = no\nsmtpd_helo_restrictions = reject_invalid_helo_hostname\n"
	helos := []string{
		strings.Repeat("a", 1000) + "\x01",
		strings.Repeat("b", 1900) + "_",
	}
	var ours, ref []string
	t.Run("systems", func(t *testing.T) {
		t.Run("ours", func(t *testing.T) {
			t.Parallel()
			ours = heloSessions(t, false, extra, helos, nil)
		})
		t.Run("postfix", func(t *testing.T) {
			t.Parallel()
			ref = heloSessions(t, true, extra, helos, nil)
		})
	})
	if t.Failed() {
		return
	}
	long := 0
	for i := 0; i < max(len(ours), len(ref)); i++ {
		var o, r string
		if i < len(ours) {
			o = ours[i]
		}
		if i < len(ref) {
			r = ref[i]
		}
		if len(r) > MaxText {
			long++
		}
		if o != r {
			t.Errorf("line %d (%d bytes, Postfix %d):\nours:    %.200q...%q\nPostfix: %.200q...%q",
				i, len(o), len(r), o, o[max(0, len(o)-40):], r, r[max(0, len(r)-40):])
		}
	}
	if long < len(helos) {
		t.Errorf("only %d Postfix lines reach the cut; log:\n%q", long, ref)
	}
}

// TestMsgWarnCut: a warning that comes through internal/msg (conf's, the
// tables') is cut as Warn's is, its "warning: " not counted.
func TestMsgWarnCut(t *testing.T) {
	defer SetExit(SetExit(func(int) {}))
	c, log := config(t, "")
	Init("cleanup", c)
	text := cutTexts()[2]
	msg.Warn("%s", text)
	Warn("%s", text)
	got, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	line := "warning: " + text[:MaxText] + "\n"
	if g := variable.ReplaceAllString(string(got), ""); g != line+line {
		t.Errorf("got lines of %d bytes, want two of %d", len(g), len(line))
	}
}
