package postdrop

import (
	"bytes"
	"flag"
	"fmt"
	"github.com/postfix-go/postfix/internal/goldentest"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/postfix-go/postfix/internal/record"
)

var update = flag.Bool("update", false, "rewrite the golden .out files")

func captureLog(t testing.TB) func() string {
	t.Helper()
	_, logged := goldentest.CaptureLog(t, "postdrop", "")
	return logged
}

func parseRecords(text string) []byte { return goldentest.ParseRecords(text) }

func dump(data []byte) string {
	var out strings.Builder
	r := record.NewReader(bytes.NewReader(data), 0)
	for {
		t, d, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Fprintf(&out, "record error: %v\n", err)
			break
		}
		fmt.Fprintf(&out, "%c %q\n", t, d)
	}
	return out.String()
}

// TestGolden copies each testdata/golden/*.in as postdrop does and
// compares the records written, the outcome and the warnings with .out.
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
			logged := captureLog(t)
			var out bytes.Buffer
			w := record.NewWriter(&out)
			res, err := copyRecords(w, bytes.NewReader(parseRecords(string(text))), 64, 1000)
			w.Flush()
			got := dump(out.Bytes())
			got += fmt.Sprintf("senders=%d recipients=%d cancelled=%v\n", res.senders, res.rcpts, res.cancelled)
			if err != nil {
				got += "fatal: " + err.Error() + "\n"
			}
			got += logged()
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

// FuzzCopyRecords checks that no input makes postdrop panic, and that what
// it writes is well-formed and uses only the record types it allows.
func FuzzCopyRecords(f *testing.F) {
	ins, _ := filepath.Glob("testdata/golden/*.in")
	for _, in := range ins {
		text, _ := os.ReadFile(in)
		f.Add(parseRecords(string(text)))
	}
	captureLog(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		var out bytes.Buffer
		w := record.NewWriter(&out)
		_, _ = copyRecords(w, bytes.NewReader(data), 64, 1000)
		w.Flush()
		r := record.NewReader(&out, 0)
		for {
			typ, _, err := r.Next()
			if err == io.EOF {
				return
			}
			if err != nil {
				t.Fatalf("unreadable output: %v", err)
			}
			if !strings.ContainsRune("MFSRVAinXLNE", rune(typ)) {
				t.Fatalf("record type %c passed through", typ)
			}
		}
	})
}

func TestSplitNameValue(t *testing.T) {
	for in, want := range map[string][3]string{
		"a=b":       {"a", "b", ""},
		" a = b ":   {"a", "b", ""},
		"a=":        {"a", "", ""},
		"=b":        {"", "", "missing attribute name"},
		"ab":        {"", "", "missing '=' after attribute name"},
		"":          {"", "", "missing attribute name"},
		"a=b=c":     {"a", "b=c", ""},
		"\ta\t=\tb": {"a", "b", ""},
	} {
		n, v, p := splitNameValue(in)
		if [3]string{n, v, p} != want {
			t.Errorf("splitNameValue(%q) = %q %q %q, want %q", in, n, v, p, want)
		}
	}
}
