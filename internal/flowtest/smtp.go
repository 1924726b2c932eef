package flowtest

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/postfix-go/postfix/internal/testutil"
)

// FreePort returns a loopback port reserved for this test
// (testutil.FreePort), for the inet services a test adds to master.cf.
func FreePort(t testing.TB) int {
	t.Helper()
	return testutil.FreePort(t)
}

var placeholder = regexp.MustCompile(`\{(\w+)\}`)

// Ports replaces each {name} in text (a word in braces, no spaces) with a
// free loopback port (FreePort), the same port for the same name, and
// records it in ports (which must not be nil). Tests write master.cf lines
// such as "127.0.0.1:{smtp} inet n - n - - smtpd" this way.
func Ports(t testing.TB, text string, ports map[string]int) string {
	t.Helper()
	return placeholder.ReplaceAllStringFunc(text, func(m string) string {
		name := m[1 : len(m)-1]
		if _, ok := ports[name]; !ok {
			ports[name] = FreePort(t)
		}
		return strconv.Itoa(ports[name])
	})
}

// NewReferenceWithMaster is NewReference with extra master.cf lines.
func NewReferenceWithMaster(t *testing.T, extraMain, extraMaster string) *System {
	t.Helper()
	testutil.Reference(t, "/usr/lib/postfix/sbin/master")
	if os.Geteuid() != 0 {
		if os.Getenv("PFGO_NO_REFERENCE") != "" {
			t.Skip("Debian's Postfix needs root here and PFGO_NO_REFERENCE is set")
		}
		t.Fatal("running Debian's Postfix needs root (CI runs as root); set PFGO_NO_REFERENCE to skip")
	}
	return newSystem(t, extraMain, extraMaster, true)
}

// Postconf runs the system's postconf on its configuration directory.
func (s *System) Postconf(args ...string) testutil.Result {
	s.t.Helper()
	return s.Command("postconf", "", append([]string{"-c", s.Etc}, args...)...)
}

// Reload runs `postfix reload` and waits until master has logged the
// reload and the old processes had time to be told.
func (s *System) Reload() {
	s.t.Helper()
	before := len(s.LogLines(`postfix/master\[\d+\]: reload`))
	r := s.Command("postfix", "", "-c", s.Etc, "reload")
	if r.Exit != 0 {
		s.t.Fatalf("postfix reload: exit %d\n%s%s", r.Exit, r.Stdout, r.Stderr)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(s.LogLines(`postfix/master\[\d+\]: reload`)) <= before {
		if time.Now().After(deadline) {
			s.t.Fatalf("master logged no reload; log:\n%s", s.LogText())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// WaitPort waits until something accepts connections on 127.0.0.1:port.
func WaitPort(t testing.TB, port int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), time.Second)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing listens on 127.0.0.1:%d after %v: %v", port, timeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Swaks runs Debian's swaks with args (add "--server", "127.0.0.1:PORT")
// and returns what it printed; swaks exits non-zero when the server
// refused a step.
func Swaks(t testing.TB, args ...string) testutil.Result {
	t.Helper()
	path := testutil.Reference(t, "/usr/bin/swaks")
	cmd := exec.Command(path, args...)
	cmd.Env = append(os.Environ(), "LANG=C", "LC_ALL=C", "TZ=UTC")
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("running swaks: %v", err)
		}
		code = ee.ExitCode()
	}
	return testutil.Result{Stdout: so.String(), Stderr: se.String(), Exit: code, Pid: cmd.Process.Pid}
}

// SwaksReplies returns the server's lines from swaks output (those swaks
// marks "<-", "<~", "<**" or "<~*"), each without the mark, in order.
func SwaksReplies(out string) []string {
	var r []string
	for _, l := range strings.Split(out, "\n") {
		l = strings.TrimRight(l, "\r")
		for _, mark := range []string{"<** ", "<~* ", "<-  ", "<~  "} {
			if strings.HasPrefix(l, mark) {
				r = append(r, strings.TrimLeft(l[len(mark):], " "))
				break
			}
		}
	}
	return r
}
