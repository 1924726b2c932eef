package local

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/postfix-go/postfix/internal/queue"
)

const testContent = "Subject: hello\nFrom: Sender <sender@example.org>\n\nFrom the start\n>From quoted\nlast line\n"

// TestMbox delivers to the spool mailbox of a user and checks every byte
// Postfix writes: the From_ line, Return-Path, X-Original-To,
// Delivered-To, ">From " quoting and the empty line at the end; then
// Python's mailbox module reads it back.
func TestMbox(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	m := e.deliver(e.queueMessage("sender@example.org", testContent, "Alice@host.example.com>alice@host.example.com"))
	if m.status != 0 || e.marks(m) != "D" {
		t.Fatalf("status %d, marks %q", m.status, e.marks(m))
	}
	b, err := os.ReadFile(filepath.Join(e.spool, "alice"))
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`^From sender@example\.org  [A-Z][a-z]{2} [A-Z][a-z]{2} [ 123][0-9] \d\d:\d\d:\d\d \d{4}\n`)
	if !re.Match(b) {
		t.Fatalf("From_ line: %q", b)
	}
	rest := string(b[re.FindIndex(b)[1]:])
	want := "Return-Path: <sender@example.org>\nX-Original-To: Alice@host.example.com\nDelivered-To: alice@host.example.com\n" +
		"Subject: hello\nFrom: Sender <sender@example.org>\n\n>From the start\n>From quoted\nlast line\n\n"
	if rest != want {
		t.Errorf("mailbox:\n got %q\nwant %q", rest, want)
	}
	equalLines(t, "statuses", statusLines(t, m.id), []string{
		// orig_to differs only in case, so Postfix leaves it out.
		m.id + ": to=<alice@host.example.com>, relay=local, DELAYS, dsn=2.0.0, status=sent (delivered to mailbox)",
	})
	// A second message is appended; Python sees both.
	m2 := e.deliver(e.queueMessage("", "Subject: two\n\nbody\n", "alice@host.example.com"))
	if m2.status != 0 {
		t.Fatal(m2.status)
	}
	equalLines(t, "python mbox", pyMailbox(t, "mbox", filepath.Join(e.spool, "alice")), []string{
		"sender@example.org|<sender@example.org>|Alice@host.example.com|alice@host.example.com|hello|>From the start\\n>From quoted\\nlast line\\n",
		"MAILER-DAEMON|<>|alice@host.example.com|alice@host.example.com|two|body\\n",
	})
}

// TestMaildir delivers to $home/Maildir/ and checks Postfix's file names
// and headers; Python's mailbox.Maildir reads the message.
func TestMaildir(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "home_mailbox = Maildir/")
	m := e.deliver(e.queueMessage("a b@example.org", testContent, "bob@host.example.com"))
	if m.status != 0 || e.marks(m) != "D" {
		t.Fatalf("status %d marks %q", m.status, e.marks(m))
	}
	dir := filepath.Join(e.home("bob"), "Maildir")
	for _, sub := range []string{"tmp", "new", "cur"} {
		if st, err := os.Stat(filepath.Join(dir, sub)); err != nil || st.Mode().Perm() != 0o700 {
			t.Errorf("%s: %v %v", sub, st, err)
		}
	}
	ents, _ := os.ReadDir(filepath.Join(dir, "new"))
	if len(ents) != 1 {
		t.Fatalf("new/: %v", ents)
	}
	host, _ := os.Hostname()
	if !regexp.MustCompile(`^\d+\.V[0-9a-f]+I[0-9a-f]+M\d+\.` + regexp.QuoteMeta(host) + `$`).MatchString(ents[0].Name()) {
		t.Errorf("maildir file name %q", ents[0].Name())
	}
	if tmp, _ := os.ReadDir(filepath.Join(dir, "tmp")); len(tmp) != 0 {
		t.Errorf("tmp/ not empty: %v", tmp)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "new", ents[0].Name()))
	want := "Return-Path: <\"a b\"@example.org>\nX-Original-To: bob@host.example.com\nDelivered-To: bob@host.example.com\n" + testContent
	if string(b) != want {
		t.Errorf("maildir file:\n got %q\nwant %q", b, want)
	}
	equalLines(t, "python maildir", pyMailbox(t, "maildir", dir), []string{
		"-|<\"a b\"@example.org>|bob@host.example.com|bob@host.example.com|hello|From the start\\n>From quoted\\nlast line\\n",
	})
	equalLines(t, "statuses", statusLines(t, m.id), []string{
		m.id + ": to=<bob@host.example.com>, relay=local, DELAYS, dsn=2.0.0, status=sent (delivered to maildir)",
	})
}

// TestUnknownUser bounces a recipient with no alias and no account, and
// discards mail for a missing postmaster alias with a warning.
func TestUnknownUser(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	m := e.deliver(e.queueMessage("s@example.org", "Subject: x\n\nx\n", "nosuch+ext@host.example.com", "postmaster@host.example.com"))
	if m.status != 0 || e.marks(m) != "DD" {
		t.Fatalf("status %d marks %q", m.status, e.marks(m))
	}
	equalLines(t, "bounce log", e.logEntries(queue.Bounce, m), []string{
		`nosuch+ext@host.example.com 5.1.1 unknown user: "nosuch+ext"`,
	})
	equalLines(t, "statuses", statusLines(t, m.id), []string{
		m.id + `: to=<nosuch+ext@host.example.com>, relay=local, DELAYS, dsn=5.1.1, status=bounced (unknown user: "nosuch+ext")`,
		m.id + `: to=<postmaster@host.example.com>, relay=local, DELAYS, dsn=2.0.0, status=sent (discarded)`,
	})
	// With a recipient_delimiter the extension is not part of the name.
	e2 := newEnv(t, "recipient_delimiter = +")
	m2 := e2.deliver(e2.queueMessage("s@example.org", "Subject: x\n\nx\n", "nosuch+ext@host.example.com", "alice+box@host.example.com"))
	equalLines(t, "bounce log", e2.logEntries(queue.Bounce, m2), []string{
		`nosuch+ext@host.example.com 5.1.1 unknown user: "nosuch"`,
	})
	if _, err := os.Stat(filepath.Join(e2.spool, "alice")); err != nil {
		t.Errorf("alice+box not delivered to alice: %v", err)
	}
}

// TestDeliveredToLoop bounces mail that already went through the
// recipient, as shown by a Delivered-To: header.
func TestDeliveredToLoop(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	m := e.deliver(e.queueMessage("s@example.org", "Delivered-To: ALICE@host.example.com\nSubject: x\n\nDelivered-To: bob@host.example.com\n", "alice@host.example.com", "bob@host.example.com"))
	equalLines(t, "bounce log", e.logEntries(queue.Bounce, m), []string{
		"alice@host.example.com 5.4.6 mail forwarding loop for alice@host.example.com",
	})
	if _, err := os.Stat(filepath.Join(e.spool, "bob")); err != nil {
		t.Errorf("bob (Delivered-To only in the body) not delivered: %v", err)
	}
}

// TestMailboxFailures covers a held dotlock (deferred), the size limit
// (bounced, file cut back) and a mailbox that is a symlink.
func TestMailboxFailures(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "mailbox_size_limit = 20480000", "message_size_limit = 10240000")
	e.write(filepath.Join(e.spool, "alice.lock"), "", 0o600)
	m := e.deliver(e.queueMessage("s@example.org", "Subject: x\n\nx\n", "alice@host.example.com"))
	if m.status == 0 || e.marks(m) != "R" {
		t.Errorf("status %d marks %q", m.status, e.marks(m))
	}
	spoolAlice := filepath.Join(e.spool, "alice")
	equalLines(t, "defer log", e.logEntries(queue.Defer, m), []string{
		"alice@host.example.com 4.2.0 cannot update mailbox " + spoolAlice + " for user alice. unable to create lock file " + spoolAlice + ".lock: File exists",
	})

	e.agent.mailboxLimit = 100
	old := strings.Repeat("x", 60) + "\n"
	e.write(filepath.Join(e.spool, "bob"), old, 0o600)
	m = e.deliver(e.queueMessage("s@example.org", "Subject: x\n\n"+strings.Repeat("y", 100)+"\n", "bob@host.example.com"))
	if e.marks(m) != "D" {
		t.Errorf("marks %q", e.marks(m))
	}
	equalLines(t, "bounce log", e.logEntries(queue.Bounce, m), []string{
		"bob@host.example.com 5.2.2 cannot update mailbox " + filepath.Join(e.spool, "bob") + " for user bob. error writing message: File too large",
	})
	if b, _ := os.ReadFile(filepath.Join(e.spool, "bob")); string(b) != old {
		t.Errorf("mailbox not cut back: %q", b)
	}

	if err := os.Symlink("/etc/passwd", filepath.Join(e.spool, "carol")); err != nil {
		t.Fatal(err)
	}
	m = e.deliver(e.queueMessage("s@example.org", "Subject: x\n\nx\n", "carol@host.example.com"))
	equalLines(t, "bounce log", e.logEntries(queue.Bounce, m), []string{
		"carol@host.example.com 5.2.0 cannot update mailbox " + filepath.Join(e.spool, "carol") + " for user carol. file is a symbolic link",
	})
}
