package local

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"unicode/utf8"
)

func expandFlags(st int) string {
	var f []string
	if st&expandUndef != 0 {
		f = append(f, "undef")
	}
	if st&expandExtMatched != 0 {
		f = append(f, "ext")
	}
	if st&expandError != 0 {
		f = append(f, "error")
	}
	return "[" + strings.Join(f, " ") + "]"
}

// TestExpandGolden checks localExpand against testdata/expand.golden.
func TestExpandGolden(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("testdata/expand.golden")
	if err != nil {
		t.Fatal(err)
	}
	with := state{user: "alice", extension: "box", delim: "+", local: "alice+box", domain: "host.example.com",
		rcpt: deliverRecipient{Address: "alice+box@host.example.com"}}
	without := state{user: "alice", local: "alice", domain: "host.example.com", rcpt: deliverRecipient{Address: "alice@host.example.com"}}
	usr := userAttr{home: "/home/alice", shell: "/bin/sh"}
	filter := "1234567890!@%-_=+:,./abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	n := 0
	for _, line := range strings.Split(string(b), "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		s := with
		if rest, ok := strings.CutPrefix(line, "noext: "); ok {
			line, s = rest, without
		}
		in, want, ok := strings.Cut(line, " => ")
		if !ok {
			t.Fatalf("bad line %q", line)
		}
		out, st := localExpand(in, s, usr, filter)
		if got := strings.TrimSpace(out + " " + expandFlags(st)); got != want {
			t.Errorf("localExpand(%q) = %q, want %q", in, got, want)
		}
		n++
	}
	if n < 10 {
		t.Fatalf("only %d cases", n)
	}
}

// TestExpandFilter: characters of values outside the filter become '_',
// the pattern's own characters stay.
func TestExpandFilter(t *testing.T) {
	t.Parallel()
	s := state{user: "a;b", rcpt: deliverRecipient{Address: "x y@z"}}
	out, _ := localExpand("/x;$user/$recipient", s, userAttr{}, "abcxyz@/")
	if out != "/x;a_b/x_y@z" {
		t.Errorf("got %q", out)
	}
}

// FuzzLocalExpand: no panic; a pattern without '$' comes back unchanged;
// values never bring in characters outside the filter.
func FuzzLocalExpand(f *testing.F) {
	f.Add("$home/.forward${recipient_delimiter}${extension}")
	f.Add("${extension?{a}:{b}}")
	f.Add("$(user")
	f.Fuzz(func(t *testing.T, pattern string) {
		s := state{user: "u;1", extension: "e", delim: "+", local: "u;1+e", domain: "d", rcpt: deliverRecipient{Address: "u;1+e@d"}}
		out, _ := localExpand(pattern, s, userAttr{home: "/h", shell: "/bin/sh"}, "abcdefghijklmnopqrstuvwxyz/+@")
		if !strings.Contains(pattern, "$") && out != pattern {
			t.Fatalf("%q became %q", pattern, out)
		}
		if strings.Contains(out, ";") && !strings.Contains(pattern, ";") {
			t.Fatalf("filtered character leaked: %q -> %q", pattern, out)
		}
	})
}

// TestDestinationsGolden checks how alias values and .forward lines split
// into destinations (testdata/destinations.golden).
func TestDestinationsGolden(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("testdata/destinations.golden")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, line := range strings.Split(string(b), "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		in, want, ok := strings.Cut(line, " => ")
		if !ok {
			t.Fatalf("bad line %q", line)
		}
		in = strings.TrimSuffix(strings.TrimPrefix(in, "{"), "}")
		if got := fmt.Sprintf("%q", destinations(in)); got != want {
			t.Errorf("destinations(%q) = %s, want %s", in, got, want)
		}
		n++
	}
	if n < 8 {
		t.Fatalf("only %d cases", n)
	}
}

// FuzzDestinations: any text parses without panic into valid strings.
func FuzzDestinations(f *testing.F) {
	f.Add(`alice, "|/usr/bin/procmail -a $EXTENSION", /var/mail/x, :include:/etc/list`)
	f.Add(`Joe <joe@example.com> (comment), "a b"@c`)
	f.Fuzz(func(t *testing.T, s string) {
		for _, d := range destinations(s) {
			if utf8.ValidString(s) && !utf8.ValidString(d) {
				t.Fatalf("invalid UTF-8 from %q: %q", s, d)
			}
		}
	})
}
