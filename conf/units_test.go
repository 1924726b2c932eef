package conf

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/postfix-go/postfix/internal/testutil"
)

// unitsResult is the golden text for one line of units.in.
func unitsResult(kind, value string) string {
	fatal := func(err error) string {
		var ve *ValueError
		if !errors.As(err, &ve) || !errors.Is(err, ErrBadValue) {
			return "unexpected error " + err.Error()
		}
		return "fatal: " + ve.Fatal("p")
	}
	switch {
	case kind == "bool":
		b, err := ParseBool(value)
		if err != nil {
			return fatal(err)
		}
		return strconv.FormatBool(b)
	case kind == "int":
		n, err := ParseInt(value)
		if err != nil {
			return fatal(err)
		}
		return strconv.Itoa(n)
	case kind == "long":
		n, err := ParseLong(value)
		if err != nil {
			return fatal(err)
		}
		return strconv.FormatInt(n, 10)
	case strings.HasPrefix(kind, "time/"):
		d, err := ParseTime(value, kind[5])
		if err != nil {
			return fatal(err)
		}
		return d.String()
	case kind == "list":
		return fmt.Sprintf("%q", SplitList(value))
	}
	return "unknown kind"
}

// TestUnitsGolden checks testdata/params/units.in against units.golden.
func TestUnitsGolden(t *testing.T) {
	data, err := os.ReadFile("testdata/params/units.in")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		if strings.HasPrefix(line, "#") {
			continue
		}
		kind, value, _ := strings.Cut(line, "\t")
		fmt.Fprintf(&b, "%s\t%q\t%s\n", kind, value, unitsResult(kind, value))
	}
	golden := "testdata/params/units.golden"
	if os.Getenv("UPDATE_GOLDEN") != "" {
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Split(b.String(), "\n")
	wl := strings.Split(string(want), "\n")
	for i := 0; i < len(got) || i < len(wl); i++ {
		var g, w string
		if i < len(got) {
			g = got[i]
		}
		if i < len(wl) {
			w = wl[i]
		}
		if g != w {
			t.Errorf("line %d: got %q, golden %q", i+1, g, w)
		}
	}
}

// TestUnitsMatchPostmap sets global parameters that every Postfix command
// validates at start-up to each value and compares the real postmap's
// diagnostics with what our parsing and range checks would print.
func TestUnitsMatchPostmap(t *testing.T) {
	ref := testutil.Reference(t, "/usr/sbin/postmap")
	type tc struct{ param, value string }
	var cases []tc
	for _, v := range []string{"xyz", "10x", "0", "-1", "10 s", "10S", "1w", "10ss", "", "+5", "5m", "3549w", "3550w",
		"24854d", "24855d", "596522h", "596523h", "35791393m", "35791394m", "2147483647", "2147483648"} {
		cases = append(cases, tc{"ipc_timeout", v})
	}
	for _, v := range []string{"xyz", "0", "-3", "3x", "99999999999", "+3", "03", "", "0x10", "2147483647", "-2147483649"} {
		cases = append(cases, tc{"fork_attempts", v})
	}
	for _, v := range []string{"YES", "No", "maybe", "", "1"} {
		cases = append(cases, tc{"enable_long_queue_ids", v})
	}
	for _, v := range []string{"abc", "99999999999", "99999999999999999999", "-5"} {
		cases = append(cases, tc{"message_size_limit", v})
	}
	// Each reference run is slow here (about 2 s); run them side by side.
	var wg sync.WaitGroup
	results := make([]testutil.Result, len(cases))
	for i, c := range cases {
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, "main.cf"), c.param+" = "+c.value+"\n")
		writeFile(t, filepath.Join(dir, "master.cf"), "")
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = testutil.Run(t, dir, ref, "postmap", nil, "-c", dir, "-q", "x", "texthash:/dev/null")
		}()
	}
	wg.Wait()
	for i, c := range cases {
		want := ""
		var err error
		switch c.param {
		case "ipc_timeout":
			var secs int
			if secs, err = ParseTimeSeconds(c.value, 's'); err == nil {
				want = TimeRangeError(c.param, secs, 1, 0)
			}
		case "fork_attempts":
			var n int
			if n, err = ParseInt(c.value); err == nil {
				want = IntRangeError(c.param, int64(n), 1, 0)
			}
		case "enable_long_queue_ids":
			_, err = ParseBool(c.value)
		case "message_size_limit":
			_, err = ParseLong(c.value)
		}
		if err != nil {
			var ve *ValueError
			errors.As(err, &ve)
			want = ve.Fatal(c.param)
		}
		if want != "" {
			want = "postmap: fatal: " + want + "\n"
		}
		if r := results[i]; r.Stderr != want {
			t.Errorf("%s = %q: postmap says %q (exit %d), we would say %q", c.param, c.value, r.Stderr, r.Exit, want)
		}
	}
}

// FuzzParseTime checks ParseTime against the rules it implements: it
// never panics, results are whole non-negative seconds below 2^31, and a
// value is accepted exactly when its leading number and unit are valid.
func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"10s", "5", "3549w", "-1", "10ss", "", " +7m"} {
		f.Add(s, byte('s'))
	}
	f.Fuzz(func(t *testing.T, s string, unit byte) {
		d, err := ParseTime(s, unit)
		if err != nil {
			if d != 0 {
				t.Fatalf("error with non-zero result %v", d)
			}
			return
		}
		if d < 0 || d >= time.Duration(1<<31)*time.Second || d%time.Second != 0 {
			t.Fatalf("ParseTime(%q, %q) = %v", s, unit, d)
		}
		// Accepted: a number (after optional blanks and sign) then a unit.
		rest := strings.TrimLeft(s, " \t\n\v\f\r")
		rest = strings.TrimLeft(rest, "+-")
		digits := len(rest) - len(strings.TrimLeft(rest, "0123456789"))
		if digits == 0 {
			t.Fatalf("ParseTime(%q) accepted a value without digits", s)
		}
		u := unit
		if digits < len(rest) {
			u = rest[digits]
		}
		if !strings.ContainsRune("smhdw", rune(u)) {
			t.Fatalf("ParseTime(%q, %q) accepted unit %q", s, unit, u)
		}
	})
}

// FuzzSplitList checks SplitList's invariants: items are non-empty, appear
// in order in the input, and an item contains a separator only inside a
// {...} group.
func FuzzSplitList(f *testing.F) {
	for _, s := range []string{"a b,c", "inline:{ a=b, c=d }, x", "{a {b, c} d},e", "{x y", "a}b c", " , "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		rest := s
		for _, item := range SplitList(s) {
			if item == "" {
				t.Fatalf("empty item in %q", s)
			}
			i := strings.Index(rest, item)
			if i < 0 {
				t.Fatalf("item %q not found in order in %q", item, s)
			}
			if strings.Trim(rest[:i], listSeparators) != "" {
				t.Fatalf("SplitList(%q) skipped %q", s, rest[:i])
			}
			rest = rest[i+len(item):]
			level := 0
			for j := 0; j < len(item); j++ {
				switch c := item[j]; {
				case c == '{':
					level++
				case c == '}' && level > 0:
					level--
				case level == 0 && strings.IndexByte(listSeparators, c) >= 0:
					t.Fatalf("item %q of %q holds a separator outside braces", item, s)
				}
			}
		}
		if strings.Trim(rest, listSeparators) != "" {
			t.Fatalf("SplitList(%q) dropped %q", s, rest)
		}
	})
}
