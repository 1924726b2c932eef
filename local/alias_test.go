package local

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/postfix-go/postfix/internal/queue"
)

// TestAliasFanOut expands an alias to two users, a file, a command and
// a remote address: every local copy is logged with the alias as orig_to,
// the remote address is forwarded through cleanup, and the queue file
// recipient is marked done once everything succeeded.
func TestAliasFanOut(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	out := filepath.Join(e.dir, "out")
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	e.aliases("team: alice, Bob, " + out + "/file, \"|/bin/cat > " + out + "/cmd\", far@remote.example\n" +
		"carol: carol, bob\n")
	m := e.deliver(e.queueMessage("s@example.org", "Subject: team\n\nhi\n", "team@host.example.com>team@host.example.com", "carol@host.example.com"))
	if m.status != 0 || e.marks(m) != "DD" {
		t.Fatalf("status %d marks %q", m.status, e.marks(m))
	}
	lines := statusLines(t, m.id)
	sort.Strings(lines)
	fwd := e.clean.msgs
	if len(fwd) != 1 {
		t.Fatalf("forwarded messages: %d", len(fwd))
	}
	want := []string{
		m.id + ": to=<alice@host.example.com>, orig_to=<team@host.example.com>, relay=local, DELAYS, dsn=2.0.0, status=sent (delivered to mailbox)",
		// The resolved address keeps the case of the alias value.
		m.id + ": to=<Bob@host.example.com>, orig_to=<team@host.example.com>, relay=local, DELAYS, dsn=2.0.0, status=sent (delivered to mailbox)",
		// An alias that lists itself delivers to the user.
		m.id + ": to=<bob@host.example.com>, orig_to=<carol@host.example.com>, relay=local, DELAYS, dsn=2.0.0, status=sent (delivered to mailbox)",
		m.id + ": to=<carol@host.example.com>, relay=local, DELAYS, dsn=2.0.0, status=sent (delivered to mailbox)",
		m.id + ": to=<team@host.example.com>, relay=local, DELAYS, dsn=2.0.0, status=sent (delivered to command: /bin/cat > " + out + "/cmd)",
		m.id + ": to=<team@host.example.com>, relay=local, DELAYS, dsn=2.0.0, status=sent (delivered to file: " + out + "/file)",
		m.id + ": to=<team@host.example.com>, relay=local, DELAYS, dsn=2.0.0, status=sent (forwarded as " + fwd[0].id + ")",
	}
	sort.Strings(want)
	equalLines(t, "statuses", lines, want)
	for _, u := range []string{"alice", "bob", "carol"} {
		if _, err := os.Stat(filepath.Join(e.spool, u)); err != nil {
			t.Errorf("mailbox of %s: %v", u, err)
		}
	}
	cmd, _ := os.ReadFile(filepath.Join(out, "cmd"))
	if !strings.HasPrefix(string(cmd), "From s@example.org  ") || !strings.Contains(string(cmd), "\nReturn-Path: <s@example.org>\nX-Original-To: team@host.example.com\nDelivered-To: team@host.example.com\nSubject: team\n\nhi\n") || strings.HasSuffix(string(cmd), "\n\n") {
		t.Errorf("command input: %q", cmd)
	}
	file, _ := os.ReadFile(filepath.Join(out, "file"))
	if !strings.HasSuffix(string(file), "\nDelivered-To: team@host.example.com\nSubject: team\n\nhi\n\n") {
		t.Errorf("file: %q", file)
	}
	equalLines(t, "forwarded envelope", fwd[0].envelope(), []string{"S s@example.org", "O team@host.example.com", "R far@remote.example"})
	if !fwd[0].closed || fwd[0].aborted {
		t.Errorf("forwarded message not committed")
	}
	recs := strings.Join(fwd[0].recs, "\n")
	if !strings.Contains(recs, "\nN Received: by host.example.com (Postfix)\nN \tid FWD1; ") || !strings.Contains(recs, "\nN Delivered-To: team@host.example.com\nN Subject: team\nN \nN hi\nX \nE ") {
		t.Errorf("forwarded content records:\n%s", recs)
	}
}

// TestOwnerAlias: with an owner- alias the expansion is a mailing list:
// the owner becomes the envelope sender of forwarded copies and the
// original recipient is not passed on.
func TestOwnerAlias(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.aliases("list: far@remote.example, alice\nowner-list: carol\n")
	m := e.deliver(e.queueMessage("s@example.org", "Subject: l\n\nx\n", "list@host.example.com"))
	if m.status != 0 || e.marks(m) != "D" {
		t.Fatalf("status %d marks %q", m.status, e.marks(m))
	}
	if len(e.clean.msgs) != 1 {
		t.Fatalf("forwarded %d", len(e.clean.msgs))
	}
	// alice is local, but the list has an owner: she is re-submitted too.
	equalLines(t, "envelope", e.clean.msgs[0].envelope(), []string{"S owner-list@host.example.com", "R far@remote.example", "R alice@host.example.com"})
}

// TestCommandStatus maps command exit codes as Postfix does: 75 defers
// (recipient stays queued), other codes bounce with "Command died with
// status N", and output that starts with an enhanced status code wins.
func TestCommandStatus(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.aliases(`tmp: "|echo try later; exit 75"
bad: "|echo oops; exit 3"
full: "|echo 4.2.2 mailbox full; exit 1"
perm: "|(exit 67)"
noexec: |/nonexistent/prog
ok: "|cat >/dev/null"
restricted: :include:` + filepath.Join(e.dir, "etc", "incl") + "\n")
	e.write("etc/incl", "|/bin/true\n", 0o644)
	m := e.deliver(e.queueMessage("s@example.org", "Subject: x\n\nx\n",
		"tmp@host.example.com", "bad@host.example.com", "full@host.example.com", "perm@host.example.com", "ok@host.example.com", "restricted@host.example.com", "noexec@host.example.com"))
	if got := e.marks(m); got != "RDRDDDR" {
		t.Errorf("marks %q, want RDRDDDR", got)
	}
	equalLines(t, "defer log", e.logEntries(queue.Defer, m), []string{
		"tmp@host.example.com 4.3.0 temporary failure. Command output: try later",
		"full@host.example.com 4.2.2 mailbox full",
		"noexec@host.example.com 4.3.0 temporary failure. Command output: local: fatal: execvp /nonexistent/prog: No such file or directory",
	})
	// The log line keeps the output's trailing newline as a space.
	if l := logLines(t, m.id+": to=<tmp@"); len(l) != 1 || !strings.HasSuffix(l[0], "status=deferred (temporary failure. Command output: try later )") {
		t.Errorf("log: %q", l)
	}
	equalLines(t, "bounce log", e.logEntries(queue.Bounce, m), []string{
		`bad@host.example.com 5.3.0 Command died with status 3: "echo oops; exit 3". Command output: oops`,
		"perm@host.example.com 5.1.1 user unknown",
		"restricted@host.example.com 5.7.1 mail to command is restricted",
	})
}

// TestMixedOutcome: when one destination of an alias is deferred, the
// recipient stays in the queue even though another was delivered, and
// nothing is forwarded (it would be forwarded again on the retry).
func TestMixedOutcome(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.aliases("mixed: alice, far@remote.example, \"|exit 75\"\n")
	m := e.deliver(e.queueMessage("s@example.org", "Subject: x\n\nx\n", "mixed@host.example.com"))
	if m.status == 0 || e.marks(m) != "R" {
		t.Errorf("status %d marks %q", m.status, e.marks(m))
	}
	if len(e.clean.msgs) != 1 || !e.clean.msgs[0].aborted || e.clean.msgs[0].closed {
		t.Errorf("forwarded message not abandoned")
	}
}

// TestIncludeAndForward: :include: members are forwarded as a new
// message; a .forward file (found through forward_path with the address
// extension) delivers to a file and another user; a world-writable
// .forward is ignored with a warning.
func TestIncludeAndForward(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "recipient_delimiter = +")
	incl := e.write("etc/members", "# members\nalice, bob\n\ncarol\n", 0o644)
	e.aliases("staff: :include:" + incl + "\n")
	e.write(filepath.Join(e.home("alice"), ".forward+lists"), "\"/"+strings.TrimPrefix(filepath.Join(e.dir, "lists.mbox"), "/")+"\", bob\n", 0o644)
	e.write(filepath.Join(e.home("carol"), ".forward"), "bob\n", 0o666)
	m := e.deliver(e.queueMessage("s@example.org", "Subject: x\n\nx\n", "staff@host.example.com", "alice+lists@host.example.com", "carol@host.example.com"))
	if m.status != 0 || e.marks(m) != "DDD" {
		t.Fatalf("status %d marks %q", m.status, e.marks(m))
	}
	if len(e.clean.msgs) != 2 {
		t.Fatalf("forwarded %d messages", len(e.clean.msgs))
	}
	equalLines(t, "include", e.clean.msgs[0].envelope(), []string{"S s@example.org",
		"O staff@host.example.com", "R alice@host.example.com", "O staff@host.example.com", "R bob@host.example.com",
		"O staff@host.example.com", "R carol@host.example.com"})
	equalLines(t, ".forward", e.clean.msgs[1].envelope(), []string{"S s@example.org", "O alice+lists@host.example.com", "R bob@host.example.com"})
	if _, err := os.Stat(filepath.Join(e.dir, "lists.mbox")); err != nil {
		t.Errorf(".forward file destination: %v", err)
	}
	if _, err := os.Stat(filepath.Join(e.spool, "carol")); err != nil {
		t.Errorf("carol (world-writable .forward) not delivered to mailbox: %v", err)
	}
	if w := logLines(t, "warning: file "+filepath.Join(e.home("carol"), ".forward")+" is world writable"); len(w) == 0 {
		t.Errorf("no warning for world-writable .forward")
	}
}

// TestMailboxCommand runs mailbox_command with Postfix's environment.
func TestMailboxCommand(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "recipient_delimiter = +")
	out := filepath.Join(e.dir, "env.out")
	e.agent.mailboxCommand = "env > " + out
	m := e.queueMessage("s@example.org", "Subject: x\n\nx\n", "Alice+Box@host.example.com>alice+box@host.example.com")
	m.req.ClientName, m.req.ClientAddr, m.req.HeloName, m.req.ClientProto = "client.example", "192.0.2.1", "helo;rm", "ESMTP"
	e.deliver(m)
	if m.status != 0 {
		t.Fatal(m.status)
	}
	b, _ := os.ReadFile(out)
	var got []string
	for _, l := range strings.Split(string(b), "\n") {
		k, _, _ := strings.Cut(l, "=")
		switch k {
		case "HOME", "LOGNAME", "USER", "SENDER", "RECIPIENT", "LOCAL", "SHELL", "DOMAIN", "EXTENSION", "ORIGINAL_RECIPIENT", "PATH",
			"CLIENT_HOSTNAME", "CLIENT_ADDRESS", "CLIENT_HELO", "CLIENT_PROTOCOL":
			got = append(got, l)
		}
	}
	sort.Strings(got)
	equalLines(t, "environment", got, []string{
		"CLIENT_ADDRESS=192.0.2.1", "CLIENT_HELO=helo_rm", "CLIENT_HOSTNAME=client.example", "CLIENT_PROTOCOL=ESMTP",
		"DOMAIN=host.example.com", "EXTENSION=box", "HOME=" + e.home("alice"), "LOCAL=alice+box", "LOGNAME=alice",
		"ORIGINAL_RECIPIENT=Alice+Box@host.example.com", "PATH=/usr/bin:/bin", "RECIPIENT=alice+box@host.example.com",
		"SENDER=s@example.org", "SHELL=/bin/sh", "USER=alice",
	})
}

// TestLuserRelayAndTimeLimit: luser_relay takes mail for unknown users;
// a command that runs longer than command_time_limit is killed and the
// recipient bounces; a command that leaves a background process behind
// is not waited for.
func TestLuserRelayAndTimeLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "luser_relay = alice", "command_time_limit = 1s")
	e.aliases("slow: \"|sleep 30\"\n")
	start := time.Now()
	m := e.deliver(e.queueMessage("s@example.org", "Subject: x\n\nx\n", "nosuch@host.example.com", "slow@host.example.com"))
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("delivery took %v", d)
	}
	if e.marks(m) != "DD" {
		t.Errorf("marks %q", e.marks(m))
	}
	equalLines(t, "statuses", statusLines(t, m.id), []string{
		m.id + ": to=<alice@host.example.com>, orig_to=<nosuch@host.example.com>, relay=local, DELAYS, dsn=2.0.0, status=sent (delivered to mailbox)",
		m.id + `: to=<slow@host.example.com>, relay=local, DELAYS, dsn=5.3.0, status=bounced (Command time limit exceeded: "sleep 30")`,
	})
	e2 := newEnv(t)
	e2.aliases("bg: \"|sleep 6 & exit 0\"\n")
	start = time.Now()
	m = e2.deliver(e2.queueMessage("s@example.org", "Subject: x\n\nx\n", "bg@host.example.com"))
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("delivery took %v", d)
	}
	equalLines(t, "statuses", statusLines(t, m.id), []string{
		m.id + `: to=<bg@host.example.com>, relay=local, DELAYS, dsn=2.0.0, status=sent (delivered to command: sleep 6 & exit 0)`,
	})
}

// TestTablesChanged notices a rewritten alias table, so that the daemon
// exits and a fresh process reads it.
func TestTablesChanged(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.aliases("a: alice\n")
	if e.agent.tablesChanged() {
		t.Fatal("changed right after opening")
	}
	time.Sleep(20 * time.Millisecond)
	p := filepath.Join(e.dir, "etc", "aliases")
	if err := os.WriteFile(p+".new", []byte("a bob\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(p+".new", p); err != nil {
		t.Fatal(err)
	}
	if !e.agent.tablesChanged() {
		t.Error("rebuilt alias table not noticed")
	}
}
