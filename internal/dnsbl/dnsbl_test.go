package dnsbl

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/postfix-go/postfix/internal/dnstest"
	"github.com/postfix-go/postfix/internal/resolver"
)

func newResolver(t *testing.T, lines ...string) (*dnstest.Server, *resolver.Resolver) {
	t.Helper()
	s := dnstest.New(t, lines...)
	return s, resolver.NewWith(resolver.Options{Servers: []string{s.Addr()}, Timeout: 300 * time.Millisecond,
		Attempts: 1, HostsFile: "-"})
}

func TestReverseIP(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"127.0.0.2":        "2.0.0.127",
		"::ffff:192.0.2.1": "1.2.0.192",
		"2001:db8::1":      "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2",
		"::1":              "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0",
	} {
		if got := ReverseIP(netip.MustParseAddr(in)); got != want {
			t.Errorf("ReverseIP(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestRHSName(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"user@example.com": "example.com",
		"a@b@example.com":  "example.com",
		"mail.example.com": "mail.example.com",
		"user@[1.2.3.4]":   "",
		"[1.2.3.4]":        "",
		"1.2.3.4":          "",
		"host.123":         "",
		"user@":            "",
		"":                 "",
		"bad..name":        "",
		"under_score.test": "under_score.test",
	} {
		got, ok := RHSName(in)
		if got != want || ok != (want != "") {
			t.Errorf("RHSName(%q) = %q %v, want %q", in, got, ok, want)
		}
	}
}

// TestQuery is not parallel: it sets the warning hook.
func TestQuery(t *testing.T) {
	long := strings.Repeat("x", 255)
	s, r := newResolver(t,
		"2.0.0.127.zen.test. A 127.0.0.2",
		"2.0.0.127.zen.test. A 127.0.0.10",
		`2.0.0.127.zen.test. TXT "one"`,
		`2.0.0.127.zen.test. TXT "two" "ignored"`,
		"3.0.0.127.zen.test. A 127.0.0.3",
		fmt.Sprintf(`3.0.0.127.zen.test. TXT "%s"`, long),
		fmt.Sprintf(`3.0.0.127.zen.test. TXT "%s"`, long),
		fmt.Sprintf(`3.0.0.127.zen.test. TXT "%s"`, long),
		"example.com.dbl.test. A 127.0.1.2",
	)
	s.Fail("9.0.0.127.zen.test")

	hit, err := Query(r, "zen.test", "2.0.0.127")
	if err != nil || hit == nil {
		t.Fatalf("Query = %v, %v", hit, err)
	}
	if hit.Query != "2.0.0.127.zen.test" || hit.Spec.Domain != "zen.test" || len(hit.Addrs) != 2 {
		t.Errorf("hit = %+v", hit)
	}
	if hit.TXT != "one / two" && hit.TXT != "two / one" {
		t.Errorf("TXT = %q", hit.TXT)
	}
	if hit, err := Query(r, "zen.test=127.0.0.[10;11]", "2.0.0.127"); err != nil || hit == nil {
		t.Errorf("filter match: %v, %v", hit, err)
	}
	if hit, err := Query(r, "zen.test=127.0.0.3", "2.0.0.127"); err != nil || hit != nil {
		t.Errorf("filter miss: %v, %v", hit, err)
	}
	if hit, err := Query(r, "zen.test", "5.0.0.127"); err != nil || hit != nil {
		t.Errorf("not listed: %v, %v", hit, err)
	}
	hit, err = Query(r, "zen.test", "3.0.0.127")
	if err != nil || hit == nil || len(hit.TXT) != txtLimit {
		t.Errorf("TXT limit: %d bytes, %v", len(hit.TXT), err)
	}
	if hit, err := Query(r, "dbl.test", "example.com"); err != nil || hit == nil || hit.TXT != "" {
		t.Errorf("rhsbl: %v, %v", hit, err)
	}
	var warns []string
	func() {
		warnf = func(f string, a ...any) { warns = append(warns, fmt.Sprintf(f, a...)) }
		defer func() { warnf = nil }()
		hit, err = Query(r, "zen.test", "9.0.0.127")
	}()
	if hit != nil || !errors.Is(err, resolver.ErrTemp) {
		t.Errorf("SERVFAIL: %v, %v", hit, err)
	}
	want := "9.0.0.127.zen.test: RBL lookup error: Host or domain name not found. Name service error for name=9.0.0.127.zen.test type=A: Host not found, try again"
	if len(warns) != 1 || warns[0] != want {
		t.Errorf("warnings = %q", warns)
	}
	var fe *FilterError
	if _, err := Query(r, "zen.test=1.2.3", "2.0.0.127"); !errors.As(err, &fe) {
		t.Errorf("bad filter: %v", err)
	}
}

func TestReplyDefault(t *testing.T) {
	t.Parallel()
	def := "$rbl_code Service unavailable; $rbl_class [$rbl_what] blocked using $rbl_domain${rbl_reason?; $rbl_reason}"
	hit := &Hit{Spec: Spec{Raw: "zen.test=127.0.0.2", Domain: "zen.test"}, TXT: "see \x01 <url>"}
	ctx := Context{ClientName: "unknown", ClientAddr: "192.0.2.1"}
	res, err := Reply(def, "", hit, Vars(ctx, hit, 554, "Client host", "192.0.2.1"), "")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := res.String(), "554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.test; see _ <url>"; got != want {
		t.Errorf("Reply = %q, want %q", got, want)
	}
	hit.TXT = ""
	res, _ = Reply(def, "", hit, Vars(ctx, hit, 450, "Client host", "192.0.2.1"), "")
	if got, want := res.String(), "450 4.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.test"; got != want {
		t.Errorf("Reply = %q, want %q", got, want)
	}
	if _, err := Reply("$rbl_code ${oops", "", hit, Vars(ctx, hit, 554, "Client host", "x"), ""); !errors.Is(err, ErrBadDefault) {
		t.Errorf("bad default: %v", err)
	}
}

func TestSplitDSN(t *testing.T) {
	t.Parallel()
	for in, want := range map[string][2]string{
		"5.7.1 text":     {"5.7.1", "text"},
		"4.1.10 x":       {"4.1.10", "x"},
		"  2.0.0":        {"2.0.0", ""},
		"5.7.1234 text":  {"4.7.1", "5.7.1234 text"},
		"3.1.1 text":     {"4.7.1", "3.1.1 text"},
		"5.7.1x text":    {"4.7.1", "5.7.1x text"},
		"text only":      {"4.7.1", "text only"},
		"5..1 text":      {"4.7.1", "5..1 text"},
		"5.123.123 long": {"5.123.123", "long"},
	} {
		d, r := SplitDSN(in, "4.7.1")
		if d != want[0] || r != want[1] {
			t.Errorf("SplitDSN(%q) = %q %q, want %q", in, d, r, want)
		}
	}
}

// FuzzExpand checks that template expansion never panics and never
// lets a value bring in characters outside the filter.
func FuzzExpand(f *testing.F) {
	f.Add("$rbl_code ${rbl_reason?{; $rbl_reason}:{x}} $(rbl_what)", "reason\x00\xff")
	f.Fuzz(func(t *testing.T, tmpl, reason string) {
		if strings.ContainsAny(tmpl, "\x00") {
			return
		}
		vars := Vars(Context{}, &Hit{TXT: reason}, 554, "Client host", "x")
		out, _ := Expand(tmpl, vars, "")
		for i := 0; i < len(out); i++ {
			if strings.IndexByte(DefaultFilter, out[i]) < 0 && strings.IndexByte(tmpl, out[i]) < 0 {
				t.Fatalf("byte %q in %q comes from no template and passed the filter", out[i], out)
			}
		}
	})
}
