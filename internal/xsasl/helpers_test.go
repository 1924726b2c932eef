package xsasl

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/postfix-go/postfix/internal/smtpread"
)

// fakeSaslauthd is an in-process saslauthd: it records each request and answers "OK" when the
// password is in good, "NO authentication failed" otherwise.
type fakeSaslauthd struct {
	Socket string
	mu     sync.Mutex
	reqs   []SaslauthdRequest
	good   map[string]bool
}

func startFakeSaslauthd(t testing.TB, goodPasswords ...string) *fakeSaslauthd {
	t.Helper()
	dir, err := os.MkdirTemp("", "fsd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	f := &fakeSaslauthd{Socket: filepath.Join(dir, "mux"), good: map[string]bool{}}
	for _, p := range goodPasswords {
		f.good[p] = true
	}
	l, err := net.Listen("unix", f.Socket)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(f.Socket, 0o777); err != nil {
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
				r, err := DecodeSaslauthd(c)
				if err != nil {
					return
				}
				f.mu.Lock()
				f.reqs = append(f.reqs, r)
				ok := f.good[r.Password]
				f.mu.Unlock()
				rep := "NO authentication failed"
				if ok {
					rep = "OK"
				}
				_, _ = c.Write(append(binary.BigEndian.AppendUint16(nil, uint16(len(rep))), rep...))
			}(c)
		}
	}()
	return f
}

// requests returns the requests so far as "user|password|service|realm" strings and forgets them.
func (f *fakeSaslauthd) requests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, r := range f.reqs {
		out = append(out, fmt.Sprintf("%q|%q|%q|%q", r.User, r.Password, r.Service, r.Realm))
	}
	f.reqs = nil
	return out
}

// logCapture collects warnings in the order they are logged.
type logCapture struct {
	mu    sync.Mutex
	lines []string
}

func (l *logCapture) warn(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, "warning: "+fmt.Sprintf(format, args...))
}

func (l *logCapture) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.lines
	l.lines = nil
	return out
}

// dialogue runs AUTH dialogues the way Postfix's smtpd drives its SASL backend: lines are what
// the client sends ("AUTH MECH [initial]", then responses; another AUTH after a failure); it
// returns the server's reply lines. The log lines smtpd adds for a failure or an abort go to
// cap (when not nil), after whatever the backend logged there, in the order they happen.
func dialogue(s Session, lines []string, cap *logCapture) (replies []string) {
	logf := func(format string, args ...any) {
		if cap != nil {
			cap.warn(format, args...)
		}
	}
	var mech string
	more := false
	finish := func(r Result) {
		if r.Status == More {
			more = true
			replies = append(replies, "334 "+base64.StdEncoding.EncodeToString(r.Challenge))
			return
		}
		more = false
		replies = append(replies, Reply(r))
		if r.Status != OK {
			u := s.Username()
			if u == "" {
				u = "(unavailable)"
			}
			logf("localhost[127.0.0.1]: SASL %s authentication failed: %s, sasl_username=%s", mech, r.Reason, u)
		}
	}
	for _, line := range lines {
		if more {
			if line == "*" {
				more = false
				replies = append(replies, "501 5.7.0 Authentication aborted")
				logf("localhost[127.0.0.1]: SASL %s authentication aborted", mech)
				continue
			}
			b, bad := Decode(s, line, false)
			if bad != nil {
				finish(*bad)
				continue
			}
			finish(s.Next(b))
			continue
		}
		f := smtpread.Fields(line) // as smtpd splits the AUTH command
		if len(f) < 2 || !strings.EqualFold(f[0], "AUTH") {
			replies = append(replies, "500 5.5.2 Error: command not recognized")
			continue
		}
		mech = f[1]
		if len(f) == 3 {
			b, bad := Decode(s, f[2], true)
			if bad != nil {
				finish(*bad)
				continue
			}
			finish(s.Start(mech, b, true))
		} else {
			finish(s.Start(mech, nil, false))
		}
	}
	return replies
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
