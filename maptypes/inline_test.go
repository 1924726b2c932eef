package maptypes

import (
	"strings"
	"testing"
)

// FuzzInlineFixed opens random inline:{...} names: an error is one of
// Postfix's texts about the whole name, never a panic, and a table that
// opens answers, for every "key=value" entry written without braces or
// blanks, the value of the last entry with that key.
func FuzzInlineFixed(f *testing.F) {
	f.Add("{a=b, {c = d e}}", "c")
	f.Add("{{a b=c}}", "a")
	f.Add("{ {a=b}x }", "a")
	f.Add("{a=1,a=2}", "a")
	f.Add("{{ }}", "")
	f.Fuzz(func(t *testing.T, name, key string) {
		if name == "" {
			return // "inline:" alone is Open's error, not the table's
		}
		tb, err := OpenType("inline", name, 0)
		if err != nil {
			if !strings.HasSuffix(err.Error(), ": \"inline:"+name+"\"; need \"inline:{name=value...}\"") {
				t.Fatalf("inline:%s: error %q", name, err)
			}
			return
		}
		if !strings.HasPrefix(name, "{") || !strings.HasSuffix(name, "}") {
			t.Fatalf("inline:%s opened", name)
		}
		tb.Lookup(key)
		want := map[string]string{}
		if strings.ContainsAny(name[1:len(name)-1], "{}") {
			return
		}
		for e := range strings.FieldsFuncSeq(name[1:len(name)-1], func(r rune) bool { return strings.ContainsRune(inlineSeparators, r) }) {
			k, v, _ := strings.Cut(e, "=")
			want[k] = v
		}
		for k, v := range want {
			got, ok, err := tb.Lookup(k)
			if !ok || err != nil || got != v {
				t.Fatalf("inline:%s key %q: got (%q, %v, %v), want %q", name, k, got, ok, err, v)
			}
		}
	})
}
