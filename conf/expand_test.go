package conf

import (
	"errors"
	"strings"
	"testing"
)

func testExpander(vals map[string]string, warns *[]string) *Expander {
	return &Expander{
		Lookup: func(n string) (string, bool) { v, ok := vals[n]; return v, ok },
		Warn:   func(s string) { *warns = append(*warns, s) },
	}
}

// TestExpand checks expansion results and warnings; the cases were
// checked against Postfix 3.7's postconf -x (see also the differential
// suite in package postconf).
func TestExpand(t *testing.T) {
	vals := map[string]string{"a": "A", "b": "$a$a", "loop1": "$loop2", "loop2": "$loop1", "empty": ""}
	for _, c := range []struct{ in, out, warn string }{
		{"$a ${a} $(a) $$", "A A A $", ""},
		{"${a?yes}${empty?no}${a:no}${u:yes}", "yesyes", ""},
		{"${a?{y}:{n}} ${u?{y}:{n}} ${u?{y}:n}", "y n n", ""},
		{"${{1}=={01}?{t}:{f}} ${{a}<{b}?{t}:{f}} ${{10}<{9}?{t}:{f}}", "t t f", ""},
		{"${{2}<level{3.6}?{t}:{f}} ${{3.10}>level{3.6}?{t}:{f}}", "t t", ""},
		{"${{1}=={1}} ${{1}=={2}}|", "true |", ""},
		{"${a?{x}: {y} } ${a?x{y}} ${{1}=={1}?t:f}", "x x{y} t:f", ""},
		{"${b}", "AA", ""},
		{"a$-b", "", `empty macro name: "a$-b"`},
		{"${a", "", `truncated macro reference: "${a"`},
		{"${a.b}", "", `attribute name syntax error at: "...a>>>.b"`},
		{"${a:{x}:{y}}", "", `unexpected input at: "...x}>>>:{y}"`},
		{"${a?{x}{y}}", "", `":" expected at: "...x}>>>{y}"`},
		{"${{1}==}", "", `"{expression}" expected at: "...{1} ==>>>"`},
		{"${{x}=~{x}?{t}}", "", `"==" or "!="" or "<"" or "<="" or ">="" or ">" expected at: "...x}>>>=~{x}?{t}"`},
		{"${{a}==level{b}?{t}:{f}}", "", `malformed compatibility level syntax: "a"`},
		{"$loop1", "", `unreasonable macro call nesting: "loop2"`},
	} {
		var warns []string
		got, err := testExpander(vals, &warns).Expand(c.in)
		if c.warn != "" {
			if err == nil || len(warns) == 0 || warns[0] != c.warn {
				t.Errorf("%q: want warning %q, got %q (err %v)", c.in, c.warn, warns, err)
			}
			continue
		}
		if err != nil || got != c.out {
			t.Errorf("%q: got %q, %v; want %q", c.in, got, err, c.out)
		}
	}
}

func TestReferences(t *testing.T) {
	got := strings.Join(References("$a ${b?{$c}:{$d}} $(e:x) ${{$f}=={1}?{$g}} $$h"), " ")
	if got != "a b c d e f g" {
		t.Errorf("References: %q", got)
	}
}

func FuzzExpand(f *testing.F) {
	for _, s := range []string{"$a", "${a?{x}:{y}}", "${{1}=={1}?{t}:{f}}", "$$", "${a", "${{1}<level{2}}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		vals := map[string]string{"a": "A", "b": s}
		var warns []string
		x := testExpander(vals, &warns)
		_, err := x.Expand(s)
		var ce *ConversionError
		if err != nil && len(warns) == 0 && !errors.As(err, &ce) {
			t.Fatalf("error without a warning for %q", s)
		}
		References(s)
	})
}
