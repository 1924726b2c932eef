package qshape

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/postfix-go/postfix/internal/testutil"
)

// refQshape is Debian's qshape, a Perl script that runs "postconf" from
// PATH.
const refQshape = "/usr/sbin/qshape"

type runOut struct {
	stdout, stderr string
	exit           int
}

func runProg(t *testing.T, path string, env []string, args ...string) runOut {
	t.Helper()
	cmd := exec.Command(path, args...)
	cmd.Args[0] = refQshape
	cmd.Env = append([]string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C", "LC_ALL=C"}, env...)
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("running %s: %v", path, err)
		}
		code = ee.ExitCode()
	}
	return runOut{so.String(), se.String(), code}
}

// canonical puts rows that tie (same count, same name length) in byte
// order: Postfix's script leaves their order to Perl's hash order, which
// changes from run to run. It fails when the rows are not in qshape's
// order to begin with.
func canonical(t *testing.T, who, out string) string {
	t.Helper()
	lines := strings.SplitAfter(out, "\n")
	if len(lines) < 2 {
		return out
	}
	type row struct {
		name  string
		count int
		line  string
	}
	var rows []row
	cols := len(strings.Fields(lines[0]))
	for _, l := range lines[1:] {
		if l == "" {
			continue
		}
		// The name (possibly empty) is what precedes the count columns.
		f := strings.Fields(l)
		if len(f) < cols {
			t.Fatalf("%s: odd row %q", who, l)
		}
		n, err := strconv.Atoi(f[len(f)-cols])
		if err != nil {
			t.Fatalf("%s: odd row %q", who, l)
		}
		rows = append(rows, row{strings.Join(f[:len(f)-cols], " "), n, l})
	}
	for i := 1; i < len(rows); i++ {
		a, b := rows[i-1], rows[i]
		if a.count < b.count || a.count == b.count && len(a.name) > len(b.name) {
			t.Errorf("%s: rows out of order:\n%s%s", who, a.line, b.line)
		}
	}
	sort.SliceStable(rows, func(i, j int) bool {
		a, b := rows[i], rows[j]
		if a.count != b.count {
			return a.count > b.count
		}
		if len(a.name) != len(b.name) {
			return len(a.name) < len(b.name)
		}
		return a.name < b.name
	})
	var sb strings.Builder
	sb.WriteString(lines[0])
	for _, r := range rows {
		sb.WriteString(r.line)
	}
	return sb.String()
}

// TestAgainstPostfix runs Debian's qshape and ours on the same queue with
// many option sets; standard output (up to the order of tied rows),
// standard error and the exit status must be the same.
func TestAgainstPostfix(t *testing.T) {
	t.Parallel()
	testutil.Reference(t, refQshape)
	testutil.Reference(t, "/usr/sbin/postconf")
	if _, err := exec.LookPath("perl"); err != nil {
		t.Fatal("perl is needed to run Debian's qshape")
	}
	ours := testutil.Bin(t, "qshape")
	dir := t.TempDir()
	etc := filepath.Join(dir, "etc")
	qdir := filepath.Join(dir, "queue")
	os.MkdirAll(etc, 0755)
	os.WriteFile(filepath.Join(etc, "main.cf"), []byte("compatibility_level = 3.6\nqueue_directory = "+qdir+"\n"), 0644)
	os.WriteFile(filepath.Join(etc, "master.cf"), nil, 0644)
	buildQueue(t, qdir, time.Now())

	all := []string{"incoming", "active", "deferred", "hold", "maildrop", "corrupt"}
	cases := [][]string{
		{},
		{"-s"},
		{"-p"},
		{"-p", "-m", "1"},
		{"-s", "-p", "-m", "2"},
		{"-l"},
		{"-l", "-t", "10"},
		{"-t", "10"},
		{"-b", "5"},
		{"-b", "3", "-t", "1000"},
		{"-b1"},
		{"-w", "120"},
		{"-w", "60"},
		{"-t", "2.5", "-b", "14"},
		{"deferred"},
		{"-p", "-m", "1", "deferred"},
		{"-s", "hold", "maildrop", "corrupt"},
		{"hold", "maildrop", "corrupt"},
		all,
		append([]string{"-s", "-p", "-m", "1"}, all...),
		append([]string{"-lsp", "-m1", "-b12", "-w100"}, all...),
		{"-s", qdir + "/deferred", qdir + "/maildrop/", "active"},
		{"-s", "--", "nonexistent", "deferred/"},
		{"-t", "abc", "-b", "7x"},
		{"-x"},
		{"-s", "-h"},
		{"-hx"},
		{"-sxh"},
		{"-:", "-t", "abc\n\x01\xe9", "hold"},
		{"-t", "1e3", "-b", "2"},
		{"-c"},
		{"-w"},
		{"-N", "5", "-n", "2", "deferred"},
	}
	for _, args := range cases {
		args := append([]string{"-c", etc}, args...)
		ref := runProg(t, refQshape, nil, args...)
		got := runProg(t, ours, nil, args...)
		compare(t, args, ref, got)
	}
	// The configuration directory from the environment; absolute names
	// need none.
	ref := runProg(t, refQshape, []string{"MAIL_CONFIG=" + etc}, "-s", "deferred")
	got := runProg(t, ours, []string{"MAIL_CONFIG=" + etc}, "-s", "deferred")
	compare(t, []string{"MAIL_CONFIG", "-s", "deferred"}, ref, got)
	ref = runProg(t, refQshape, []string{"MAIL_CONFIG=/nonexistent"}, qdir+"/hold")
	got = runProg(t, ours, []string{"MAIL_CONFIG=/nonexistent"}, qdir+"/hold")
	compare(t, []string{"MAIL_CONFIG=/nonexistent", "hold"}, ref, got)
}

func compare(t *testing.T, args []string, ref, got runOut) {
	t.Helper()
	if r, g := canonical(t, "postfix", ref.stdout), canonical(t, "ours", got.stdout); r != g {
		t.Errorf("qshape %q: stdout differs\npostfix:\n%s\nours:\n%s", args, ref.stdout, got.stdout)
	}
	if ref.stderr != got.stderr || ref.exit != got.exit {
		t.Errorf("qshape %q: stderr or status differ\npostfix (%d):\n%s\nours (%d):\n%s", args, ref.exit, ref.stderr, got.exit, got.stderr)
	}
}

// TestEnvelopeAgainstPostfix puts each golden queue file of
// testdata/envelope alone in a queue and has Debian's qshape and ours
// count it, by recipient and by sender: the parser's decisions (and Perl's
// warnings) must be Postfix's.
func TestEnvelopeAgainstPostfix(t *testing.T) {
	t.Parallel()
	testutil.Reference(t, refQshape)
	ours := testutil.Bin(t, "qshape")
	ins, _ := filepath.Glob("testdata/envelope/*.in")
	dir := t.TempDir()
	// Two days old: the last bucket for the defaults, far from a limit.
	old := time.Now().Add(-48 * time.Hour)
	for _, in := range ins {
		if strings.Contains(in, "loop") {
			continue // Postfix's script never ends on a pointer loop
		}
		text, err := os.ReadFile(in)
		if err != nil {
			t.Fatal(err)
		}
		q := filepath.Join(dir, filepath.Base(strings.TrimSuffix(in, ".in")))
		os.MkdirAll(q, 0700)
		p := filepath.Join(q, "ABCDEF123")
		if err := os.WriteFile(p, parseRecords(t, string(text)), 0700); err != nil {
			t.Fatal(err)
		}
		os.Chmod(p, 0700)
		os.Chtimes(p, old, old)
		for _, args := range [][]string{{q}, {"-s", "-b", "40", "-t", "60", q}} {
			ref := runProg(t, refQshape, nil, args...)
			got := runProg(t, ours, nil, args...)
			compare(t, append([]string{in}, args...), ref, got)
		}
	}
}

// TestOddAddressesAgainstPostfix counts addresses that exercise the domain
// rules (newlines, stray dots and '@', case, bytes above 127), one message
// each, by domain and by parent domain. Most rows count 1 and tie, and
// names with newlines span lines, so the lines are compared as sets.
func TestOddAddressesAgainstPostfix(t *testing.T) {
	t.Parallel()
	testutil.Reference(t, refQshape)
	ours := testutil.Bin(t, "qshape")
	q := t.TempDir()
	old := time.Now().Add(-48 * time.Hour)
	odd := []string{"a\nb@c.d.e\n", "x@y\n", "\n", "a@b\nc@d.e.f", "..", "....", ".a.", "a...b...c.d", "@.", "@..x.y.z",
		"MAILER-DAEMON", "u@Foo.BAR.baz.", "\xff@\xc3\x89.\xc3\xa9.x", "a@b.c\n\n", ".\n.", "x.y.z\n", "...sub.x.y.z", "w@x.y.z"}
	for i, a := range odd {
		var b bytes.Buffer
		putRec(&b, 'S', a)
		putRec(&b, 'R', a)
		putRec(&b, 'M', "")
		putRec(&b, 'X', "")
		putRec(&b, 'E', "")
		p := filepath.Join(q, fmt.Sprintf("ABCDEF%03d", i))
		os.WriteFile(p, b.Bytes(), 0700)
		os.Chtimes(p, old, old)
	}
	for _, args := range [][]string{{q}, {"-s", q}, {"-p", "-m", "1", q}, {"-s", "-p", "-m", "1", q}} {
		ref := runProg(t, refQshape, nil, args...)
		got := runProg(t, ours, nil, args...)
		if sortedLines(ref.stdout) != sortedLines(got.stdout) || ref.stderr != got.stderr {
			t.Errorf("qshape %q:\npostfix:\n%s%s\nours:\n%s%s", args, ref.stdout, ref.stderr, got.stdout, got.stderr)
		}
	}
}

func sortedLines(s string) string {
	l := strings.Split(s, "\n")
	sort.Strings(l)
	return strings.Join(l, "\n")
}
