package postmap_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/postfix-go/postfix/internal/testutil"
)

// step is one command run by both programs in their own directory.
type step struct {
	args  []string
	stdin string
	// sorted compares stdout as a sorted set of lines (hash order differs
	// between Berkeley DB and bbolt).
	sorted bool
	// queryError compares a fatal "query error" line only up to those
	// words: after them Postfix prints a stale system error text for a
	// server's failure reply (doc/DIFFERENCES.md), we print the reason.
	queryError bool
}

// cutQueryError drops what follows "query error" in fatal lines.
func cutQueryError(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if j := strings.Index(l, ": query error"); j >= 0 && strings.Contains(l, ": fatal: ") {
			lines[i] = l[:j+len(": query error")]
		}
	}
	return strings.Join(lines, "\n")
}

// genSource builds a table source with the oddities postmap must handle:
// comments, continuation lines, blank lines, quoted keys, upper case,
// duplicates, "key: value" lines, missing values, bad leading white space
// and non-UTF-8 bytes.
func genSource(r *rand.Rand, n int) string {
	var b strings.Builder
	if r.IntN(2) == 0 {
		b.WriteString(" leading white space on the first line\n")
	}
	words := []string{"Alpha", "beta", "GAMMA", "d\u00e9lta", "\u00dfig", "x@example.com", "@Example.ORG", "192.168.0.1", "a.b.c"}
	for i := 0; i < n; i++ {
		key := fmt.Sprintf("%s%d", words[r.IntN(len(words))], r.IntN(n))
		val := fmt.Sprintf("val%d  %s", i, words[r.IntN(len(words))])
		switch r.IntN(14) {
		case 0:
			b.WriteString("# comment " + key + "\n")
		case 1:
			b.WriteString(key + "\n")
		case 2:
			b.WriteString(key + ": " + val + "\n")
		case 3:
			b.WriteString(key + " " + val + "\n  continued " + key + "\n")
		case 4:
			b.WriteString("\"" + key + " quoted\" " + val + "\n")
		case 5:
			b.WriteString("\n   \n\t" + "# indented comment\n")
		case 6:
			b.WriteString(key + "\xff " + val + "\n")
		case 7:
			b.WriteString("\"unbalanced " + val + "\n")
		case 8:
			b.WriteString(key + "\t" + val + " \t\r\n")
		default:
			b.WriteString(key + " " + val + "\n")
		}
	}
	return b.String()
}

// prepare writes files into two fresh directories, one per program, with
// main.cf back-dated (Postfix waits until main.cf is a second old).
func prepare(t *testing.T, files map[string]string) [2]string {
	t.Helper()
	dirs := [2]string{t.TempDir(), t.TempDir()}
	old := time.Now().Add(-time.Hour)
	for _, d := range dirs {
		for name, data := range files {
			path := filepath.Join(d, name)
			if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Chtimes(path, old, old); err != nil {
				t.Fatal(err)
			}
		}
	}
	return dirs
}

// execBoth runs the steps with Debian's postmap in dirs[0] and ours in
// dirs[1] and returns a description of each difference in output,
// diagnostics or exit status. It is safe to call from several goroutines.
func execBoth(t *testing.T, dirs [2]string, steps []step) []string {
	ours := testutil.Bin(t, "postmap")
	ref := testutil.Reference(t, "/usr/sbin/postmap")
	var diffs []string
	for i, s := range steps {
		args := append([]string{"-c", "."}, s.args...)
		var stdin []byte
		if s.stdin != "" {
			stdin = []byte(s.stdin)
		}
		want := testutil.Run(t, dirs[0], ref, "postmap", stdin, args...)
		got := testutil.Run(t, dirs[1], ours, "postmap", stdin, args...)
		if s.sorted {
			want.Stdout, got.Stdout = sortLines(want.Stdout), sortLines(got.Stdout)
		}
		if s.queryError {
			want.Stderr, got.Stderr = cutQueryError(want.Stderr), cutQueryError(got.Stderr)
		}
		if want.Stdout != got.Stdout || want.Stderr != got.Stderr || want.Exit != got.Exit {
			diffs = append(diffs, fmt.Sprintf("step %d: postmap %q:\nwant exit %d stdout:\n%s\nstderr:\n%s\ngot exit %d stdout:\n%s\nstderr:\n%s",
				i, s.args, want.Exit, clip(want.Stdout), want.Stderr, got.Exit, clip(got.Stdout), got.Stderr))
		}
	}
	return diffs
}

// runBoth runs the steps with Debian's postmap in one copy of files and
// ours in another, comparing output, diagnostics and exit status.
func runBoth(t *testing.T, files map[string]string, steps []step) (string, string) {
	t.Helper()
	dirs := prepare(t, files)
	for _, d := range execBoth(t, dirs, steps) {
		t.Error(d)
	}
	return dirs[0], dirs[1]
}

// runEach runs setup and then one step in a fresh copy of files for every
// step, many at a time: Postfix sleeps a second before a fatal exit, so
// these runs are mostly waiting.
func runEach(t *testing.T, files map[string]string, setup []step, steps []step) {
	t.Helper()
	dirs := make([][2]string, len(steps))
	for i := range steps {
		dirs[i] = prepare(t, files)
	}
	diffs := make([][]string, len(steps))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i, s := range steps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			diffs[i] = execBoth(t, dirs[i], append(append([]step(nil), setup...), s))
		}()
	}
	wg.Wait()
	for i, d := range diffs {
		for _, e := range d {
			t.Errorf("case %d %q: %s", i, steps[i].args, e)
		}
	}
}

func clip(s string) string {
	if len(s) > 3000 {
		return s[:3000] + "..."
	}
	return s
}

func sortLines(s string) string {
	l := strings.SplitAfter(s, "\n")
	sort.Strings(l)
	return strings.Join(l, "")
}

// myhostname avoids a slow host name lookup in Postfix's programs.
const mainCF = "compatibility_level = 3.6\nmyhostname = test.example\n"

// queryKeys returns keys found in src plus misses, in varied case.
func queryKeys(src string) string {
	var b strings.Builder
	for i, line := range strings.Split(src, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		k := f[0]
		if i%3 == 0 {
			k = strings.ToUpper(k)
		}
		b.WriteString(k + "\n" + k + "-missing\n")
	}
	return b.String()
}

func TestDiffHashAndCDB(t *testing.T) {
	for seed := uint64(1); seed <= 2; seed++ {
		r := rand.New(rand.NewPCG(seed, 99))
		src := genSource(r, 150)
		keys := queryKeys(src)
		cfs := map[bool]string{true: mainCF, false: "myhostname = test.example\n"}
		for _, utf8 := range []bool{true, false} {
			// Generated here, not in the parallel subtest: r is not safe
			// for concurrent use.
			src2 := genSource(r, 30)
			t.Run(fmt.Sprintf("seed%d-utf8=%v", seed, utf8), func(t *testing.T) {
				t.Parallel()
				files := map[string]string{"main.cf": cfs[utf8], "src": src, "src2": src2}
				steps := []step{
					{args: []string{"src", "cdb:src2"}},
					{args: []string{"-s", "src"}, sorted: true},
					{args: []string{"-q", "-", "src"}, stdin: keys},
					{args: []string{"-q", "-", "cdb:src2", "hash:src"}, stdin: keys},
					{args: []string{"-q", "alpha1", "src", "cdb:src2"}},
					{args: []string{"-s", "cdb:src2"}},
					{args: []string{"-f", "btree:src2"}},
					{args: []string{"-f", "-q", "-", "btree:src2"}, stdin: keys},
					{args: []string{"-N", "cdb:src"}},
					{args: []string{"-n", "-q", "-", "cdb:src"}, stdin: keys},
					{args: []string{"-N", "-q", "-", "cdb:src"}, stdin: keys},
					{args: []string{"-i", "src"}, stdin: "new1 v1\nAlpha1 dup\nnew1 again\n"},
					{args: []string{"-i", "-r", "src"}, stdin: "new1 replaced\nnew2 v\n"},
					{args: []string{"-i", "-w", "src"}, stdin: "new2 ignored\nnew3 v\n"},
					{args: []string{"-s", "src"}, sorted: true},
					{args: []string{"-d", "new1", "src"}},
					{args: []string{"-d", "new1", "src"}},
					{args: []string{"-d", "-", "src"}, stdin: keys},
					{args: []string{"-s", "src"}, sorted: true},
				}
				runBoth(t, files, steps)
			})
		}
	}
}

func TestDiffErrorsAndOptions(t *testing.T) {
	files := map[string]string{"main.cf": mainCF, "t": "a 1\nb 2\n", "empty": ""}
	// Postfix sleeps one second after a fatal error: run the steps in
	// parallel, each after building the tables it may need.
	setup := []step{{args: []string{"t", "cdb:t", "empty"}}}
	steps := []step{
		{args: []string{}},
		{args: []string{"-Z", "t"}},
		{args: []string{"-q"}},
		{args: []string{"-q", "a"}},
		{args: []string{"-q", "a", "-s", "t"}},
		{args: []string{"-s", "-q", "a", "t"}},
		{args: []string{"-d", "a", "-q", "a", "t"}},
		{args: []string{"-d", "a", "-s", "t"}},
		{args: []string{"t", "-q", "a"}},
		{args: []string{"-b", "t"}},
		{args: []string{"-m", "-q", "-", "t"}},
		{args: []string{"nonexist"}},
		{args: []string{"-q", "a", "nonexist"}},
		{args: []string{"-q", "a", "cdb:nonexist"}},
		{args: []string{"foo:t"}},
		{args: []string{"-q", "x", "foo:t"}},
		{args: []string{"t", "cdb:t", "empty"}},
		{args: []string{"-s", "empty"}},
		{args: []string{"-q", "a", "empty", "t"}},
		{args: []string{"-qa", "t"}},
		{args: []string{"-s", "t", "cdb:t"}, sorted: true},
		{args: []string{"-s", "cdb:t"}},
		{args: []string{"-i", "cdb:t"}, stdin: "c 3\n"},
		{args: []string{"-d", "a", "cdb:t"}},
		{args: []string{"texthash:t"}},
		{args: []string{"-q", "A", "texthash:t"}},
		{args: []string{"-q", "x", "inline:{X=1, {y = two words}}"}},
		{args: []string{"-q", "y", "inline:{X=1, {y = two words}}"}},
		{args: []string{"-q", "x", "inline:{a=b, c}"}},
		{args: []string{"-q", "x", "inline:a=b"}},
		{args: []string{"-q", "x", "static:{a b}"}},
		{args: []string{"-q", "x", "static:"}},
		{args: []string{"-q", "x", "static:{a b"}},
		{args: []string{"-s", "static:x"}},
		{args: []string{"-q", "x", "randmap:x"}},
		{args: []string{"-q", "x", "randmap:{only}"}},
		{args: []string{"-q", "a", "unionmap:{hash:t, cdb:t}"}},
		{args: []string{"-q", "a", "unionmap:x"}},
		{args: []string{"-q", "a", "unionmap:{foo:bar}"}},
		{args: []string{"-q", "a", "pipemap:{hash:t, inline:{1=piped}}"}},
		{args: []string{"-q", "a", "fail:x"}},
		{args: []string{"fail:t"}},
		{args: []string{"-q", "root", "unix:passwd.byname"}},
		{args: []string{"-q", "nosuchuser", "unix:passwd.byname"}},
		{args: []string{"-q", "x", "unix:foo"}},
		{args: []string{"-q", "x", "socketmap:x"}},
		{args: []string{"-c", "/nonexistent", "-q", "a", "t"}},
	}
	runEach(t, files, setup, steps)
}

// TestCDBCrossRead checks that our cdb files are byte-identical to
// Postfix's, and that each program reads the other's.
func TestCDBCrossRead(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	src := genSource(r, 400)
	files := map[string]string{"main.cf": mainCF, "src": src}
	for _, flag := range []string{"-N", "-n"} {
		a, b := runBoth(t, files, []step{{args: []string{flag, "cdb:src"}}})
		da, _ := os.ReadFile(filepath.Join(a, "src.cdb"))
		db, _ := os.ReadFile(filepath.Join(b, "src.cdb"))
		if !bytes.Equal(da, db) || len(da) < 2048 {
			t.Fatalf("%s: cdb files differ (%d vs %d bytes)", flag, len(da), len(db))
		}
		ours := testutil.Bin(t, "postmap")
		ref := testutil.Reference(t, "/usr/sbin/postmap")
		keys := []byte(queryKeys(src))
		// Swap the files: each program reads the other's output.
		os.WriteFile(filepath.Join(a, "src.cdb"), db, 0o644)
		x := testutil.Run(t, a, ref, "postmap", keys, "-c", ".", "-q", "-", "cdb:src")
		os.WriteFile(filepath.Join(b, "src.cdb"), da, 0o644)
		y := testutil.Run(t, b, ours, "postmap", keys, "-c", ".", "-q", "-", "cdb:src")
		if x.Stdout != y.Stdout || x.Stderr != y.Stderr || x.Exit != y.Exit || x.Stdout == "" {
			t.Errorf("%s: cross-read differs:\n%v\n%v", flag, x, y)
		}
	}
}

// TestDiffMainCF checks that main.cf is read as Postfix reads it: the
// parameters postmap uses, $name expansion, and the diagnostics for a bad
// or missing file.
func TestDiffMainCF(t *testing.T) {
	cfs := []string{
		"default_database_type = cdb\n",
		"default_database_type = $x\nx = cdb\n",
		"default_database_type = nosuch\n",
		"smtputf8_enable = maybe\n",
		"smtputf8_enable = no\ncompatibility_level = 3.6\n",
		"compatibility_level = 3.6\n",
		"compatibility_level = 3.6\nsmtputf8_enable = ${x?{yes}:{no}}\n",
		"oops\n",
		"a = 1\na = 2\n",
		"  leading = x\n",
		"# comment\n\n   \ndefault_database_type =\n  cdb\n",
		"smtputf8_enable = $a\na = $b\nb = $a\n",
	}
	src := "a 1\nB 2\n\xc3\xa9 x\n\xff bad\n"
	steps := []step{
		{args: []string{"t"}},
		{args: []string{"-q", "\xc3\x89", "t"}},
		{args: []string{"-q", "b", "t"}},
		{args: []string{"-s", "t"}, sorted: true},
	}
	diffs := make([][]string, len(cfs))
	dirs := make([][2]string, len(cfs))
	for i, cf := range cfs {
		dirs[i] = prepare(t, map[string]string{"main.cf": cf + "myhostname = test.example\n", "t": src})
	}
	var wg sync.WaitGroup
	for i := range cfs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			diffs[i] = execBoth(t, dirs[i], steps)
		}()
	}
	wg.Wait()
	for i, d := range diffs {
		for _, e := range d {
			t.Errorf("main.cf %q: %s", cfs[i], e)
		}
	}
}
