package maptypes

import (
	"io"
	"strings"
	"testing"

	"github.com/postfix-go/postfix/internal/msg"
)

// fuzzTable parses src as a table of type typ (warnings discarded) with
// and without the index and checks that both give the same answer for
// key and for each line of src used as a key. Bad input must never panic.
func fuzzTable(t *testing.T, typ, src, key string) {
	old := msg.SetOutput(io.Discard)
	defer msg.SetOutput(old)
	lines := splitLogicalLines("fuzz", src)
	indexed := patternTypes[typ]("fuzz", lines, false)
	linear := patternTypes[typ]("fuzz", lines, true)
	keys := append([]string{key}, strings.Split(src, "\n")...)
	for _, k := range keys {
		v1, ok1, err1 := indexed.Lookup(k)
		v2, ok2, err2 := linear.Lookup(k)
		if v1 != v2 || ok1 != ok2 || (err1 == nil) != (err2 == nil) {
			t.Fatalf("key %q: indexed (%q,%v,%v) linear (%q,%v,%v)", k, v1, ok1, err1, v2, ok2, err2)
		}
	}
}

func FuzzRegexpTable(f *testing.F) {
	f.Add("/^(.*)@example\\.com$/\t$1\n!/x/\tnot\n", "user@example.com")
	f.Add("if /a/\n/b/i\tB\nendif\n/[[:alpha:]]+/\talpha\n", "ab")
	f.Fuzz(func(t *testing.T, src, key string) { fuzzTable(t, "regexp", src, key) })
}

func FuzzPCRETable(f *testing.F) {
	f.Add("/^(\\w+)@(?:sub\\.)?example\\.org$/\t$1\n/a(?=b)/\tla\n", "joe@example.org")
	f.Add("if !/^x/\n/[\\d\\s]+/x\tdigits\nendif\n", "12 3")
	f.Fuzz(func(t *testing.T, src, key string) { fuzzTable(t, "pcre", src, key) })
}

func FuzzCIDRTable(f *testing.F) {
	f.Add("10.0.0.0/8\tten\n!192.168.0.0/16\tnot\n", "10.1.2.3")
	f.Add("if 2001:db8::/32\n[2001:db8::1]\thost\nendif\n", "2001:db8::1")
	f.Fuzz(func(t *testing.T, src, key string) { fuzzTable(t, "cidr", src, key) })
}
