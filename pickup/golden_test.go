package pickup

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
	"github.com/postfix-go/postfix/internal/record"
	"github.com/postfix-go/postfix/internal/submit"
)

var update = flag.Bool("update", false, "rewrite the golden .out files")

// setup starts logging to a file (so tests see warnings) and returns the
// configuration pickup reads.
func setup(t testing.TB) (*conf.Config, func() string) {
	t.Helper()
	return goldentest.CaptureLog(t, "pickup", "myhostname = host.example.com\nline_length_limit = 64\n")
}

func parseRecords(text string) []byte { return goldentest.ParseRecords(text) }

// recorder is a Cleanup that writes down what it receives.
type recorder struct {
	out    *strings.Builder
	status int
}

func (r *recorder) QueueID() string { return "ABCDEF12345" }
func (r *recorder) Put(t record.Type, data []byte) error {
	fmt.Fprintf(r.out, "%c %q\n", t, data)
	return nil
}
func (r *recorder) Close() (int, string, error) {
	fmt.Fprintf(r.out, "(close: status %d)\n", r.status)
	return r.status, "", nil
}
func (r *recorder) Abort() { r.out.WriteString("(abort)\n") }

// pick runs one scan over a maildrop holding data and returns what cleanup
// received and whether the file is gone.
func pick(t testing.TB, c *conf.Config, data []byte, status int) (string, bool) {
	t.Helper()
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, queue.Maildrop), 0o755)
	p := filepath.Join(dir, queue.Maildrop, "6FBB898835B")
	if err := os.WriteFile(p, data, 0o744); err != nil {
		t.Fatal(err)
	}
	os.Chmod(p, 0o744)
	mtime := time.Unix(1795872075, 0)
	os.Chtimes(p, mtime, mtime)
	pk := New(c, dir)
	pk.now = func() time.Time { return mtime.Add(time.Minute) }
	var out strings.Builder
	attempts := 0
	pk.Dial = func(flags int) (Cleanup, error) {
		attempts++
		if attempts > 3 {
			t.Fatalf("pickup loops on the file")
		}
		fmt.Fprintf(&out, "(open: flags %d)\n", flags)
		return &recorder{out: &out, status: status}, nil
	}
	pk.Scan()
	_, err := os.Stat(p)
	return out.String(), os.IsNotExist(err)
}

// TestGolden hands each testdata/golden/*.in maildrop file to a recording
// cleanup and compares what was sent, the file's fate and the log.
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
			c, logged := setup(t)
			sent, removed := pick(t, c, parseRecords(string(text)), 0)
			got := sent + fmt.Sprintf("removed: %v\n", removed) + logged()
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

// TestCleanupStatus checks what becomes of the file for each cleanup
// answer: removed after success or a permanent refusal, kept otherwise.
func TestCleanupStatus(t *testing.T) {
	c, logged := setup(t)
	file := parseRecords("T 1 2\nS root\nR x\nM\nN x\nX\nE\n")
	for status, keep := range map[int]bool{
		0: false, submit.StatBad: false, submit.StatRcpt: false,
		submit.StatWrite: true, submit.StatDefer: true, submit.StatSize: true,
	} {
		_, removed := pick(t, c, file, status)
		if removed == keep {
			t.Errorf("status %d: removed %v, want %v; log %s", status, removed, !keep, logged())
		}
	}
}

// FuzzPickup hands arbitrary bytes to pickup as a maildrop file: no
// panic, no loop, and an E record only after a complete file.
func FuzzPickup(f *testing.F) {
	ins, _ := filepath.Glob("testdata/golden/*.in")
	for _, in := range ins {
		text, _ := os.ReadFile(in)
		f.Add(parseRecords(string(text)))
	}
	c, _ := setup(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		sent, _ := pick(t, c, data, 0)
		if strings.Contains(sent, "E \"\"\n") && !bytes.Contains(data, []byte{'E', 0}) {
			t.Fatalf("E sent for a file without one: %s", sent)
		}
	})
}
