package dnsbl

import (
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden .out files")

// TestFilterGolden parses each pattern of testdata/filter/*.in and
// matches the addresses after it; the output shows the canonical form or
// Postfix's error text.
func TestFilterGolden(t *testing.T) {
	ins, _ := filepath.Glob("testdata/filter/*.in")
	if len(ins) == 0 {
		t.Fatal("no golden inputs")
	}
	for _, in := range ins {
		data, err := os.ReadFile(in)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for _, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
			fmt.Fprintf(&b, "> %s\n", line)
			f := strings.Fields(line)
			if len(f) == 0 || strings.HasPrefix(f[0], "#") {
				continue
			}
			flt, err := ParseFilter(f[0])
			if err != nil {
				fmt.Fprintf(&b, "Error: %v\n", err)
				continue
			}
			fmt.Fprintf(&b, "Code: %s\n", flt)
			for _, a := range f[1:] {
				fmt.Fprintf(&b, "Match %s: %v\n", a, flt.Match(netip.MustParseAddr(a)))
			}
		}
		out := strings.TrimSuffix(in, ".in") + ".out"
		if *update {
			if err := os.WriteFile(out, []byte(b.String()), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		if b.String() != string(want) {
			t.Errorf("%s:\ngot:\n%s\nwant:\n%s", in, b.String(), want)
		}
	}
}

func TestParseSpec(t *testing.T) {
	t.Parallel()
	s, err := ParseSpec("zen.test=127.0.0.[2..11]")
	if err != nil || s.Domain != "zen.test" || s.Raw != "zen.test=127.0.0.[2..11]" || s.Filter == nil {
		t.Errorf("ParseSpec = %+v, %v", s, err)
	}
	s, err = ParseSpec("zen.test")
	if err != nil || s.Domain != "zen.test" || s.Filter != nil {
		t.Errorf("ParseSpec = %+v, %v", s, err)
	}
	if _, err := ParseSpec("zen.test=127.0.0"); err == nil || err.Error() != `need "." at "127.0.0><"` {
		t.Errorf("ParseSpec error = %v", err)
	}
}

// FuzzParseFilter checks that parsing never panics and that a parsed
// pattern's canonical form parses to the same matcher.
func FuzzParseFilter(f *testing.F) {
	f.Add("127.0.0.[2..11]", uint32(0x7f000002))
	f.Fuzz(func(t *testing.T, pattern string, addr uint32) {
		flt, err := ParseFilter(pattern)
		if err != nil {
			return
		}
		again, err := ParseFilter(flt.String())
		if err != nil {
			t.Fatalf("canonical form %q of %q: %v", flt, pattern, err)
		}
		a := netip.AddrFrom4([4]byte{byte(addr >> 24), byte(addr >> 16), byte(addr >> 8), byte(addr)})
		if flt.Match(a) != again.Match(a) {
			t.Fatalf("%q and %q differ on %s", pattern, flt, a)
		}
	})
}
