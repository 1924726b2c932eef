package maptypes

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// memcacheConfigReport parses a memcache settings file named name as
// openMemcache does and reports the warnings, then the fatal error or the
// settings, one per line.
func memcacheConfigReport(name string, data []byte) string {
	var b strings.Builder
	p, err := parseCfgFile(name, data, func(s string) { fmt.Fprintf(&b, "warning: %s\n", s) })
	if err != nil {
		fmt.Fprintf(&b, "fatal: %s\n", err)
		return b.String()
	}
	c, err := parseMemcacheConfig(p)
	if err == nil {
		_, err = parseKeyTemplate(name, c.KeyFormat)
	}
	if err != nil {
		fmt.Fprintf(&b, "fatal: %s\n", err)
		return b.String()
	}
	fmt.Fprintf(&b, "memcache = %s\nbackup = %s\nflags = %d\nttl = %d\nkey_format = %s\ndomain = %s\n"+
		"data_size_limit = %d\nline_size_limit = %d\nmax_try = %d\nretry_pause = %d\ntimeout = %d\n",
		c.Server, c.Backup, c.Flags, c.TTL, c.KeyFormat, c.Domain,
		c.DataLimit, c.LineLimit, c.MaxTry, c.RetryPause, c.Timeout)
	return b.String()
}

// TestMemcacheConfigGolden checks the settings parser on
// testdata/memcache/*.in; the file is named "./NAME.in" in messages, as
// it is when Postfix's postmap runs in that directory
// (TestMemcacheConfigDiff in memcache_diff_test.go compares the messages
// with Debian's postmap).
func TestMemcacheConfigGolden(t *testing.T) {
	t.Parallel()
	ins, err := filepath.Glob("testdata/memcache/*.in")
	if err != nil || len(ins) == 0 {
		t.Fatalf("no golden inputs: %v", err)
	}
	for _, in := range ins {
		data, err := os.ReadFile(in)
		if err != nil {
			t.Fatal(err)
		}
		got := memcacheConfigReport("./"+filepath.Base(in), data)
		out := strings.TrimSuffix(in, ".in") + ".out"
		if *update {
			if err := os.WriteFile(out, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		if got != string(want) {
			t.Errorf("%s:\n%s\nwant:\n%s", in, got, want)
		}
	}
}

// FuzzMemcacheConfig feeds arbitrary settings files and lookup keys to
// the parser and the key template: no panic, every warning names the
// file, and an expanded key holds only what the template puts there.
func FuzzMemcacheConfig(f *testing.F) {
	ins, _ := filepath.Glob("testdata/memcache/*.in")
	for _, in := range ins {
		data, _ := os.ReadFile(in)
		f.Add(data, "user@mail.example.com")
	}
	f.Fuzz(func(t *testing.T, data []byte, key string) {
		p, err := parseCfgFile("fuzz.cf", data, func(s string) {
			if !strings.HasPrefix(s, "fuzz.cf") {
				t.Fatalf("warning without file name: %q", s)
			}
		})
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.cf") {
				t.Fatalf("error without file name: %v", err)
			}
			return
		}
		c, err := parseMemcacheConfig(p)
		if err != nil {
			return
		}
		if c.MaxTry < 1 || c.RetryPause < 1 || c.LineLimit < 1 || c.DataLimit < 1 {
			t.Fatalf("limit below its minimum accepted: %+v", c)
		}
		tmpl, err := parseKeyTemplate("fuzz.cf", c.KeyFormat)
		if err != nil {
			return
		}
		mk, ok := tmpl.expand(key)
		if ok && !strings.Contains(c.KeyFormat, "%") && mk != c.KeyFormat {
			t.Fatalf("constant template %q expanded to %q", c.KeyFormat, mk)
		}
	})
}
