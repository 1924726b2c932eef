package postconf

import (
	"bufio"
	"sort"
	"strings"

	"github.com/postfix-go/postfix/internal/msg"
)

// foldLimit is the width postconf -f folds lines at.
const foldLimit = 80

// printer writes "name = value" lines as postconf does.
type printer struct {
	w    *bufio.Writer
	o    *Options
	fold bool
}

func (p *printer) line(name, value string) {
	value = squeeze(value)
	var s string
	switch {
	case p.o.NameOnly:
		s = name
	case p.o.HideName:
		s = value
	case value == "":
		s = name + " ="
	default:
		s = name + " = " + value
	}
	if p.fold {
		s = foldLine(s)
	}
	p.w.WriteString(s)
	p.w.WriteByte('\n')
}

// squeeze turns every run of white space into one space and drops it at
// both ends, as postconf does when it prints a value.
func squeeze(v string) string { return strings.Join(fields(v), " ") }

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

// fields splits on ASCII white space (C's isspace), unlike strings.Fields.
func fields(s string) []string {
	var out []string
	for i := 0; i < len(s); {
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		j := i
		for j < len(s) && !isSpace(s[j]) {
			j++
		}
		if j > i {
			out = append(out, s[i:j])
		}
		i = j
	}
	return out
}

// foldLine breaks s at white space so that no line is longer than
// foldLimit unless one word is, indenting continuation lines by four
// spaces; runs of white space become one space.
func foldLine(s string) string {
	words := fields(s)
	if len(words) == 0 {
		return s
	}
	var b strings.Builder
	cur := len(words[0])
	b.WriteString(words[0])
	for _, w := range words[1:] {
		if cur+1+len(w) > foldLimit {
			b.WriteString("\n    ")
			b.WriteString(w)
			cur = 4 + len(w)
			continue
		}
		b.WriteByte(' ')
		b.WriteString(w)
		cur += 1 + len(w)
	}
	return b.String()
}

// classMask turns -C arguments into class bits.
func classMask(args []string) int {
	if len(args) == 0 {
		return classBuiltin | classService | classUser
	}
	mask := 0
	for _, a := range args {
		for _, c := range strings.FieldsFunc(a, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
			switch c {
			case "builtin":
				mask |= classBuiltin
			case "service":
				mask |= classService
			case "user":
				mask |= classUser
			case "all":
				mask |= classBuiltin | classService | classUser
			default:
				msg.Fatal("unknown -C option value \"%s\" in \"%s\"", c, a)
			}
		}
	}
	return mask
}

// showMain prints main.cf parameters (the default mode).
func showMain(o *Options, w *bufio.Writer) int {
	mask := classMask(o.Classes)
	t := loadTable(o, !o.Defaults)
	p := &printer{w: w, o: o, fold: o.Fold}
	show := func(name string) {
		v := t.value(name, o.Defaults)
		if o.Expand && !t.known[name].raw {
			v = t.expand(v, o.Defaults)
		}
		p.line(name, v)
	}
	if len(o.Args) > 0 {
		for _, name := range o.Args {
			if _, ok := t.known[name]; !ok {
				w.Flush()
				msg.Warn("%s: unknown parameter", name)
				continue
			}
			show(name)
		}
	} else {
		var names []string
		for name, k := range t.known {
			if k.class&mask == 0 {
				continue
			}
			if o.NonDefault {
				if _, set := t.explicit[name]; !set {
					continue
				}
			}
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			show(name)
		}
	}
	w.Flush()
	if !o.Defaults {
		t.warnUnused()
	}
	return 0
}
