package smtpread

import (
	"bufio"
	"reflect"
	"strings"
	"testing"
)

// The behaviours below were measured on Debian's smtpd 3.7.11 through
// smtpd's differential test (smtpd/input_test.go); these cases pin them
// at the package level.

func TestFields(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string
	}{
		{"a\tb\r c\vd\fe", []string{"a", "b", "c", "d", "e"}},
		{"a\xc2\xa0b c\xc2\x85", []string{"a\xc2\xa0b", "c\xc2\x85"}},
		{`<a b> "c d" e\ f`, []string{"<a b>", `"c d"`, `e\ f`}},
		{"to:x FROM:y", []string{"to:", "x", "FROM:", "y"}},
		{"  ", []string{}},
	} {
		if got := Fields(c.in); !reflect.DeepEqual(got, c.want) {
			t.Errorf("Fields(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestParseVrfy(t *testing.T) {
	for _, c := range []struct {
		in        string
		smtputf8  bool
		raw, addr string
		reply     string
		warn      bool
	}{
		{in: "root", smtputf8: true, raw: "root", addr: "root"},
		{in: "root SMTPUTF8", smtputf8: true, raw: "root", addr: "root"},
		{in: "root smtputf8", smtputf8: false, raw: "root smtputf8", reply: replyBadRcpt, warn: true},
		{in: "root \t x", smtputf8: true, raw: "root x", reply: replyBadRcpt, warn: true},
		{in: `"a b"@example.com`, smtputf8: true, raw: `"a b"@example.com`, addr: "a b@example.com"},
		{in: "<>", smtputf8: true, raw: "<>", reply: replyBadRcpt, warn: true},
		{in: "", smtputf8: true, reply: replyVrfySyntax},
	} {
		raw, addr, _, err := ParseVrfy(c.in, c.smtputf8)
		reply, warn := "", false
		if e, ok := err.(*Error); ok {
			reply, warn = e.Reply, e.Warn
		}
		if raw != c.raw || addr != c.addr || reply != c.reply || warn != c.warn {
			t.Errorf("ParseVrfy(%q, %v) = %q, %q, %q warn %v; want %q, %q, %q warn %v",
				c.in, c.smtputf8, raw, addr, reply, warn, c.raw, c.addr, c.reply, c.warn)
		}
	}
}

func TestValidDomain(t *testing.T) {
	for d, want := range map[string]bool{
		"example.com": true, "under_score.example": true, "[1.2.3.4]": true, "[IPv6:::1]": true,
		"1.2.3.4": false, "-x": false, "bad!name": false, "[300.1.1.1]": false, "x\xc3\xa9": false, "": false,
	} {
		if got := ValidDomain(d); got != want {
			t.Errorf("ValidDomain(%q) = %v, want %v", d, got, want)
		}
	}
}

// TestCut: the text after a NUL is kept apart for smtpd's UTF-8 check.
func TestCut(t *testing.T) {
	r := NewReader(bufio.NewReader(strings.NewReader("NOOP x\x00\xff\r\nNOOP\r\n")), Options{})
	line, err := r.ReadCommand()
	if err != nil || line != "NOOP x" || r.Cut() != "\x00\xff" {
		t.Fatalf("got %q, %q, %v", line, r.Cut(), err)
	}
	if line, err = r.ReadCommand(); err != nil || line != "NOOP" || r.Cut() != "" {
		t.Fatalf("got %q, %q, %v", line, r.Cut(), err)
	}
}
