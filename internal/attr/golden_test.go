package attr

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/golden/*.out")

// formatOf maps a golden file's second extension to its format.
func formatOf(t *testing.T, name string) Format {
	switch ext := filepath.Ext(strings.TrimSuffix(name, ".in")); ext {
	case ".0":
		return Zero
	case ".plain":
		return Plain
	case ".64":
		return Base64
	default:
		t.Fatalf("%s: unknown format extension %q", name, ext)
	}
	return 0
}

// dump decodes every record of in and describes it line by line, ending
// with the warning (or EOF) that stopped decoding.
func dump(in []byte, f Format, path string) string {
	d := NewDecoder(bytes.NewReader(in), f)
	d.Path = path
	d.MaxLen = 256
	var out strings.Builder
	for n := 1; ; n++ {
		rec, err := d.ReadRecord()
		for _, p := range rec {
			fmt.Fprintf(&out, "%q = %q\n", p.Name, p.Value)
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				fmt.Fprintf(&out, "-- clean end of input\n")
			}
			fmt.Fprintf(&out, "attr: warning: %s\n", err)
			return out.String()
		}
		fmt.Fprintf(&out, "-- end of record %d\n", n)
	}
}

func TestGolden(t *testing.T) {
	ins, _ := filepath.Glob("testdata/golden/*.in")
	if len(ins) == 0 {
		t.Fatal("no golden inputs")
	}
	for _, in := range ins {
		t.Run(filepath.Base(in), func(t *testing.T) {
			data, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			got := dump(data, formatOf(t, filepath.Base(in)), filepath.Base(in))
			outPath := strings.TrimSuffix(in, ".in") + ".out"
			if *update {
				if err := os.WriteFile(outPath, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
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
