package matchlist

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/lists.out")

// run executes the script of testdata/lists.in and returns its output with
// the warnings in place.
func run(t testing.TB, script, dir string) string {
	var out strings.Builder
	warn := func(format string, args ...any) {
		out.WriteString("warning: " + strings.ReplaceAll(fmt.Sprintf(format, args...), dir, "DIR") + "\n")
	}
	var l *List
	kinds := map[string]Kind{"namadr": Namadr, "domain": Domain, "string": String}
	for _, line := range strings.Split(script, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		out.WriteString("> " + line + "\n")
		f := strings.SplitN(line, " ", 5)
		switch f[0] {
		case "list":
			var err error
			l, err = CompileOpts(f[2], strings.ReplaceAll(f[4], "DIR", dir), kinds[f[1]], f[3] == "parent", Options{Warn: warn})
			if err != nil {
				out.WriteString("error: " + err.Error() + "\n")
			}
		case "match":
			name, addr := f[1], f[2]
			if name == "-" {
				name = ""
			}
			if addr == "-" {
				addr = ""
			}
			ok, err := l.Match(name, addr)
			fmt.Fprintf(&out, "%v", ok)
			if err != nil {
				fmt.Fprintf(&out, " error: %v", strings.ReplaceAll(err.Error(), dir, "DIR"))
			}
			out.WriteString("\n")
		}
	}
	return out.String()
}

func setupDir(t testing.TB) string {
	dir := t.TempDir()
	for _, f := range [][2]string{{"hosts.txt", "hosts"}, {"re.txt", "re"}} {
		b, err := os.ReadFile(filepath.Join("testdata", f[0]))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f[1]), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestGolden checks matching, negation, files, tables, CIDR and the
// warnings against testdata/lists.out. The namadr behaviour these cases
// share with mynetworks is also checked against Debian's smtpd by
// smtpd/check's recorded dialogues (mynetworks patterns).
func TestGolden(t *testing.T) {
	t.Parallel()
	in, err := os.ReadFile("testdata/lists.in")
	if err != nil {
		t.Fatal(err)
	}
	got := run(t, string(in), setupDir(t))
	if *update {
		if err := os.WriteFile("testdata/lists.out", []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile("testdata/lists.out")
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("output differs from testdata/lists.out:\n%s", got)
	}
}

// FuzzMatch compiles arbitrary list values and matches arbitrary names and
// addresses: no panic, and a nil-error result for well-formed addresses of
// plain lists.
func FuzzMatch(f *testing.F) {
	f.Add("192.0.2.0/24, !192.0.2.5, [2001:db8::]/32", "host.example", "192.0.2.1", true)
	f.Add(".dom.example, host.example, 1.2.3", "a.dom.example", "::1", false)
	f.Add("!!!x, [::1]/128, [1.2.3.4], {a b}", "x", "1.2.3.4", false)
	f.Add("#c", "", "", true)
	f.Fuzz(func(t *testing.T, value, name, addr string, parent bool) {
		if strings.ContainsAny(value, "/:") {
			// files and tables are out of scope for fuzzing
			value = strings.NewReplacer("/", "_", ":", "_").Replace(value)
		}
		for _, k := range []Kind{Namadr, Domain, String} {
			l, err := CompileOpts("fuzz", value, k, parent, Options{Warn: func(string, ...any) {}})
			if err != nil {
				continue
			}
			if _, err := l.Match(name, addr); err != nil {
				t.Fatalf("Match(%q, %q) on %q: %v", name, addr, value, err)
			}
		}
	})
}
