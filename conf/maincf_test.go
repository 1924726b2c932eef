package conf

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

// render prints a parse result the way the golden files hold it: entries,
// then warnings, then the error.
func renderMain(path string, data []byte) string {
	f, err := ParseMain(path, data)
	var b strings.Builder
	for _, e := range f.Entries {
		fmt.Fprintf(&b, "line %d: %s = %s\n", e.Line, e.Name, e.Value)
	}
	for _, w := range f.Warnings {
		fmt.Fprintf(&b, "warning: %s\n", w)
	}
	if err != nil {
		fmt.Fprintf(&b, "fatal: %s\n", err)
	}
	return b.String()
}

// TestMainGolden parses testdata/maincf/*.in and compares with *.ref.
func TestMainGolden(t *testing.T) {
	ins, _ := filepath.Glob("testdata/maincf/*.in")
	if len(ins) == 0 {
		t.Fatal("no golden inputs")
	}
	for _, in := range ins {
		data, err := os.ReadFile(in)
		if err != nil {
			t.Fatal(err)
		}
		got := renderMain(filepath.Base(in), data)
		ref := strings.TrimSuffix(in, ".in") + ".ref"
		if *update {
			os.WriteFile(ref, []byte(got), 0644)
			continue
		}
		want, err := os.ReadFile(ref)
		if err != nil {
			t.Fatal(err)
		}
		if got != string(want) {
			t.Errorf("%s:\n--- want\n%s--- got\n%s", in, want, got)
		}
	}
}

func FuzzParseMain(f *testing.F) {
	ins, _ := filepath.Glob("testdata/maincf/*.in")
	for _, in := range ins {
		data, _ := os.ReadFile(in)
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseMain("main.cf", data)
		if err != nil {
			return
		}
		for _, e := range m.Entries {
			if e.Name == "" || strings.ContainsAny(e.Name, " \t=") {
				t.Fatalf("bad name %q", e.Name)
			}
			if e.Value != strings.TrimSpace(e.Value) && !strings.ContainsAny(e.Value, "\v\f") {
				t.Fatalf("value not trimmed: %q", e.Value)
			}
		}
	})
}
