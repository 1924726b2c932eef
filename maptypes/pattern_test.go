package maptypes

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/postfix-go/postfix/internal/msg"
	"github.com/postfix-go/postfix/internal/testutil"
)

var updatePatternGolden = flag.Bool("update-pattern-golden", false, "rewrite testdata/{regexp,pcre,cidr}/*.out from our output")

// patternTypes opens a table of each pattern type from source text.
var patternTypes = map[string]func(path string, lines []logicalLine, noIndex bool) Table{
	"regexp": func(p string, l []logicalLine, n bool) Table { return parseRegexpLines(p, l, n) },
	"pcre":   func(p string, l []logicalLine, n bool) Table { return parsePCRELines(p, l, n) },
	"cidr":   func(p string, l []logicalLine, n bool) Table { return parseCIDRLines(p, l, n) },
}

// captureWarnings runs f with diagnostics going to a buffer, with the
// program name "postmap" as in the reference runs.
func captureWarnings(f func()) string {
	var buf bytes.Buffer
	old := msg.SetOutput(&buf)
	oldName := msg.ProgName()
	msg.SetProgName("postmap")
	defer func() {
		msg.SetOutput(old)
		msg.SetProgName(oldName)
	}()
	f()
	return buf.String()
}

// queryOutput answers keys like "postmap -q - TYPE:name": one
// "key<TAB>value" line per key found. Empty lines are not looked up.
func queryOutput(t testing.TB, tb Table, keys []string) string {
	var b strings.Builder
	for _, k := range keys {
		if k == "" {
			continue
		}
		v, ok, err := tb.Lookup(k)
		if err != nil {
			t.Fatalf("lookup %q: %v", k, err)
		}
		if ok {
			b.WriteString(k + "\t" + v + "\n")
		}
	}
	return b.String()
}

// ourRun opens source (named name) with typ and answers keys; it returns
// warnings and answers.
func ourRun(t testing.TB, typ, name, source string, keys []string, noIndex bool) (warn, out string) {
	var tb Table
	warn = captureWarnings(func() {
		tb = patternTypes[typ](name, splitLogicalLines(name, source), noIndex)
	})
	return warn, queryOutput(t, tb, keys)
}

// refRun runs Debian's postmap on the same table and keys in dir. Its
// warnings about empty results come from the postmap command, not from
// the table, and are left out.
func refRun(t testing.TB, dir, typ, name string, keys []string) (warn, out string) {
	ref := testutil.Reference(t, "/usr/sbin/postmap")
	var in strings.Builder
	for _, k := range keys {
		if k != "" {
			in.WriteString(k + "\n")
		}
	}
	r := testutil.Run(t, dir, ref, "postmap", []byte(in.String()), "-q", "-", typ+":"+name)
	var kept []string
	for _, l := range strings.SplitAfter(r.Stderr, "\n") {
		if strings.Contains(l, "empty string result is not allowed") ||
			strings.Contains(l, "should return NO RESULT in case of NOT FOUND") || l == "" {
			continue
		}
		kept = append(kept, l)
	}
	return strings.Join(kept, ""), r.Stdout
}

func readKeys(t testing.TB, path string) []string {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
}

// TestPatternGolden checks every testdata/{regexp,pcre,cidr}/NAME.in with
// NAME.keys against NAME.out (warnings, "--", answers), with and without
// the index.
func TestPatternGolden(t *testing.T) {
	for typ := range patternTypes {
		files, _ := filepath.Glob(filepath.Join("testdata", typ, "*.in"))
		if len(files) == 0 {
			t.Fatalf("no golden inputs for %s", typ)
		}
		for _, in := range files {
			base := strings.TrimSuffix(filepath.Base(in), ".in")
			t.Run(typ+"/"+base, func(t *testing.T) {
				src, err := os.ReadFile(in)
				if err != nil {
					t.Fatal(err)
				}
				keys := readKeys(t, strings.TrimSuffix(in, ".in")+".keys")
				name := base + ".in"
				warn, out := ourRun(t, typ, name, string(src), keys, false)
				got := warn + "--\n" + out
				golden := strings.TrimSuffix(in, ".in") + ".out"
				if *updatePatternGolden {
					if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatal(err)
				}
				if got != string(want) {
					t.Errorf("output differs from %s:\n--- got\n%s--- want\n%s", golden, got, want)
				}
				warn2, out2 := ourRun(t, typ, name, string(src), keys, true)
				if warn2 != warn || out2 != out {
					t.Errorf("indexed and linear lookups differ:\n%s\n%s", out, out2)
				}
			})
		}
	}
}

// TestPatternGoldenReference runs Debian's postmap on the golden inputs
// that use no construct we reject, and expects our exact output.
func TestPatternGoldenReference(t *testing.T) {
	for typ := range patternTypes {
		files, _ := filepath.Glob(filepath.Join("testdata", typ, "*.in"))
		for _, in := range files {
			base := strings.TrimSuffix(filepath.Base(in), ".in")
			t.Run(typ+"/"+base, func(t *testing.T) {
				src, err := os.ReadFile(in)
				if err != nil {
					t.Fatal(err)
				}
				keys := readKeys(t, strings.TrimSuffix(in, ".in")+".keys")
				warn, out := ourRun(t, typ, base+".in", string(src), keys, false)
				if strings.Contains(warn, "unsupported regular expression feature") {
					t.Skip("uses constructs this engine rejects on purpose")
				}
				rwarn, rout := refRun(t, filepath.Join("testdata", typ), typ, base+".in", keys)
				if warn != rwarn {
					t.Errorf("warnings differ:\n--- ours\n%s--- postfix\n%s", warn, rwarn)
				}
				if out != rout {
					t.Errorf("answers differ:\n--- ours\n%s--- postfix\n%s", out, rout)
				}
			})
		}
	}
}
