package address

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden .out files")

// dumpTree prints a token tree the way Postfix's tok822 test program
// does: one token per line, indented by depth.
func dumpTree(b *strings.Builder, list []*Token, indent int) {
	for _, t := range list {
		pad := strings.Repeat(" ", indent)
		switch {
		case t.Type < 256:
			fmt.Fprintf(b, "%s OP %q\n", pad, string(rune(t.Type)))
		case t.Type == Group:
			fmt.Fprintf(b, "%s address\n", pad)
			dumpTree(b, t.Sub, indent+2)
		case t.Type == StartGrp:
			fmt.Fprintf(b, "%s group \":\"\n", pad)
		default:
			name := map[int]string{Atom: "atom", QString: "quoted string", DomLit: "domain literal", Comment: "comment"}[t.Type]
			fmt.Fprintf(b, "%s %s %q\n", pad, name, t.Text)
		}
	}
}

// golden runs each line of testdata/NAME.in through fn and compares the
// concatenated output with testdata/NAME.out.
func golden(t *testing.T, name string, fn func(b *strings.Builder, line string)) {
	t.Helper()
	in, err := os.ReadFile(filepath.Join("testdata", name+".in"))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, line := range strings.Split(strings.TrimSuffix(string(in), "\n"), "\n") {
		fmt.Fprintf(&b, ">>>%s<<<\n", line)
		fn(&b, line)
		b.WriteString("\n")
	}
	outPath := filepath.Join("testdata", name+".out")
	if *update {
		if err := os.WriteFile(outPath, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(outPath)
	if err != nil {
		t.Fatal(err)
	}
	if got := b.String(); got != string(want) {
		t.Errorf("%s: output differs from %s (run go test -update to see):\n%s", name, outPath, diffLines(string(want), got))
	}
}

func diffLines(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		var a, b string
		if i < len(w) {
			a = w[i]
		}
		if i < len(g) {
			b = g[i]
		}
		if a != b {
			return fmt.Sprintf("line %d:\n want %q\n got  %q", i+1, a, b)
		}
	}
	return ""
}

// TestParseGolden: header values → parse tree, internal and external
// forms (with and without line breaks) and the address list.
func TestParseGolden(t *testing.T) {
	golden(t, "parse", func(b *strings.Builder, line string) {
		tree := Parse(line)
		b.WriteString("Parse tree:\n")
		dumpTree(b, tree, 0)
		fmt.Fprintf(b, "Internalized:\n%s\n", Internalize(tree))
		fmt.Fprintf(b, "Externalized:\n%s\n", Externalize(tree))
		fmt.Fprintf(b, "Externalized, newlines inserted:\n%s\n", ExternalizeLines(tree))
		for _, a := range ParseList(line) {
			fmt.Fprintf(b, "Address: display=%q addr=%q\n", a.Display, a.Addr)
		}
	})
}

// TestQuoteGolden: addresses → quoted (External) and unquoted (Internal).
func TestQuoteGolden(t *testing.T) {
	golden(t, "quote", func(b *strings.Builder, line string) {
		if line == "<>" {
			line = ""
		}
		fmt.Fprintf(b, "'%s' quoted '%s'\n", line, External(line))
		fmt.Fprintf(b, "'%s' unquoted '%s'\n", line, Internal(line))
	})
}

// TestRewriteHeader: a header whose addresses change is re-emitted and
// folded; one whose addresses do not change is left alone.
func TestRewriteHeader(t *testing.T) {
	up := func(s string) string {
		if !strings.Contains(s, "@") && s != "" {
			return s + "@example.org"
		}
		return s
	}
	golden(t, "header", func(b *strings.Builder, line string) {
		name, value, _ := strings.Cut(line, ":")
		h, changed := RewriteHeader(name, value, up)
		fmt.Fprintf(b, "changed=%v\n%s\n", changed, h)
	})
}

// TestHeaderListLimit: the token limit cuts the value; addresses come out
// after rewriting.
func TestHeaderListLimit(t *testing.T) {
	h := ParseHeader("a@b, c@d, e@f", 5)
	if got := strings.Join(h.Addresses(), "|"); got != "a@b|c" {
		t.Errorf("limited addresses %q", got)
	}
	h = ParseHeader("x, \"a b\"", 0)
	h.RewriteInternal(func(s string) string { return s + "@example.org" })
	if got := strings.Join(h.Addresses(), "|"); got != "x@example.org|a b@example.org" || !h.Changed() {
		t.Errorf("rewritten addresses %q changed=%v", got, h.Changed())
	}
	if got := h.Header("To"); got != "To: x@example.org, \"a b\"@example.org" {
		t.Errorf("header %q", got)
	}
}
