package tlsutil

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/postfix-go/postfix/conf"
)

var update = flag.Bool("update", false, "rewrite the golden .out files")

// golden runs each non-comment line of testdata/NAME.in through fn and
// compares the result with testdata/NAME.out.
func golden(t *testing.T, name string, fn func(line string) string) {
	t.Helper()
	in, err := os.ReadFile("testdata/" + name + ".in")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, line := range strings.Split(strings.TrimSuffix(string(in), "\n"), "\n") {
		if strings.HasPrefix(line, "#") {
			continue
		}
		fmt.Fprintf(&b, "%s\n\t%s\n", line, fn(line))
	}
	out := "testdata/" + name + ".out"
	if *update {
		if err := os.WriteFile(out, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if b.String() != string(want) {
		t.Errorf("testdata/%s.in:\ngot:\n%s\nwant:\n%s", name, b.String(), want)
	}
}

func errText(err error) string {
	e := err.(*Error)
	var lines []string
	for _, l := range e.Lines {
		p := ""
		if l.Warning {
			p = "warning: "
		}
		if e.Session {
			p += "HOST[ADDR]: "
		}
		lines = append(lines, p+l.Text)
	}
	return strings.Join(lines, "\n\t")
}

func TestProtocolsGolden(t *testing.T) {
	t.Parallel()
	golden(t, "protocols", func(line string) string {
		p, err := ParseProtocols(line)
		if err != nil {
			return errText(err)
		}
		if len(p.Versions) == 0 {
			return "(none: every handshake fails)"
		}
		return p.String()
	})
}

func TestCiphersGolden(t *testing.T) {
	t.Parallel()
	c := conf.New(t.TempDir(), nil)
	golden(t, "ciphers", func(line string) string {
		grade, excl, _ := strings.Cut(line, "|")
		ids, err := SelectCiphers(strings.TrimSpace(grade), c.Get, conf.SplitList(excl))
		if err != nil {
			return errText(err)
		}
		if len(ids) == 0 {
			return "(none: TLS 1.3 only)"
		}
		names := make([]string, len(ids))
		for i, id := range ids {
			names[i] = CipherName(id)
		}
		return strings.Join(names, " ")
	})
}
