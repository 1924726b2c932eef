package smtpread

import (
	"bufio"
	"fmt"
	"strconv"
	"strings"
	"testing"
)

func describeCommands(in string, opts Options) string {
	var b strings.Builder
	r := NewReader(bufio.NewReader(strings.NewReader(in)), opts)
	for {
		line, err := r.ReadCommand()
		if err != nil {
			fmt.Fprintf(&b, "\terror %v\n", err)
			return b.String()
		}
		verb, arg := Split(line)
		if len(line) > 60 {
			fmt.Fprintf(&b, "\tline of %d bytes", len(line))
		} else {
			fmt.Fprintf(&b, "\tline %q", line)
		}
		if len(verb) > 60 {
			verb = verb[:20] + "..." + strconv.Itoa(len(verb)) + " bytes"
		}
		if len(arg) > 60 {
			arg = arg[:20] + "..." + strconv.Itoa(len(arg)) + " bytes"
		}
		fmt.Fprintf(&b, " verb %q arg %q", verb, arg)
		if r.Truncated() {
			b.WriteString(" (truncated)")
		}
		b.WriteByte('\n')
	}
}

// TestCommandGolden reads testdata/commands.in with the defaults and
// under "reject".
func TestCommandGolden(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	for _, in := range goldenLines(t, "testdata/commands.in") {
		show := in
		if len(show) > 80 {
			show = show[:30] + "..." + show[len(show)-30:]
		}
		fmt.Fprintf(&b, "%s\n", strconv.Quote(show))
		b.WriteString(describeCommands(in, Options{}))
		b.WriteString("  reject:\n")
		b.WriteString(describeCommands(in, Options{BareNewline: "reject", Hostname: "mx.example.test"}))
	}
	compareGolden(t, "testdata/commands.golden", b.String())
}

// TestTokenize checks the command tokenizer on the forms Postfix's
// smtpd tokenizer treats specially.
func TestTokenize(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ in, want string }{
		{"FROM:<a@b>", `"FROM:" "<a@b>"`},
		{"from: <a@b>", `"from:" "<a@b>"`},
		{"FROM:FROM:<a@b>", `"FROM:" "FROM:" "<a@b>"`},
		{"x:<a@b>", `"x:<a@b>"`},
		{`<"a b"@c> SIZE=1`, `"<\"a b\"@c>" "SIZE=1"`},
		{`<a "b> c" d>`, `"<a \"b> c\" d>"`},
		{`<a b`, `"<a b"!`},
		{`"a\" b"`, `"\"a\\\" b\""`},
		{`a\ b`, `"a\\ b"`},
		{"TO:\t<x>\v\fy", `"TO:" "<x>" "y"`},
	} {
		var parts []string
		for _, tok := range tokenize(c.in) {
			s := strconv.Quote(tok.text)
			if tok.unend {
				s += "!"
			}
			parts = append(parts, s)
		}
		if got := strings.Join(parts, " "); got != c.want {
			t.Errorf("tokenize(%q) = %s, want %s", c.in, got, c.want)
		}
	}
}
