package xsasl

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/postfix-go/postfix/internal/flowtest"
)

// The differential tests run the same AUTH dialogues through Debian's Postfix 3.7 smtpd and
// through this package (driven by dialogue, as our smtpd drives it), both against the same
// password checker, and compare the EHLO mechanism list, every reply line, what saslauthd was
// asked and the SASL warnings logged.

// refSMTPD starts Debian's Postfix with one smtpd service that has SASL enabled.
func refSMTPD(t *testing.T, extraMain string, setup func(s *flowtest.System), opts ...string) (*flowtest.System, string) {
	t.Helper()
	port := flowtest.FreePort(t)
	o := ""
	for _, x := range opts {
		o += " -o " + x
	}
	s := flowtest.NewReferenceWithMaster(t, "local_recipient_maps =\n"+extraMain,
		fmt.Sprintf("127.0.0.1:%d inet n - n - - smtpd -o smtpd_sasl_auth_enable=yes%s\n", port, o)+
			"tlsmgr unix - - n 1000? 1 tlsmgr\n")
	if setup != nil {
		setup(s)
	}
	s.Start()
	flowtest.WaitPort(t, port, 10*time.Second)
	return s, fmt.Sprintf("127.0.0.1:%d", port)
}

// refDialogue runs one dialogue on a new connection and returns the EHLO AUTH line and replies.
func refDialogue(t *testing.T, addr string, lines []string) (auth string, replies []string) {
	t.Helper()
	k := flowtest.Dial(t, addr)
	defer k.Close()
	for _, l := range k.Cmd("EHLO client.example") {
		if strings.HasPrefix(l, "250-AUTH ") || strings.HasPrefix(l, "250 AUTH ") {
			auth = l[4:]
		}
	}
	for _, line := range lines {
		replies = append(replies, strings.Join(k.Cmd(line), "\n"))
	}
	return auth, replies
}

var saslLogRE = regexp.MustCompile(`postfix/smtpd\[\d+\]: (warning: .*SASL.*)$`)

// refSASLLog waits until the reference's log stops growing and returns its SASL warnings.
func refSASLLog(s *flowtest.System, want int) []string {
	var out []string
	deadline := time.Now().Add(5 * time.Second)
	for {
		out = out[:0]
		for _, l := range strings.Split(s.LogText(), "\n") {
			if m := saslLogRE.FindStringSubmatch(l); m != nil {
				out = append(out, m[1])
			}
		}
		if len(out) >= want || time.Now().After(deadline) {
			return out
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// diffDialogues compares the dialogues on both sides.
func diffDialogues(t *testing.T, addr string, ours func() Session, dialogues [][]string, cap *logCapture, asked func() []string) (refLogCount int, ourLogs []string) {
	t.Helper()
	for i, d := range dialogues {
		var refAsked []string
		if asked != nil {
			asked()
		}
		refAuth, refReplies := refDialogue(t, addr, d)
		if asked != nil {
			refAsked = asked()
		}
		sess := ours()
		if got := "AUTH " + strings.Join(sess.Mechanisms(), " "); got != refAuth {
			t.Errorf("dialogue %d: EHLO: ours %q, Postfix %q", i, got, refAuth)
		}
		replies := dialogue(sess, d, cap)
		ourLogs = append(ourLogs, cap.take()...)
		sess.Close()
		if strings.Join(replies, "|") != strings.Join(refReplies, "|") {
			t.Errorf("dialogue %d %q:\n ours    %q\n Postfix %q", i, d, replies, refReplies)
		}
		if asked != nil {
			if got := asked(); strings.Join(got, " ") != strings.Join(refAsked, " ") {
				t.Errorf("dialogue %d %q: saslauthd asked:\n ours    %q\n Postfix %q", i, d, got, refAsked)
			}
		}
	}
	return len(ourLogs), ourLogs
}

func compareLogs(t *testing.T, ours, ref []string) {
	t.Helper()
	if strings.Join(ours, "\n") != strings.Join(ref, "\n") {
		t.Errorf("SASL log lines differ:\n--- ours\n%s\n--- Postfix\n%s", strings.Join(ours, "\n"), strings.Join(ref, "\n"))
	}
}

func cyrusDialogues(realm string) [][]string {
	d := [][]string{
		{"AUTH PLAIN " + b64("\x00alice\x00good")},
		{"AUTH PLAIN " + b64("\x00alice\x00bad")},
		{"AUTH PLAIN", b64("\x00alice\x00good")},
		{"AUTH PLAIN", "*"},
		{"AUTH PLAIN ="},
		{"AUTH PLAIN !!!"},
		{"AUTH PLAIN !!!!"},
		// Cyrus's decoder checks whole groups of four before the leftover length: a bad
		// character or misplaced "=" in a whole group, or data after padding, is a protocol
		// error; a short leftover (not itself checked) asks for another step.
		{"AUTH PLAIN a*b"},
		{"AUTH PLAIN <a b>"},
		{"AUTH PLAIN abcd!!"},
		{"AUTH PLAIN abcd*"},
		{"AUTH PLAIN ab=c"},
		{"AUTH PLAIN a==="},
		{"AUTH PLAIN ab==c"},
		{"AUTH PLAIN ab==cd"},
		{"AUTH PLAIN \rabcd"},
		{"AUTH LOGIN", "a*b"},
		{"AUTH LOGIN", "<a b>"},
		{"AUTH LOGIN", "abcd!!"},
		{"AUTH LOGIN", "ab==ab=="},
		{"AUTH LOGIN", "ab\rcd"},
		{"AUTH LOGIN", "\rabc"},
		{"AUTH LOGIN", "\rabcd"},
		{"AUTH LOGIN", b64("alice"), "a*b"},
		{"AUTH LOGIN", b64("alice"), "<a b>"},
		// Unused low bits need not be zero ("YR==" is "a", "YWJd" is "ab]").
		{"AUTH LOGIN", "YR==", b64("bad")},
		{"AUTH LOGIN", "YWJd", b64("bad")},
		{"AUTH PLAIN " + b64("foo")},
		{"AUTH PLAIN " + b64("\x00alice")},
		{"AUTH PLAIN " + b64("\x00alice\x00good\x00")},
		{"AUTH PLAIN " + b64("\x00\x00good")},
		{"AUTH PLAIN " + b64("\x00 \x00good")},
		{"AUTH PLAIN " + b64("other\x00alice\x00good")},
		{"AUTH PLAIN " + b64(" alice \x00alice\x00good")},
		{"AUTH PLAIN " + b64("\x00 alice\t\x00good")},
		{"AUTH PLAIN " + b64("\x00a@b@c\x00good")},
		{"AUTH PLAIN " + b64("\x00a@\x00good")},
		{"AUTH PLAIN " + b64("alice@x\x00alice\x00bad")},
		{"AUTH PLAIN " + b64("alice@x\x00alice\x00good")},
		{"AUTH PLAIN " + b64("\x00Alice\x00 good ")},
		{"auth plain " + b64("\x00alice\x00good")},
		{"AUTH LOGIN", b64("alice"), b64("good")},
		{"AUTH LOGIN " + b64("alice"), b64("bad")},
		{"AUTH LOGIN", "*"},
		{"AUTH LOGIN", b64("alice"), "*"},
		{"AUTH LOGIN", "="},
		{"AUTH LOGIN", "!!!!"},
		{"AUTH LOGIN", "", b64("bad")},
		{"AUTH LOGIN", b64("alice"), ""},
		{"AUTH LOGIN ="},
		{"AUTH FOO"},
		{"AUTH CRAM-MD5 " + b64("x")},
		// Several AUTH commands in one session: what user name each failure reports.
		{"AUTH PLAIN " + b64("\x00alice\x00bad"), "AUTH PLAIN !!!", "AUTH PLAIN " + b64("\x00alice\x00bad"),
			"AUTH FOO", "AUTH LOGIN " + b64("bob"), b64("bad"), "AUTH LOGIN", "*", "AUTH PLAIN " + b64("foo")},
	}
	if realm != "" {
		// Without a realm this one differs: Cyrus reports the user name "" and Postfix logs
		// "sasl_username=", where Session.Username cannot tell "" from none ("(unavailable)").
		d = append(d, []string{"AUTH LOGIN", b64(" "), b64("bad")})
		d = append(d,
			[]string{"AUTH PLAIN " + b64("alice@"+realm+"\x00alice\x00good")},
			[]string{"AUTH PLAIN " + b64("\x00alice@other.example\x00good")},
		)
	}
	return d
}

func TestDiffCyrus(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, mechList, realm string
		down                  bool
		extra                 string
	}{
		{"plain-login", "plain login", "", false, ""},
		{"login-plain-realm", "LOGIN PLAIN", "realm.example", false, ""},
		{"saslauthd-down", "plain login", "", true, ""},
		{"log-level-0-silences-nothing", "plain login", "", true, "log_level: 0\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fake := startFakeSaslauthd(t, "good")
			sock := fake.Socket
			dialogues := cyrusDialogues(tc.realm)
			asked := fake.requests
			if tc.down {
				sock = filepath.Join(filepath.Dir(sock), "nothing-here")
				dialogues = [][]string{
					{"AUTH PLAIN " + b64("\x00alice\x00good")},
					{"AUTH LOGIN", b64("alice"), b64("good")},
					{"AUTH PLAIN " + b64("foo")},
					{"AUTH FOO"},
				}
			}
			conf := fmt.Sprintf("pwcheck_method: saslauthd\nmech_list: %s\nsaslauthd_path: %s\n%s", tc.mechList, sock, tc.extra)
			ref, addr := refSMTPD(t, "smtpd_sasl_local_domain = "+tc.realm+"\n", func(s *flowtest.System) {
				if err := os.MkdirAll(filepath.Join(s.Etc, "sasl"), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(s.Etc, "sasl", "smtpd.conf"), []byte(conf), 0o644); err != nil {
					t.Fatal(err)
				}
			})
			cap := &logCapture{}
			b, err := newCyrusFromApp(ParseAppConf("smtpd.conf", []byte(conf)), cap.warn)
			if err != nil {
				t.Fatal(err)
			}
			ours := func() Session {
				s, err := b.Session(Params{Service: "smtp", Realm: tc.realm, ClientAddr: "127.0.0.1", ServerAddr: "127.0.0.1"})
				if err != nil {
					t.Fatal(err)
				}
				return s
			}
			n, ourLogs := diffDialogues(t, addr, ours, dialogues, cap, asked)
			compareLogs(t, ourLogs, refSASLLog(ref, n))
		})
	}
}

// TestDiffCyrusSecurityOptions: security options that leave no mechanism, and unknown words, stop
// Debian's smtpd at the session's start with the warnings our Session logs before its error.
func TestDiffCyrusSecurityOptions(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		opt     string
		wantErr error
		fatal   string
	}{
		{"noanonymous,nodictionary", ErrNoMechanisms, "no SASL authentication mechanisms"},
		{"noplaintext", ErrNoMechanisms, "no SASL authentication mechanisms"},
		{"NOANONYMOUS", ErrSessionInit, "SASL per-connection initialization failed"},
	} {
		t.Run(tc.opt, func(t *testing.T) {
			t.Parallel()
			conf := "pwcheck_method: saslauthd\nmech_list: plain login\n"
			ref, addr := refSMTPD(t, "", func(s *flowtest.System) {
				if err := os.MkdirAll(filepath.Join(s.Etc, "sasl"), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(s.Etc, "sasl", "smtpd.conf"), []byte(conf), 0o644); err != nil {
					t.Fatal(err)
				}
			}, "smtpd_sasl_security_options="+tc.opt)
			_ = addr
			line := ref.WaitLog(`smtpd\[\d+\]: fatal: `, 10*time.Second)
			if !strings.HasSuffix(line, "fatal: "+tc.fatal) {
				t.Errorf("Postfix: %q", line)
			}
			cap := &logCapture{}
			b, err := newCyrusFromApp(ParseAppConf("smtpd.conf", []byte(conf)), cap.warn)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := b.Session(Params{SecurityOptions: conf2list(tc.opt)}); err != tc.wantErr || err.Error() != tc.fatal {
				t.Errorf("ours: %v", err)
			}
			var refWarn []string
			pid := regexp.MustCompile(`smtpd\[(\d+)\]: fatal`).FindStringSubmatch(line)[1]
			for _, l := range strings.Split(ref.LogText(), "\n") {
				if i := strings.Index(l, "smtpd["+pid+"]: warning: "); i >= 0 {
					refWarn = append(refWarn, l[i+len("smtpd["+pid+"]: "):])
				}
			}
			compareLogs(t, cap.take(), refWarn)
		})
	}
}

func conf2list(s string) []string { return strings.Split(s, ",") }
