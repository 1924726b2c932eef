package policy

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/postfix-go/postfix/internal/flowtest"
	"github.com/postfix-go/postfix/internal/testutil"
)

// TestPostgrey runs Debian's real postgrey (--delay=1) and greylists a
// triplet through our client: the first request is deferred with
// postgrey's text, a retry after the delay passes with the X-Greylist
// header, and a later one with DUNNO.
func TestPostgrey(t *testing.T) {
	bin := testutil.Reference(t, "/usr/sbin/postgrey")
	if os.Geteuid() != 0 {
		t.Skip("postgrey is started as root and drops to its account; tests run as root in CI")
	}
	t.Parallel()
	acct := "postgrey"
	u, err := user.Lookup(acct)
	if err != nil {
		t.Skipf("no %s account: %v", acct, err)
	}
	dir := t.TempDir()
	for d := dir; d != os.TempDir() && d != "/"; d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	db := filepath.Join(dir, "db")
	if err := os.Mkdir(db, 0o755); err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := os.Chown(db, uid, gid); err != nil {
		t.Fatal(err)
	}
	port := flowtest.FreePort(t)
	cmd := exec.Command(bin, fmt.Sprintf("--inet=127.0.0.1:%d", port), "--dbdir="+db, "--delay=1",
		"--user="+acct, "--group="+acct, "--hostname=mx.example.test")
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	flowtest.WaitPort(t, port, 20*time.Second)

	p, err := New(defaultConfig(t), fmt.Sprintf("{ inet:127.0.0.1:%d, timeout=10s }", port))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	query := func(instance string) string {
		t.Helper()
		r := &Request{ProtocolState: "RCPT", ProtocolName: "ESMTP", ClientAddress: "192.0.2.5",
			ClientName: "unknown", ReverseClientName: "unknown", HeloName: "client.example",
			Sender: "sender@example.org", Recipient: "user@example.net", Instance: instance}
		action, err := p.QueryRequest(r)
		if err != nil {
			t.Fatalf("query: %v\npostgrey said:\n%s", err, out.String())
		}
		return action
	}
	first := query("1.1")
	if first != "DEFER_IF_PERMIT 4.2.0 Greylisted, see http://postgrey.schweikert.ch/help/example.net.html" {
		t.Errorf("first request: %q", first)
	}
	if again := query("1.2"); again != first {
		t.Errorf("retry before the delay: %q", again)
	}
	time.Sleep(2100 * time.Millisecond)
	passed := query("1.3")
	if !strings.HasPrefix(passed, "PREPEND X-Greylist: delayed ") || !strings.Contains(passed, " at mx.example.test; ") {
		t.Errorf("after the delay: %q", passed)
	}
	if later := query("1.4"); later != "DUNNO" {
		t.Errorf("once passed: %q", later)
	}
}
