package queue

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/postfix-go/postfix/internal/testutil"
)

// expectPostcat returns what postcat prints for m stored at path, with
// the -e (envelope), -h (headers) and -b (body) selections. It follows the
// output of Debian's postcat for queue files written by Postfix's cleanup.
func expectPostcat(m *Message, size Size, path string, env, hdr, body bool) string {
	var b strings.Builder
	asc := func(t time.Time) string { return t.UTC().Format("Mon Jan _2 15:04:05 2006") }
	rcpts := func(rs []Recipient) {
		for _, r := range rs {
			if r.Notify != 0 {
				fmt.Fprintf(&b, "named_attribute: notify_flags=%d\n", r.Notify)
			}
			if r.DSNOrig != "" {
				fmt.Fprintf(&b, "named_attribute: dsn_orig_rcpt=%s\n", r.DSNOrig)
			}
			if r.Orig != "" {
				fmt.Fprintf(&b, "original_recipient: %s\n", r.Orig)
			}
			if r.Done {
				fmt.Fprintf(&b, "done_recipient: %s\n", r.Address)
			} else {
				fmt.Fprintf(&b, "recipient: %s\n", r.Address)
			}
		}
	}
	if env {
		fmt.Fprintf(&b, "*** ENVELOPE RECORDS %s ***\n", path)
		fmt.Fprintf(&b, "message_size: %s\n", size)
		fmt.Fprintf(&b, "message_arrival_time: %s\n", asc(m.Arrival))
		if !m.Created.IsZero() {
			fmt.Fprintf(&b, "create_time: %s\n", asc(m.Created))
		}
		if m.EnvID != "" {
			fmt.Fprintf(&b, "named_attribute: envelope_id=%s\n", m.EnvID)
		}
		if m.RetFlags != 0 {
			fmt.Fprintf(&b, "named_attribute: ret_flags=%d\n", m.RetFlags)
		}
		if m.RewriteContext != "" {
			fmt.Fprintf(&b, "named_attribute: rewrite_context=%s\n", m.RewriteContext)
		}
		if m.FullName != "" {
			fmt.Fprintf(&b, "sender_fullname: %s\n", m.FullName)
		}
		fmt.Fprintf(&b, "sender: %s\n", m.Sender)
		for _, a := range m.Attrs {
			fmt.Fprintf(&b, "named_attribute: %s=%s\n", a.Name, a.Value)
		}
		rcpts(m.Recipients)
		fmt.Fprintf(&b, "*** MESSAGE CONTENTS %s ***\n", path)
	}
	inHeader := true
	for _, line := range strings.SplitAfter(string(m.Content), "\n") {
		if line == "" {
			continue
		}
		if inHeader && !(strings.HasPrefix(line, "\t") || strings.HasPrefix(line, "X-") || strings.HasPrefix(line, "Received:") ||
			strings.Contains(line, ": ") && !strings.Contains(line[:strings.Index(line, ": ")], " ")) {
			inHeader = false
		}
		if inHeader && hdr || !inHeader && body {
			b.WriteString(line)
		}
	}
	if env {
		fmt.Fprintf(&b, "*** HEADER EXTRACTED %s ***\n", path)
		for _, a := range m.ExtractedAttrs {
			fmt.Fprintf(&b, "named_attribute: %s=%s\n", a.Name, a.Value)
		}
		rcpts(m.Extracted)
		fmt.Fprintf(&b, "*** MESSAGE FILE END %s ***\n", path)
	}
	return b.String()
}

// newQueue makes a queue directory with a main.cf that is old enough that
// Postfix commands do not wait for it.
func newQueue(t *testing.T, long bool) Layout {
	t.Helper()
	l := Layout{Dir: t.TempDir(), Hashed: []string{Deferred, Defer, Incoming}, Depth: 2, Long: long}
	if err := l.MakeDirs(); err != nil {
		t.Fatal(err)
	}
	cf := fmt.Sprintf("queue_directory = %s\nhash_queue_names = deferred, defer, incoming\nhash_queue_depth = 2\nenable_long_queue_ids = %v\n",
		l.Dir, map[bool]string{false: "no", true: "yes"}[long])
	path := filepath.Join(l.Dir, "main.cf")
	if err := os.WriteFile(path, []byte(cf), 0644); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	os.Chtimes(path, old, old)
	return l
}

// TestPostcat writes messages with our code into a temporary queue and
// checks Debian's postcat output for every selection of -e, -h and -b, by
// file name and with -q by queue ID.
func TestPostcat(t *testing.T) {
	postcat := testutil.Reference(t, "/usr/sbin/postcat")
	rng := rand.New(rand.NewPCG(3, 4))
	for _, long := range []bool{false, true} {
		l := newQueue(t, long)
		msgs := []*Message{cleanupShort, cleanupLong}
		for range 20 {
			msgs = append(msgs, randomMessage(rng))
		}
		for i, m := range msgs {
			queue := []string{Deferred, Incoming, Hold, Active}[i%4]
			id, err := l.WriteMessage(queue, m)
			if err != nil {
				t.Fatal(err)
			}
			data, _ := os.ReadFile(l.Path(queue, id))
			_, size, err := Decode(strings.NewReader(string(data)), 0)
			if err != nil {
				t.Fatal(err)
			}
			rel := l.RelPath(queue, id)
			for _, flags := range []string{"", "-e", "-h", "-b", "-bh", "-eh", "-eb", "-ebh"} {
				args := []string{"-c", l.Dir, rel}
				if flags != "" {
					args = append([]string{flags}, args...)
				}
				all := flags == ""
				want := expectPostcat(m, size, rel, all || strings.Contains(flags, "e"),
					all || strings.Contains(flags, "h"), all || strings.Contains(flags, "b"))
				res := testutil.Run(t, l.Dir, postcat, "postcat", nil, args...)
				if res.Stdout != want || res.Stderr != "" || res.Exit != 0 {
					t.Fatalf("postcat %v on message %d (exit %d, stderr %q):\n%s", args, i, res.Exit, res.Stderr, lineDiff(res.Stdout, want))
				}
			}
			if queue != Active { // postcat -q does not look in active
				res := testutil.Run(t, "/", postcat, "postcat", nil, "-q", "-c", l.Dir, id)
				if want := expectPostcat(m, size, rel, true, true, true); res.Stdout != want || res.Exit != 0 {
					t.Fatalf("postcat -q %s (exit %d, stderr %q):\n%s", id, res.Exit, res.Stderr, lineDiff(res.Stdout, want))
				}
			}
		}
	}
}

// lineDiff describes the first line where got and want differ.
func lineDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := range max(len(g), len(w)) {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return fmt.Sprintf("line %d:\n got %.200q\nwant %.200q", i+1, gl, wl)
		}
	}
	return "(same)"
}
