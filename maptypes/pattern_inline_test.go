package maptypes

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/postfix-go/postfix/internal/msg"
	"github.com/postfix-go/postfix/internal/testutil"
)

// inlineCase is one table name of testdata/inline/cases.in with the keys
// to look up.
type inlineCase struct {
	spec string
	keys []string
}

// readInlineCases reads cases.in: cases separated by "%%" lines, each the
// table name (it may span lines), a "--keys--" line, then one key a line.
func readInlineCases(t testing.TB) []inlineCase {
	data, err := os.ReadFile(filepath.Join("testdata", "inline", "cases.in"))
	if err != nil {
		t.Fatal(err)
	}
	var out []inlineCase
	for _, block := range strings.Split(string(data), "%%\n") {
		spec, keys, ok := strings.Cut(block, "\n--keys--\n")
		if !ok {
			t.Fatalf("case without --keys--: %q", block)
		}
		out = append(out, inlineCase{spec: spec, keys: strings.Split(strings.TrimSuffix(keys, "\n"), "\n")})
	}
	return out
}

// ourInline opens c.spec as "postmap -q" would and returns its warnings,
// fatal error and answers.
func ourInline(t testing.TB, c inlineCase) string {
	var tb Table
	var err error
	warn := captureWarnings(func() { tb, err = Open(c.spec, Default) })
	if err != nil {
		return warn + "postmap: fatal: " + msg.Printable(err.Error()) + "\n--\n"
	}
	return warn + "--\n" + queryOutput(t, tb, c.keys)
}

// TestInlineGolden checks every case of testdata/inline/cases.in against
// cases.out (warnings and fatal errors, "--", answers).
func TestInlineGolden(t *testing.T) {
	t.Parallel()
	var got strings.Builder
	for i, c := range readInlineCases(t) {
		got.WriteString("== case " + strconv.Itoa(i+1) + "\n" + ourInline(t, c))
	}
	golden := filepath.Join("testdata", "inline", "cases.out")
	if *updatePatternGolden {
		if err := os.WriteFile(golden, []byte(got.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got.String() != string(want) {
		t.Errorf("output differs from %s:\n--- got\n%s--- want\n%s", golden, got.String(), want)
	}
}

// TestInlineReference runs Debian's postmap -q on every inline case and
// expects our exact warnings, fatal error and answers. Postfix sleeps a
// second before a fatal exit, so all cases run at once.
func TestInlineReference(t *testing.T) {
	t.Parallel()
	ref := testutil.Reference(t, "/usr/sbin/postmap")
	dir := t.TempDir()
	cases := readInlineCases(t)
	wants := make([]string, len(cases))
	errs := make([]error, len(cases))
	var wg sync.WaitGroup
	for i, c := range cases {
		wg.Go(func() {
			cmd := exec.Command(ref, "-q", "-", c.spec)
			cmd.Args[0] = "postmap"
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "LANG=C", "LC_ALL=C")
			cmd.Stdin = strings.NewReader(strings.Join(c.keys, "\n") + "\n")
			var so, se strings.Builder
			cmd.Stdout, cmd.Stderr = &so, &se
			if err := cmd.Run(); err != nil {
				if _, ok := err.(*exec.ExitError); !ok {
					errs[i] = err
				}
			}
			var kept strings.Builder
			for _, l := range strings.SplitAfter(se.String(), "\n") {
				if strings.Contains(l, "empty string result is not allowed") ||
					strings.Contains(l, "should return NO RESULT in case of NOT FOUND") {
					continue
				}
				kept.WriteString(l)
			}
			wants[i] = kept.String() + "--\n" + so.String()
		})
	}
	wg.Wait()
	for i, c := range cases {
		if errs[i] != nil {
			t.Fatalf("running %s: %v", ref, errs[i])
		}
		// Both mask control characters in diagnostics ('?').
		got := ourInline(t, c)
		if got != wants[i] {
			t.Errorf("case %d %q:\n--- ours\n%s--- postfix\n%s", i+1, c.spec, got, wants[i])
		}
	}
}

// FuzzInlineTable opens random inline tables of each pattern type: bad
// nesting must give an error, never a panic, and a table that opens must
// answer the same as the source text it stands for, read as a file.
func FuzzInlineTable(f *testing.F) {
	f.Add("{ {/x/ y}, {/^a(.)/ got$1} }", "ab")
	f.Add("{{/q/ y}{/x/ z}}", "x")
	f.Add("{{if /a/}, {/b{2}/ {n} t}, {endif}}", "abb")
	f.Add("{ {10.0.0.0/8 ten}, {!192.168.0.0/16 no} }", "10.1.2.3")
	f.Fuzz(func(t *testing.T, name, key string) {
		old := msg.SetOutput(io.Discard)
		defer msg.SetOutput(old)
		if !isInlineName(name) {
			return
		}
		for _, typ := range []string{"regexp", "pcre", "cidr"} {
			tb, err := OpenType(typ, name, Default)
			src, serr := inlineSource(typ, name)
			if (err == nil) != (serr == nil) {
				t.Fatalf("%s:%s: open error %v, source error %v", typ, name, err, serr)
			}
			if err != nil {
				if !strings.HasPrefix(err.Error(), typ+" map: ") {
					t.Fatalf("%s:%s: error %q", typ, name, err)
				}
				continue
			}
			file := patternTypes[typ](name, splitLogicalLines(name, src), true)
			v1, ok1, _ := tb.Lookup(key)
			v2, ok2, _ := file.Lookup(key)
			if v1 != v2 || ok1 != ok2 {
				t.Fatalf("%s:%s key %q: inline (%q,%v) source (%q,%v)", typ, name, key, v1, ok1, v2, ok2)
			}
		}
	})
}
