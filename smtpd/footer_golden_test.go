package smtpd

import (
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/postfix-go/postfix/internal/dnsbl"
)

var updateFooter = flag.Bool("update-footer", false, "rewrite testdata/footer.out")

// footerTestSession is the session whose attributes the golden cases
// show: a client after HELO and an accepted MAIL FROM, no recipient yet.
func footerTestSession() *session {
	return &session{
		p:    &params{hostname: "mx.example.test", footer: footerConf{filter: dnsbl.DefaultFilter}},
		name: "client.example", reverseName: "client.example", addr: "192.0.2.1", port: "40000",
		helo: "h<e>lo\x01",
		tx:   transaction{active: true, sender: "a@example.com"},
	}
}

// TestFooterGolden appends the footers of testdata/footer.in ("== name"
// blocks of "template: TEXT" and "reply: LINE" lines) and compares the
// reply lines and the warnings with testdata/footer.out. The expected
// texts follow what Debian's smtpd 3.7 sent and logged for the same
// templates (see TestFooterMatchesPostfix for the live comparison).
func TestFooterGolden(t *testing.T) {
	t.Parallel()
	in, err := os.ReadFile("testdata/footer.in")
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	for _, block := range strings.Split(string(in), "\n== ")[1:] {
		name, body, _ := strings.Cut(block, "\n")
		var tmpl string
		var reply []string
		for _, l := range strings.Split(body, "\n") {
			if v, ok := strings.CutPrefix(l, "template: "); ok {
				tmpl = v
			} else if v, ok := strings.CutPrefix(l, "reply: "); ok {
				reply = append(reply, v)
			}
		}
		out.WriteString("== " + name + "\n")
		var warnings []string
		lookup := footerTestSession().footerValue
		warn := func(text string) { warnings = append(warnings, text) }
		lines, ok := appendFooter(reply, tmpl, func(l string) (string, bool) { return expandFooterText(l, lookup, warn) })
		if !ok {
			lines = reply
			out.WriteString("(unchanged)\n")
		}
		for _, l := range lines {
			out.WriteString(l + "\n")
		}
		for _, w := range warnings {
			out.WriteString("W: warning: " + w + "\n")
		}
	}
	if *updateFooter {
		if err := os.WriteFile("testdata/footer.out", []byte(out.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile("testdata/footer.out")
	if err != nil {
		t.Fatal(err)
	}
	if out.String() != string(want) {
		t.Errorf("footer results differ from testdata/footer.out\n--- got:\n%s--- want:\n%s", out.String(), want)
	}
}

// FuzzAppendFooter: any template and reply text either leave the reply
// alone or give well-formed reply lines: the first reply's code on every
// line, '-' after it on all lines but the last.
func FuzzAppendFooter(f *testing.F) {
	f.Add(`\c For help ($client_address)\nsecond ${helo_name?x}`, "550 5.1.1 text")
	f.Add(`$`, "421 4.7.0 host Error: too many errors")
	f.Add(`\c`, "502 5.5.1 VRFY command is disabled")
	f.Add(`a\nb\n\c\nc`, "503 Error: x")
	f.Fuzz(func(t *testing.T, tmpl, reply string) {
		lines := strings.Split(reply, "\n")
		lookup := footerTestSession().footerValue
		out, ok := appendFooter(lines, tmpl, func(l string) (string, bool) { return expandFooterText(l, lookup, func(string) {}) })
		if !ok {
			return
		}
		if len(out) < len(lines) {
			t.Fatalf("lines lost: %q -> %q", lines, out)
		}
		for i, l := range out {
			if !replyLine(l) || l[:3] != lines[0][:3] && i >= len(lines) {
				t.Fatalf("bad line %d %q", i, l)
			}
			if want := i == len(out)-1; (l[3] == ' ') != want {
				t.Fatalf("bad separator on line %d: %q", i, out)
			}
		}
	})
}
