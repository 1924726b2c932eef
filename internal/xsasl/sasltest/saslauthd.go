package sasltest

import (
	"os"
	"path/filepath"
	"testing"
)

// Saslauthd is a running saslauthd.
type Saslauthd struct {
	*Daemon
	Socket string // the "mux" socket smtpd.conf's saslauthd_path names
}

// StartSaslauthd starts Debian's saslauthd checking passwords against /etc/shadow
// ("saslauthd -a shadow -m DIR -n 1 -d"), listening on DIR/mux. dir "" means a new private
// directory; otherwise dir is created (mode 0755) and used.
func StartSaslauthd(t testing.TB, dir string) *Saslauthd {
	t.Helper()
	needRoot(t, "/usr/sbin/saslauthd")
	if dir == "" {
		dir = shortDir(t, "sasd")
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	logDir := shortDir(t, "sasdlog")
	d := start(t, logDir, "saslauthd.log", "/usr/sbin/saslauthd", "-a", "shadow", "-m", dir, "-n", "1", "-d")
	s := &Saslauthd{Daemon: d, Socket: filepath.Join(dir, "mux")}
	waitDial(t, d, "unix", s.Socket)
	return s
}

// WriteSmtpdConf writes dir/smtpd.conf as the guides do (pwcheck_method: saslauthd) with
// saslauthd_path set to socket and mech_list (when not "") and returns its path. Use dir as
// cyrus_sasl_config_path.
func WriteSmtpdConf(t testing.TB, dir, socket, mechList string) string {
	t.Helper()
	text := "pwcheck_method: saslauthd\n"
	if mechList != "" {
		text += "mech_list: " + mechList + "\n"
	}
	if socket != "" {
		text += "saslauthd_path: " + socket + "\n"
	}
	p := filepath.Join(dir, "smtpd.conf")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
