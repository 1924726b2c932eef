package xsasl

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/postfix-go/postfix/internal/flowtest"
	"github.com/postfix-go/postfix/internal/xsasl/sasltest"
)

// TestCyrusRealSaslauthd: our cyrus backend against Debian's saslauthd (-a shadow) with a
// throw-away account: right password, wrong password, unknown user, then saslauthd down.
func TestCyrusRealSaslauthd(t *testing.T) {
	t.Parallel()
	user, pass := sasltest.AddUser(t)
	sd := sasltest.StartSaslauthd(t, "")
	cap := &logCapture{}
	app := ParseAppConf("smtpd.conf", []byte("pwcheck_method: saslauthd\nmech_list: plain login\nsaslauthd_path: "+sd.Socket+"\n"))
	b, err := newCyrusFromApp(app, cap.warn)
	if err != nil {
		t.Fatal(err)
	}
	run := func(lines ...string) (string, string) {
		s, err := b.Session(Params{Service: "smtp"})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		replies := dialogue(s, lines, nil)
		return strings.Join(replies, "|"), s.Username()
	}
	for _, tc := range []struct {
		lines    []string
		want     string
		wantUser string
	}{
		{[]string{"AUTH PLAIN " + b64("\x00"+user+"\x00"+pass)}, "235 2.7.0 Authentication successful", user},
		{[]string{"AUTH LOGIN", b64(user), b64(pass)}, "334 VXNlcm5hbWU6|334 UGFzc3dvcmQ6|235 2.7.0 Authentication successful", user},
		{[]string{"AUTH PLAIN " + b64("\x00"+user+"\x00"+pass+"x")}, "535 5.7.8 Error: authentication failed: authentication failure", user},
		{[]string{"AUTH LOGIN " + b64(user), b64("wrong")}, "334 UGFzc3dvcmQ6|535 5.7.8 Error: authentication failed: authentication failure", user},
		{[]string{"AUTH PLAIN " + b64("\x00nosuchuser"+user+"\x00"+pass)}, "535 5.7.8 Error: authentication failed: authentication failure", "nosuchuser" + user},
	} {
		if got, u := run(tc.lines...); got != tc.want || u != tc.wantUser {
			t.Errorf("%q: got %q (user %q), want %q (user %q)", tc.lines, got, u, tc.want, tc.wantUser)
		}
	}
	cap.take()
	sd.Stop()
	if got, _ := run("AUTH PLAIN " + b64("\x00"+user+"\x00"+pass)); got != "454 4.7.0 Temporary authentication failure: generic failure" {
		t.Errorf("saslauthd down: %q", got)
	}
	want := []string{
		"warning: SASL authentication failure: cannot connect to saslauthd server: " + connErrText(sd.Socket),
		"warning: SASL authentication failure: Password verification failed",
	}
	if got := cap.take(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("saslauthd down: warnings\n%q\nwant\n%q", got, want)
	}
}

// connErrText is what connecting to a stopped saslauthd's socket gives: "Connection refused"
// while the socket file stays behind, "No such file or directory" once it is gone.
func connErrText(sock string) string {
	if _, err := os.Stat(sock); err == nil {
		return "Connection refused"
	}
	return "No such file or directory"
}

// TestDiffCyrusRealSaslauthd: the guides' setup — smtpd.conf with pwcheck_method saslauthd and
// mech_list plain login, a real saslauthd and a system account — through Debian's smtpd and ours.
func TestDiffCyrusRealSaslauthd(t *testing.T) {
	t.Parallel()
	user, pass := sasltest.AddUser(t)
	sd := sasltest.StartSaslauthd(t, "")
	conf := "pwcheck_method: saslauthd\nmech_list: plain login\nsaslauthd_path: " + sd.Socket + "\n"
	ref, addr := refSMTPD(t, "", func(s *flowtest.System) {
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
		s, err := b.Session(Params{Service: "smtp", ClientAddr: "127.0.0.1"})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	dialogues := [][]string{
		{"AUTH PLAIN " + b64("\x00"+user+"\x00"+pass)},
		{"AUTH PLAIN " + b64(user+"\x00"+user+"\x00"+pass)},
		{"AUTH LOGIN", b64(user), b64(pass)},
		{"AUTH PLAIN " + b64("\x00"+user+"\x00wrong")},
		{"AUTH LOGIN", b64(user), b64("wrong")},
		{"AUTH PLAIN " + b64("\x00nosuch"+user+"\x00"+pass)},
	}
	n, ourLogs := diffDialogues(t, addr, ours, dialogues, cap, nil)
	compareLogs(t, ourLogs, refSASLLog(ref, n))
}

// TestDovecotReal: our dovecot backend against Debian's Dovecot: PLAIN and LOGIN, wrong password,
// unknown user, Dovecot going away (Temp) and coming back on the same socket (reconnect).
func TestDovecotReal(t *testing.T) {
	t.Parallel()
	users := map[string]string{"alice": "wonder"}
	d := sasltest.StartDovecot(t, users, "")
	cap := &logCapture{}
	b, err := newDovecot(nil, d.Socket)
	if err != nil {
		t.Fatal(err)
	}
	b.warn = cap.warn
	run := func(lines ...string) (string, string) {
		s, err := b.Session(Params{Service: "smtp", ClientAddr: "127.0.0.1", ServerAddr: "127.0.0.1"})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if got := strings.Join(s.Mechanisms(), " "); got != "PLAIN LOGIN" {
			t.Errorf("mechanisms %q", got)
		}
		replies := dialogue(s, lines, nil)
		return strings.Join(replies, "|"), s.Username()
	}
	for _, tc := range []struct {
		lines    []string
		want     string
		wantUser string
	}{
		{[]string{"AUTH PLAIN " + b64("\x00alice\x00wonder")}, "235 2.7.0 Authentication successful", "alice"},
		{[]string{"AUTH LOGIN", b64("alice"), b64("wonder")}, "334 VXNlcm5hbWU6|334 UGFzc3dvcmQ6|235 2.7.0 Authentication successful", "alice"},
		{[]string{"AUTH PLAIN " + b64("\x00alice\x00bad")}, "535 5.7.8 Error: authentication failed: (reason unavailable)", "alice"},
		{[]string{"AUTH PLAIN " + b64("\x00mallory\x00bad")}, "535 5.7.8 Error: authentication failed: (reason unavailable)", "mallory"},
	} {
		if got, u := run(tc.lines...); got != tc.want || u != tc.wantUser {
			t.Errorf("%q: got %q (user %q), want %q (user %q)", tc.lines, got, u, tc.want, tc.wantUser)
		}
	}
	d.Stop()
	// Wait until the shared connection saw Dovecot go; then every try reconnects and fails.
	for i := 0; i < 500; i++ {
		b.mu.Lock()
		dc := b.conn
		b.mu.Unlock()
		dc.mu.Lock()
		dead := dc.dead
		dc.mu.Unlock()
		if dead {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	lost := "454 4.7.0 Temporary authentication failure: Connection lost to authentication server"
	for i := 0; i < 2; i++ {
		if got, _ := run("AUTH PLAIN " + b64("\x00alice\x00wonder")); got != lost {
			t.Errorf("Dovecot down, try %d: %q", i, got)
		}
	}
	wantWarn := fmt.Sprintf("warning: SASL: Connect to Dovecot auth socket '%s' failed: Connection refused", d.Socket)
	if got := cap.take(); len(got) != 2 || got[0] != wantWarn || got[1] != wantWarn {
		t.Errorf("Dovecot down: warnings %q", got)
	}
	d2 := sasltest.StartDovecot(t, users, d.Socket)
	_ = d2
	if got, u := run("AUTH PLAIN " + b64("\x00alice\x00wonder")); got != "235 2.7.0 Authentication successful" || u != "alice" {
		t.Errorf("after Dovecot came back: %q (user %q)", got, u)
	}
}

// TestDovecotConcurrent: many sessions of one process share the connection; each gets its own
// answer.
func TestDovecotConcurrent(t *testing.T) {
	t.Parallel()
	users := map[string]string{}
	for i := 0; i < 20; i++ {
		users[fmt.Sprintf("user%d", i)] = fmt.Sprintf("pw%d", i)
	}
	d := sasltest.StartDovecot(t, users, "")
	b, err := newDovecot(nil, "unix:"+d.Socket)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			u, pw := fmt.Sprintf("user%d", i%20), fmt.Sprintf("pw%d", i%20)
			want := "235 2.7.0 Authentication successful"
			if i >= 20 {
				pw += "x"
				want = "535 5.7.8 Error: authentication failed: (reason unavailable)"
			}
			s, err := b.Session(Params{Service: "smtp", ClientAddr: "127.0.0.1"})
			if err != nil {
				t.Error(err)
				return
			}
			lines := []string{"AUTH LOGIN", b64(u), b64(pw)}
			replies := dialogue(s, lines, nil)
			if got := replies[len(replies)-1]; got != want || s.Username() != u {
				t.Errorf("%s: %q (user %q), want %q", u, got, s.Username(), want)
			}
		}(i)
	}
	wg.Wait()
}

// TestDovecotInet: smtpd_sasl_path = inet:127.0.0.1:PORT.
func TestDovecotInet(t *testing.T) {
	t.Parallel()
	d := sasltest.StartDovecot(t, map[string]string{"alice": "wonder"}, "")
	b, err := newDovecot(nil, fmt.Sprintf("inet:127.0.0.1:%d", d.Port))
	if err != nil {
		t.Fatal(err)
	}
	s, err := b.Session(Params{Service: "smtp", TLS: true})
	if err != nil {
		t.Fatal(err)
	}
	if r := s.Start("PLAIN", []byte("\x00alice\x00wonder"), true); r.Status != OK || s.Username() != "alice" {
		t.Errorf("inet: %+v %q", r, s.Username())
	}
}
