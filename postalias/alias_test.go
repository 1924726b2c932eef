package postalias

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/postfix-go/postfix/maptypes"
)

var update = flag.Bool("update", false, "rewrite golden files")

func parseForGolden(name string, data []byte) string {
	var b strings.Builder
	warn := func(s string) { b.WriteString("postalias: warning: " + s + "\n") }
	lr := maptypes.NewLineReader(strings.NewReader(string(data)), name, warn)
	for {
		line, n, ok := lr.Next()
		if !ok {
			break
		}
		k, v, problem := ParseEntry(line)
		if problem != "" {
			warn(fmt.Sprintf("%s, line %d: %s", name, n, problem))
			continue
		}
		fmt.Fprintf(&b, "%d\t%s:\t%s\n", n, maptypes.Fold(k, true), v)
	}
	return b.String()
}

// TestAliasGolden checks testdata/*.in against testdata/*.out: the
// name and value postalias stores for each line, and its warnings. The
// expectations were checked against Debian's postalias 3.7.
func TestAliasGolden(t *testing.T) {
	ins, _ := filepath.Glob("testdata/*.in")
	if len(ins) == 0 {
		t.Fatal("no golden inputs")
	}
	for _, in := range ins {
		data, err := os.ReadFile(in)
		if err != nil {
			t.Fatal(err)
		}
		got := parseForGolden(filepath.Base(in), data)
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

func FuzzParseEntry(f *testing.F) {
	for _, s := range []string{"root: admin", "a: \"b c\"@d, |cmd, /file, :include:/x", "(c)k: y", "\"\": y", "x: (unterminated", "k: [a\\]b]", "a%b: x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		k, v, problem := ParseEntry(line)
		if problem != "" {
			return
		}
		// The stored value must scan back to the same text.
		if again := join(scan(v), true); again != v && !strings.Contains(line, "\\") && !strings.ContainsAny(line, "\"[(\r\n") {
			t.Fatalf("value %q does not round-trip: %q", v, again)
		}
		_ = k
	})
}
