package resolver_test

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/postfix-go/postfix/conf"
	"github.com/postfix-go/postfix/internal/dnstest"
	"github.com/postfix-go/postfix/internal/resolver"
)

// newPair starts a test DNS server and a resolver asking it, with an
// empty hosts file unless hosts is given.
func newPair(t *testing.T, hosts string, lines ...string) (*dnstest.Server, *resolver.Resolver) {
	t.Helper()
	s := dnstest.New(t, lines...)
	hf := filepath.Join(t.TempDir(), "hosts")
	if err := os.WriteFile(hf, []byte(hosts), 0o644); err != nil {
		t.Fatal(err)
	}
	r := resolver.NewWith(resolver.Options{
		Servers:   []string{s.Addr()},
		Timeout:   300 * time.Millisecond,
		Attempts:  1,
		HostsFile: hf,
	})
	return s, r
}

func TestRecordTypes(t *testing.T) {
	t.Parallel()
	_, r := newPair(t, "",
		"a.test. A 192.0.2.1",
		"a.test. A 192.0.2.2",
		"a.test. AAAA 2001:db8::1",
		"a.test. MX 20 mx2.a.test.",
		"a.test. MX 10 mx1.a.test.",
		"a.test. NS ns1.a.test.",
		`a.test. TXT "v=spf1" " -all"`,
		`a.test. TXT "second"`,
		"1.2.0.192.in-addr.arpa. PTR a.test.",
		"1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa. PTR six.test.",
	)
	addrs, err := r.Addrs("a.test")
	if err != nil {
		t.Fatal(err)
	}
	want := []netip.Addr{netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2"), netip.MustParseAddr("2001:db8::1")}
	if !slices.Equal(addrs, want) {
		t.Errorf("Addrs = %v, want %v", addrs, want)
	}
	mx, err := r.MX("a.test.")
	if err != nil || len(mx) != 2 || mx[0].Mx != "mx1.a.test." || mx[1].Preference != 20 {
		t.Errorf("MX = %v, %v", mx, err)
	}
	ns, err := r.NS("a.test")
	if err != nil || !slices.Equal(ns, []string{"ns1.a.test"}) {
		t.Errorf("NS = %v, %v", ns, err)
	}
	txt, err := r.TXT("a.test")
	if err != nil || !slices.Equal(txt, []string{"v=spf1 -all", "second"}) {
		t.Errorf("TXT = %q, %v", txt, err)
	}
	ptr, err := r.PTR(netip.MustParseAddr("192.0.2.1"))
	if err != nil || !slices.Equal(ptr, []string{"a.test"}) {
		t.Errorf("PTR = %v, %v", ptr, err)
	}
	ptr, err = r.PTR(netip.MustParseAddr("2001:db8::1"))
	if err != nil || !slices.Equal(ptr, []string{"six.test"}) {
		t.Errorf("PTR6 = %v, %v", ptr, err)
	}
	// IPv4-mapped IPv6 is asked as IPv4.
	ptr, err = r.PTR(netip.MustParseAddr("::ffff:192.0.2.1"))
	if err != nil || !slices.Equal(ptr, []string{"a.test"}) {
		t.Errorf("PTR mapped = %v, %v", ptr, err)
	}
}

func TestCNAMEChain(t *testing.T) {
	t.Parallel()
	s, r := newPair(t, "",
		"alias.test. CNAME mid.test.",
		"mid.test. CNAME end.test.",
		"end.test. A 192.0.2.9",
		"out.test. CNAME elsewhere.example.",
		"elsewhere.example. A 192.0.2.10",
		"loop1.test. CNAME loop2.test.",
		"loop2.test. CNAME loop1.test.",
	)
	rrs, err := r.Lookup("alias.test", dns.TypeA)
	if err != nil || len(rrs) != 1 || rrs[0].(*dns.A).A.String() != "192.0.2.9" {
		t.Fatalf("Lookup = %v, %v", rrs, err)
	}
	// A CNAME whose target the server does not give in the same answer.
	s.Remove("elsewhere.example")
	if _, err := r.Lookup("out.test", dns.TypeA); !errors.Is(err, resolver.ErrNotFound) {
		t.Errorf("dangling CNAME: err = %v", err)
	}
	s.MustAdd(t, "elsewhere.example. A 192.0.2.10")
	if a, err := r.Addrs("out.test"); err != nil || len(a) != 1 {
		t.Errorf("CNAME out of zone: %v, %v", a, err)
	}
	// A CNAME asked for as such is not followed.
	rrs, err = r.Lookup("alias.test", dns.TypeCNAME)
	if err != nil || len(rrs) != 1 || rrs[0].(*dns.CNAME).Target != "mid.test." {
		t.Errorf("CNAME = %v, %v", rrs, err)
	}
	if _, err := r.Lookup("loop1.test", dns.TypeA); err == nil {
		t.Errorf("CNAME loop: no error")
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	s, r := newPair(t, "", "a.test. A 192.0.2.1", "sub.b.test. A 192.0.2.3")
	s.Fail("fail.test")
	s.Drop("slow.test")
	s.SetRcode("refused.test", dns.RcodeRefused)
	cases := []struct {
		name     string
		qtype    uint16
		temp     bool
		nxdomain bool
	}{
		{"nx.test", dns.TypeA, false, true},
		{"a.test", dns.TypeMX, false, false},  // no data
		{"b.test", dns.TypeA, false, false},   // empty non-terminal
		{"fail.test", dns.TypeA, true, false}, // SERVFAIL
		{"slow.test", dns.TypeA, true, false}, // timeout
		{"refused.test", dns.TypeTXT, true, false},
	}
	for _, c := range cases {
		_, err := r.Lookup(c.name, c.qtype)
		var e *resolver.Error
		if !errors.As(err, &e) {
			t.Errorf("%s: err = %v, want *Error", c.name, err)
			continue
		}
		if errors.Is(err, resolver.ErrTemp) != c.temp || errors.Is(err, resolver.ErrNotFound) == c.temp || e.NXDomain != c.nxdomain {
			t.Errorf("%s: err = %#v (temp %v nx %v)", c.name, e, c.temp, c.nxdomain)
		}
		if e.Name != c.name {
			t.Errorf("%s: Error.Name = %q", c.name, e.Name)
		}
	}
	// Addrs prefers the temporary failure.
	s.Fail("half.test")
	if _, err := r.Addrs("half.test"); !errors.Is(err, resolver.ErrTemp) {
		t.Errorf("Addrs SERVFAIL: %v", err)
	}
	if _, err := r.Addrs("nx.test"); !errors.Is(err, resolver.ErrNotFound) {
		t.Errorf("Addrs NXDOMAIN: %v", err)
	}
}

func TestTruncationRetriesOverTCP(t *testing.T) {
	t.Parallel()
	s, r := newPair(t, "", "big.test. A 192.0.2.7")
	s.Truncate("big.test")
	a, err := r.Addrs("big.test")
	if err != nil || len(a) != 1 {
		t.Fatalf("Addrs = %v, %v", a, err)
	}
	var sawUDP, sawTCP bool
	for _, q := range s.Queries() {
		sawUDP = sawUDP || q == "big.test. A udp"
		sawTCP = sawTCP || q == "big.test. A tcp"
	}
	if !sawUDP || !sawTCP {
		t.Errorf("queries = %v", s.Queries())
	}
}

func TestCacheHonoursTTL(t *testing.T) {
	t.Parallel()
	s, r := newPair(t, "", "kept.test. 60 A 192.0.2.1", "fresh.test. A 192.0.2.2")
	for range 3 {
		if _, err := r.Addrs("kept.test"); err != nil {
			t.Fatal(err)
		}
		if _, err := r.Lookup("fresh.test", dns.TypeA); err != nil {
			t.Fatal(err)
		}
	}
	var kept, fresh int
	for _, q := range s.Queries() {
		if strings.HasPrefix(q, "kept.test. A ") {
			kept++
		}
		if strings.HasPrefix(q, "fresh.test. A ") {
			fresh++
		}
	}
	if kept != 1 || fresh != 3 {
		t.Errorf("queries for kept %d (want 1), fresh %d (want 3)", kept, fresh)
	}
}

func TestHostsFirst(t *testing.T) {
	t.Parallel()
	s, r := newPair(t, "127.0.0.1 localhost\n127.0.0.1 other\n::1 localhost ip6-localhost\n192.0.2.5 file.test\n",
		"file.test. A 192.0.2.99", "5.2.0.192.in-addr.arpa. PTR dns.test.")
	a, err := r.Addrs("FILE.test.")
	if err != nil || !slices.Equal(a, []netip.Addr{netip.MustParseAddr("192.0.2.5")}) {
		t.Errorf("Addrs = %v, %v", a, err)
	}
	a, err = r.Addrs("localhost")
	if err != nil || len(a) != 2 {
		t.Errorf("Addrs(localhost) = %v, %v", a, err)
	}
	n, err := r.PTR(netip.MustParseAddr("192.0.2.5"))
	if err != nil || !slices.Equal(n, []string{"file.test"}) {
		t.Errorf("PTR = %v, %v", n, err)
	}
	n, err = r.PTR(netip.MustParseAddr("127.0.0.1"))
	if err != nil || !slices.Equal(n, []string{"localhost"}) {
		t.Errorf("PTR = %v, %v", n, err)
	}
	if q := s.Queries(); len(q) != 0 {
		t.Errorf("DNS asked: %v", q)
	}
	// disable_dns_lookups: hosts only.
	r2 := resolver.NewWith(resolver.Options{Servers: []string{s.Addr()}, HostsFile: "-", NoDNS: true})
	if _, err := r2.Addrs("file.test"); !errors.Is(err, resolver.ErrNotFound) {
		t.Errorf("NoDNS: %v", err)
	}
}

func TestClientName(t *testing.T) {
	t.Parallel()
	s, r := newPair(t, "127.0.0.1 localhost\n::1 localhost ip6-localhost\n",
		"1.2.0.192.in-addr.arpa. PTR good.test.",
		"good.test. A 192.0.2.1",
		"2.2.0.192.in-addr.arpa. PTR forged.test.",
		"forged.test. A 192.0.2.200",
		"3.2.0.192.in-addr.arpa. PTR nxname.test.",
		"4.2.0.192.in-addr.arpa. PTR tempname.test.",
		"6.2.0.192.in-addr.arpa. PTR 192.0.2.6.",
		"7.2.0.192.in-addr.arpa. PTR bad_-.test.",
		"8.2.0.192.in-addr.arpa. PTR six-only.test.",
		"six-only.test. AAAA ::ffff:192.0.2.8",
		"1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa. PTR good6.test.",
		"good6.test. AAAA 2001:db8::1",
		"good6.test. A 192.0.2.1",
	)
	s.Fail("tempname.test")
	s.Fail("5.2.0.192.in-addr.arpa")
	cases := []struct {
		addr          string
		name, reverse string
		nameSt, revSt int
	}{
		{"127.0.0.1", "localhost", "localhost", 2, 2},
		{"::1", "localhost", "localhost", 2, 2},
		{"::ffff:127.0.0.1", "localhost", "localhost", 2, 2},
		{"192.0.2.1", "good.test", "good.test", 2, 2},
		{"::ffff:192.0.2.1", "good.test", "good.test", 2, 2},
		{"2001:db8::1", "good6.test", "good6.test", 2, 2},
		{"192.0.2.2", "unknown", "forged.test", 6, 2},
		{"192.0.2.3", "unknown", "nxname.test", 6, 2},
		{"192.0.2.4", "unknown", "tempname.test", 4, 2},
		{"192.0.2.5", "unknown", "unknown", 4, 4},
		{"192.0.2.6", "unknown", "unknown", 5, 5}, // numeric name
		{"192.0.2.7", "unknown", "unknown", 5, 5}, // bad syntax
		{"192.0.2.8", "unknown", "six-only.test", 6, 2},
		{"192.0.2.9", "unknown", "unknown", 5, 5}, // no PTR
	}
	for _, c := range cases {
		n, rev, ns, rs := r.ClientName(netip.MustParseAddr(c.addr))
		if n != c.name || rev != c.reverse || ns != c.nameSt || rs != c.revSt {
			t.Errorf("ClientName(%s) = %q %q %d %d, want %q %q %d %d", c.addr, n, rev, ns, rs, c.name, c.reverse, c.nameSt, c.revSt)
		}
	}
}

func TestValidHostname(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"mail.example.com":      "",
		"a_b.test":              "",
		"1.2.3.4":               "valid_hostname: numeric hostname: 1.2.3.4",
		"a..b":                  "valid_hostname: misplaced delimiter: a..b",
		"a.":                    "valid_hostname: misplaced delimiter: a.",
		"-a":                    "valid_hostname: misplaced hyphen: -a",
		"a-.b":                  "valid_hostname: misplaced hyphen: a-.b",
		"a b":                   "valid_hostname: invalid character 32(decimal): a b",
		"":                      "valid_hostname: empty hostname",
		strings.Repeat("a", 64): "valid_hostname: hostname label too long: " + strings.Repeat("a", 64),
	}
	for in, want := range cases {
		ok, why := resolver.ValidHostname(in)
		if ok != (want == "") || why != want {
			t.Errorf("ValidHostname(%q) = %v %q, want %q", in, ok, why, want)
		}
	}
}

func TestLargeAnswerOverTCP(t *testing.T) {
	t.Parallel()
	var lines []string
	for i := range 40 {
		lines = append(lines, fmt.Sprintf("many.test. A 192.0.2.%d", i+1))
	}
	s, r := newPair(t, "", lines...)
	a, err := r.Addrs("many.test")
	if err != nil || len(a) != 40 {
		t.Fatalf("Addrs = %d addresses, %v", len(a), err)
	}
	if q := s.Queries(); !slices.Contains(q, "many.test. A tcp") {
		t.Errorf("no TCP retry: %v", q)
	}
}

// TestNewFromConfig checks the daemon set-up: PFGO_DNS_SERVER and
// PFGO_DNS_TIMEOUT, and disable_dns_lookups from main.cf.
func TestNewFromConfig(t *testing.T) {
	s := dnstest.New(t, "env.test. A 192.0.2.77")
	t.Setenv("PFGO_DNS_SERVER", s.Addr())
	t.Setenv("PFGO_DNS_TIMEOUT", "200ms")
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.cf"), []byte("compatibility_level = 3.6\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := conf.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	r := resolver.New(c)
	if got := r.Servers(); !slices.Equal(got, []string{s.Addr()}) {
		t.Errorf("Servers = %v", got)
	}
	if a, err := r.Addrs("env.test"); err != nil || len(a) != 1 {
		t.Errorf("Addrs = %v, %v", a, err)
	}
	s.Drop("slow.test")
	start := time.Now()
	if _, err := r.Addrs("slow.test"); !errors.Is(err, resolver.ErrTemp) {
		t.Errorf("timeout: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("PFGO_DNS_TIMEOUT ignored: took %v", d)
	}
	if err := os.WriteFile(filepath.Join(dir, "main.cf"), []byte("disable_dns_lookups = yes\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if c, err = conf.Load(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := resolver.New(c).Lookup("env.test", dns.TypeA); !errors.Is(err, resolver.ErrNotFound) {
		t.Errorf("disable_dns_lookups: %v", err)
	}
}
