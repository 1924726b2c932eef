package xsasl

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeDovecot is an in-process Dovecot auth server: it sends hello, then answers each AUTH or
// CONT line with answer(line, id) ("" closes the connection).
func fakeDovecot(t *testing.T, hello string, answer func(line, id string) string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "fdv")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "auth")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn) {
				defer c.Close()
				br := bufio.NewReader(c)
				if _, err := c.Write([]byte(hello)); err != nil {
					return
				}
				for {
					line, err := br.ReadString('\n')
					if err != nil {
						return
					}
					f := strings.Split(strings.TrimSuffix(line, "\n"), "\t")
					if f[0] != "AUTH" && f[0] != "CONT" {
						continue
					}
					a := answer(line, f[1])
					if a == "" {
						return
					}
					if _, err := c.Write([]byte(a)); err != nil {
						return
					}
				}
			}(c)
		}
	}()
	return sock
}

const fakeHello = "VERSION\t1\t2\nMECH\tPLAIN\tplaintext\nMECH\tLOGIN\tplaintext\nMECH\tCRAM-MD5\tdictionary\tactive\nSPID\t1\nCUID\t1\nCOOKIE\tx\nDONE\n"

func TestDovecotFakeReplies(t *testing.T) {
	t.Parallel()
	sock := fakeDovecot(t, fakeHello, func(line, id string) string {
		switch {
		case strings.Contains(line, "resp="+b64("temp")):
			return fmt.Sprintf("FAIL\t%s\tuser=x\treason=try\x01tlater\ttemp\n", id)
		case strings.Contains(line, "resp="+b64("badcont")):
			return fmt.Sprintf("CONT\t%s\t!!!\n", id)
		case strings.Contains(line, "resp="+b64("hangup")):
			return ""
		case strings.HasPrefix(line, "CONT\t"):
			return fmt.Sprintf("OK\t%s\tuser=cram\n", id)
		case strings.Contains(line, "\tCRAM-MD5\t"):
			return fmt.Sprintf("CONT\t%s\t%s\n", id, b64("<1.2@host>"))
		}
		return fmt.Sprintf("FAIL\t%s\n", id)
	})
	cap := &logCapture{}
	b, err := newDovecot(nil, sock)
	if err != nil {
		t.Fatal(err)
	}
	b.warn = cap.warn
	sess := func(opts ...string) Session {
		s, err := b.Session(Params{Service: "smtp", SecurityOptions: opts})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	if got := strings.Join(sess("noanonymous").Mechanisms(), " "); got != "PLAIN LOGIN CRAM-MD5" {
		t.Errorf("mechanisms %q", got)
	}
	if got := strings.Join(sess("noplaintext").Mechanisms(), " "); got != "CRAM-MD5" {
		t.Errorf("noplaintext: %q", got)
	}
	s := sess()
	if r := s.Start("PLAIN", []byte("temp"), true); r.Status != Temp || r.Reason != "try\tlater" || s.Username() != "x" {
		t.Errorf("temp: %+v %q", r, s.Username())
	}
	if r := s.Start("PLAIN", []byte("badcont"), true); Reply(r) != "454 4.7.0 Temporary authentication failure: Authentication backend error" {
		t.Errorf("bad CONT: %+v", r)
	}
	if r := s.Start("CRAM-MD5", nil, false); r.Status != More || string(r.Challenge) != "<1.2@host>" {
		t.Errorf("CRAM-MD5: %+v", r)
	}
	if r := s.Next([]byte("cram 0123")); r.Status != OK || s.Username() != "cram" {
		t.Errorf("CRAM-MD5 response: %+v %q", r, s.Username())
	}
	if r := s.Start("PLAIN", []byte("hangup"), true); Reply(r) != "454 4.7.0 Temporary authentication failure: Connection lost to authentication server" {
		t.Errorf("hangup: %+v", r)
	}
	// The next request reconnects.
	if r := s.Start("PLAIN", []byte("x"), true); r.Status != Fail || r.Reason != "(reason unavailable)" || s.Username() != "" {
		t.Errorf("after reconnect: %+v %q", r, s.Username())
	}
	if got := cap.take(); len(got) != 0 {
		t.Errorf("warnings %q", got)
	}
}

func TestDovecotFakeHandshake(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ hello, warn string }{
		{"VERSION\t2\t0\nMECH\tPLAIN\nDONE\n", "warning: SASL: bad major version: 2"},
		{"MECH\tPLAIN\nDONE\n", "warning: SASL: no VERSION line from the authentication server"},
		{"VERSION\t1\t2\nDONE\n", ""},
	} {
		sock := fakeDovecot(t, tc.hello, func(string, string) string { return "" })
		cap := &logCapture{}
		b, err := newDovecot(nil, "unix:"+sock)
		if err != nil {
			t.Fatal(err)
		}
		b.warn = cap.warn
		if _, err := b.Session(Params{}); err != ErrNoMechanisms {
			t.Errorf("%q: %v", tc.hello, err)
		}
		if got := strings.Join(cap.take(), "\n"); got != tc.warn {
			t.Errorf("%q: warnings %q, want %q", tc.hello, got, tc.warn)
		}
	}
	if _, err := newDovecot(nil, "inet:nohostport"); err == nil {
		t.Error("inet:nohostport accepted")
	}
}
