package smtpd

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/postfix-go/postfix/internal/flowtest"
	"github.com/postfix-go/postfix/internal/testutil"
)

// system is a running mail system with an smtpd listening on a loopback
// port.
type system struct {
	*flowtest.System
	addr string
	t    string // scratch space for a test's result
}

// freePort returns a loopback port nobody listens on.
func freePort(t *testing.T) int {
	t.Helper()
	return testutil.FreePort(t)
}

// startSystem starts ours (ref false) or Debian's Postfix with an smtpd
// service on a free loopback port; extraMaster lines are added after it
// ("PORT" in them is replaced by the port).
func startSystem(t *testing.T, ref bool, extraMain, service string, setup ...func(*flowtest.System)) *system {
	t.Helper()
	port := freePort(t)
	if service == "" {
		service = "inet n - n - - smtpd"
	}
	line := fmt.Sprintf("127.0.0.1:%d %s\n", port, service)
	var s *flowtest.System
	if ref {
		s = flowtest.NewReference(t, extraMain)
		// Debian's smtpd needs tlsmgr for STARTTLS (and proxymap and
		// anvil, which devconf may already list).
		old, err := os.ReadFile(filepath.Join(s.Etc, "master.cf"))
		if err != nil {
			t.Fatal(err)
		}
		for _, svc := range []string{"proxymap unix - - n - - proxymap", "anvil unix - - n - 1 anvil", "tlsmgr unix - - n 1000? 1 tlsmgr"} {
			if !strings.Contains(string(old), "\n"+strings.Fields(svc)[0]+" ") {
				line += svc + "\n"
			}
		}
		f, err := os.OpenFile(filepath.Join(s.Etc, "master.cf"), os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString(line)
		f.Close()
		s.Backdate()
	} else {
		s = flowtest.NewWithMaster(t, extraMain, line)
	}
	for _, f := range setup {
		f(s)
	}
	s.Start()
	sys := &system{System: s, addr: fmt.Sprintf("127.0.0.1:%d", port)}
	// Wait until the service accepts connections.
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", sys.addr)
		if err == nil {
			c.Close()
			// Let that session end before the test's own begin.
			s.WaitLog(`smtpd\[.*disconnect from`, 10*time.Second)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("smtpd on %s never listened:\n%s", sys.addr, s.LogText())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return sys
}

// startPair starts our system and Debian's with the same configuration,
// in parallel.
func startPair(t *testing.T, extraMain, service string, setup ...func(*flowtest.System)) (ours, ref *system) {
	t.Helper()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		ours = startSystem(t, false, extraMain, service, setup...)
	}()
	ref = startSystem(t, true, extraMain, service, setup...)
	wg.Wait()
	if ours == nil {
		t.FailNow()
	}
	return ours, ref
}

// client is a raw SMTP client.
type client struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

func dial(t *testing.T, addr string) *client {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &client{t: t, c: c, br: bufio.NewReader(c)}
}

// reply reads one (possibly multi-line) reply; "" at end of file or
// after timeout.
func (c *client) reply(timeout time.Duration) string {
	var b strings.Builder
	for {
		c.c.SetReadDeadline(time.Now().Add(timeout))
		l, err := c.br.ReadString('\n')
		b.WriteString(l)
		if err != nil {
			if b.Len() == 0 {
				return "<" + errText(err) + ">\n"
			}
			return b.String() + "<" + errText(err) + ">\n"
		}
		if len(l) < 4 || l[3] != '-' {
			return b.String()
		}
	}
}

func errText(err error) string {
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		return "no reply"
	}
	return "closed"
}

func (c *client) send(s string) {
	c.c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.c.Write([]byte(s)); err != nil {
		c.t.Logf("write: %v", err)
	}
}

// run plays a dialogue and returns the transcript. Each step is one
// write; a step starting with "!" is written raw ("\r\n" escapes allowed)
// followed by reading "!N" replies... kept simple: steps ending in "\r\n"
// read one reply per CRLF-terminated command unless in DATA content.
func run(t *testing.T, addr string, steps []step) string {
	c := dial(t, addr)
	defer c.c.Close()
	var b strings.Builder
	b.WriteString(c.reply(5 * time.Second))
	for _, s := range steps {
		c.send(s.send)
		fmt.Fprintf(&b, ">> %q\n", s.send)
		for i := 0; i < s.replies; i++ {
			b.WriteString(c.reply(s.wait()))
		}
	}
	return b.String()
}

// runSession is run followed by waiting for the session's disconnect
// line, so that the log lines of consecutive sessions do not interleave.
func runSession(t *testing.T, s *system, steps []step) string {
	n := len(s.LogLines(`smtpd\[.*disconnect from`))
	out := run(t, s.addr, steps)
	deadline := time.Now().Add(5 * time.Second)
	for len(s.LogLines(`smtpd\[.*disconnect from`)) <= n && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	return out
}

// step is one write and the number of replies to read after it.
type step struct {
	send    string
	replies int
	timeout time.Duration
}

func (s step) wait() time.Duration {
	if s.timeout > 0 {
		return s.timeout
	}
	return 5 * time.Second
}

// cmds makes one step per command line, each expecting one reply.
func cmds(lines ...string) []step {
	var st []step
	for _, l := range lines {
		st = append(st, step{send: l + "\r\n", replies: 1})
	}
	return st
}

var masks = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`queued as [0-9A-Za-z]+`), "queued as ID"},
	{regexp.MustCompile(`\b[0-9A-F]{10,12}\b`), "ID"},
	{regexp.MustCompile(`\[\d+\]:`), "[PID]:"},
	{regexp.MustCompile(`^\w{3} \d\d \d\d:\d\d:\d\d `), ""},
	{regexp.MustCompile(`127\.0\.0\.1:\d+`), "127.0.0.1:PORT"},
}

// mask hides what differs between two runs (queue IDs, pids, times).
func mask(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		for _, m := range masks {
			l = m.re.ReplaceAllString(l, m.with)
		}
		out = append(out, l)
	}
	return strings.Join(out, "\n")
}

// smtpdLog returns our or Debian's smtpd log lines, masked.
func smtpdLog(s *system) string {
	var out []string
	for _, l := range s.LogLines(`postfix/smtpd\[`) {
		out = append(out, mask(l))
	}
	return strings.Join(out, "\n")
}

// compare runs the same dialogue against both and fails on a difference.
func compare(t *testing.T, ours, ref *system, steps []step) {
	t.Helper()
	var got, want string
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		want = mask(runSession(t, ref, steps))
	}()
	got = mask(runSession(t, ours, steps))
	wg.Wait()
	if got != want {
		t.Errorf("dialogue differs\n--- ours:\n%s\n--- Postfix:\n%s", got, want)
	}
}
