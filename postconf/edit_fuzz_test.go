package postconf

import (
	"bytes"
	"strings"
	"testing"

	"github.com/postfix-go/postfix/conf"
	"github.com/postfix-go/postfix/internal/msg"
)

// FuzzEditArgs feeds "postconf -e" arguments and main.cf texts to the
// editor: it must never panic, must set the parameter when the argument
// is valid, and must keep every line that does not belong to it.
func FuzzEditArgs(f *testing.F) {
	f.Add([]byte("a = 1\n  cont\n# c\nb = 2\n"), "a=x")
	f.Add([]byte("myhostname = h\n"), "myhostname = mail.example.com")
	f.Add([]byte(""), "relayhost = [mx.example]:587")
	f.Add([]byte("x = 1"), "=b")
	f.Add([]byte("a=1\r\nb=2\r\n"), "b = $a ${c?{d}:{e}}")
	msg.SetOutput(&bytes.Buffer{})
	msg.SetExit(func(int) {})
	f.Fuzz(func(t *testing.T, data []byte, arg string) {
		if strings.ContainsAny(arg, "\n") {
			return
		}
		name, value, e := conf.SplitNameValue(arg)
		if e != "" || name[0] == '#' {
			// A name that starts with '#' is written as a comment, as
			// Postfix writes it.
			return
		}
		changes := map[string]*change{name: {value: value}}
		out := applyEdits(&Options{Edit: true}, "main.cf", data, changes, []string{name})
		m, err := conf.ParseMain("main.cf", []byte(out))
		if err != nil {
			if _, orig := conf.ParseMain("main.cf", data); orig == nil {
				t.Fatalf("edit broke a good main.cf: %v\n%q", err, out)
			}
			return
		}
		if v, ok := m.Value(name); !ok || v != value {
			t.Fatalf("after -e %q: %s = %q (%v)\n%q", arg, name, v, ok, out)
		}
		for _, line := range conf.SplitPhysical(data) {
			if conf.IsSkippable(line) && !strings.Contains(out, line) {
				t.Fatalf("comment or blank line %q lost", line)
			}
		}
	})
}
