package msg

import (
	"bytes"
	"strings"
	"testing"
)

// The expected texts are what Debian's Postfix 3.7.11 wrote: smtpd's
// "helo=<...>" and "Illegal address syntax" log lines for hostile HELO and
// MAIL commands, and postmap's warning naming a regexp: file whose name
// holds the bytes (see internal/maillog's differential tests, which check
// the same rule against the real programs).
var printableGolden = []struct {
	in          string
	utf8, ascii string
}{
	{"plain text, spaces ok ~", "plain text, spaces ok ~", "plain text, spaces ok ~"},
	{"", "", ""},
	{"a\x01b\x7fc\x1b[31m", "a?b?c?[31m", "a?b?c?[31m"},
	{"t\tab", "t?ab", "t?ab"},
	{"cr\rx\nlf", "cr?x?lf", "cr?x?lf"},
	{"\x00\x0b\x0c", "???", "???"},
	{"x\xc3\xa9y", "x\xc3\xa9y", "x??y"},                      // é
	{"x\xe9y", "x?y", "x?y"},                                  // a lone Latin-1 é
	{"q\x80\xffr", "q??r", "q??r"},                            // stray continuation, 0xff
	{"x\xe2\x80\x8by", "x\xe2\x80\x8by", "x???y"},             // U+200B
	{"x\xc2\x85y", "x\xc2\x85y", "x??y"},                      // U+0085, a C1 control
	{"x\xef\xbf\xbey", "x\xef\xbf\xbey", "x???y"},             // U+FFFE
	{"\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80", "????"},          // U+1F600
	{"\xc0\xaf", "??", "??"},                                  // overlong lead
	{"\xc1\x80", "??", "??"},                                  // overlong lead
	{"\xed\xa0\x80", "\xed\xa0\x80", "???"},                   // a surrogate passes
	{"\xf4\x90\x80\x80", "\xf4\x90\x80\x80", "????"},          // above U+10FFFF passes
	{"\xc2\x80\x80\x80\x80", "\xc2\x80\x80\x80\x80", "?????"}, // every continuation byte stays
	{"\xfe\x80", "\xfe\x80", "??"},
	{"\xff\x80", "??", "??"},
	{"\xe2\x80y", "\xe2\x80y", "??y"}, // a short sequence passes
	{"\xc2", "?", "?"},
	{"\xc2Z", "?Z", "?Z"},
	{"\xc2\x7f", "??", "??"},
	{"\xf8\x88\x80\x80\x80", "\xf8\x88\x80\x80\x80", "?????"},
	{"\xe0\x80\x80", "\xe0\x80\x80", "???"},
}

func TestPrintableGolden(t *testing.T) {
	for _, c := range printableGolden {
		if got := PrintableFor(c.in, true); got != c.utf8 {
			t.Errorf("UTF-8 on: %q -> %q, want %q", c.in, got, c.utf8)
		}
		if got := PrintableFor(c.in, false); got != c.ascii {
			t.Errorf("UTF-8 off: %q -> %q, want %q", c.in, got, c.ascii)
		}
	}
}

func TestDiagnosticsMasked(t *testing.T) {
	var buf bytes.Buffer
	defer SetOutput(SetOutput(&buf))
	defer SetProgName(ProgName())
	defer SetUTF8(UTF8())
	SetProgName("postmap")
	SetUTF8(false)
	Warn("bad name %s", "a\x1b]0;pwn\x07\xc3\xa9")
	SetUTF8(true)
	Error("bad name %s", "a\x1b]0;pwn\x07\xc3\xa9\r\n")
	want := "postmap: warning: bad name a?]0;pwn???\n" +
		"postmap: error: bad name a?]0;pwn?\xc3\xa9??\n"
	if buf.String() != want {
		t.Errorf("got %q, want %q", buf.String(), want)
	}
}

func TestPrintableNoCopy(t *testing.T) {
	s := strings.Repeat("connect from localhost[127.0.0.1]", 4)
	if n := testing.AllocsPerRun(100, func() { _ = PrintableFor(s, true) }); n != 0 {
		t.Errorf("%v allocations for clean text", n)
	}
}

func FuzzPrintable(f *testing.F) {
	for _, c := range printableGolden {
		f.Add(c.in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		for _, utf8 := range []bool{false, true} {
			out := PrintableFor(in, utf8)
			if len(out) != len(in) {
				t.Fatalf("%q -> %q: length changed", in, out)
			}
			if again := PrintableFor(out, utf8); again != out {
				t.Fatalf("%q -> %q -> %q: not stable", in, out, again)
			}
			for i := 0; i < len(out); i++ {
				c := out[i]
				if c < 0x20 || c == 0x7f {
					t.Fatalf("%q -> %q: control byte %#x at %d", in, out, c, i)
				}
				if !utf8 && c > 0x7e {
					t.Fatalf("%q -> %q: 8-bit byte %#x with UTF-8 off", in, out, c)
				}
				if c != in[i] && c != '?' {
					t.Fatalf("%q -> %q: byte %d changed to %#x", in, out, i, c)
				}
				// A kept 8-bit byte belongs to a lead byte 0xc2-0xfe
				// followed by continuation bytes.
				if c >= 0x80 {
					j := i
					for j > 0 && out[j] >= 0x80 && out[j] <= 0xbf {
						j--
					}
					if out[j] < 0xc2 || out[j] > 0xfe || j+1 >= len(out) || out[j+1] < 0x80 || out[j+1] > 0xbf {
						t.Fatalf("%q -> %q: byte %#x at %d kept outside a UTF-8 sequence", in, out, c, i)
					}
				}
			}
		}
	})
}
