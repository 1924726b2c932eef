package deliver

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestFormatDelayGolden runs testdata/delay.in through FormatDelay. The
// expected numbers are Postfix's: TestDiscardDelays checks the same
// formatting against Debian's discard daemon.
func TestFormatDelayGolden(t *testing.T) {
	t.Parallel()
	in, err := os.Open("testdata/delay.in")
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	var out strings.Builder
	sc := bufio.NewScanner(in)
	for line := 1; sc.Scan(); line++ {
		text := sc.Text()
		if strings.HasPrefix(text, "#") || strings.TrimSpace(text) == "" {
			continue
		}
		f := strings.Fields(text)
		if len(f) != 2 {
			fmt.Fprintf(&out, "testdata/delay.in, line %d: warning: malformed line\n", line)
			continue
		}
		sec, usec, _ := strings.Cut(f[0], ".")
		s, err1 := strconv.ParseInt(sec, 10, 64)
		u, err2 := strconv.ParseInt(usec, 10, 64)
		res, err3 := strconv.Atoi(f[1])
		if err1 != nil || err2 != nil || err3 != nil {
			fmt.Fprintf(&out, "testdata/delay.in, line %d: warning: malformed line\n", line)
			continue
		}
		d := time.Duration(s)*time.Second + time.Duration(u)*time.Microsecond
		if s < 0 {
			d = time.Duration(s)*time.Second - time.Duration(u)*time.Microsecond
		}
		fmt.Fprintf(&out, "%s %d -> %s\n", f[0], res, FormatDelay(d, res))
	}
	golden := "testdata/delay.golden"
	if *update {
		if err := os.WriteFile(golden, []byte(out.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if out.String() != string(want) {
		t.Errorf("got:\n%s\nwant:\n%s", out.String(), want)
	}
}
