package postmap_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/postfix-go/postfix/internal/testutil"
)

// A lookup whose result is empty makes Postfix's postmap -q (and
// postalias -q) warn twice, naming the table as it was given and the key
// as it was asked, and still print the empty result:
//
//	postmap: warning: table regexp:r.regexp: key g: empty string result is not allowed
//	postmap: warning: table regexp:r.regexp should return NO RESULT in case of NOT FOUND
//
// An empty result comes from a rule without replacement text or from a
// $n that matched nothing. The text is the query command's (Postfix's
// daemons word theirs differently), so the tables themselves stay quiet.
const emptyRules = "/^g(x)?/ $1\n/^y/\n/^k/ kept\n/^c(x)?/ $1\n"

var emptyFiles = map[string]string{
	"main.cf":    mainCF,
	"r.regexp":   emptyRules,
	"r.pcre":     emptyRules,
	"no/main.cf": mainCF + "smtputf8_enable = no\n",
}

var emptySteps = []step{
	{args: []string{"-q", "g", "regexp:r.regexp"}},
	{args: []string{"-q", "y", "pcre:r.pcre"}},
	{args: []string{"-q", "k", "regexp:r.regexp"}},
	{args: []string{"-q", "none", "pcre:r.pcre"}},
	{args: []string{"-q", "-", "regexp:r.regexp", "pcre:r.pcre"}, stdin: "g\ny\nk\nnone\nGX\n"},
	{args: []string{"-q", "-", "inline:{k=}", "regexp:r.regexp"}, stdin: "k\ny\n"},
	{args: []string{"-q", "a", "inline:{a=}"}},
	{args: []string{"-q", "c\x1b[31m\xc3\xa9\t", "regexp:" + "r.regexp"}},
	{args: []string{"-c", "no", "-q", "c\x1b[31m\xc3\xa9\t", "pcre:r.pcre"}},
}

// emptyGolden is what Debian's postmap 3.7.11 printed on standard error
// for emptySteps, in order (TestEmptyResultWarnings checks it still does).
var emptyGolden = []string{
	"postmap: warning: regexp map r.regexp, line 2: no replacement text: using empty string\n" +
		"postmap: warning: table regexp:r.regexp: key g: empty string result is not allowed\n" +
		"postmap: warning: table regexp:r.regexp should return NO RESULT in case of NOT FOUND\n",
	"postmap: warning: pcre map r.pcre, line 2: no replacement text: using empty string\n" +
		"postmap: warning: table pcre:r.pcre: key y: empty string result is not allowed\n" +
		"postmap: warning: table pcre:r.pcre should return NO RESULT in case of NOT FOUND\n",
	"postmap: warning: regexp map r.regexp, line 2: no replacement text: using empty string\n",
	"postmap: warning: pcre map r.pcre, line 2: no replacement text: using empty string\n",
	// The pcre table is opened, and warns about its line 2, only when
	// the first key that regexp:r.regexp does not answer needs it.
	"postmap: warning: regexp map r.regexp, line 2: no replacement text: using empty string\n" +
		"postmap: warning: table regexp:r.regexp: key g: empty string result is not allowed\n" +
		"postmap: warning: table regexp:r.regexp should return NO RESULT in case of NOT FOUND\n" +
		"postmap: warning: table regexp:r.regexp: key y: empty string result is not allowed\n" +
		"postmap: warning: table regexp:r.regexp should return NO RESULT in case of NOT FOUND\n" +
		"postmap: warning: pcre map r.pcre, line 2: no replacement text: using empty string\n",
	"postmap: warning: table inline:{k=}: key k: empty string result is not allowed\n" +
		"postmap: warning: table inline:{k=} should return NO RESULT in case of NOT FOUND\n" +
		"postmap: warning: regexp map r.regexp, line 2: no replacement text: using empty string\n" +
		"postmap: warning: table regexp:r.regexp: key y: empty string result is not allowed\n" +
		"postmap: warning: table regexp:r.regexp should return NO RESULT in case of NOT FOUND\n",
	"postmap: warning: table inline:{a=}: key a: empty string result is not allowed\n" +
		"postmap: warning: table inline:{a=} should return NO RESULT in case of NOT FOUND\n",
	"postmap: warning: regexp map r.regexp, line 2: no replacement text: using empty string\n" +
		"postmap: warning: table regexp:r.regexp: key c?[31m\xc3\xa9?: empty string result is not allowed\n" +
		"postmap: warning: table regexp:r.regexp should return NO RESULT in case of NOT FOUND\n",
	"postmap: warning: pcre map r.pcre, line 2: no replacement text: using empty string\n" +
		"postmap: warning: table pcre:r.pcre: key c?[31m???: empty string result is not allowed\n" +
		"postmap: warning: table pcre:r.pcre should return NO RESULT in case of NOT FOUND\n",
}

// TestEmptyResultGolden runs our postmap on emptySteps and expects
// emptyGolden, without needing Debian's postmap.
func TestEmptyResultGolden(t *testing.T) {
	ours := testutil.Bin(t, "postmap")
	dir := emptyDir(t)
	for i, s := range emptySteps {
		got := testutil.Run(t, dir, ours, "postmap", []byte(s.stdin), append([]string{"-c", "."}, s.args...)...)
		if got.Stderr != emptyGolden[i] {
			t.Errorf("postmap %q: stderr\n%q\nwant\n%q", s.args, got.Stderr, emptyGolden[i])
		}
	}
}

// TestEmptyResultWarnings compares emptySteps with Debian's postmap
// (output, warnings, exit status), and Debian's warnings with emptyGolden.
func TestEmptyResultWarnings(t *testing.T) {
	ref := testutil.Reference(t, "/usr/sbin/postmap")
	ours := testutil.Bin(t, "postmap")
	refDir, ourDir := emptyDir(t), emptyDir(t)
	for i, s := range emptySteps {
		args := append([]string{"-c", "."}, s.args...)
		want := testutil.Run(t, refDir, ref, "postmap", []byte(s.stdin), args...)
		got := testutil.Run(t, ourDir, ours, "postmap", []byte(s.stdin), args...)
		if got.Stdout != want.Stdout || got.Stderr != want.Stderr || got.Exit != want.Exit {
			t.Errorf("postmap %q:\nours:    %q %q exit %d\nPostfix: %q %q exit %d", s.args,
				got.Stdout, got.Stderr, got.Exit, want.Stdout, want.Stderr, want.Exit)
		}
		if want.Stderr != emptyGolden[i] {
			t.Errorf("Debian's postmap %q now prints\n%q\nthe golden text says\n%q", s.args, want.Stderr, emptyGolden[i])
		}
	}
}

// TestEmptyResultPostalias checks postalias -q, which warns the same way.
func TestEmptyResultPostalias(t *testing.T) {
	ref := testutil.Reference(t, "/usr/sbin/postalias")
	ours := testutil.Bin(t, "postalias")
	dir := emptyDir(t)
	for _, s := range []step{
		{args: []string{"-q", "g", "regexp:r.regexp"}},
		{args: []string{"-q", "-", "pcre:r.pcre", "inline:{k=}"}, stdin: "k\ny\n"},
	} {
		args := append([]string{"-c", "."}, s.args...)
		want := testutil.Run(t, dir, ref, "postalias", []byte(s.stdin), args...)
		got := testutil.Run(t, dir, ours, "postalias", []byte(s.stdin), args...)
		if got != (testutil.Result{Stdout: want.Stdout, Stderr: want.Stderr, Exit: want.Exit, Pid: got.Pid}) {
			t.Errorf("postalias %q:\nours:    %q %q exit %d\nPostfix: %q %q exit %d", s.args,
				got.Stdout, got.Stderr, got.Exit, want.Stdout, want.Stderr, want.Exit)
		}
	}
}

// emptyDir writes emptyFiles into a fresh directory with main.cf files
// back-dated (Postfix waits until main.cf is a second old).
func emptyDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	old := time.Now().Add(-time.Hour)
	for name, data := range emptyFiles {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(path, old, old); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}
