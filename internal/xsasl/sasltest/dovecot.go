package sasltest

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/postfix-go/postfix/internal/testutil"
)

// Dovecot is a running Dovecot with only its auth service.
type Dovecot struct {
	*Daemon
	Socket string // the auth client socket (mode 0666), for smtpd_sasl_path
	Port   int    // the same service on 127.0.0.1:Port (smtpd_sasl_path = inet:127.0.0.1:Port)
}

// StartDovecot starts Debian's Dovecot ("dovecot -F -c CONF") with no mail protocols, mechanisms
// PLAIN and LOGIN, plaintext authentication allowed, and a passwd-file passdb holding users
// (name → password, stored as {PLAIN}). socket "" puts the auth socket in Dovecot's private
// directory; otherwise it is created there (its directory must exist).
func StartDovecot(t testing.TB, users map[string]string, socket string) *Dovecot {
	t.Helper()
	needRoot(t, "/usr/sbin/dovecot")
	dir := shortDir(t, "dv")
	if socket == "" {
		socket = filepath.Join(dir, "auth")
	}
	var names []string
	for n := range users {
		names = append(names, n)
	}
	sort.Strings(names)
	var pw strings.Builder
	for _, n := range names {
		fmt.Fprintf(&pw, "%s:{PLAIN}%s\n", n, users[n])
	}
	if err := os.WriteFile(filepath.Join(dir, "users"), []byte(pw.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	port := testutil.FreePort(t)
	cf := fmt.Sprintf(`base_dir = %[1]s/base
state_dir = %[1]s/state
log_path = %[1]s/dovecot.log
protocols =
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_verbose = yes
auth_failure_delay = 0
passdb {
  driver = passwd-file
  args = scheme=PLAIN %[1]s/users
}
userdb {
  driver = static
  args = uid=65534 gid=65534 home=/nonexistent
}
service auth {
  unix_listener %[2]s {
    mode = 0666
  }
  inet_listener {
    address = 127.0.0.1
    port = %[3]d
  }
}
service anvil {
  chroot =
}
`, dir, socket, port)
	conf := filepath.Join(dir, "dovecot.conf")
	if err := os.WriteFile(conf, []byte(cf), 0o644); err != nil {
		t.Fatal(err)
	}
	d := start(t, dir, "dovecot.out", "/usr/sbin/dovecot", "-F", "-c", conf)
	d.kill = true
	dv := &Dovecot{Daemon: d, Socket: socket, Port: port}
	// Dovecot's auth process delays answers after failures from the same client address
	// (anvil's auth penalty, seconds per failure); tests fail passwords on purpose, so the
	// penalty socket is removed before the auth process starts, which turns the penalty off.
	penalty := filepath.Join(dir, "base", "anvil-auth-penalty")
	for i := 0; i < 500; i++ {
		if err := os.Remove(penalty); err == nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	waitDial(t, d, "unix", socket)
	waitDial(t, d, "tcp", fmt.Sprintf("127.0.0.1:%d", port))
	return dv
}
