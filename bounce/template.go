// Bounce templates of bounce(5): the built-in ones, captured from Postfix
// 3.7 (template_gen.go, made by bounce/gen), and the reading of a
// bounce_template_file, which "postconf -b/-t" and the daemon share.

package bounce

import (
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/postfix-go/postfix/conf"
	"github.com/postfix-go/postfix/internal/msg"
)

//go:generate go run ./gen -o template_gen.go

// Kinds are the template kinds in the order Postfix lists them.
var Kinds = []string{"failure", "delay", "success", "verify"}

// Template is one notification template.
type Template struct {
	Kind                                      string
	Charset, From, Subject, PostmasterSubject string
	// Text is the message text, each line ending in "\n".
	Text string
	// Origin names where the template came from in diagnostics: the
	// template file, or "[built-in]".
	Origin string
}

// header labels, in the order Postfix prints them.
var labels = []string{"Charset", "From", "Subject", "Postmaster-Subject"}

func (t *Template) field(label string) *string {
	switch strings.ToLower(label) {
	case "charset":
		return &t.Charset
	case "from":
		return &t.From
	case "subject":
		return &t.Subject
	case "postmaster-subject":
		return &t.PostmasterSubject
	}
	return nil
}

// Source returns the template as "postconf -t" prints it: its headers,
// an empty line and the text (without the "name = <<EOF" frame).
func (t *Template) Source() string {
	var b strings.Builder
	for _, l := range labels {
		if v := *t.field(l); v != "" {
			b.WriteString(l + ": " + v + "\n")
		}
	}
	b.WriteString("\n")
	b.WriteString(t.Text)
	return b.String()
}

// Builtin returns Postfix's built-in templates, by kind.
func Builtin() map[string]*Template {
	out := map[string]*Template{}
	broken := func(format string, args ...any) { panic("bounce: built-in templates: " + fmt.Sprintf(format, args...)) }
	for name, text := range readBlocks("", builtinBounceTemplates, broken) {
		kind := strings.TrimSuffix(name, "_template")
		t, _ := parse(kind, text, nil)
		t.Origin = "[built-in]"
		out[kind] = t
	}
	return out
}

var loadMu sync.Mutex

// Load returns the built-in templates with those of the template file at
// path laid over them ("" for none). A file that cannot be read or parsed
// is fatal; a bad template is warned about and ignored.
func Load(path string) map[string]*Template {
	tmpl := Builtin()
	if path == "" {
		return tmpl
	}
	// The diagnostics name the bounce daemon; one Load at a time, so that
	// concurrent callers (tests) do not see each other's program name.
	loadMu.Lock()
	defer loadMu.Unlock()
	old := msg.ProgName()
	msg.SetProgName("postfix/bounce")
	defer msg.SetProgName(old)
	data, err := os.ReadFile(path)
	if err != nil {
		msg.Fatal("open %s: %s", path, sysErrText(err))
	}
	for name, text := range readBlocks(path, string(data), msg.Fatal) {
		kind := strings.TrimSuffix(name, "_template")
		def := tmpl[kind]
		t, problem := parse(kind, text, def)
		if problem != "" {
			for _, p := range strings.Split(problem, "\n") {
				msg.Warn("%s", strings.ReplaceAll(p, "FILE", path))
			}
			continue
		}
		t.Origin = path
		tmpl[kind] = t
	}
	return tmpl
}

// readBlocks splits a template file into name → raw template text. Errors
// are fatal through fatal (nil: the built-in text, which has none); an
// unknown name or a missing end marker is a warning.
func readBlocks(path, data string, fatal func(string, ...any)) map[string]string {
	out := map[string]string{}
	lines := conf.SplitPhysical([]byte(data))
	for i := 0; i < len(lines); i++ {
		if conf.IsSkippable(lines[i]) {
			continue
		}
		name, value, e := conf.SplitNameValue(lines[i])
		if e != "" {
			fatal("%s, line %d: %s: \"%s\"", path, i+2, e, strings.TrimSpace(lines[i]))
			continue
		}
		var text string
		if marker, heredoc := strings.CutPrefix(value, "<<"); heredoc {
			marker = strings.TrimSpace(marker)
			if marker == "" {
				fatal("%s, line %d: missing end marker after <<", path, i+2)
				continue
			}
			var b strings.Builder
			i++
			for ; i < len(lines) && lines[i] != marker; i++ {
				b.WriteString(lines[i] + "\n")
			}
			if i >= len(lines) {
				msg.Warn("%s, line %d: missing \"%s\" end marker", path, len(lines)+1, marker)
			}
			text = b.String()
		} else {
			text = value + "\n"
		}
		if !isKind(strings.TrimSuffix(name, "_template")) || !strings.HasSuffix(name, "_template") {
			msg.Warn("%s, line %d: unknown template name: %s -- ignoring this template", path, i+2, name)
			continue
		}
		out[name] = text
	}
	return out
}

func isKind(k string) bool {
	for _, x := range Kinds {
		if x == k {
			return true
		}
	}
	return false
}

// parse reads one template's headers and text. Headers missing from it
// come from def. problem is Postfix's warning text (FILE standing for the
// file name) when the template must be ignored.
func parse(kind, text string, def *Template) (t *Template, problem string) {
	t = &Template{Kind: kind}
	if def != nil {
		*t = *def
	}
	lines := strings.SplitAfter(text, "\n")
	if n := len(lines); n > 0 && lines[n-1] == "" {
		lines = lines[:n-1]
	}
	i := 0
	for ; i < len(lines); i++ {
		line := strings.TrimSuffix(lines[i], "\n")
		label, value, ok := headerLine(line)
		if !ok {
			break
		}
		f := t.field(label)
		if f == nil {
			return nil, fmt.Sprintf("FILE: unknown \"%s\" header label in %s template -- ignoring this template", label, kind)
		}
		*f = value
	}
	if i < len(lines) && lines[i] == "\n" {
		i++
	}
	t.Text = strings.Join(lines[i:], "")
	if t.Text == "" {
		return nil, fmt.Sprintf("FILE: missing message text in %s template -- ignoring this template", kind)
	}
	if strings.EqualFold(t.Charset, "us-ascii") {
		for j := 0; j < len(t.Text); j++ {
			if t.Text[j] >= 0x80 {
				return nil, fmt.Sprintf("FILE: 8-bit message text in %s template\nplease specify a charset value other than us-ascii\n-- ignoring this template for now", kind)
			}
		}
	}
	return t, ""
}

// headerLine splits "Label: value"; the label is letters, digits and '-'.
func headerLine(line string) (label, value string, ok bool) {
	i := 0
	for i < len(line) && (line[i] == '-' || line[i] >= 'A' && line[i] <= 'Z' || line[i] >= 'a' && line[i] <= 'z' || line[i] >= '0' && line[i] <= '9') {
		i++
	}
	if i == 0 || i >= len(line) || line[i] != ':' {
		return "", "", false
	}
	return line[:i], strings.TrimSpace(line[i+1:]), true
}

// sysErrText is an error's system text, capitalized as strerror words it.
func sysErrText(err error) string {
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 {
		s = s[i+2:]
	}
	if s != "" {
		s = strings.ToUpper(s[:1]) + s[1:]
	}
	return s
}
