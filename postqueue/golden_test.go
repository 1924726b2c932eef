package postqueue

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden .out files")

// parseStream turns a golden input into a 0-form showq stream: one
// "name=value" attribute per line, "--" for an end-of-record marker; "\c"
// in a value stands for the byte 0x01.
func parseStream(text string) []byte {
	var b bytes.Buffer
	for _, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		if line == "--" {
			b.WriteByte(0)
			continue
		}
		name, value, _ := strings.Cut(line, "=")
		b.WriteString(name)
		b.WriteByte(0)
		b.WriteString(strings.ReplaceAll(value, `\c`, "\x01"))
		b.WriteByte(0)
	}
	return b.Bytes()
}

// format runs Compat (short and long layouts) and JSON over a stream.
func format(stream []byte) string {
	var out strings.Builder
	for _, f := range []struct {
		name string
		fn   func(r *bytes.Reader, w *bytes.Buffer) error
	}{
		{"-p", func(r *bytes.Reader, w *bytes.Buffer) error { return Compat(r, w, false) }},
		{"-p long", func(r *bytes.Reader, w *bytes.Buffer) error { return Compat(r, w, true) }},
		{"-j", func(r *bytes.Reader, w *bytes.Buffer) error { return JSON(r, w, false) }},
	} {
		var buf bytes.Buffer
		err := f.fn(bytes.NewReader(stream), &buf)
		out.WriteString("== " + f.name + "\n" + buf.String())
		if err != nil {
			out.WriteString("fatal: " + err.Error() + "\n")
		}
	}
	return out.String()
}

// TestGolden formats each testdata/golden/*.in showq stream and compares
// with .out (with TZ=UTC: arrival times are local time, as in Postfix).
func TestGolden(t *testing.T) {
	t.Setenv("TZ", "UTC")
	ins, _ := filepath.Glob("testdata/golden/*.in")
	if len(ins) == 0 {
		t.Fatal("no golden inputs")
	}
	for _, in := range ins {
		t.Run(filepath.Base(in), func(t *testing.T) {
			text, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			got := format(parseStream(string(text)))
			outPath := strings.TrimSuffix(in, ".in") + ".out"
			if *update {
				os.WriteFile(outPath, []byte(got), 0o644)
			}
			want, err := os.ReadFile(outPath)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("got:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

// FuzzFormat feeds arbitrary bytes as a showq stream: the formatters must
// not panic, and a stream they accept ends with the summary line.
func FuzzFormat(f *testing.F) {
	ins, _ := filepath.Glob("testdata/golden/*.in")
	for _, in := range ins {
		text, _ := os.ReadFile(in)
		f.Add(parseStream(string(text)))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var buf bytes.Buffer
		if err := Compat(bytes.NewReader(data), &buf, false); err == nil {
			s := buf.String()
			if !strings.HasSuffix(s, "Mail queue is empty\n") && !strings.Contains(s, " Kbytes in ") {
				t.Fatalf("accepted stream without a summary: %q", s)
			}
		}
		buf.Reset()
		_ = JSON(bytes.NewReader(data), &buf, false)
	})
}
