package local

import (
	"bytes"
	"fmt"
	"github.com/postfix-go/postfix/internal/bouncelog"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/postfix-go/postfix/internal/deliver"
	"github.com/postfix-go/postfix/internal/dsn"
	"github.com/postfix-go/postfix/internal/queue"
	"github.com/postfix-go/postfix/internal/testutil"
)

// refSystem is a private mail system for agent binaries (Debian's or
// ours) run the way master runs them: flow pipes on descriptors 3 and 4,
// the status pipe on 5, the listening socket on 6. Debian's daemons send
// their log lines to public/postlog when maillog_file is set; the test
// collects them there, and reads ours from maillog_file.
type refSystem struct {
	dir, queueDir string
	extraFlags    int // added to the flags of delivery requests
	mu            sync.Mutex
	logs          []string
}

// agentProc is one running agent.
type agentProc struct {
	sys    *refSystem
	sock   string
	cmd    *exec.Cmd
	stderr bytes.Buffer
}

// mailSystem makes a private configuration under a new directory: a
// queue owned by the postfix user, a world-writable spool and output
// directory, and a root-owned alias table (texthash syntax).
func mailSystem(t *testing.T, aliases string, extraMain ...string) *refSystem {
	t.Helper()
	dir := t.TempDir()
	// Deliveries run as nobody, who must reach the spool and out/.
	for _, d := range []string{dir, filepath.Dir(dir)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	sys := &refSystem{dir: dir, queueDir: filepath.Join(dir, "queue")}
	for _, d := range []string{"etc", "queue/public", "queue/private", "queue/pid", "data", "spool", "out"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{"spool", "out"} {
		if err := os.Chmod(filepath.Join(dir, d), 0o1777); err != nil {
			t.Fatal(err)
		}
	}
	mainCF := "compatibility_level = 3.6\n" +
		"queue_directory = " + dir + "/queue\n" +
		"data_directory = " + dir + "/data\n" +
		"myhostname = host.example.com\nmydomain = example.com\nmydestination = host.example.com\n" +
		"inet_interfaces = loopback-only\nbiff = no\n" +
		"maillog_file = " + dir + "/maillog\nmaillog_file_prefixes = " + dir + "\n" +
		"alias_maps = texthash:" + dir + "/etc/aliases\n" +
		"mail_spool_directory = " + dir + "/spool\n" +
		strings.ReplaceAll(strings.Join(extraMain, ""), "DIR", dir)
	old := time.Now().Add(-time.Hour)
	for f, text := range map[string]string{"main.cf": mainCF, "master.cf": "", "aliases": strings.ReplaceAll(aliases, "DIR", dir)} {
		p := filepath.Join(dir, "etc", f)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
	logSock, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: filepath.Join(sys.queueDir, "public", "postlog"), Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { logSock.Close() })
	go func() {
		buf := make([]byte, 65536)
		for {
			n, _, err := logSock.ReadFrom(buf)
			if err != nil {
				return
			}
			sys.mu.Lock()
			sys.logs = append(sys.logs, strings.TrimRight(string(buf[:n]), "\n"))
			sys.mu.Unlock()
		}
	}()
	return sys
}

// start runs the agent at path as service svc, listening on sock.
func (sys *refSystem) start(t *testing.T, path, svc, sock string, flags ...string) *agentProc {
	t.Helper()
	p := &agentProc{sys: sys, sock: sock}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	lnFile, _ := ln.File()
	flowR, flowW, _ := os.Pipe()
	// Flow-control tokens, as master hands them out (cleanup waits for one
	// per message).
	_, _ = flowW.Write(bytes.Repeat([]byte{'x'}, 4096))
	// The status channel: master uses a socketpair.
	pair, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	statusR, statusW := os.NewFile(uintptr(pair[0]), "status"), os.NewFile(uintptr(pair[1]), "status")
	if len(flags) == 0 {
		flags = []string{"-l"}
	}
	p.cmd = exec.Command(path, append(flags, "-n", svc, "-t", "unix")...)
	p.cmd.Args[0] = filepath.Base(path)
	p.cmd.Dir = sys.dir
	p.cmd.Env = []string{"MAIL_CONFIG=" + filepath.Join(sys.dir, "etc"), "PATH=/usr/bin:/bin"}
	p.cmd.ExtraFiles = []*os.File{flowR, flowW, statusW, lnFile}
	p.cmd.Stderr = &p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for _, f := range []*os.File{flowR, flowW, statusW, lnFile} {
		f.Close()
	}
	ln.Close()
	t.Cleanup(func() {
		statusR.Close()
		done := make(chan error, 1)
		go func() { done <- p.cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = p.cmd.Process.Kill()
			<-done
		}
	})
	return p
}

// lines returns the log texts that contain sub.
func (sys *refSystem) lines(sub string) []string {
	sys.mu.Lock()
	all := append([]string(nil), sys.logs...)
	sys.mu.Unlock()
	if b, err := os.ReadFile(filepath.Join(sys.dir, "maillog")); err == nil {
		all = append(all, strings.Split(string(b), "\n")...)
	}
	var out []string
	for _, l := range all {
		if _, text, ok := strings.Cut(l, "]: "); ok && strings.Contains(text, sub) {
			out = append(out, text)
		}
	}
	return out
}

// deliverVia queues a message in the mail system of p and sends one
// delivery request per recipient list to the agent.
func deliverVia(t *testing.T, p *agentProc, content string, rcpts ...string) (string, string) {
	id, marks, st := deliverStatus(t, p, content, rcpts...)
	if st != deliver.StatFinal {
		t.Fatalf("delivery via %s: status %d; log:\n%s", p.cmd.Path, st, strings.Join(p.sys.lines(""), "\n"))
	}
	return id, marks
}

// deliverStatus is deliverVia that also returns the request status.
func deliverStatus(t *testing.T, p *agentProc, content string, rcpts ...string) (string, string, int) {
	t.Helper()
	l := queue.Layout{Dir: p.sys.queueDir, Hashed: []string{"deferred", "defer"}, Depth: 1}
	if err := l.MakeDirs(); err != nil {
		t.Fatal(err)
	}
	m := &queue.Message{Arrival: time.Now().Add(-time.Second), Sender: "sender@example.org", RewriteContext: "local", Content: []byte(content)}
	for _, r := range rcpts {
		orig, addr, _ := strings.Cut(r, ">")
		m.Recipients = append(m.Recipients, queue.Recipient{Address: addr, Orig: orig})
	}
	id, err := l.WriteMessage(queue.Active, m)
	if err != nil {
		t.Fatal(err)
	}
	offs, size := recordOffsets(t, l.Path(queue.Active, id))
	pf, err := user.Lookup("postfix")
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(pf.Uid)
	gid, _ := strconv.Atoi(pf.Gid)
	_ = filepath.Walk(p.sys.queueDir, func(path string, _ os.FileInfo, err error) error {
		if err == nil {
			err = os.Lchown(path, uid, gid)
		}
		return err
	})
	req := &deliver.Request{Flags: deliver.FlagDefault | p.sys.extraFlags, QueueName: queue.Active, QueueID: id,
		DataOffset: size.DataOffset, DataSize: size.ContLength, Nexthop: "host.example.com",
		Sender: m.Sender, Arrival: m.Arrival, ActiveAt: time.Now(), LogIdent: id, RewriteContext: "local",
		ClientName: "client.example.org", ClientAddr: "192.0.2.7", ClientProto: "ESMTP", HeloName: "helo.example.org"}
	for i, rc := range m.Recipients {
		req.Recipients = append(req.Recipients, dsn.Recipient{Address: rc.Address, Orig: rc.Orig, Offset: offs[i]})
	}
	nc, err := net.Dial("unix", p.sock)
	if err != nil {
		// The agent is gone or broken: stop it, so that its standard
		// error is complete (and no longer written) when it is read.
		_ = p.cmd.Process.Kill()
		werr := p.cmd.Wait()
		t.Fatalf("%v; agent: %v; stderr: %s; log:\n%s", err, werr, p.stderr.String(), strings.Join(p.sys.lines(""), "\n"))
	}
	_ = nc.SetDeadline(time.Now().Add(30 * time.Second))
	c, err := deliver.NewConn(nc, "private/local", 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	type reply struct {
		st  int
		err error
	}
	done := make(chan reply, 1)
	go func() {
		st, err := c.Deliver(req)
		done <- reply{st, err}
	}()
	var rep reply
	select {
	case rep = <-done:
	case <-time.After(30 * time.Second):
		nc.Close()
		t.Fatalf("no reply from %s; log:\n%s", p.cmd.Path, strings.Join(p.sys.lines(""), "\n"))
	}
	st, err := rep.st, rep.err
	if err != nil {
		t.Fatalf("delivery via %s: %v; log:\n%s", p.cmd.Path, err, strings.Join(p.sys.lines(""), "\n"))
	}
	b, _ := os.ReadFile(l.Path(queue.Active, id))
	var marks []byte
	for _, o := range offs {
		marks = append(marks, b[o])
	}
	return id, string(marks), st
}

var fromLineRE = regexp.MustCompile(`(?m)^(From \S+  )[A-Z][a-z]{2} [A-Z][a-z]{2} [ 0-9]\d \d\d:\d\d:\d\d \d{4}$`)

// TestReferenceLocal delivers the same message through Debian's local
// and ours, as root, to a system user's spool mailbox and through an
// alias to that user, a command run with default_privs and a file; the
// mailbox, the file, the command's environment, the recipient records and
// the log lines must match.
func TestReferenceLocal(t *testing.T) {
	ref := testutil.Reference(t, "/usr/lib/postfix/sbin/local")
	if os.Geteuid() != 0 {
		t.Skip("running local as master does needs root (tests run as root in CI)")
	}
	if _, err := user.Lookup("postfix"); err != nil {
		t.Skip("no postfix user: " + err.Error())
	}
	t.Parallel()
	ours := testutil.Bin(t, "local")
	aliases := "list nobody, \"|/usr/bin/env > DIR/out/env\", DIR/out/file\n" +
		"cmd \"|echo a; exit 0\"\n"
	content := "Subject: reference\nFrom: <sender@example.org>\n\nFrom here on\n.dot line\n"
	for _, spoolMode := range []os.FileMode{0o1777, 0o755} {
		t.Run(fmt.Sprintf("spool%o", spoolMode), func(t *testing.T) {
			t.Parallel()
			referenceLocal(t, ref, ours, aliases, content, spoolMode)
		})
	}
}

// referenceLocal runs one comparison of TestReferenceLocal with the
// spool directory in the given mode: world-writable (deliveries create
// the mailbox as the user) or root-only (local creates it as root and
// gives it to the user).
func referenceLocal(t *testing.T, ref, ours, aliases, content string, spoolMode os.FileMode) {
	type result struct {
		mailbox, file, env, marks, owners string
		log                               []string
	}
	run := func(bin string) result {
		sys := mailSystem(t, aliases)
		dir := sys.dir
		if err := os.Chmod(filepath.Join(dir, "spool"), spoolMode); err != nil {
			t.Fatal(err)
		}
		bounce := testutil.Reference(t, "/usr/lib/postfix/sbin/bounce")
		for _, d := range []string{filepath.Join(sys.queueDir, "pid"), filepath.Join(dir, "pid")} {
			if err := os.MkdirAll(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		sys.start(t, bounce, "bounce", filepath.Join(sys.queueDir, "private", "bounce"), "-z")
		sys.start(t, bounce, "defer", filepath.Join(sys.queueDir, "private", "defer"), "-z")
		sys.start(t, testutil.Reference(t, "/usr/lib/postfix/sbin/trivial-rewrite"), "rewrite", filepath.Join(sys.queueDir, "private", "rewrite"), "-z")
		p := sys.start(t, bin, "local", filepath.Join(dir, "local.sock"))
		id, marks := deliverVia(t, p, content, "nobody-orig@host.example.com>nobody@host.example.com", "list@host.example.com>list@host.example.com", "cmd@host.example.com>cmd@host.example.com")
		norm := func(s string) string {
			s = strings.ReplaceAll(s, dir, "DIR")
			s = strings.ReplaceAll(s, id, "QUEUEID")
			return fromLineRE.ReplaceAllString(s, "${1}DATE")
		}
		var r result
		b, _ := os.ReadFile(filepath.Join(dir, "spool", "nobody"))
		r.mailbox = norm(string(b))
		b, _ = os.ReadFile(filepath.Join(dir, "out", "file"))
		r.file = norm(string(b))
		b, _ = os.ReadFile(filepath.Join(dir, "out", "env"))
		var env []string
		for _, l := range strings.Split(string(b), "\n") {
			if k, _, _ := strings.Cut(l, "="); l != "" && k != "PWD" && k != "SHLVL" && k != "_" {
				env = append(env, norm(l))
			}
		}
		sort.Strings(env)
		r.env = strings.Join(env, "\n")
		r.marks = marks
		// Who owns what the deliveries created (nobody, mode 0600).
		for _, f := range []string{"spool/nobody", "out/file", "out/env"} {
			var st syscall.Stat_t
			if err := syscall.Stat(filepath.Join(dir, f), &st); err == nil {
				r.owners += fmt.Sprintf("%s uid=%d gid=%d mode=%o\n", f, st.Uid, st.Gid, st.Mode&0o7777)
			}
		}
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) && len(sys.lines(id+": to=<")) < 5 {
			time.Sleep(20 * time.Millisecond)
		}
		for _, l := range sys.lines(id) {
			r.log = append(r.log, delayRE.ReplaceAllString(norm(l), "DELAYS"))
		}
		sort.Strings(r.log)
		if b, err := os.ReadFile(filepath.Join(sys.queueDir, "defer", "D", id)); err == nil {
			r.log = append(r.log, "defer log: "+norm(string(b)))
		}
		return r
	}
	want := run(ref)
	got := run(ours)
	for _, c := range []struct{ what, got, want string }{
		{"mailbox", got.mailbox, want.mailbox},
		{"file", got.file, want.file},
		{"command environment", got.env, want.env},
		{"recipient records", got.marks, want.marks},
		{"file owners", got.owners, want.owners},
		{"log", strings.Join(got.log, "\n"), strings.Join(want.log, "\n")},
	} {
		if c.got != c.want {
			t.Errorf("%s differs from Postfix's:\n--- ours\n%s\n--- Postfix\n%s", c.what, c.got, c.want)
		}
	}
	if want.mailbox == "" || want.env == "" {
		t.Errorf("Postfix delivered nothing; log:\n%s", strings.Join(want.log, "\n"))
	}
}

// TestReferenceLocalFailures compares failures with Debian's local: an
// unknown user, command exit codes (EX_TEMPFAIL, other codes, an
// enhanced status code in the output, a program that does not exist, a
// signal, silent commands with a <sysexits.h> code and with another
// code), a Delivered-To loop, a restricted command in an :include:
// file, a maildir destination, a mailbox not owned by the recipient, an
// alias without addresses, a file in an :include: file, and a missing
// postmaster alias. The log lines, the recipient records
// and the bounce and defer logs (as bouncelog reads them, including the
// "x-unix" diagnostic of failed commands) must match.
func TestReferenceLocalFailures(t *testing.T) {
	ref := testutil.Reference(t, "/usr/lib/postfix/sbin/local")
	if os.Geteuid() != 0 {
		t.Skip("running local as master does needs root (tests run as root in CI)")
	}
	if _, err := user.Lookup("postfix"); err != nil {
		t.Skip("no postfix user: " + err.Error())
	}
	t.Parallel()
	ours := testutil.Bin(t, "local")
	aliases := "tmp \"|echo try later; exit 75\"\n" +
		"bad \"|echo oops; exit 3\"\n" +
		"dsn \"|echo 4.2.2 mailbox full; exit 1\"\n" +
		"noexec |/nonexistent/prog\n" +
		"sig \"|kill -9 $$\"\n" +
		"inc :include:DIR/etc/inc\n" +
		"md DIR/out/md/\n" +
		"nothing ,\n" +
		"incfile :include:DIR/etc/incfile\n" +
		"failer \"|echo cannot take this; exit 1\"\n" +
		"silent \"|true; exit 3\"\n" +
		"nouser \"|true; exit 67\"\n"
	content := "Delivered-To: loop@host.example.com\nSubject: failures\n\nbody\n"
	rcpts := []string{"nosuch@host.example.com>nosuch@host.example.com", "tmp@host.example.com>tmp@host.example.com",
		"bad@host.example.com>bad@host.example.com", "dsn@host.example.com>dsn@host.example.com",
		"noexec@host.example.com>noexec@host.example.com", "sig@host.example.com>sig@host.example.com",
		"loop@host.example.com>loop@host.example.com", "inc@host.example.com>inc@host.example.com",
		"md@host.example.com>md@host.example.com", "nobody@host.example.com>nobody@host.example.com",
		"nothing@host.example.com>nothing@host.example.com", "incfile@host.example.com>incfile@host.example.com",
		"postmaster@host.example.com>postmaster@host.example.com", "failer@host.example.com>failer@host.example.com",
		"silent@host.example.com>silent@host.example.com", "nouser@host.example.com>nouser@host.example.com"}
	type result struct {
		marks, maildir string
		log            []string
		entries        []string
	}
	run := func(bin string) result {
		sys := mailSystem(t, aliases)
		dir := sys.dir
		if err := os.WriteFile(filepath.Join(dir, "etc", "inc"), []byte("|/bin/true\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "etc", "incfile"), []byte("# a file\n"+dir+"/out/x\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		// A mailbox that the recipient can write but does not own
		// (strict_mailbox_ownership).
		if err := os.WriteFile(filepath.Join(dir, "spool", "nobody"), nil, 0o666); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(filepath.Join(dir, "spool", "nobody"), 0o666); err != nil {
			t.Fatal(err)
		}
		for _, d := range []string{filepath.Join(sys.queueDir, "pid"), filepath.Join(dir, "pid")} {
			if err := os.MkdirAll(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		bounce := testutil.Reference(t, "/usr/lib/postfix/sbin/bounce")
		sys.start(t, bounce, "bounce", filepath.Join(sys.queueDir, "private", "bounce"), "-z")
		sys.start(t, bounce, "defer", filepath.Join(sys.queueDir, "private", "defer"), "-z")
		sys.start(t, testutil.Reference(t, "/usr/lib/postfix/sbin/trivial-rewrite"), "rewrite", filepath.Join(sys.queueDir, "private", "rewrite"), "-z")
		p := sys.start(t, bin, "local", filepath.Join(dir, "local.sock"))
		id, marks, _ := deliverStatus(t, p, content, rcpts...)
		norm := func(s string) string {
			s = strings.ReplaceAll(s, dir, "DIR")
			s = strings.ReplaceAll(s, id, "QUEUEID")
			return regexp.MustCompile(`\(kill -9 \d+\)`).ReplaceAllString(s, "(kill -9 PID)")
		}
		var r result
		r.marks = marks
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) && len(sys.lines(id+": to=<")) < len(rcpts) {
			time.Sleep(20 * time.Millisecond)
		}
		for _, l := range sys.lines("") {
			if strings.Contains(l, id) || strings.HasPrefix(l, "warning: ") {
				r.log = append(r.log, delayRE.ReplaceAllString(norm(l), "DELAYS"))
			}
		}
		sort.Strings(r.log)
		l := queue.Layout{Dir: sys.queueDir, Hashed: []string{"deferred", "defer"}, Depth: 1}
		for _, log := range []string{queue.Bounce, queue.Defer} {
			ents, _ := bouncelog.Read(l, log, id)
			for _, e := range ents {
				r.entries = append(r.entries, log+": "+norm(e.Rcpt.Address+" "+e.Status.Code+" "+e.Status.Action+" "+e.Status.Reason+
					" diag="+e.Status.DiagType+"; "+e.Status.Diag))
			}
		}
		sort.Strings(r.entries)
		if ents, err := os.ReadDir(filepath.Join(dir, "out", "md", "new")); err == nil {
			for _, e := range ents {
				b, _ := os.ReadFile(filepath.Join(dir, "out", "md", "new", e.Name()))
				r.maildir += norm(string(b))
			}
		}
		return r
	}
	want := run(ref)
	got := run(ours)
	for _, c := range []struct{ what, got, want string }{
		{"recipient records", got.marks, want.marks},
		{"maildir", got.maildir, want.maildir},
		{"log", strings.Join(got.log, "\n"), strings.Join(want.log, "\n")},
		{"bounce and defer logs", strings.Join(got.entries, "\n"), strings.Join(want.entries, "\n")},
	} {
		if c.got != c.want {
			t.Errorf("%s differs from Postfix's:\n--- ours\n%s\n--- Postfix\n%s", c.what, c.got, c.want)
		}
	}
	if len(want.entries) < 11 || want.maildir == "" || !strings.Contains(strings.Join(want.entries, "\n"), "diag=x-unix; cannot take this") {
		t.Errorf("Postfix's run looks incomplete: %q %q", want.entries, want.maildir)
	}
}

// TestReferenceLocalForward forwards through Debian's cleanup daemon,
// from Debian's local and from ours: a remote alias member, a mailing
// list with an owner- alias (the owner becomes the sender), and an alias
// that names a user directly and an :include: file whose "postmaster" is
// aliased to that same user (the include file's owner stays in effect,
// reset_owner_alias = no, so that copy is forwarded, not dropped as a
// duplicate). The new queue files (envelope and content, as queue.Decode
// reads them), the mailbox and the log lines must match.
func TestReferenceLocalForward(t *testing.T) {
	ref := testutil.Reference(t, "/usr/lib/postfix/sbin/local")
	if os.Geteuid() != 0 {
		t.Skip("running local as master does needs root (tests run as root in CI)")
	}
	if _, err := user.Lookup("postfix"); err != nil {
		t.Skip("no postfix user: " + err.Error())
	}
	t.Parallel()
	ours := testutil.Bin(t, "local")
	aliases := "fwd far@remote.example\n" +
		"list other@remote.example, nobody\n" +
		"owner-list nobody\n" +
		"postmaster nobody\n" +
		"team nobody, :include:DIR/etc/team.inc\n"
	content := "Subject: forward\nMessage-Id: <1@example.org>\nDate: Sat, 28 Nov 2026 10:00:00 +0000\nFrom: <sender@example.org>\n\nbody\n"
	type result struct {
		log     []string
		files   []string
		mailbox string
	}
	run := func(bin string) result {
		sys := mailSystem(t, aliases)
		dir := sys.dir
		if err := os.WriteFile(filepath.Join(dir, "etc", "team.inc"), []byte("# the team\npostmaster\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, d := range []string{filepath.Join(sys.queueDir, "pid"), filepath.Join(dir, "pid")} {
			if err := os.MkdirAll(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		pfx := func(n string) string { return testutil.Reference(t, "/usr/lib/postfix/sbin/"+n) }
		sys.start(t, pfx("bounce"), "bounce", filepath.Join(sys.queueDir, "private", "bounce"), "-z")
		sys.start(t, pfx("bounce"), "defer", filepath.Join(sys.queueDir, "private", "defer"), "-z")
		sys.start(t, pfx("trivial-rewrite"), "rewrite", filepath.Join(sys.queueDir, "private", "rewrite"), "-z")
		sys.start(t, pfx("cleanup"), "cleanup", filepath.Join(sys.queueDir, "public", "cleanup"), "-z")
		p := sys.start(t, bin, "local", filepath.Join(dir, "local.sock"))
		id, marks := deliverVia(t, p, content, "fwd@host.example.com>fwd@host.example.com", "list@host.example.com>list@host.example.com",
			"team>team@host.example.com")
		if marks != "DDD" {
			t.Errorf("%s: marks %q", bin, marks)
		}
		var r result
		ids := map[string]string{id: "QUEUEID"}
		l := queue.Layout{Dir: sys.queueDir}
		ents, _ := os.ReadDir(filepath.Join(sys.queueDir, queue.Incoming))
		// Number the new queue files in the order of the address each was
		// forwarded for (its Delivered-To header): their names follow
		// inode numbers and clocks, which no two runs share.
		deliveredTo := func(name string) string {
			b, _ := os.ReadFile(l.Path(queue.Incoming, name))
			if m := regexp.MustCompile(`Delivered-To: (\S+)`).FindSubmatch(b); m != nil {
				return string(m[1])
			}
			return ""
		}
		sort.SliceStable(ents, func(i, j int) bool { return deliveredTo(ents[i].Name()) < deliveredTo(ents[j].Name()) })
		for i, e := range ents {
			ids[e.Name()] = fmt.Sprintf("NEWID%d", i)
		}
		norm := func(s string) string {
			s = strings.ReplaceAll(s, dir, "DIR")
			for k, v := range ids {
				s = strings.ReplaceAll(s, k, v)
			}
			return regexp.MustCompile(`id (NEWID\d); .*`).ReplaceAllString(s, "id $1; DATE")
		}
		for _, e := range ents {
			f, err := os.Open(l.Path(queue.Incoming, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			m, _, err := queue.Decode(f, 0)
			f.Close()
			if err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			fmt.Fprintf(&b, "sender=%s envid=%s ret=%d ctx=%s attrs=%v\n", m.Sender, m.EnvID, m.RetFlags, m.RewriteContext, m.Attrs)
			for _, rc := range m.Recipients {
				fmt.Fprintf(&b, "rcpt %+v\n", rc)
			}
			b.Write(m.Content)
			r.files = append(r.files, norm(b.String()))
		}
		sort.Strings(r.files)
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) && len(sys.lines(id+": to=<")) < 4 {
			time.Sleep(20 * time.Millisecond)
		}
		for _, l := range sys.lines(id + ": to=<") {
			r.log = append(r.log, delayRE.ReplaceAllString(norm(l), "DELAYS"))
		}
		sort.Strings(r.log)
		b, _ := os.ReadFile(filepath.Join(dir, "spool", "nobody"))
		r.mailbox = fromLineRE.ReplaceAllString(norm(string(b)), "${1}DATE")
		return r
	}
	want := run(ref)
	got := run(ours)
	if g, w := strings.Join(got.log, "\n"), strings.Join(want.log, "\n"); g != w {
		t.Errorf("log differs from Postfix's:\n--- ours\n%s\n--- Postfix\n%s", g, w)
	}
	if g, w := strings.Join(got.files, "\n====\n"), strings.Join(want.files, "\n====\n"); g != w {
		t.Errorf("forwarded messages differ from Postfix's:\n--- ours\n%s\n--- Postfix\n%s", g, w)
	}
	if got.mailbox != want.mailbox {
		t.Errorf("mailbox differs from Postfix's:\n--- ours\n%s\n--- Postfix\n%s", got.mailbox, want.mailbox)
	}
	if len(want.files) != 3 || want.mailbox == "" {
		t.Errorf("Postfix forwarded %d messages, want 3; log %q", len(want.files), want.log)
	}
}

// TestReferenceLocalSettings delivers to nobody+ext (whose home is
// /nonexistent) under several main.cf settings with Debian's local and
// ours: mailbox_command and its environment, home_mailbox maildir and
// mbox (both failing), luser_relay, mailbox_size_limit, and address
// probes (sendmail -bv) of a mailbox and of an unknown user.
func TestReferenceLocalSettings(t *testing.T) {
	ref := testutil.Reference(t, "/usr/lib/postfix/sbin/local")
	if os.Geteuid() != 0 {
		t.Skip("running local as master does needs root (tests run as root in CI)")
	}
	if _, err := user.Lookup("postfix"); err != nil {
		t.Skip("no postfix user: " + err.Error())
	}
	t.Parallel()
	ours := testutil.Bin(t, "local")
	big := strings.Repeat("0123456789abcdef", 120)
	for _, c := range []struct {
		name, main, rcpt, body string
		flags                  int
	}{
		{"mailbox_command", "mailbox_command = /usr/bin/env > DIR/out/env\nrecipient_delimiter = +\n", "Nobody+Box@host.example.com>nobody+box@host.example.com", "x\n", 0},
		{"home_maildir", "home_mailbox = Maildir/\n", "nobody@host.example.com>nobody@host.example.com", "x\n", 0},
		{"home_mbox", "home_mailbox = mbox\n", "nobody@host.example.com>nobody@host.example.com", "x\n", 0},
		{"luser_relay", "luser_relay = nobody\nrecipient_delimiter = +\n", "ghost+x@host.example.com>ghost+x@host.example.com", "x\n", 0},
		{"size_limit", "message_size_limit = 10240\nmailbox_size_limit = 10240\n", "nobody@host.example.com>nobody@host.example.com", big + "\n", 0},
		{"verify_mailbox", "", "nobody@host.example.com>nobody@host.example.com", "x\n", deliver.FlagUserVerify},
		{"verify_unknown", "", "ghost@host.example.com>ghost@host.example.com", "x\n", deliver.FlagUserVerify},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			run := func(bin string) string {
				sys := mailSystem(t, "", c.main)
				dir := sys.dir
				for _, d := range []string{filepath.Join(sys.queueDir, "pid"), filepath.Join(dir, "pid")} {
					if err := os.MkdirAll(d, 0o755); err != nil {
						t.Fatal(err)
					}
				}
				pfx := func(n string) string { return testutil.Reference(t, "/usr/lib/postfix/sbin/"+n) }
				sys.start(t, pfx("bounce"), "bounce", filepath.Join(sys.queueDir, "private", "bounce"), "-z")
				sys.start(t, pfx("bounce"), "defer", filepath.Join(sys.queueDir, "private", "defer"), "-z")
				sys.start(t, pfx("bounce"), "trace", filepath.Join(sys.queueDir, "private", "trace"), "-z")
				sys.start(t, pfx("trivial-rewrite"), "rewrite", filepath.Join(sys.queueDir, "private", "rewrite"), "-z")
				sys.extraFlags = c.flags
				if c.name == "size_limit" {
					// The mailbox is nearly full: the message does not fit.
					nb, _ := user.Lookup("nobody")
					uid, _ := strconv.Atoi(nb.Uid)
					gid, _ := strconv.Atoi(nb.Gid)
					box := filepath.Join(dir, "spool", "nobody")
					if err := os.WriteFile(box, []byte(strings.Repeat("x", 9000)+"\n"), 0o600); err != nil {
						t.Fatal(err)
					}
					if err := os.Chown(box, uid, gid); err != nil {
						t.Fatal(err)
					}
				}
				p := sys.start(t, bin, "local", filepath.Join(dir, "local.sock"))
				id, marks, _ := deliverStatus(t, p, "Subject: settings\n\n"+c.body, c.rcpt)
				deadline := time.Now().Add(5 * time.Second)
				for time.Now().Before(deadline) && len(sys.lines(id+": to=<")) < 1 {
					time.Sleep(20 * time.Millisecond)
				}
				norm := func(s string) string {
					s = strings.ReplaceAll(s, dir, "DIR")
					s = strings.ReplaceAll(s, id, "QUEUEID")
					s = regexp.MustCompile(`\.P\d+\.`).ReplaceAllString(s, ".PPID.")
					s = regexp.MustCompile(`/tmp/\d+\.PPID\.`).ReplaceAllString(s, "/tmp/TIME.PPID.")
					return fromLineRE.ReplaceAllString(s, "${1}DATE")
				}
				var out []string
				for _, l := range sys.lines("") {
					if strings.Contains(l, id) || strings.HasPrefix(l, "warning: ") {
						out = append(out, delayRE.ReplaceAllString(norm(l), "DELAYS"))
					}
				}
				sort.Strings(out)
				out = append(out, "marks "+marks)
				if b, err := os.ReadFile(filepath.Join(dir, "out", "env")); err == nil {
					var env []string
					for _, l := range strings.Split(string(b), "\n") {
						if k, _, _ := strings.Cut(l, "="); l != "" && k != "PWD" && k != "SHLVL" && k != "_" {
							env = append(env, norm(l))
						}
					}
					sort.Strings(env)
					out = append(out, env...)
				}
				b, _ := os.ReadFile(filepath.Join(dir, "spool", "nobody"))
				return strings.Join(out, "\n") + "\nmailbox:\n" + norm(string(b))
			}
			want := run(ref)
			got := run(ours)
			if got != want {
				t.Errorf("differs from Postfix's:\n--- ours\n%s\n--- Postfix\n%s", got, want)
			}
		})
	}
}
