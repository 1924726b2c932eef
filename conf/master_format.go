package conf

// Showing master.cf entries the way "postconf -M" and "postconf -F" do, and
// the values a daemon gets for fields left at "-".

import (
	"strconv"
	"strings"
)

// Line folding constants of postconf's -f output.
const (
	foldLimit  = 80
	foldIndent = "    "
)

// masterColumns are the preferred start columns of the eight fields.
var masterColumns = [8]int{0, 11, 17, 25, 33, 41, 49, 57}

// argPrinter lays out command arguments: "-o" and its value stay
// together, and line breaks go before and after each of them when folding.
type argPrinter struct {
	b       strings.Builder
	lineLen int
	fold    bool
}

func (p *argPrinter) add(s string) {
	p.b.WriteString(s)
	p.lineLen += len(s)
}

// args prints the command arguments. An item is separated from what came
// before only when the line already holds more than the indent.
func (p *argPrinter) args(args []string) {
	inOptions := true
	for i := 0; i < len(args); i++ {
		arg := args[i]
		item := arg
		paired := false
		if inOptions {
			if daemonOptionsEnd(arg) {
				inOptions = false
			} else if takesValue(arg) && i+1 < len(args) {
				paired = true
				p.lineLen = foldLimit // wrap before the option
				val := args[i+1]
				if strings.ContainsAny(val, " \t\r\n") {
					val = "{" + val + "}"
				}
				item = arg + " " + val
				i++
			}
		} else if strings.ContainsAny(arg, " \t\r\n") {
			item = "{" + arg + "}"
		}
		n := len(item)
		if !paired && item != arg {
			n = len(arg) // Postfix leaves the braces out of the fit check
		}
		p.sep(n)
		p.add(item)
		if paired {
			p.lineLen = foldLimit // and after it
		}
	}
}

func (p *argPrinter) sep(n int) {
	if p.lineLen > len(foldIndent) {
		if !p.fold || p.lineLen+1+n < foldLimit {
			p.add(" ")
		} else {
			p.b.WriteString("\n" + foldIndent)
			p.lineLen = len(foldIndent)
		}
	}
}

// FormatMaster returns the entry given as argv (the eight fields and the
// arguments) the way "postconf -M" shows it, with fold as for "-Mf", and a
// final newline.
func FormatMaster(argv []string, fold bool) string {
	p := &argPrinter{fold: fold}
	for f := 0; f < 8 && f < len(argv); f++ {
		if p.lineLen > 0 {
			for {
				p.add(" ")
				if p.lineLen >= masterColumns[f] {
					break
				}
			}
		}
		p.add(argv[f])
	}
	if len(argv) > 8 {
		p.args(argv[8:])
	}
	p.b.WriteString("\n")
	return p.b.String()
}

// Format returns the entry as "postconf -M" (fold false) or "postconf -Mf"
// (fold true) shows it.
func (e *MasterEntry) Format(fold bool) string { return FormatMaster(e.Argv(), fold) }

// FormatMasterField returns one "postconf -F" line: prefix (for example
// "smtp/inet/command = ", or "" with -h) followed by items, the field value
// or the command and its arguments, and a final newline.
func FormatMasterField(prefix string, items []string, fold bool) string {
	p := &argPrinter{fold: fold}
	p.add(prefix)
	if len(items) == 0 {
		p.b.WriteString("\n")
		return p.b.String()
	}
	if prefix != "" && p.lineLen-1+len(items[0]) >= foldLimit {
		p.b.WriteString("\n" + foldIndent)
		p.lineLen = len(foldIndent)
	}
	p.add(items[0])
	p.args(items[1:])
	p.b.WriteString("\n")
	return p.b.String()
}

// FoldWords prints text the way postconf prints "name = value" lines: with
// fold false as is, otherwise its white-space separated words with line
// breaks and a four-space indent before a word that would reach column 80.
func FoldWords(text string, fold bool) string {
	if !fold {
		return text + "\n"
	}
	var b strings.Builder
	n := 0
	for _, w := range strings.FieldsFunc(text, func(r rune) bool { return r < 0x80 && masterBlank(byte(r)) }) {
		if n > 0 {
			if n+len(w) < foldLimit {
				b.WriteString(" ")
				n++
			} else {
				b.WriteString("\n" + foldIndent)
				n = len(foldIndent)
			}
		}
		b.WriteString(w)
		n += len(w)
	}
	b.WriteString("\n")
	return b.String()
}

// MasterService is what a daemon gets from one master.cf entry once the
// "-" fields are replaced by Postfix's defaults (see master(5)).
type MasterService struct {
	// Private: reachable under private/ rather than public/ (default y;
	// never for inet services).
	Private bool
	// Unpriv: runs as mail_owner rather than root (default y).
	Unpriv bool
	// Chroot: runs chrooted to the queue directory (default n since
	// Postfix 3.0).
	Chroot bool
	// Wakeup is the wake-up interval in seconds, 0 for none (default 0).
	Wakeup int
	// WakeupIfUsed is set by a trailing "?": no wake-up before first use.
	WakeupIfUsed bool
	// Maxproc is the process limit, 0 for none (default
	// $default_process_limit).
	Maxproc int
}

// Effective resolves the "-" fields: defaultProcessLimit is the value of
// default_process_limit.
func (e *MasterEntry) Effective(defaultProcessLimit int) MasterService {
	yes := func(v string, def bool) bool {
		if v == "-" {
			return def
		}
		return v == "y"
	}
	s := MasterService{
		Private: yes(e.Private, true) && e.Type != "inet",
		Unpriv:  yes(e.Unpriv, true),
		Chroot:  yes(e.Chroot, false),
		Maxproc: defaultProcessLimit,
	}
	if w := e.Wakeup; w != "-" {
		s.WakeupIfUsed = strings.HasSuffix(w, "?")
		s.Wakeup, _ = strconv.Atoi(strings.TrimSuffix(w, "?"))
	}
	if e.Maxproc != "-" {
		s.Maxproc, _ = strconv.Atoi(e.Maxproc)
	}
	return s
}
