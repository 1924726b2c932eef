// Package sasltest starts real SASL authentication daemons for tests: Debian's saslauthd
// (sasl2-bin) checking passwords of throw-away system accounts, and Debian's Dovecot
// (dovecot-core) with only its auth service, checking a passwd-file.
//
// Everything needs root (useradd, /etc/shadow, Dovecot's privilege separation); each function
// skips the test with t.Skip when not run as root or when the daemon is not installed. Daemons
// and accounts are removed when the test ends (t.Cleanup).
//
// API:
//
//	name, pass := sasltest.AddUser(t)          // a new system account with a random password
//	s := sasltest.StartSaslauthd(t, "")        // saslauthd -a shadow; s.Socket is its "mux" socket
//	s := sasltest.StartSaslauthd(t, dir)       // the same, listening in dir (e.g. the chroot's
//	                                           // QUEUE/var/run/saslauthd); dir is created
//	p := sasltest.WriteSmtpdConf(t, dir, s.Socket, "plain login") // dir/smtpd.conf for smtpd
//	s.Stop()                                   // "saslauthd down" (idempotent)
//	d := sasltest.StartDovecot(t, map[string]string{"alice": "secret"}, "")
//	                                           // d.Socket: unix auth socket (mode 0666),
//	                                           // d.Port: the same service on 127.0.0.1:d.Port
//	d.Stop()
//
// The socket directories are made traversable (0755) so a daemon that dropped privileges to
// mail_owner can reach them; their paths are kept short for the 108-byte limit of UNIX socket
// names.
package sasltest

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// needRoot skips the test unless it runs as root and prog exists.
func needRoot(t testing.TB, prog string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("sasltest: needs root (system accounts, /etc/shadow, Dovecot)")
	}
	if _, err := os.Stat(prog); err != nil {
		t.Skipf("sasltest: %s is not installed", prog)
	}
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// accountMu serializes useradd/userdel inside one test process (they lock /etc/passwd).
var accountMu sync.Mutex

// runRetry runs a shadow-utils command, retrying while another process holds the passwd lock.
func runRetry(stdin string, name string, args ...string) error {
	accountMu.Lock()
	defer accountMu.Unlock()
	var err error
	var out []byte
	for i := 0; i < 50; i++ {
		cmd := exec.Command(name, args...)
		cmd.Stdin = strings.NewReader(stdin)
		out, err = cmd.CombinedOutput()
		if err == nil {
			return nil
		}
		if !strings.Contains(string(out), "lock") {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
}

// AddUser creates a system account (no home directory, no login shell) with a random password
// and returns its name and password. The account is deleted when the test ends.
func AddUser(t testing.TB) (name, password string) {
	t.Helper()
	needRoot(t, "/usr/sbin/useradd")
	name = "pfgo" + randHex(5)
	password = "Pw-" + randHex(6)
	if err := runRetry("", "/usr/sbin/useradd", "-M", "-N", "-g", "nogroup", "-s", "/usr/sbin/nologin", name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := runRetry("", "/usr/sbin/userdel", name); err != nil {
			t.Log(err)
		}
	})
	if err := runRetry(name+":"+password+"\n", "/usr/sbin/chpasswd"); err != nil {
		t.Fatal(err)
	}
	return name, password
}

// shortDir makes a directory with a short path under /tmp, mode 0755, removed at the end.
func shortDir(t testing.TB, prefix string) string {
	t.Helper()
	d, err := os.MkdirTemp("", prefix)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(d, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// Daemon is a started daemon process.
type Daemon struct {
	Dir  string // its private directory
	Log  string // where its output goes
	cmd  *exec.Cmd
	kill bool // stop with SIGKILL
	once sync.Once
	done chan struct{}
}

// Stop terminates the daemon and waits for it; calling it again does nothing.
func (d *Daemon) Stop() {
	d.once.Do(func() {
		// The whole process group. Dovecot's master takes seconds to shut down on SIGTERM,
		// so it gets SIGKILL at once; it keeps no state a test needs.
		sig := syscall.SIGTERM
		if d.kill {
			sig = syscall.SIGKILL
		}
		_ = syscall.Kill(-d.cmd.Process.Pid, sig)
		select {
		case <-d.done:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-d.cmd.Process.Pid, syscall.SIGKILL)
			<-d.done
		}
	})
}

func start(t testing.TB, dir, logName string, argv ...string) *Daemon {
	t.Helper()
	logPath := filepath.Join(dir, logName)
	lf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer lf.Close()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = lf, lf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	d := &Daemon{Dir: dir, Log: logPath, cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(d.done) }()
	t.Cleanup(d.Stop)
	return d
}

// waitDial waits until network/addr accepts connections or the daemon exits.
func waitDial(t testing.TB, d *Daemon, network, addr string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial(network, addr)
		if err == nil {
			c.Close()
			return
		}
		select {
		case <-d.done:
			log, _ := os.ReadFile(d.Log)
			t.Fatalf("sasltest: %s exited before listening on %s:\n%s", d.cmd.Path, addr, log)
		default:
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(d.Log)
			t.Fatalf("sasltest: %s does not listen on %s: %v\n%s", d.cmd.Path, addr, err, log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
