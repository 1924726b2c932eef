package maillog

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/postfix-go/postfix/conf"
	"github.com/postfix-go/postfix/internal/flowtest"
	"github.com/postfix-go/postfix/internal/msg"
	"github.com/postfix-go/postfix/internal/testutil"
)

// hostile holds every byte class: C0 controls with an ESC sequence, TAB,
// CR, LF, DEL, valid UTF-8 (é, U+200B, U+0085), a lone Latin-1 é and a
// stray continuation byte.
const hostile = "a\x01b\x7fc\x1b[31m\tt\rx\nz\xc3\xa9\xe2\x80\x8b\xc2\x85\xe9z\x80"

func TestLinesMasked(t *testing.T) {
	defer SetExit(SetExit(func(int) {}))
	defer msg.SetUTF8(msg.UTF8())
	for _, c := range []struct{ utf8, want string }{
		{"yes", "a?b?c?[31m?t?x?z\xc3\xa9\xe2\x80\x8b\xc2\x85?z?"},
		{"no", "a?b?c?[31m?t?x?z???????" + "?z?"},
	} {
		cfg, log := config(t, "smtputf8_enable = "+c.utf8)
		var buf strings.Builder
		errOut = &buf
		Init("smtpd", cfg)
		Stderr(true)
		Info("helo=<%s>", hostile)
		msg.Warn("name %s", hostile)
		Stderr(false)
		errOut = os.Stderr
		got, _ := os.ReadFile(log)
		g := variable.ReplaceAllString(string(got), "")
		want := "helo=<" + c.want + ">\nwarning: name " + c.want + "\n"
		if g != want {
			t.Errorf("smtputf8_enable=%s: file got %q, want %q", c.utf8, g, want)
		}
		prog := progName()
		if wantErr := prog + ": helo=<" + c.want + ">\n" + prog + ": warning: name " + c.want + "\n"; buf.String() != wantErr {
			t.Errorf("smtputf8_enable=%s: stderr got %q, want %q", c.utf8, buf.String(), wantErr)
		}
	}
}

func TestSyslogMasked(t *testing.T) {
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
	defer msg.SetUTF8(msg.UTF8())
	os.WriteFile(filepath.Join(dir, "main.cf"), []byte("smtputf8_enable = yes\n"), 0644)
	c, err := conf.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	Init("smtpd", c)
	Warn("helo=<%s>", hostile)
	buf := make([]byte, 512)
	pc.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, _, err := pc.ReadFrom(buf)
	if err != nil {
		t.Fatal(err)
	}
	want := ": warning: helo=<a?b?c?[31m?t?x?z\xc3\xa9\xe2\x80\x8b\xc2\x85?z?>"
	if !strings.HasSuffix(string(buf[:n]), want) {
		t.Errorf("got %q, want it to end in %q", buf[:n], want)
	}
}

// TestPrintableMatchesPostmap names regexp: files with hostile bytes, so
// that postmap -q warns about each ("regexp map NAME, line 1: no
// replacement text: ..."), and compares Debian's postmap, ours, and
// msg.PrintableFor, with smtputf8_enable on and off.
func TestPrintableMatchesPostmap(t *testing.T) {
	ref := testutil.Reference(t, "/usr/sbin/postmap")
	ours := testutil.Bin(t, "postmap")
	dir := t.TempDir()
	names := []string{
		"n\x01\x7f\x1b[31m\tt\r~ z",
		"u\xc3\xa9\xe9\xe2\x80\x8b\xc2\x85\xef\xbf\xbe\xf0\x9f\x98\x80",
		"o\xc0\xaf\xc1\x80\xed\xa0\x80\xf4\x90\x80\x80\xf8\x88\x80\x80\x80",
		"s\xc2\x80\x80\x80\x80\xfe\x80\xff\x80\xe2\x80y\xc2Z\xc2\x7f\xc2",
	}
	// Every byte but NUL and '/', in runs a file name can hold.
	var all []byte
	for b := 1; b < 256; b++ {
		if b != '/' {
			all = append(all, byte(b))
		}
	}
	for len(all) > 0 {
		n := min(len(all), 100)
		names = append(names, "b"+string(all[:n]))
		all = all[n:]
	}
	for _, utf8 := range []string{"yes", "no"} {
		cdir := filepath.Join(dir, "etc-"+utf8)
		os.MkdirAll(cdir, 0755)
		os.WriteFile(filepath.Join(cdir, "main.cf"), []byte("compatibility_level = 3.6\nsmtputf8_enable = "+utf8+"\n"), 0644)
		for i, name := range names {
			path := filepath.Join(dir, fmt.Sprintf("%d", i)+name)
			if err := os.WriteFile(path, []byte("/x/\n"), 0644); err != nil {
				t.Fatal(err)
			}
			want := testutil.Run(t, dir, ref, "postmap", nil, "-c", cdir, "-q", "k", "regexp:"+path)
			got := testutil.Run(t, dir, ours, "postmap", nil, "-c", cdir, "-q", "k", "regexp:"+path)
			if got.Stderr != want.Stderr {
				t.Errorf("smtputf8_enable=%s, file %q:\nours:    %q\nPostfix: %q", utf8, path, got.Stderr, want.Stderr)
			}
			line := "postmap: warning: regexp map " + msg.PrintableFor(path, utf8 == "yes") + ", line 1: no replacement text: using empty string\n"
			if line != want.Stderr {
				t.Errorf("smtputf8_enable=%s: PrintableFor(%q) gives\n%q, Postfix wrote\n%q", utf8, path, line, want.Stderr)
			}
		}
	}
}

// TestHostileHeloMatchesPostfix sends the same hostile HELO and MAIL
// commands to Debian's smtpd and ours and compares their log lines.
// smtpd_delay_reject = no and reject_invalid_helo_hostname make each
// HELO logged at once in a reject line ("helo=<...>"), and a MAIL address
// with control characters gives "Illegal address syntax" warnings.
func TestHostileHeloMatchesPostfix(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two mail systems")
	}
	for _, utf8 := range []string{"yes", "no"} {
		t.Run("smtputf8_enable="+utf8, func(t *testing.T) {
			extra := "smtputf8_enable = " + utf8 + "\nsmtpd_delay_reject = no\nsmtpd_helo_restrictions = reject_invalid_helo_hostname\n"
			// Not "cr\rx" or "t\tab" here: Postfix's smtpd splits HELO
			// arguments at CR and TAB and logs "cr x" (its parsing, not
			// its log masking); the MAIL addresses carry those bytes.
			helos := []string{"a\x01b\x7fc\x1b[31m", "x\xc3\xa9y", "x\xe2\x80\x8by", "x\xc2\x85y"}
			if utf8 == "no" {
				// With SMTPUTF8 off any 8-bit byte is accepted; with it on
				// Postfix refuses invalid UTF-8 before logging it.
				helos = append(helos, "x\xe9y", "q\x80\xffr")
			}
			mails := []string{"a\x01b\x7fc\x1b[31m", "t\tab", "cr\rx"}
			var ours, ref []string
			t.Run("systems", func(t *testing.T) {
				t.Run("ours", func(t *testing.T) {
					t.Parallel()
					ours = heloSessions(t, false, extra, helos, mails)
				})
				t.Run("postfix", func(t *testing.T) {
					t.Parallel()
					ref = heloSessions(t, true, extra, helos, mails)
				})
			})
			if t.Failed() {
				return
			}
			if len(ref) < 3*(len(helos)+len(mails)) {
				t.Fatalf("too few Postfix log lines: %q", ref)
			}
			for i := 0; i < max(len(ours), len(ref)); i++ {
				var o, r string
				if i < len(ours) {
					o = replyArg.ReplaceAllString(ours[i], "$1<ARG>$2")
				}
				if i < len(ref) {
					r = replyArg.ReplaceAllString(ref[i], "$1<ARG>$2")
				}
				if o != r {
					t.Errorf("line %d:\nours:    %q\nPostfix: %q", i, o, r)
				}
			}
			for _, l := range ours {
				for _, c := range []byte(l) {
					if c < 0x20 || c == 0x7f || (utf8 == "no" && c > 0x7e) {
						t.Errorf("byte %#x reached our log: %q", c, l)
						break
					}
				}
			}
		})
	}
}

// replyArg is the client's argument as smtpd echoed it in its reply,
// which the reject log line repeats: smtpd's reply text is smtpd's
// business (test/smtp compares it), so it is masked here.
var replyArg = regexp.MustCompile(`(: 501 5\.5\.2 )<.*>(: Helo command rejected)`)

// heloSessions starts a mail system (Debian's when ref), sends each HELO
// and each MAIL in its own session, waits for each session's disconnect
// line, and returns the normalized smtpd log lines of those sessions.
func heloSessions(t *testing.T, ref bool, extra string, helos, mails []string) []string {
	port := flowtest.FreePort(t)
	line := fmt.Sprintf("127.0.0.1:%d inet n - n - - smtpd\n", port)
	var s *flowtest.System
	if ref {
		s = flowtest.NewReferenceWithMaster(t, extra, line)
	} else {
		s = flowtest.NewWithMaster(t, extra, line)
	}
	s.Start()
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	flowtest.WaitPort(t, port, 10*time.Second)
	// WaitPort's probe connection is the first session.
	n := waitCount(t, s, 1)
	start := n
	session := func(cmds ...string) {
		k := flowtest.Dial(t, addr)
		for _, c := range cmds {
			k.Cmd(c)
		}
		k.Cmd("QUIT")
		n = waitCount(t, s, n+1)
	}
	for _, h := range helos {
		session("HELO " + h)
	}
	for _, m := range mails {
		session("HELO client.example.com", "MAIL FROM:<"+m+"@example.com>")
	}
	var out []string
	seen := 0
	for _, l := range strings.Split(flowtest.Normalize(s.LogText()), "\n") {
		if !strings.Contains(l, "/smtpd[") {
			continue
		}
		if seen >= start {
			out = append(out, l)
		}
		if strings.Contains(l, "]: disconnect from ") {
			seen++
		}
	}
	return out
}

// waitCount waits until the log has at least n smtpd disconnect lines and
// returns n.
func waitCount(t *testing.T, s *flowtest.System, n int) int {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		if c := len(s.LogLines(`/smtpd\[\d+\]: disconnect from `)); c >= n {
			return n
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %d disconnect lines within 15s; log:\n%s", n, s.LogText())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
