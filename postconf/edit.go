package postconf

import (
	"os"
	"strings"

	"github.com/postfix-go/postfix/conf"
	"github.com/postfix-go/postfix/internal/msg"
	"github.com/postfix-go/postfix/internal/safefile"
)

// change is one requested edit of a main.cf parameter.
type change struct {
	value string
	seen  bool
}

// editMain carries out -e (set), -X (remove) and -# (comment out) on
// main.cf. Every line it does not touch keeps its bytes; a changed entry
// loses its continuation lines (comments between them stay); new entries
// go at the end in command-line order.
func editMain(o *Options) int {
	flag := "-e"
	switch {
	case o.Delete:
		flag = "-X"
	case o.Comment:
		flag = "-#"
	}
	changes := map[string]*change{}
	var order []string
	for _, a := range o.Args {
		var name, value string
		if o.Edit {
			var e string
			name, value, e = conf.SplitNameValue(a)
			if e != "" {
				msg.Fatal("%s: \"%s\"", e, a)
			}
		} else {
			if strings.Contains(a, "=") {
				msg.Fatal("specify one of -e %s", flag)
			}
			name = a
		}
		if old, dup := changes[name]; dup {
			if o.Edit {
				msg.Warn("ignoring earlier request: '%s = %s'", name, old.value)
			}
			old.value = value
			continue
		}
		changes[name] = &change{value: value}
		order = append(order, name)
	}
	path := conf.FilePath(o.ConfigDir, "main.cf")
	data, err := os.ReadFile(path)
	if err != nil {
		msg.Fatal("open %s for reading: %s", path, errText(err))
	}
	out := applyEdits(o, path, data, changes, order)
	if err := safefile.Write(path, []byte(out), 0644); err != nil {
		msg.Fatal("write %s: %v", path, err)
	}
	return 0
}

// applyEdits returns main.cf's new text.
func applyEdits(o *Options, path string, data []byte, changes map[string]*change, order []string) string {
	var out strings.Builder
	inEntry := false // continuation lines belong to a changed entry
	for _, line := range conf.SplitPhysicalKeepEnd(data) {
		body := strings.TrimRight(line, "\n")
		if conf.IsSkippable(body) {
			out.WriteString(line)
			continue
		}
		if body[0] == ' ' || body[0] == '\t' || body[0] == '\r' || body[0] == '\v' || body[0] == '\f' {
			if inEntry {
				if o.Comment {
					out.WriteString("#" + line)
				}
				continue
			}
			out.WriteString(line)
			continue
		}
		inEntry = false
		name, _, e := conf.SplitNameValue(body)
		c := changes[name]
		if e != "" || c == nil {
			out.WriteString(line)
			continue
		}
		if c.seen {
			msg.Warn("%s: multiple entries for \"%s\"", path, name)
		}
		c.seen = true
		inEntry = true
		switch {
		case o.Edit:
			out.WriteString(name + " = " + c.value + "\n")
		case o.Comment:
			out.WriteString("#" + line)
		}
	}
	if o.Edit {
		for _, name := range order {
			if c := changes[name]; !c.seen {
				if out.Len() > 0 && !strings.HasSuffix(out.String(), "\n") {
					// Postfix appends without a newline here, joining the
					// new entry to the last line; we refuse to corrupt it.
					out.WriteString("\n")
				}
				out.WriteString(name + " = " + c.value + "\n")
			}
		}
	}
	return out.String()
}
