package address

import (
	"strings"
	"testing"
)

// FuzzParse feeds arbitrary header values and addresses to every entry
// point: none may panic, re-parsing an external form without quoting
// characters gives the same external form, and quoting an address
// then unquoting it gives the address back when its domain holds no
// quoting characters.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"user@example.com", "Name <a@b>, c@d", "g: a@b;", "\"a b\"@c",
		"(c) a\\@b", "[1.2.3.4]", "@a,@b:u@c", "a!b%c@d", "\"", "(", "<", "a b c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tree := Parse(s)
		ext := Externalize(tree)
		_ = Internalize(tree)
		_ = ExternalizeLines(tree)
		_ = ParseList(s)
		_ = RewriteList(s, func(a string) string { return a + "x" })
		h := ParseHeader(s, 7)
		h.RewriteExternal(func(a string) string { return a })
		_ = h.Header("To")
		// Like Postfix, quoting looks at the local part only: a domain
		// with quotes or backslashes may read differently a second time.
		if again := Externalize(Parse(ext)); !strings.ContainsAny(ext, "\"\\") && again != Externalize(Parse(again)) {
			t.Errorf("external form not stable: %q → %q → %q", s, ext, again)
		}
		if strings.HasPrefix(s, "@") {
			return
		}
		at := strings.LastIndexByte(s, '@')
		if at >= 0 && strings.ContainsAny(s[at:], "\"\\") {
			return
		}
		if got := Internal(External(s)); got != s {
			t.Errorf("Internal(External(%q)) = %q (external %q)", s, got, External(s))
		}
	})
}
