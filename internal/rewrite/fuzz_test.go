package rewrite

import (
	"os"
	"strings"
	"testing"
)

// FuzzEngine sends arbitrary addresses through rewriting and resolving
// with a configuration that turns every feature on: nothing may panic or
// loop, and a resolved recipient always has a domain.
func FuzzEngine(f *testing.F) {
	for _, s := range []string{"user", "user@host.example.com", "a!b%c@d", "\"a@b\"@c", "@r:u@d", "",
		"user@[1.2.3.4]", "u@127.0.0.1", "\"\"@x", "@", "a@b@c@localhost", "x@y.", "(c)<a>"} {
		f.Add(s)
	}
	tables := map[string]string{}
	for _, n := range []string{"transport", "wild", "dests"} {
		b, err := os.ReadFile("testdata/tables/" + n)
		if err != nil {
			f.Fatal(err)
		}
		tables[n] = string(b)
	}
	cf, err := os.ReadFile("testdata/classes.cf")
	if err != nil {
		f.Fatal(err)
	}
	s := newSysDir(f, string(cf)+"swap_bangpath = yes\nallow_percent_hack = yes\nresolve_numeric_domain = yes\n"+
		"append_dot_mydomain = yes\nremote_header_rewrite_domain = remote.example\n", tables)
	e := NewEngine(s.config(f), func(string, ...any) {})
	f.Fuzz(func(t *testing.T, addr string) {
		for _, rule := range []string{RuleLocal, RuleRemote} {
			if _, ok := e.RewriteExternal(rule, addr); !ok {
				t.Fatalf("rule set %s refused", rule)
			}
		}
		for _, r := range []Resolution{e.Resolve("", addr), e.Verify("sender@example.org", addr)} {
			if r.Flags&FlagFail != 0 {
				continue
			}
			if !strings.Contains(r.Recipient, "@") || r.Transport == "" {
				t.Errorf("resolve %q: %+v", addr, r)
			}
		}
	})
}
