package main

import (
	"bufio"
	"os"
	"strings"
	"testing"
)

func readLines(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.SplitAfter(string(data), "\n")
}

func compareGolden(t *testing.T, got, path string) {
	t.Helper()
	if os.Getenv("UPDATE_GOLDEN") != "" {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
		for i := 0; i < len(gl) && i < len(wl); i++ {
			if gl[i] != wl[i] {
				t.Fatalf("%s line %d: got %q, want %q", path, i+1, gl[i], wl[i])
			}
		}
		t.Fatalf("%s: got %d lines, want %d", path, len(gl), len(wl))
	}
}

func summaries(ps []Param) string {
	var b strings.Builder
	for _, p := range ps {
		b.WriteString(Summary(p) + "\n")
	}
	return b.String()
}

// TestInferGolden types hand-made defaults covering each inference rule.
func TestInferGolden(t *testing.T) {
	defaults := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(strings.Join(readLines(t, "../testdata/params/infer.in"), "")))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		m, err := ParsePostconf([]byte(line + "\n"))
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range m {
			defaults[k] = v
		}
	}
	sections := ParseManPage([]byte(".SH days (default: 5d)\nSome text.\n.PP\nThe default time unit is d (days).\n" +
		".SH text (default: hello world)\nSpecify a list of words, separated by comma or whitespace.\n"))
	compareGolden(t, summaries(Infer(defaults, sections)), "../testdata/params/infer.golden")
}

// TestRegistryGolden runs the whole inference on the committed snapshot of
// postconf -d and the installed postconf(5) page; the result must be the
// golden file the registry (params_gen.go) is checked against.
func TestRegistryGolden(t *testing.T) {
	man := "/usr/share/man/man5/postconf.5.gz"
	if _, err := os.Stat(man); err != nil {
		t.Fatalf("%s is missing; install postfix (make test does)", man)
	}
	data, err := os.ReadFile("../testdata/params/postconf-d.in")
	if err != nil {
		t.Fatal(err)
	}
	defaults, err := ParsePostconf(data)
	if err != nil {
		t.Fatal(err)
	}
	sections, err := readManPage(man)
	if err != nil {
		t.Fatal(err)
	}
	compareGolden(t, summaries(Infer(defaults, sections)), "../testdata/params/types.golden")
}

func TestParsePostconfRejectsJunk(t *testing.T) {
	for _, in := range []string{"novalue\n", " = x\n", "a =x\n"} {
		if _, err := ParsePostconf([]byte(in)); err == nil {
			t.Errorf("ParsePostconf(%q) accepted it", in)
		}
	}
}
