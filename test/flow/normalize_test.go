package flow

import (
	"fmt"
	"github.com/postfix-go/postfix/internal/testutil"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/postfix-go/postfix/internal/flowtest"
)

// normalize masks what differs by nature between the two systems; see
// flowtest.Normalize.
func normalize(s string) string { return flowtest.Normalize(s) }

// pair is one scenario run on Debian's Postfix and on ours.
type pair struct {
	ref, our *flowtest.System
}

// newPair writes the same configuration for both systems; setup (when
// not nil) runs on each before it starts (tables, aliases, scripts).
func newPair(t *testing.T, extraMain string, setup func(s *flowtest.System)) pair {
	t.Helper()
	p := pair{ref: flowtest.NewReference(t, extraMain)}
	if os.Getenv("PFGO_FLOW_SELFTEST") != "" {
		// Harness self-check: Postfix against Postfix must always agree.
		p.our = flowtest.NewReference(t, extraMain)
	} else {
		p.our = flowtest.New(t, extraMain)
	}
	for _, s := range []*flowtest.System{p.ref, p.our} {
		if setup != nil {
			setup(s)
		}
	}
	return p
}

func (p pair) each(fn func(s *flowtest.System)) {
	fn(p.ref)
	fn(p.our)
}

func (p pair) start() { p.each(func(s *flowtest.System) { s.Start() }) }

// file reads a file under the system's base directory, with the base
// directory itself written BASE.
func (p pair) file(s *flowtest.System, rel string) string {
	b, err := os.ReadFile(filepath.Join(s.Base, rel))
	if err != nil {
		return fmt.Sprintf("(%v)", strings.ReplaceAll(err.Error(), s.Base, "BASE"))
	}
	return strings.ReplaceAll(string(b), s.Base, "BASE")
}

// name says which system a message is about.
func name(s *flowtest.System) string {
	if s.Ref {
		return "Postfix"
	}
	return "ours"
}

// sameText fails the test when the normalized texts differ.
func sameText(t *testing.T, what, ref, our string) {
	t.Helper()
	r, o := normalize(ref), normalize(our)
	if r != o {
		t.Errorf("%s differs (normalized)\n--- Postfix\n%s\n--- ours\n%s", what, r, o)
	}
}

// waitFile waits until path exists and its content satisfies ok.
func waitFile(t *testing.T, path string, timeout time.Duration, ok func(string) bool) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		b, err := os.ReadFile(path)
		if err == nil && ok(string(b)) {
			return string(b)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not as expected within %v (err %v); content:\n%s", path, timeout, err, b)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// python runs a Python 3 program with args and returns its output.
func python(t *testing.T, prog string, args ...string) string {
	t.Helper()
	out, err := exec.Command("python3", append([]string{"-c", prog}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, out)
	}
	return string(out)
}

// logEvents returns the log lines of the mail flow proper (pickup,
// cleanup, qmgr, delivery agents, bounce), normalized, dropping the lines
// about starting and stopping.
func logEvents(s *flowtest.System) string {
	var out []string
	for _, line := range s.LogLines(`postfix/(pickup|cleanup|qmgr|local|error|discard|bounce|smtp)\[`) {
		out = append(out, strings.ReplaceAll(line, s.Base, "BASE"))
	}
	return strings.Join(out, "\n")
}

// messages splits an mbox into its messages, normalizes each on its own
// and sorts them, so mailboxes filled in different orders compare equal.
func messages(mbox string) string {
	var out []string
	for _, m := range regexp.MustCompile(`(?m)^From `).Split(mbox, -1) {
		if m != "" {
			out = append(out, normalize("From "+m))
		}
	}
	sort.Strings(out)
	return strings.Join(out, "\n=====\n")
}

// lineSet normalizes each log line on its own and sorts them.
func lineSet(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l != "" {
			out = append(out, normalize(l))
		}
	}
	sort.Strings(out)
	return strings.Join(out, "\n")
}

// runRef runs a Debian program by absolute path.
func runRef(t *testing.T, path string, args ...string) testutil.Result {
	t.Helper()
	return testutil.Run(t, "/", testutil.Reference(t, path), filepath.Base(path), nil, args...)
}

// waitQuiet waits until every message cleanup has logged is removed,
// held or deferred, and nothing is left in incoming, active or maildrop.
func waitQuiet(t *testing.T, s *flowtest.System) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		busy := 0
		for _, q := range []string{"maildrop", "incoming", "active"} {
			_ = filepath.WalkDir(filepath.Join(s.Queue, q), func(p string, d os.DirEntry, err error) error {
				if err == nil && !d.IsDir() {
					busy++
				}
				return nil
			})
		}
		if busy == 0 {
			// Let the last log lines (removed, bounce) be written.
			time.Sleep(300 * time.Millisecond)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d files still in maildrop/incoming/active after %v; log:\n%s", name(s), busy, wait, s.LogText())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
