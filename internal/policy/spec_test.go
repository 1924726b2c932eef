package policy

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/postfix-go/postfix/conf"
)

var update = flag.Bool("update", false, "rewrite golden files")

// defaultConfig is main.cf with every smtpd_policy_service_* default.
func defaultConfig(t testing.TB) *conf.Config {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.cf"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := conf.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// specCases reads testdata/spec.in.
func specCases(t testing.TB) []string {
	t.Helper()
	f, err := os.Open("testdata/spec.in")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := sc.Text(); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}

// describe is what the golden file holds for one operand.
func describe(c *conf.Config, spec string) string {
	s, err := ParseSpec(c, spec)
	if err != nil {
		return "fatal: " + err.Error()
	}
	return fmt.Sprintf("endpoint=%s timeout=%v max_idle=%v max_ttl=%v retry_delay=%v request_limit=%d try_limit=%d default_action=%q policy_context=%q",
		s.Endpoint, s.Timeout, s.MaxIdle, s.MaxTTL, s.RetryDelay, s.RequestLimit, s.TryLimit, s.DefaultAction, s.PolicyContext)
}

func TestSpecGolden(t *testing.T) {
	t.Parallel()
	c := defaultConfig(t)
	var b strings.Builder
	for _, spec := range specCases(t) {
		fmt.Fprintf(&b, "%s\n\t%s\n", spec, describe(c, spec))
	}
	const golden = "testdata/spec.out"
	if *update {
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if b.String() != string(want) {
		t.Errorf("ParseSpec output differs from %s:\n%s", golden, b.String())
	}
}

func FuzzParseSpec(f *testing.F) {
	for _, s := range []string{"inet:127.0.0.1:1", "{ unix:x, timeout=1s, { default_action = a b } }", "{ {", "}{", "{ a:b, =, x= }"} {
		f.Add(s)
	}
	c := defaultConfig(f)
	f.Fuzz(func(t *testing.T, spec string) {
		s, err := ParseSpec(c, spec)
		if err != nil {
			return
		}
		if s.TryLimit < 1 || s.RequestLimit < 0 || s.Timeout <= 0 || !strings.Contains(s.Endpoint, ":") {
			t.Errorf("%q: accepted %+v", spec, s)
		}
	})
}
