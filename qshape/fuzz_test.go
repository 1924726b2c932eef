package qshape

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzReadEnvelope feeds arbitrary bytes to the queue file reader: it must
// not panic or loop, and what it accepts must have a sender and
// recipients. The golden inputs of testdata/envelope are the seeds.
func FuzzReadEnvelope(f *testing.F) {
	ins, _ := filepath.Glob("testdata/envelope/*.in")
	for _, in := range ins {
		text, err := os.ReadFile(in)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(parseRecords(f, string(text)))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		warnings := 0
		env, res := readEnvelope(bytes.NewReader(data), 1, func(string, int) { warnings++ })
		if res == found && len(env.recipients) == 0 {
			t.Fatalf("found an envelope without recipients")
		}
		if warnings > len(data)+3 {
			t.Fatalf("%d warnings for %d bytes", warnings, len(data))
		}
	})
}

// FuzzDomain checks that any address reduces to a domain and that the
// chain of parent domains ends, each parent shorter than its child.
func FuzzDomain(f *testing.F) {
	for _, s := range []string{"", "@", ".", "...", "a@b@c.example", "x@Sub.Example.COM.", "a\nb@c.d.e\n", ".a.b.c", "..x..y.z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, a string) {
		d := domainOf(a)
		if strings.Count(d, "@") > strings.Count(a, "@") {
			t.Fatalf("domainOf(%q) = %q", a, d)
		}
		for {
			p, ok := parentOf(d)
			if !ok {
				break
			}
			if len(p) >= len(d) || !strings.HasPrefix(p, ".") {
				t.Fatalf("parentOf(%q) = %q", d, p)
			}
			d = p
		}
	})
}
