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
	"github.com/postfix-go/postfix/internal/xsasl/sasltest"
)

// The user name after a successful AUTH (Session.Username) is what Postfix's smtpd logs as
// "sasl_username=" when the client then starts a mail transaction ("QUEUEID: client=…,
// sasl_method=…, sasl_username=…", logged when the queue file is opened, at the first accepted
// RCPT TO) and puts in the Received header. These tests authenticate through Debian's smtpd,
// send MAIL FROM and RCPT TO (a local address), and
// compare the logged name with ours for the same dialogue.

var clientSASLRE = regexp.MustCompile(`postfix/smtpd\[\d+\]: \w+: client=localhost\[127\.0\.0\.1\], sasl_method=(\w+), sasl_username=(.*)$`)

// refUsernames runs each dialogue (which must end in 235) on a new connection to Debian's
// smtpd, followed by MAIL FROM and RCPT TO, and returns the sasl_username each logged.
func refUsernames(t *testing.T, ref *flowtest.System, addr string, dialogues [][]string) []string {
	t.Helper()
	for i, d := range dialogues {
		_, replies := refDialogue(t, addr, append(append([]string{}, d...), "MAIL FROM:<s@example.org>", "RCPT TO:<root@localhost>", "QUIT"))
		if len(replies) < 4 || !strings.HasPrefix(replies[len(replies)-4], "235 ") {
			t.Fatalf("dialogue %d %q: Postfix did not authenticate: %q", i, d, replies)
		}
	}
	var names []string
	deadline := time.Now().Add(10 * time.Second)
	for {
		names = names[:0]
		for _, l := range strings.Split(ref.LogText(), "\n") {
			if m := clientSASLRE.FindStringSubmatch(l); m != nil {
				names = append(names, m[1]+" "+m[2])
			}
		}
		if len(names) >= len(dialogues) {
			return names
		}
		if time.Now().After(deadline) {
			t.Fatalf("Postfix logged %d client= lines, want %d; log:\n%s", len(names), len(dialogues), ref.LogText())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// ourUsernames runs the dialogues through our sessions and returns "MECH username" for each.
func ourUsernames(t *testing.T, ours func() Session, dialogues [][]string) []string {
	t.Helper()
	var names []string
	for i, d := range dialogues {
		s := ours()
		replies := dialogue(s, d, nil)
		if len(replies) == 0 || !strings.HasPrefix(replies[len(replies)-1], "235 ") {
			t.Errorf("dialogue %d %q: ours did not authenticate: %q", i, d, replies)
		}
		names = append(names, strings.ToUpper(strings.Fields(d[0])[1])+" "+s.Username())
		s.Close()
	}
	return names
}

// successDialogues are successful AUTH dialogues (password "good" for any name) that differ in
// how the name is written: bare, with white space, with an '@', in upper case, with an
// authorization identity.
func successDialogues(realm string) [][]string {
	d := [][]string{
		{"AUTH PLAIN " + b64("\x00alice\x00good")},
		{"AUTH PLAIN", b64("\x00alice\x00good")},
		{"AUTH PLAIN " + b64("\x00 Alice\t\x00good")},
		{"AUTH PLAIN " + b64("\x00alice@other.example\x00good")},
		{"AUTH PLAIN " + b64("\x00a@b@c\x00good")},
		{"AUTH PLAIN " + b64("alice\x00alice\x00good")},
		{"AUTH PLAIN " + b64("alice@x\x00alice@x\x00good")},
		{"AUTH LOGIN", b64("alice"), b64("good")},
		{"AUTH LOGIN " + b64("alice"), b64("good")},
		{"AUTH LOGIN", b64("bob@other.example"), b64("good")},
		{"AUTH LOGIN", b64(" bob "), b64("good")},
	}
	if realm != "" {
		d = append(d, []string{"AUTH PLAIN " + b64("alice@"+realm+"\x00alice\x00good")},
			[]string{"AUTH PLAIN " + b64("alice\x00alice@"+realm+"\x00good")})
	}
	return d
}

// TestDiffCyrusUsername: the name Debian's smtpd logs after AUTH with Cyrus (a recording fake
// saslauthd that takes the password "good") against Session.Username, with and without
// smtpd_sasl_local_domain, PLAIN and LOGIN.
func TestDiffCyrusUsername(t *testing.T) {
	t.Parallel()
	for _, realm := range []string{"", "mx.example.test"} {
		t.Run("realm="+realm, func(t *testing.T) {
			t.Parallel()
			fake := startFakeSaslauthd(t, "good")
			conf := "pwcheck_method: saslauthd\nmech_list: plain login\nsaslauthd_path: " + fake.Socket + "\n"
			ref, addr := refSMTPD(t, "smtpd_sasl_local_domain = "+realm+"\n", writeSmtpdConf(t, conf))
			b, err := newCyrusFromApp(ParseAppConf("smtpd.conf", []byte(conf)), (&logCapture{}).warn)
			if err != nil {
				t.Fatal(err)
			}
			ours := func() Session {
				s, err := b.Session(Params{Service: "smtp", Realm: realm, ClientAddr: "127.0.0.1", ServerAddr: "127.0.0.1"})
				if err != nil {
					t.Fatal(err)
				}
				return s
			}
			d := successDialogues(realm)
			refNames := refUsernames(t, ref, addr, d)
			refAsked := fake.requests()
			t.Logf("Postfix logged:\n%s", strings.Join(refNames, "\n"))
			ourNames := ourUsernames(t, ours, d)
			if got, want := strings.Join(ourNames, "\n"), strings.Join(refNames, "\n"); got != want {
				t.Errorf("sasl_username differs:\n--- ours\n%s\n--- Postfix\n%s", got, want)
			}
			if got, want := strings.Join(fake.requests(), "\n"), strings.Join(refAsked, "\n"); got != want {
				t.Errorf("saslauthd asked:\n--- ours\n%s\n--- Postfix\n%s", got, want)
			}
		})
	}
}

// TestDiffCyrusUsernameRealSaslauthd: the first guide's setup (smtpd_sasl_local_domain =
// $myhostname, a real saslauthd -a shadow, a system account): the logged name after PLAIN
// and after LOGIN.
func TestDiffCyrusUsernameRealSaslauthd(t *testing.T) {
	t.Parallel()
	user, pass := sasltest.AddUser(t)
	sd := sasltest.StartSaslauthd(t, "")
	conf := "pwcheck_method: saslauthd\nmech_list: plain login\nsaslauthd_path: " + sd.Socket + "\n"
	ref, addr := refSMTPD(t, "myhostname = mx.example.test\nsmtpd_sasl_local_domain = $myhostname\n", writeSmtpdConf(t, conf))
	b, err := newCyrusFromApp(ParseAppConf("smtpd.conf", []byte(conf)), (&logCapture{}).warn)
	if err != nil {
		t.Fatal(err)
	}
	ours := func() Session {
		s, err := b.Session(Params{Service: "smtp", Realm: "mx.example.test", ClientAddr: "127.0.0.1"})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	d := [][]string{
		{"AUTH PLAIN " + b64("\x00"+user+"\x00"+pass)},
		{"AUTH LOGIN", b64(user), b64(pass)},
		{"AUTH PLAIN " + b64("\x00"+user+"@mx.example.test\x00"+pass)},
	}
	refNames := refUsernames(t, ref, addr, d)
	ourNames := ourUsernames(t, ours, d)
	if got, want := strings.Join(ourNames, "\n"), strings.Join(refNames, "\n"); got != want {
		t.Errorf("sasl_username differs:\n--- ours\n%s\n--- Postfix\n%s", got, want)
	}
	for _, n := range ourNames {
		if !strings.HasSuffix(n, " "+user+"@mx.example.test") {
			t.Errorf("ours: %q, want the realm appended", n)
		}
	}
}

// writeSmtpdConf returns a refSMTPD setup that writes $config_directory/sasl/smtpd.conf.
func writeSmtpdConf(t *testing.T, conf string) func(s *flowtest.System) {
	return func(s *flowtest.System) {
		if err := os.MkdirAll(filepath.Join(s.Etc, "sasl"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(s.Etc, "sasl", "smtpd.conf"), []byte(conf), 0o644); err != nil {
			t.Fatal(fmt.Errorf("smtpd.conf: %w", err))
		}
	}
}
