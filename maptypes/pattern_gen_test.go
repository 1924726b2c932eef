package maptypes

import (
	"fmt"
	"math/rand"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Generators of realistic pattern tables and keys, shared by the
// differential tests, the benchmarks and bench/patterns.sh (through
// TestPatternBenchFiles).

var genTLDs = []string{"com", "net", "org", "de", "example"}

func genDomain(r *rand.Rand, n int) string {
	return fmt.Sprintf("dom%d.%s", r.Intn(n), genTLDs[r.Intn(len(genTLDs))])
}

// genRegexpTable writes n rules in regexp/pcre syntax (both accept it):
// anchored domain and address patterns, unanchored substrings, case flags,
// negations, substitutions and a few IF/ENDIF blocks.
func genRegexpTable(r *rand.Rand, n int) string {
	var b strings.Builder
	b.WriteString("# generated\n")
	depth := 0
	for i := 0; i < n; i++ {
		ndom := n/8 + 1
		late := i > n*9/10
		if depth > 0 && r.Intn(6) == 0 {
			b.WriteString("endif\n")
			depth--
			i--
			continue
		}
		switch k := r.Intn(100); {
		case k < 30:
			fmt.Fprintf(&b, "/@%s$/\tREJECT dom rule %d\n", quoteDots(genDomain(r, ndom)), i)
		case k < 45:
			fmt.Fprintf(&b, "/^user%d@%s$/\tOK user %d\n", r.Intn(ndom), quoteDots(genDomain(r, ndom)), i)
		case k < 55:
			fmt.Fprintf(&b, "/^([^@]+)@(sub%d\\.)?%s$/\trelay:[$1] $2 %d\n", r.Intn(n), quoteDots(genDomain(r, ndom)), i)
		case k < 63:
			fmt.Fprintf(&b, "/spam%d/\tDISCARD %d\n", r.Intn(n), i)
		case k < 68:
			fmt.Fprintf(&b, "/Promo%d/i\tHOLD case-sensitive %d\n", r.Intn(n), i)
		case k < 72 && late:
			fmt.Fprintf(&b, "!/^[a-z0-9._%%+-]+@[a-z0-9.-]+$/\tREJECT bad syntax %d\n", i)
		case k < 76:
			fmt.Fprintf(&b, "/(info|sales|admin)%d@/\tFILTER smtp:[filter%d]\n", r.Intn(n), i)
		case k < 80 && late:
			fmt.Fprintf(&b, "/\\.(%s|%s)$/\tWARN tld %d\n", genTLDs[r.Intn(5)], genTLDs[r.Intn(5)], i)
		case k < 83 && depth < 2:
			fmt.Fprintf(&b, "if /@%s$/\n", quoteDots(genDomain(r, ndom)))
			depth++
			i--
		case k < 86 && depth > 0:
			b.WriteString("endif\n")
			depth--
			i--
		case k < 88 && late:
			fmt.Fprintf(&b, "if !/^user/\n")
			depth++
			i--
		default:
			fmt.Fprintf(&b, "/^user%d\\+([a-z]+)@/\tOK ext=$1 %d\n", r.Intn(n), i)
		}
	}
	for ; depth > 0; depth-- {
		b.WriteString("endif\n")
	}
	return b.String()
}

func quoteDots(s string) string { return strings.ReplaceAll(s, ".", "\\.") }

// genAddresses makes keys that hit the generated rules often.
func genAddresses(r *rand.Rand, n, rules int) []string {
	keys := make([]string, n)
	for i := range keys {
		local := fmt.Sprintf("user%d", r.Intn(rules/8+1))
		switch r.Intn(10) {
		case 0:
			local = fmt.Sprintf("spam%d", r.Intn(rules))
		case 1:
			local = fmt.Sprintf("Promo%d", r.Intn(rules))
		case 2:
			local = fmt.Sprintf("sales%d", r.Intn(rules))
		case 3:
			local += "+tag"
		case 4:
			local = "Bad Addr"
		case 5:
			local = strings.ToUpper(local)
		}
		dom := genDomain(r, rules/8+1)
		if r.Intn(5) == 0 {
			dom = fmt.Sprintf("sub%d.%s", r.Intn(rules), dom)
		}
		keys[i] = local + "@" + dom
	}
	return keys
}

// genCIDRTable writes n rules: IPv4 networks of common lengths, some
// hosts, some IPv6, a few negations and IF blocks.
func genCIDRTable(r *rand.Rand, n int) string {
	var b strings.Builder
	depth := 0
	for i := 0; i < n; i++ {
		if depth > 0 && r.Intn(6) == 0 {
			b.WriteString("endif\n")
			depth--
			i--
			continue
		}
		switch k := r.Intn(100); {
		case k < 80:
			bits := []int{16, 20, 24, 24, 24, 28, 32, 32, 8, 12}[r.Intn(8+2*boolInt(i > n*9/10))]
			p := netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(r.Intn(4) + 10), byte(r.Intn(256)), byte(r.Intn(256)), byte(r.Intn(256))}), bits).Masked()
			fmt.Fprintf(&b, "%s\tREJECT net %d\n", p, i)
		case k < 88:
			var a [16]byte
			a[0], a[1], a[2], a[3] = 0x20, 0x01, 0x0d, 0xb8
			a[4], a[5] = byte(r.Intn(4)), byte(r.Intn(256))
			p := netip.PrefixFrom(netip.AddrFrom16(a), []int{32, 48, 64}[r.Intn(3)]).Masked()
			fmt.Fprintf(&b, "%s\tv6 %d\n", p, i)
		case k < 90 && i > n*9/10:
			fmt.Fprintf(&b, "!%d.0.0.0/8\tnot-%d\n", r.Intn(4)+10, i)
		case k < 93 && depth < 2:
			fmt.Fprintf(&b, "if %d.%d.0.0/16\n", r.Intn(4)+10, r.Intn(256))
			depth++
			i--
		case k < 96 && depth > 0:
			b.WriteString("endif\n")
			depth--
			i--
		default:
			fmt.Fprintf(&b, "%d.%d.%d.%d\thost %d\n", r.Intn(4)+10, r.Intn(256), r.Intn(256), r.Intn(256), i)
		}
	}
	for ; depth > 0; depth-- {
		b.WriteString("endif\n")
	}
	return b.String()
}

func genIPs(r *rand.Rand, n int) []string {
	keys := make([]string, n)
	for i := range keys {
		if r.Intn(20) == 0 {
			keys[i] = fmt.Sprintf("2001:db8:%x:%x::%x", r.Intn(4), r.Intn(256)<<8, r.Intn(65536))
			continue
		}
		keys[i] = fmt.Sprintf("%d.%d.%d.%d", r.Intn(5)+9, r.Intn(256), r.Intn(256), r.Intn(256))
	}
	return keys
}

// TestPatternDifferential compares Debian's postmap and our tables on
// generated tables and keys (fixed seeds): warnings and answers must be
// identical, indexed or not.
func TestPatternDifferential(t *testing.T) {
	cases := []struct {
		typ   string
		rules int
		table func(*rand.Rand, int) string
		keys  func(*rand.Rand, int) []string
	}{
		{"regexp", 300, genRegexpTable, func(r *rand.Rand, n int) []string { return genAddresses(r, 3000, n) }},
		{"pcre", 300, genRegexpTable, func(r *rand.Rand, n int) []string { return genAddresses(r, 3000, n) }},
		{"cidr", 2000, genCIDRTable, func(r *rand.Rand, n int) []string { return genIPs(r, 5000) }},
	}
	for _, c := range cases {
		for seed := int64(1); seed <= 3; seed++ {
			t.Run(fmt.Sprintf("%s/seed%d", c.typ, seed), func(t *testing.T) {
				r := rand.New(rand.NewSource(seed))
				src := c.table(r, c.rules)
				keys := c.keys(r, c.rules)
				dir := t.TempDir()
				if err := os.WriteFile(filepath.Join(dir, "t.tbl"), []byte(src), 0o644); err != nil {
					t.Fatal(err)
				}
				warn, out := ourRun(t, c.typ, "t.tbl", src, keys, false)
				t.Logf("%d keys, %d answers, %d distinct", len(keys), strings.Count(out, "\n"), distinctAnswers(out))
				rwarn, rout := refRun(t, dir, c.typ, "t.tbl", keys)
				if warn != rwarn {
					t.Errorf("warnings differ:\n--- ours\n%s--- postfix\n%s", warn, rwarn)
				}
				if out != rout {
					t.Errorf("answers differ:\n%s", firstDiff(out, rout))
				}
				// Trying every rule is slow under -race: a sample will do.
				sample := keys[:500]
				_, idx := ourRun(t, c.typ, "t.tbl", src, sample, false)
				if _, lin := ourRun(t, c.typ, "t.tbl", src, sample, true); lin != idx {
					t.Errorf("index changed answers:\n%s", firstDiff(idx, lin))
				}
			})
		}
	}
}

// firstDiff shows the first differing line of two outputs.
func firstDiff(a, b string) string {
	la, lb := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < len(la) || i < len(lb); i++ {
		var x, y string
		if i < len(la) {
			x = la[i]
		}
		if i < len(lb) {
			y = lb[i]
		}
		if x != y {
			return fmt.Sprintf("line %d:\n  ours:    %q\n  postfix: %q", i+1, x, y)
		}
	}
	return "(no difference)"
}

// distinctAnswers counts different results, to show the test exercises
// many rules.
func distinctAnswers(out string) int {
	seen := map[string]bool{}
	for _, l := range strings.Split(out, "\n") {
		if _, v, ok := strings.Cut(l, "\t"); ok {
			seen[v] = true
		}
	}
	return len(seen)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
