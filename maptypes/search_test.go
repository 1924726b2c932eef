package maptypes

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
)

// recorder is a table that records the keys it is asked for. It finds
// the keys in have and fails temporarily on the key retry.
type recorder struct {
	name  string
	log   *[]string
	have  map[string]string
	retry string
}

func (r *recorder) Lookup(key string) (string, bool, error) {
	*r.log = append(*r.log, r.name+":"+key)
	if key == r.retry && key != "" {
		return "", false, fmt.Errorf("%s: %w", r.name, ErrRetry)
	}
	v, ok := r.have[key]
	return v, ok, nil
}

func (r *recorder) Close() error { return nil }

// searchLine runs one line of testdata/search/orders.in against a fixed
// table F and a pattern table P, neither of which finds anything, and
// renders the keys each one was asked for.
func searchLine(line string) string {
	f := strings.Fields(line)
	if len(f) != 3 {
		return "bad test line"
	}
	kind, flags, arg := f[0], f[1], f[2]
	if arg == `""` {
		arg = ""
	}
	var s Search
	for _, fl := range strings.Split(flags, ",") {
		switch {
		case strings.HasPrefix(fl, "d="):
			s.Delimiters = fl[2:]
		case fl == "p":
			s.ParentMatches = true
		case fl == "l":
			s.Local = func(string) bool { return true }
		}
	}
	var log []string
	m := Maps{{Table: &recorder{name: "F", log: &log}, Fixed: true}, {Table: &recorder{name: "P", log: &log}}}
	var err error
	switch kind {
	case "address":
		_, _, err = s.Address(m, arg)
	case "access":
		_, _, err = s.Access(m, arg)
	case "transport":
		_, _, err = s.Transport(m, arg)
	case "domain":
		_, _, err = s.Domain(m, arg)
	case "host":
		_, _, err = s.Host(m, arg)
	case "ip":
		_, _, err = s.IP(m, arg)
	default:
		return "unknown kind"
	}
	if err != nil {
		return "error: " + err.Error()
	}
	for i, l := range log {
		log[i] = strconv.Quote(l)
	}
	return strings.Join(log, " ")
}

// TestSearchOrdersGolden checks the key sequences of every search kind
// against testdata/search/orders.out.
func TestSearchOrdersGolden(t *testing.T) {
	// Several flags ("d=+ l") are separate fields in orders.in: join
	// them with commas for searchLine.
	in, err := os.ReadFile("testdata/search/orders.in")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, line := range strings.Split(strings.TrimSuffix(string(in), "\n"), "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		f := strings.Fields(line)
		if len(f) > 3 {
			f = []string{f[0], strings.Join(f[1:len(f)-1], ","), f[len(f)-1]}
		}
		fmt.Fprintf(&b, "%s\n\t%s\n", line, searchLine(strings.Join(f, " ")))
	}
	golden(t, "testdata/search/orders.out", b.String())
}

// golden compares got with the file want, rewriting it when
// PFGO_UPDATE_GOLDEN is set.
func golden(t *testing.T, path, got string) {
	t.Helper()
	if os.Getenv("PFGO_UPDATE_GOLDEN") != "" {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(want) != got {
		t.Errorf("%s differs:\n%s", path, firstDiff(got, string(want)))
	}
}

func TestSearchFindsAndStops(t *testing.T) {
	var log []string
	fixed := &recorder{name: "F", log: &log, have: map[string]string{"user@example.com": "v1", ".example.com": "dom", "example.com": "parent"}}
	pat := &recorder{name: "P", log: &log, have: map[string]string{"user+x@example.com": "pattern"}}
	s := Search{Delimiters: "+"}

	// A pattern table sees the whole address, and wins when it comes
	// first in the list.
	m, ok, err := s.Address(Maps{{Table: pat}, {Table: fixed, Fixed: true}}, "user+x@example.com")
	if err != nil || !ok || m.Value != "pattern" || m.Ext != "" || m.Key != "user+x@example.com" {
		t.Errorf("pattern first: %+v %v %v", m, ok, err)
	}
	// The fixed table matches the address without its extension; the
	// extension is reported for propagate_unmatched_extensions.
	log = nil
	m, ok, err = s.Address(Maps{{Table: fixed, Fixed: true}}, "user+x@example.com")
	if err != nil || !ok || m.Value != "v1" || m.Ext != "+x" || m.Key != "user@example.com" {
		t.Errorf("extension: %+v %v %v", m, ok, err)
	}
	// Access: the domain is looked up as ".example.com" unless parents
	// match, then as "example.com".
	m, ok, _ = s.Access(Maps{{Table: fixed, Fixed: true}}, "other@mail.example.com")
	if !ok || m.Value != "dom" {
		t.Errorf("access subdomain: %+v %v", m, ok)
	}
	s.ParentMatches = true
	m, ok, _ = s.Access(Maps{{Table: fixed, Fixed: true}}, "other@mail.example.com")
	if !ok || m.Value != "parent" {
		t.Errorf("access parent style: %+v %v", m, ok)
	}
	// A temporary error stops the search: later keys and tables are not
	// consulted, and the error is returned.
	log = nil
	bad := &recorder{name: "B", log: &log, retry: "user@example.com"}
	_, ok, err = s.Address(Maps{{Table: bad, Fixed: true}, {Table: fixed, Fixed: true}}, "user+x@example.com")
	if ok || !errors.Is(err, ErrRetry) {
		t.Errorf("retry: ok=%v err=%v", ok, err)
	}
	if want := []string{"B:user+x@example.com", "F:user+x@example.com", "B:user@example.com"}; strings.Join(log, " ") != strings.Join(want, " ") {
		t.Errorf("retry lookups %q, want %q", log, want)
	}
}

func TestNewSearch(t *testing.T) {
	vals := map[string]string{
		"recipient_delimiter":              "+-",
		"parent_domain_matches_subdomains": "debug_peer_list,smtpd_access_maps relay_domains",
		"double_bounce_sender":             "bounce-twice",
	}
	get := func(n string) string { return vals[n] }
	s := NewSearch(get, "smtpd_access_maps")
	if s.Delimiters != "+-" || !s.ParentMatches || s.DoubleBounce != "bounce-twice" {
		t.Errorf("NewSearch = %+v", s)
	}
	if NewSearch(get, "transport_maps").ParentMatches {
		t.Error("transport_maps is not listed")
	}
	if u, e := s.SplitExtension("Bounce-Twice"); u != "Bounce-Twice" || e != "" {
		t.Errorf("double bounce split: %q %q", u, e)
	}
}

func TestOpenMapsFixedness(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(dir+"/r", []byte("/^u/ pat\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := OpenMaps([]string{"inline:{user@example.com=fix}", "regexp:" + dir + "/r"}, Default)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if !m[0].Fixed || m[1].Fixed {
		t.Errorf("fixedness %v %v", m[0].Fixed, m[1].Fixed)
	}
	// The whole address goes to both tables before any partial key, so
	// the regexp table (second in the list) answers for user+x@...;
	// for xuser+x@... nothing matches: the regexp table never sees
	// partial keys and the inline table has no xuser entry.
	r, ok, err := (Search{Delimiters: "+"}).Address(m, "user+x@example.com")
	if err != nil || !ok || r.Value != "pat" {
		t.Errorf("got %+v %v %v", r, ok, err)
	}
	r, ok, err = (Search{Delimiters: "+"}).Address(m, "xuser+x@example.com")
	if err != nil || ok {
		t.Errorf("got %+v %v %v", r, ok, err)
	}
	if _, err := OpenMaps([]string{"inline:{a=b}", "nosuch:x"}, Default); err == nil {
		t.Error("unknown type opened")
	}
}

// FuzzSearch checks that no search panics, that every key a pattern
// table sees is the whole query, and that a fixed table sees the whole
// query first.
func FuzzSearch(f *testing.F) {
	f.Add("user+ext@a.b.example.com", "+-", true)
	f.Add("2001:db8::1", "", false)
	f.Add("@", "@", true)
	f.Fuzz(func(t *testing.T, q, delims string, parent bool) {
		var log []string
		m := Maps{{Table: &recorder{name: "F", log: &log}, Fixed: true}, {Table: &recorder{name: "P", log: &log}}}
		s := Search{Delimiters: delims, ParentMatches: parent, Local: func(string) bool { return true }}
		for _, run := range []func(Maps, string) (Match, bool, error){s.Address, s.Access, s.Transport, s.Domain, s.Host, s.IP} {
			log = log[:0]
			if _, ok, err := run(m, q); ok || err != nil {
				t.Fatalf("found %v err %v in empty tables", ok, err)
			}
			if len(log) < 2 || log[0] != "F:"+q || log[1] != "P:"+q {
				t.Fatalf("query %q: first lookups %q", q, log)
			}
			for _, l := range log {
				if strings.HasPrefix(l, "P:") && l != "P:"+q {
					t.Fatalf("pattern table got %q for %q", l, q)
				}
			}
		}
	})
}
