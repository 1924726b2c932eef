package flow

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/postfix-go/postfix/internal/flowtest"
)

// A queue file that cannot be parsed is moved to the corrupt queue with a
// log line, as Postfix does; nothing else is disturbed.
func TestCorruptQueueFile(t *testing.T) {
	t.Parallel()
	p := newPair(t, "", nil)
	p.start()
	p.each(func(s *flowtest.System) {
		// A name of the short queue ID form, and content that is no record.
		id := "ABCDEF12345"
		path := filepath.Join(s.Queue, "incoming", id)
		if err := os.WriteFile(path, []byte("this is not a queue file\n"), 0o700); err != nil {
			t.Fatal(err)
		}
		// Queue files belong to mail_owner.
		_ = os.Chmod(path, 0o700)
		chownMailOwner(t, path)
		if r := s.Command("postqueue", "", "-f"); r.Exit != 0 {
			t.Errorf("%s: postqueue -f: exit %d: %s", name(s), r.Exit, r.Stderr)
		}
		waitFile(t, filepath.Join(s.Queue, "corrupt", id), wait, func(string) bool { return true })
		// The system still delivers.
		send(t, s, "Subject: after\nMessage-ID: <after@example.org>\n\nbody\n", "root")
		s.WaitLog(`status=sent`, wait)
		waitQuiet(t, s)
	})
	sameText(t, "log", lineSet(logEvents(p.ref)), lineSet(logEvents(p.our)))
}

// A lookup table that cannot be read makes the message wait, never lose
// it or deliver it elsewhere; once the table works, it is delivered.
func TestTableErrorDefers(t *testing.T) {
	t.Parallel()
	// A tcp: table on a loopback port nothing listens on fails every
	// lookup with a temporary error.
	p := newPair(t, "virtual_alias_maps = tcp:127.0.0.1:9\n", nil)
	p.start()
	p.each(func(s *flowtest.System) {
		send(t, s, "Subject: waits\nMessage-ID: <waits@example.org>\n\nbody\n", "root")
		s.WaitLog(`warning: .*127\.0\.0\.1:9`, wait)
		time.Sleep(time.Second)
		if _, err := os.Stat(filepath.Join(s.Spool, "root")); err == nil {
			t.Errorf("%s: delivered while the table failed:\n%s", name(s), s.LogText())
		}
		if r := s.Command("postconf", "", "-c", s.Etc, "-e", "virtual_alias_maps ="); r.Exit != 0 {
			t.Fatalf("%s: postconf -e: %s", name(s), r.Stderr)
		}
		if r := s.Command("postfix", "", "-c", s.Etc, "reload"); r.Exit != 0 {
			t.Fatalf("%s: postfix reload: %s", name(s), r.Stderr)
		}
		s.Command("postqueue", "", "-f")
		s.WaitLog(`status=sent`, 90*time.Second)
	})
	ref, our := readFile(t, filepath.Join(p.ref.Spool, "root")), readFile(t, filepath.Join(p.our.Spool, "root"))
	sameText(t, "mailbox", messages(ref), messages(our))
}

// postfix check reports what an administrator must fix, in the same
// words as Postfix: a data directory not owned by mail_owner, a queue
// directory with the wrong mode, a missing queue directory (created).
func TestPostfixCheck(t *testing.T) {
	t.Parallel()
	p := newPair(t, "", nil)
	var out [2]string
	for i, s := range []*flowtest.System{p.ref, p.our} {
		// Let check create the tree first, then break it.
		s.Command("postfix", "", "-c", s.Etc, "check")
		if err := os.Chown(filepath.Join(s.Base, "data"), 0, 0); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(filepath.Join(s.Queue, "incoming"), 0o777); err != nil {
			t.Fatal(err)
		}
		if err := os.RemoveAll(filepath.Join(s.Queue, "hold")); err != nil {
			t.Fatal(err)
		}
		before := len(s.LogLines(`postfix-script`))
		r := s.Command("postfix", "", "-c", s.Etc, "check")
		// Postfix writes what check finds to the log (and to a
		// terminal when there is one).
		lines := s.LogLines(`postfix-script`)[before:]
		out[i] = fmt.Sprintf("exit %d\n%s%s%s\n", r.Exit, r.Stdout, r.Stderr, lineSet(strings.Join(lines, "\n")))
		out[i] = strings.ReplaceAll(out[i], s.Base, "BASE")
		if _, err := os.Stat(filepath.Join(s.Queue, "hold")); err != nil {
			t.Errorf("%s: postfix check did not recreate the hold queue: %v", name(s), err)
		}
	}
	if out[0] != out[1] {
		t.Errorf("postfix check output differs\n--- Postfix\n%s--- ours\n%s", out[0], out[1])
	}
	if !strings.Contains(out[1], "warning") {
		t.Error("postfix check reported nothing on a broken tree")
	}
}

// chownMailOwner gives path to mail_owner (postfix, as configured by
// devconf when root).
func chownMailOwner(t *testing.T, path string) {
	t.Helper()
	if os.Geteuid() != 0 {
		return
	}
	u, err := user.Lookup("postfix")
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	if err := os.Chown(path, uid, -1); err != nil {
		t.Fatal(err)
	}
}
