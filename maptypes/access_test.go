package maptypes

import (
	"os"
	"strings"
	"testing"
)

// TestParseAccessGolden parses each line of testdata/access/values.in and
// compares the results with testdata/access/values.out.
func TestParseAccessGolden(t *testing.T) {
	in, err := os.ReadFile("testdata/access/values.in")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, line := range strings.Split(strings.TrimSuffix(string(in), "\n"), "\n") {
		b.WriteString(line + "\n\t" + ParseAccess(line).String() + "\n")
	}
	golden(t, "testdata/access/values.out", b.String())
}

func TestParseAccessEmpty(t *testing.T) {
	r := ParseAccess("")
	if r.Action != AccessRestrictions || len(r.Restrictions) != 0 {
		t.Errorf("empty value: %v", r)
	}
}

// FuzzParseAccess checks that parsing never panics and that the parts
// of a result come from the value.
func FuzzParseAccess(f *testing.F) {
	for _, s := range []string{"OK", "REJECT 5.7.1 no", "550 5.1.1 x", "FILTER a:b", "PREPEND X: y", "permit, reject", "4.5"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		r := ParseAccess(v)
		if r.DSN != "" && (!strings.Contains(v, r.DSN) || dsnLen(r.DSN) != len(r.DSN)) {
			t.Fatalf("%q: bad DSN %q", v, r.DSN)
		}
		if r.Text != "" && !strings.Contains(v, r.Text) {
			t.Fatalf("%q: text %q not in value", v, r.Text)
		}
		if r.Action == AccessCode && (r.Code < 400 || r.Code > 599) {
			t.Fatalf("%q: code %d", v, r.Code)
		}
		for _, w := range r.Restrictions {
			if w == "" || strings.ContainsAny(w, " \t,") {
				t.Fatalf("%q: bad restriction word %q", v, w)
			}
		}
		_ = r.String()
	})
}
