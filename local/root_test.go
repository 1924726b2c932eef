package local

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// rootChildEnv marks the child process of TestRootDeliveries.
const rootChildEnv = "LOCAL_TEST_ROOT_CHILD"

// TestRootDeliveries checks the privileged code paths: mailboxes,
// .forward files and commands as the recipient, alias commands as
// default_privs, and the return to mail_owner after each delivery. The
// agent changes the ids of its whole process, so the work runs in a child
// process of the test binary that runs only this test.
func TestRootDeliveries(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("per-user delivery needs root (tests run as root in CI)")
	}
	if _, err := user.Lookup("postfix"); err != nil {
		t.Skip("no postfix user (mail_owner): " + err.Error())
	}
	if os.Getenv(rootChildEnv) == "" {
		t.Parallel()
		cmd := exec.Command(os.Args[0], "-test.run=^TestRootDeliveries$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), rootChildEnv+"=1")
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "--- PASS: TestRootDeliveries") {
			t.Fatalf("child: %v\n%s", err, out)
		}
		return
	}
	rootDeliveries(t)
}

func rootDeliveries(t *testing.T) {
	e := newEnv(t)
	// Let the test users reach their homes and the spool.
	for d := e.dir; d != "/" && d != os.TempDir(); d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(e.spool, 0o1777); err != nil {
		t.Fatal(err)
	}
	pf, _ := user.Lookup("postfix")
	nb, err := user.Lookup("nobody")
	if err != nil {
		t.Skip("no nobody user")
	}
	pfUID, _ := strconv.Atoi(pf.Uid)
	pfGID, _ := strconv.Atoi(pf.Gid)
	// The password file gains the system's nobody and postfix.
	pwFile := e.agent.passwdFile
	b, _ := os.ReadFile(pwFile)
	b = append(b, fmt.Sprintf("nobody:x:%s:%s::/nonexistent:/usr/sbin/nologin\npostfix:x:%s:%s::/var/spool/postfix:/usr/sbin/nologin\n",
		nb.Uid, nb.Gid, pf.Uid, pf.Gid)...)
	if err := os.WriteFile(pwFile, b, 0o644); err != nil {
		t.Fatal(err)
	}
	for i, u := range testUsers {
		if err := os.Chown(e.home(u), 40001+i, 40001+i); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(e.dir, "out")
	if err := os.MkdirAll(out, 0o1777); err != nil {
		t.Fatal(err)
	}
	_ = os.Chmod(out, 0o1777)
	bobFwd := e.write(filepath.Join(e.home("bob"), ".forward"), "\"|id -u > "+e.home("bob")+"/uid.out\", "+e.home("bob")+"/fwd.mbox\n", 0o644)
	carolFwd := e.write(filepath.Join(e.home("carol"), ".forward"), "bob\n", 0o644)
	_ = os.Chown(bobFwd, 40002, 40002)
	_ = os.Chown(carolFwd, 40001, 40001) // wrong owner: ignored
	e.aliases("cmd: \"|id -u > " + out + "/alias.uid\"\n")

	a, err := newAgent(e.cfg, "local", true, pwFile)
	if err != nil {
		t.Fatal(err)
	}
	a.openCleanup, a.resolver, a.pass = e.agent.openCleanup, e.agent.resolver, e.agent.pass
	e.agent = a
	if err := filepath.Walk(filepath.Join(e.dir, "queue"), func(p string, _ os.FileInfo, err error) error {
		if err == nil {
			err = os.Lchown(p, pfUID, pfGID)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	m := e.queueMessage("s@example.org", "Subject: root\n\nx\n", "alice@host.example.com", "bob@host.example.com", "carol@host.example.com", "cmd@host.example.com")
	if err := filepath.Walk(filepath.Join(e.dir, "queue"), func(p string, _ os.FileInfo, err error) error {
		if err == nil {
			err = os.Lchown(p, pfUID, pfGID)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	_ = a.dropToOwner()
	m.status = a.Deliver(m.req)
	euid := syscall.Geteuid()
	a.setEugid(0, 0)
	if euid != pfUID {
		t.Errorf("euid after delivery %d, want mail_owner %d", euid, pfUID)
	}
	if m.status != 0 || e.marks(m) != "DDDD" {
		t.Fatalf("status %d marks %q; log %q", m.status, e.marks(m), logLines(t, m.id))
	}
	owner := func(p string) string {
		var st syscall.Stat_t
		if err := syscall.Stat(p, &st); err != nil {
			return err.Error()
		}
		return fmt.Sprintf("%d/%d %o", st.Uid, st.Gid, st.Mode&0o777)
	}
	read := func(p string) string { b, _ := os.ReadFile(p); return strings.TrimSpace(string(b)) }
	for _, c := range []struct{ what, got, want string }{
		{"alice's mailbox", owner(filepath.Join(e.spool, "alice")), "40001/40001 600"},
		{"carol's mailbox", owner(filepath.Join(e.spool, "carol")), "40003/40003 600"},
		{"bob's .forward file", owner(filepath.Join(e.home("bob"), "fwd.mbox")), "40002/40002 600"},
		{"bob's .forward command uid", read(filepath.Join(e.home("bob"), "uid.out")), "40002"},
		{"alias command uid (default_privs)", read(filepath.Join(out, "alias.uid")), nb.Uid},
	} {
		if c.got != c.want {
			t.Errorf("%s: %q, want %q", c.what, c.got, c.want)
		}
	}
	if w := logLines(t, "warning: file "+carolFwd+" has bad owner uid 40001"); len(w) == 0 {
		t.Errorf("no warning about carol's .forward")
	}
}
