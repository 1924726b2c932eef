package maptypes

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

// parseForGolden renders a source file as postmap sees it: warnings and
// entries (folded key, value) in input order.
func parseForGolden(name string, data []byte, utf8 bool) string {
	var b strings.Builder
	warn := func(s string) { b.WriteString("postmap: warning: " + s + "\n") }
	ReadSource(strings.NewReader(string(data)), name, utf8, warn, func(e Entry) error {
		fmt.Fprintf(&b, "%d\t%s\t%s\n", e.Line, Fold(e.Key, utf8), e.Value)
		return nil
	})
	return b.String()
}

// TestSourceGolden checks testdata/*.in against testdata/*.out (line,
// folded key, value, and postmap's warnings with file and line). The
// expectations were checked against Debian's postmap 3.7.
func TestSourceGolden(t *testing.T) {
	ins, _ := filepath.Glob("testdata/*.in")
	if len(ins) == 0 {
		t.Fatal("no golden inputs")
	}
	for _, in := range ins {
		data, err := os.ReadFile(in)
		if err != nil {
			t.Fatal(err)
		}
		got := parseForGolden(filepath.Base(in), data, true)
		out := strings.TrimSuffix(in, ".in") + ".out"
		if *update {
			os.WriteFile(out, []byte(got), 0o644)
			continue
		}
		want, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		if got != string(want) {
			t.Errorf("%s:\ngot:\n%s\nwant:\n%s", in, got, want)
		}
	}
}

func FuzzReadSource(f *testing.F) {
	ins, _ := filepath.Glob("testdata/*.in")
	for _, in := range ins {
		data, _ := os.ReadFile(in)
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		n := 0
		ReadSource(strings.NewReader(string(data)), "fuzz", true, func(s string) {
			if !strings.HasPrefix(s, "fuzz") {
				t.Fatalf("warning without file name: %q", s)
			}
		}, func(e Entry) error {
			n++
			if e.Key == "" || e.Value == "" || strings.ContainsAny(e.Value[:1], " \t") || e.Line < 1 {
				t.Fatalf("bad entry %+v", e)
			}
			return nil
		})
	})
}
