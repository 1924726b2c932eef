package maptypes

import (
	"bufio"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPatternBenchFiles writes the inputs of bench/patterns.sh into the
// directory named by PFGO_PATTERN_BENCH_DIR: a 1,000-rule regexp table
// (regexp.tbl, also valid as pcre), 100,000 addresses (addrs), a
// 10,000-rule cidr table (cidr.tbl) and 100,000 IPv4 addresses (ips).
func TestPatternBenchFiles(t *testing.T) {
	dir := os.Getenv("PFGO_PATTERN_BENCH_DIR")
	if dir == "" {
		t.Skip("PFGO_PATTERN_BENCH_DIR not set (used by bench/patterns.sh)")
	}
	r := rand.New(rand.NewSource(42))
	files := map[string]string{
		"regexp.tbl": genRegexpTable(r, 1000),
		"addrs":      strings.Join(genAddresses(r, 100000, 1000), "\n") + "\n",
		"cidr.tbl":   genCIDRTable(r, 10000),
	}
	ips := genIPs(r, 100000)
	for i := range ips {
		if strings.Contains(ips[i], ":") {
			ips[i] = "10.0.0.1"
		}
	}
	files["ips"] = strings.Join(ips, "\n") + "\n"
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestPatternQueryTool answers keys from standard input like
// "postmap -q - TYPE:FILE" for the table named by PFGO_PATTERN_QUERY
// (bench/patterns.sh uses it when bin/postmap is not built).
func TestPatternQueryTool(t *testing.T) {
	spec := os.Getenv("PFGO_PATTERN_QUERY")
	if spec == "" {
		t.Skip("PFGO_PATTERN_QUERY not set (used by bench/patterns.sh)")
	}
	typ, name, _ := strings.Cut(spec, ":")
	var tb Table
	var err error
	switch typ {
	case "regexp":
		tb, err = OpenRegexp(name)
	case "pcre":
		tb, err = OpenPCRE(name)
	case "cidr":
		tb, err = OpenCIDR(name)
	default:
		t.Fatalf("unknown type %q", typ)
	}
	if err != nil {
		t.Fatal(err)
	}
	in := bufio.NewScanner(os.Stdin)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	for in.Scan() {
		k := in.Text()
		if k == "" {
			continue
		}
		if v, ok, _ := tb.Lookup(k); ok {
			out.WriteString(k + "\t" + v + "\n")
		}
	}
}

func benchTable(b *testing.B, typ string, rules int, table func(*rand.Rand, int) string, keys []string) {
	r := rand.New(rand.NewSource(7))
	src := table(r, rules)
	var tb Table
	captureWarnings(func() { tb = patternTypes[typ]("bench", splitLogicalLines("bench", src), false) })
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tb.Lookup(keys[i%len(keys)])
	}
}

func BenchmarkRegexpLookup1000(b *testing.B) {
	benchTable(b, "regexp", 1000, genRegexpTable, genAddresses(rand.New(rand.NewSource(8)), 10000, 1000))
}

func BenchmarkPCRELookup1000(b *testing.B) {
	benchTable(b, "pcre", 1000, genRegexpTable, genAddresses(rand.New(rand.NewSource(8)), 10000, 1000))
}

func BenchmarkCIDRLookup10000(b *testing.B) {
	benchTable(b, "cidr", 10000, genCIDRTable, genIPs(rand.New(rand.NewSource(8)), 10000))
}
