package showq

import (
	"bytes"
	"flag"
	"fmt"
	"github.com/postfix-go/postfix/internal/goldentest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/postfix-go/postfix/conf"
	"github.com/postfix-go/postfix/internal/queue"
)

var update = flag.Bool("update", false, "rewrite the golden .out files")

// setup starts logging to a file (so tests see warnings) and returns the
// configuration showq reads.
func setup(t testing.TB) (*conf.Config, func() string) {
	t.Helper()
	return goldentest.CaptureLog(t, "showq", "")
}

func parseRecords(text string) []byte { return goldentest.ParseRecords(text) }

// readable shows a 0-form attribute stream one attribute per line, "--"
// for each end-of-record marker.
func readable(stream []byte) string {
	var out strings.Builder
	for len(stream) > 0 {
		if stream[0] == 0 {
			out.WriteString("--\n")
			stream = stream[1:]
			continue
		}
		name, rest, _ := bytes.Cut(stream, []byte{0})
		value, rest, _ := bytes.Cut(rest, []byte{0})
		fmt.Fprintf(&out, "%s=%q\n", name, value)
		stream = rest
	}
	return out.String()
}

// report lists a queue holding the one file data, in the active queue.
func report(t testing.TB, c *conf.Config, data []byte) []byte {
	t.Helper()
	dir := t.TempDir()
	l := queue.Layout{Dir: dir, Depth: 1, Hashed: []string{"deferred", "defer"}}
	if err := l.MakeDirs(); err != nil {
		t.Fatal(err)
	}
	p := l.Path(queue.Active, "ABCDEF12345")
	if err := os.WriteFile(p, data, 0o700); err != nil {
		t.Fatal(err)
	}
	mtime := time.Unix(1795800000, 0)
	os.Chtimes(p, mtime, mtime)
	var out bytes.Buffer
	if err := Report(&out, l, c); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// TestGolden lists a queue holding each testdata/golden/*.in as a queue
// file and compares the showq stream and warnings with .out.
func TestGolden(t *testing.T) {
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
			c, logged := setup(t)
			got := readable(report(t, c, parseRecords(string(text)))) + logged()
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

// FuzzReport lists a queue file of arbitrary bytes: showq must not panic
// and must always produce a complete, well-formed stream.
func FuzzReport(f *testing.F) {
	ins, _ := filepath.Glob("testdata/golden/*.in")
	for _, in := range ins {
		text, _ := os.ReadFile(in)
		f.Add(parseRecords(string(text)))
	}
	c, _ := setup(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		out := report(t, c, data)
		want := []byte("protocol\x00" + Protocol + "\x00\x00")
		if !bytes.HasPrefix(out, want) || out[len(out)-1] != 0 {
			t.Fatalf("malformed stream %q", out)
		}
		// Every message record is closed: the stream ends with the
		// list terminator after either the greeting or a message.
		body := out[len(want):]
		if len(body) > 1 && !bytes.HasSuffix(body, []byte{0, 0}) {
			t.Fatalf("unterminated message in %q", out)
		}
	})
}
