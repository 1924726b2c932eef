package dnstest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
)

// nsEnv names the test a re-executed test binary runs inside the namespace.
const nsEnv = "PFGO_DNSTEST_NETNS"

// DefaultHosts is the /etc/hosts text InNamespace installs when given "".
const DefaultHosts = "127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n"

// InNamespace lets a test run programs that use the C library's resolver
// (Debian's Postfix) against a test DNS server. Called at the start of a
// test, it re-runs that one test inside a private mount and network
// namespace (`unshare -mn`, root only) and returns (nil, false) in the
// calling process, which must return at once: the outcome of the inner run
// (its output included) becomes this test's outcome. In the inner run it
// brings up the loopback interface (127.0.0.1 and ::1, the whole of
// 127.0.0.0/8 usable as client addresses), bind-mounts over /etc/resolv.conf
// a file saying "nameserver 127.0.0.1" and over /etc/hosts the given text
// (DefaultHosts when ""), starts a Server on 127.0.0.1:53 (UDP and TCP) and
// returns it with true. Nothing of this is visible outside the namespace.
// Without root the test is skipped.
//
// Usage:
//
//	func TestRBLLikePostfix(t *testing.T) {
//		dns, inside := dnstest.InNamespace(t, "")
//		if !inside {
//			return
//		}
//		dns.MustAdd(t, "2.0.0.127.zen.test. A 127.0.0.2")
//		ref := flowtest.NewReference(t, "...")
//		...
//	}
//
// The test must not call t.Parallel before InNamespace. Our own daemons
// started inside the namespace find the server through /etc/resolv.conf as
// well, so one scenario can run against both systems unchanged.
func InNamespace(t *testing.T, hosts string) (*Server, bool) {
	t.Helper()
	if os.Getenv(nsEnv) == t.Name() {
		return setupNamespace(t, hosts), true
	}
	if os.Geteuid() != 0 {
		t.Skip("dnstest.InNamespace needs root to create a network namespace")
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Skip("dnstest.InNamespace needs unshare(1)")
	}
	var pat []string
	for _, part := range strings.Split(t.Name(), "/") {
		pat = append(pat, "^"+regexp.QuoteMeta(part)+"$")
	}
	args := []string{"-mn", "--propagation", "private", os.Args[0], "-test.run=" + strings.Join(pat, "/"), "-test.v", "-test.count=1", "-test.timeout=5m"}
	cmd := exec.Command(unshare, args...)
	cmd.Env = append(os.Environ(), nsEnv+"="+t.Name())
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	text := out.String()
	switch {
	case err != nil && strings.Contains(text, "unshare failed"):
		// A container without CAP_SYS_ADMIN: no namespaces to be had.
		t.Skipf("dnstest.InNamespace: cannot create namespaces here: %s", strings.TrimSpace(text))
	case err != nil:
		t.Fatalf("inside the namespace: %v\n%s", err, text)
	case strings.Contains(text, "--- SKIP: "+t.Name()):
		t.Skipf("inside the namespace:\n%s", text)
	case !strings.Contains(text, "--- PASS: "+t.Name()):
		t.Fatalf("inside the namespace the test did not pass:\n%s", text)
	}
	t.Logf("inside the namespace:\n%s", text)
	return nil, false
}

// setupNamespace prepares the namespace the test now runs in.
func setupNamespace(t *testing.T, hosts string) *Server {
	t.Helper()
	if out, err := exec.Command("ip", "link", "set", "lo", "up").CombinedOutput(); err != nil {
		t.Fatalf("ip link set lo up: %v: %s", err, out)
	}
	if hosts == "" {
		hosts = DefaultHosts
	}
	dir := t.TempDir()
	_ = os.Chmod(dir, 0o755)
	for _, f := range []struct{ name, text string }{
		{"resolv.conf", "nameserver 127.0.0.1\n"},
		{"hosts", hosts},
	} {
		p := filepath.Join(dir, f.name)
		if err := os.WriteFile(p, []byte(f.text), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Mount(p, "/etc/"+f.name, "", syscall.MS_BIND, ""); err != nil {
			t.Fatalf("bind-mounting /etc/%s: %v", f.name, err)
		}
	}
	s, err := Listen("127.0.0.1:53")
	if err != nil {
		t.Fatalf("dnstest: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}
