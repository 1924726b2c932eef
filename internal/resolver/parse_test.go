package resolver

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

// golden runs render on every testdata/DIR/*.in and compares with .out.
func golden(t *testing.T, dir string, render func(name, in string) string) {
	t.Helper()
	ins, _ := filepath.Glob(filepath.Join("testdata", dir, "*.in"))
	if len(ins) == 0 {
		t.Fatalf("no golden inputs in testdata/%s", dir)
	}
	for _, in := range ins {
		data, err := os.ReadFile(in)
		if err != nil {
			t.Fatal(err)
		}
		got := render(filepath.Base(in), string(data))
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
			t.Errorf("%s:\ngot:\n%s\nwant:\n%s", in, got, want)
		}
	}
}

func renderHosts(name, in string) string {
	h, warns := ParseHosts(name, in)
	var b strings.Builder
	for _, e := range h.Entries {
		fmt.Fprintf(&b, "line %d: %s %s\n", e.Line, e.Addr, strings.Join(e.Names, " "))
	}
	for _, w := range warns {
		fmt.Fprintf(&b, "warning: %s\n", w)
	}
	// The lookups the resolver makes.
	for _, q := range []string{"localhost", "LOCALHOST.", "mail.example.test", "v6.example.test"} {
		fmt.Fprintf(&b, "lookup %s: %v\n", q, h.Lookup(q))
	}
	for _, a := range []string{"127.0.0.1", "::1", "::ffff:192.0.2.1", "192.0.2.1", "2001:db8::1"} {
		n, ok := h.Reverse(netip.MustParseAddr(a))
		fmt.Fprintf(&b, "reverse %s: %q %v\n", a, n, ok)
	}
	return b.String()
}

func TestParseHostsGolden(t *testing.T) { golden(t, "hosts", renderHosts) }

func renderResolvConf(_ string, in string) string {
	cfg, warns := ParseResolvConf(in)
	var b strings.Builder
	fmt.Fprintf(&b, "servers: %v\nsearch: %v\ntimeout: %v\nattempts: %d\nndots: %d\nrotate: %v\n",
		cfg.Servers, cfg.Search, cfg.Timeout, cfg.Attempts, cfg.Ndots, cfg.Rotate)
	for _, w := range warns {
		fmt.Fprintf(&b, "warning: %s\n", w)
	}
	return b.String()
}

func TestParseResolvConfGolden(t *testing.T) { golden(t, "resolvconf", renderResolvConf) }

func FuzzParseHosts(f *testing.F) {
	f.Add("127.0.0.1 localhost\n::1 localhost ip6-localhost\n")
	f.Fuzz(func(t *testing.T, in string) {
		h, _ := ParseHosts("hosts", in)
		for _, e := range h.Entries {
			if len(e.Names) == 0 || !e.Addr.IsValid() {
				t.Fatalf("bad entry %+v", e)
			}
			if got := h.Lookup(e.Names[0]); len(got) == 0 {
				t.Fatalf("%s not found", e.Names[0])
			}
			if _, ok := h.Reverse(e.Addr); !ok {
				t.Fatalf("%s not found", e.Addr)
			}
		}
	})
}

func FuzzParseResolvConf(f *testing.F) {
	f.Add("nameserver 127.0.0.1\noptions timeout:1 attempts:3\n")
	f.Fuzz(func(t *testing.T, in string) {
		cfg, _ := ParseResolvConf(in)
		if len(cfg.Servers) > maxNameservers || cfg.Timeout <= 0 || cfg.Attempts <= 0 {
			t.Fatalf("bad config %+v", cfg)
		}
	})
}
