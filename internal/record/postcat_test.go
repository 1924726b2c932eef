package record

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/postfix-go/postfix/internal/testutil"
)

// postcatDir returns a temporary configuration directory with a main.cf
// old enough that Postfix commands do not pause for it.
func postcatDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	cf := filepath.Join(dir, "main.cf")
	body := "queue_directory = " + dir + "\n"
	if err := os.WriteFile(cf, []byte(body), 0644); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(cf, old, old); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestPostcatErrors checks that every golden input's warning is the one
// Debian's postcat prints for the same file, and that postcat reads the
// valid inputs to the end (offsets as listed by postcat -o).
func TestPostcatErrors(t *testing.T) {
	postcat := testutil.Reference(t, "/usr/sbin/postcat")
	dir := postcatDir(t)
	ins, _ := filepath.Glob("testdata/*.in")
	for _, in := range ins {
		t.Run(filepath.Base(in), func(t *testing.T) {
			t.Parallel()
			data, _ := os.ReadFile(in)
			name := filepath.Join(dir, filepath.Base(in))
			os.WriteFile(name, data, 0644)
			res := testutil.Run(t, dir, postcat, "postcat", nil, "-o", "-c", dir, name)
			ours := dump(name, data)
			var wantWarn string
			if i := strings.Index(ours, "record: warning: "); i >= 0 {
				wantWarn = "postcat: warning: " + strings.TrimPrefix(ours[i:], "record: warning: ") +
					"postcat: fatal: record read error\n"
			}
			if bytes.HasPrefix(data, []byte{'C'}) || len(data) == 0 {
				if res.Stderr != wantWarn {
					t.Errorf("postcat stderr %q, ours %q", res.Stderr, wantWarn)
				}
			}
			// Every record offset postcat shows is a record start for us.
			starts := map[string]bool{}
			for _, line := range strings.Split(ours, "\n") {
				if off, _, ok := strings.Cut(line, " "); ok {
					starts[off] = true
				}
			}
			for _, line := range strings.Split(res.Stdout, "\n") {
				f := strings.Fields(line)
				if len(f) > 1 && f[0] != "***" && !starts[f[0]] {
					t.Errorf("postcat shows a record at %s, we do not: %q", f[0], line)
				}
			}
			if len(data) > 0 && res.Exit == 0 && !strings.Contains(res.Stdout, "*** MESSAGE FILE END") {
				t.Errorf("postcat did not reach the end:\n%s", res.Stdout)
			}
		})
	}
}

// TestPostcatNames writes one record of every letter after a size record and
// checks the field name postcat prints for it.
func TestPostcatNames(t *testing.T) {
	postcat := testutil.Reference(t, "/usr/sbin/postcat")
	dir := postcatDir(t)
	var buf bytes.Buffer
	w := NewWriter(&buf)
	w.Putf(Size, SizeFormat, 1, 200, 1, 0, 1, 0)
	var want strings.Builder
	want.WriteString("*** ENVELOPE RECORDS f ***\n")
	fmt.Fprintf(&want, "message_size: "+SizeFormat+"\n", 1, 200, 1, 0, 1, 0)
	for c := 0x21; c < 0x7f; c++ {
		typ := Type(c)
		switch typ {
		case Size, Time, CTime, Warn, Attr, Mesg, Xtra, End, Norm, Padding, Pointer:
			continue // these are shown as times, sections or not at all
		}
		w.PutString(typ, "v")
		fmt.Fprintf(&want, "%s: v\n", Name(typ))
	}
	w.Put(End, nil)
	w.Flush()
	want.WriteString("*** MESSAGE FILE END f ***\n")
	os.WriteFile(filepath.Join(dir, "f"), buf.Bytes(), 0644)
	res := testutil.Run(t, dir, postcat, "postcat", nil, "-c", dir, "f")
	if res.Stdout != want.String() || res.Exit != 0 {
		t.Errorf("postcat printed (exit %d, stderr %q):\n%s\nwant:\n%s", res.Exit, res.Stderr, res.Stdout, want.String())
	}
}
