package postalias_test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/postfix-go/postfix/internal/testutil"
)

type step struct {
	args   []string
	stdin  string
	sorted bool
}

// yp hides the build time stored under YP_LAST_MODIFIED.
var yp = regexp.MustCompile(`(?m)^YP_LAST_MODIFIED:\t[0-9]+$`)

func sortLines(s string) string {
	l := strings.SplitAfter(s, "\n")
	sort.Strings(l)
	return strings.Join(l, "")
}

const mainCF = "compatibility_level = 3.6\nmyhostname = test.example\n"

func runBoth(t *testing.T, files map[string]string, steps []step) {
	t.Helper()
	ours := testutil.Bin(t, "postalias")
	ref := testutil.Reference(t, "/usr/sbin/postalias")
	dirs := [2]string{t.TempDir(), t.TempDir()}
	for _, d := range dirs {
		for name, data := range files {
			path := filepath.Join(d, name)
			if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
				t.Fatal(err)
			}
			// Postfix waits until main.cf is a second old: back-date.
			old := time.Now().Add(-time.Hour)
			if err := os.Chtimes(path, old, old); err != nil {
				t.Fatal(err)
			}
		}
	}
	for i, s := range steps {
		args := append([]string{"-c", "."}, s.args...)
		var stdin []byte
		if s.stdin != "" {
			stdin = []byte(s.stdin)
		}
		want := testutil.Run(t, dirs[0], ref, "postalias", stdin, args...)
		got := testutil.Run(t, dirs[1], ours, "postalias", stdin, args...)
		want.Stdout = yp.ReplaceAllString(want.Stdout, "YP_LAST_MODIFIED:\tT")
		got.Stdout = yp.ReplaceAllString(got.Stdout, "YP_LAST_MODIFIED:\tT")
		if s.sorted {
			want.Stdout, got.Stdout = sortLines(want.Stdout), sortLines(got.Stdout)
		}
		if want.Stdout != got.Stdout || want.Stderr != got.Stderr || want.Exit != got.Exit {
			t.Errorf("step %d: postalias %q:\nwant exit %d stdout:\n%s\nstderr:\n%s\ngot exit %d stdout:\n%s\nstderr:\n%s",
				i, s.args, want.Exit, want.Stdout, want.Stderr, got.Exit, got.Stdout, got.Stderr)
		}
	}
}

func aliasKeys(src string) string {
	var b strings.Builder
	for _, line := range strings.Split(src, "\n") {
		if k, _, ok := strings.Cut(line, ":"); ok && k != "" && k[0] != ' ' {
			b.WriteString(strings.TrimSpace(k) + "\n" + strings.ToUpper(strings.TrimSpace(k)) + "\n")
		}
	}
	return b.String() + "@\nyp_master_name\nYP_MASTER_NAME\nnobody\n"
}

func TestDiffPostalias(t *testing.T) {
	basic, _ := os.ReadFile("testdata/basic.in")
	syntax, _ := os.ReadFile("testdata/syntax.in")
	for _, typ := range []string{"hash", "cdb"} {
		for name, src := range map[string]string{"basic": string(basic), "syntax": string(syntax)} {
			t.Run(typ+"-"+name, func(t *testing.T) {
				t.Parallel()
				files := map[string]string{"main.cf": mainCF, "aliases": src}
				steps := []step{
					{args: []string{typ + ":aliases"}},
					{args: []string{"-q", "-", typ + ":aliases"}, stdin: aliasKeys(src)},
					{args: []string{"-q", "root", typ + ":aliases"}},
					{args: []string{"-f", "-q", "YP_MASTER_NAME", typ + ":aliases"}},
				}
				if typ == "hash" {
					steps = append(steps,
						step{args: []string{"-s", "aliases"}, sorted: true},
						step{args: []string{"-i", "aliases"}, stdin: "new: x\nroot: dup\n"},
						step{args: []string{"-d", "new", "aliases"}},
						step{args: []string{"-d", "-", "aliases"}, stdin: "root\nnone\n"},
						step{args: []string{"-s", "aliases"}, sorted: true},
					)
				}
				runBoth(t, files, steps)
			})
		}
	}
}

func TestDiffPostaliasErrors(t *testing.T) {
	files := map[string]string{"main.cf": mainCF, "a": "x: y\n"}
	steps := [][]string{{}, {"-Z"}, {"-q"}, {"-q", "a", "-s", "a"}, {"-s", "-d", "x", "a"}, {"nonexist"},
		{"-q", "x", "nonexist"}, {"-s", "cdb:a"}, {"-c", "/nonexistent", "a"}}
	for i, args := range steps {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			t.Parallel()
			runBoth(t, files, []step{{args: []string{"a", "cdb:a"}}, {args: args}})
		})
	}
}

// TestDiffEmptyAliasName: a quoted empty alias name is stored, and listing
// the table warns about it, as Postfix does.
func TestDiffEmptyAliasName(t *testing.T) {
	files := map[string]string{"main.cf": "myhostname = test.example\n", "aliases": "\"\": root\nroot: admin\n: x\n"}
	runBoth(t, files, []step{
		{args: []string{"aliases"}},
		{args: []string{"-s", "aliases"}, sorted: true},
		{args: []string{"-q", "", "aliases"}},
		{args: []string{"-q", "root", "aliases"}},
	})
}
