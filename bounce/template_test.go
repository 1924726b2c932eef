package bounce

import (
	"strings"
	"testing"
)

func TestBuiltin(t *testing.T) {
	b := Builtin()
	for _, k := range Kinds {
		tm := b[k]
		if tm == nil || tm.Charset != "us-ascii" || tm.Subject == "" || !strings.Contains(tm.Text, "$myhostname") {
			t.Fatalf("built-in %s template: %+v", k, tm)
		}
	}
	if b["failure"].PostmasterSubject == "" || b["success"].PostmasterSubject != "" {
		t.Errorf("Postmaster-Subject: failure %q, success %q", b["failure"].PostmasterSubject, b["success"].PostmasterSubject)
	}
}

func TestParse(t *testing.T) {
	def := Builtin()["failure"]
	for _, c := range []struct{ text, subject, body, problem string }{
		{"Subject: s\n\nbody\n", "s", "body\n", ""},
		{"Bad-Header x\n\nbody\n", def.Subject, "Bad-Header x\n\nbody\n", ""},
		{"X-Foo: y\n\nbody\n", "", "", `FILE: unknown "X-Foo" header label in failure template -- ignoring this template`},
		{"Subject: s\n", "", "", "FILE: missing message text in failure template -- ignoring this template"},
		{"Subject: s\n\n\xe9\n", "", "", "FILE: 8-bit message text in failure template\nplease specify a charset value other than us-ascii\n-- ignoring this template for now"},
	} {
		tm, problem := parse("failure", c.text, def)
		if problem != c.problem || (problem == "" && (tm.Subject != c.subject || tm.Text != c.body)) {
			t.Errorf("%q: %+v, %q", c.text, tm, problem)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"Subject: s\n\nbody\n", "Charset: utf-8\n\n\xc3\xa9\n", "X: y\n", "\n\n", "Bad x\n"} {
		f.Add(s)
	}
	def := Builtin()["delay"]
	f.Fuzz(func(t *testing.T, text string) {
		tm, problem := parse("delay", text, def)
		if problem == "" && (tm == nil || tm.Text == "") {
			t.Fatalf("accepted a template without text: %q", text)
		}
	})
}
