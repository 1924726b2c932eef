package check

import (
	"os"

	"github.com/postfix-go/postfix/internal/dnstest"
	"github.com/postfix-go/postfix/internal/resolver"
	"strings"
	"testing"
)

// TestGolden plays every dialogue case against package check and compares
// replies and log lines with what Debian's smtpd 3.7 answered and logged
// (testdata/golden.txt, recorded by TestRecordReference).
func TestGolden(t *testing.T) {
	t.Parallel()
	want, err := os.ReadFile("testdata/golden.txt")
	if err != nil {
		t.Fatal(err)
	}
	wantCases := strings.Split(string(want), "\n== ")
	cases := loadCases(t)
	if len(wantCases) != len(cases) {
		t.Fatalf("golden.txt has %d cases, cases.txt %d: re-record with PFGO_RECORD=1", len(wantCases), len(cases))
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var d Deps
			if len(c.dns) > 0 || len(c.dnsFail) > 0 {
				srv := dnstest.New(t, c.dns...)
				for _, n := range c.dnsFail {
					srv.Fail(n)
				}
				d.Resolver = resolver.NewWith(resolver.Options{Servers: []string{srv.Addr()}, HostsFile: "-", NoCache: true})
			}
			k, sink, dir := newChecker(t, strings.Join(c.settings, "\n")+"\n", d, func(dir string) { c.writeFiles(t, dir) })
			got := play(t, k, sink, c, i, dir)
			w := wantCases[i]
			if i > 0 {
				w = "== " + w
			}
			w = strings.TrimRight(w, "\n") + "\n"
			if got != w {
				t.Errorf("case %q differs from Debian's smtpd\n--- got\n%s--- want\n%s", c.name, got, w)
			}
		})
	}
}

// TestCasesDistinctClients: the recorder tells the cases' log lines apart
// by client address, so no two cases may pose as the same client.
func TestCasesDistinctClients(t *testing.T) {
	t.Parallel()
	seen := map[string]string{}
	for i, c := range loadCases(t) {
		_, addr, _, _, _ := c.clientFacts(i)
		addrs := []string{addr}
		for _, cmd := range c.cmds {
			if f := strings.Fields(cmd); len(f) > 2 && f[0] == "xclient" {
				addrs = append(addrs, f[2])
			}
		}
		for _, a := range addrs {
			if other, ok := seen[a]; ok && other != c.name {
				t.Errorf("cases %q and %q both use client address %s", other, c.name, a)
			}
			seen[a] = c.name
		}
	}
}
