package postconf

// The master.cf modes of postconf:
//
//	-M [service[/type]...]              show entries (-f folds, -x expands)
//	-F [service[/type[/field]]...]      show fields as service/type/field = value
//	-P [service[/type[/parameter]]...]  show -o parameters, sorted by name
//	-M service/type=entry ...           add or replace entries (-e implied)
//	-MX service/type ...                remove entries
//	-M# service/type ...                comment out entries
//	-F service/type/field=value ...     change one field
//	-P service/type/parameter=value ... add or change an -o parameter
//	-PX service/type/parameter ...      remove an -o parameter
//
// An omitted trailing part of a pattern, and "*", match anything. The file
// read is config_directory/master.cf; main.cf is read too, for -x and for
// the "unused parameter" warnings about -o settings that no part of
// Postfix would use.

import (
	"bufio"
	"errors"
	"io"
	"io/fs"
	"sort"
	"strings"

	"github.com/postfix-go/postfix/conf"
	"github.com/postfix-go/postfix/internal/msg"
)

// RunMaster runs one of the -M, -F or -P modes and returns the exit status.
// Diagnostics go through msg; fatal errors exit through msg.Fatal.
func RunMaster(o *Options, stdout io.Writer) int {
	mode := byte('M')
	switch {
	case o.Fields:
		mode = 'F'
	case o.Params:
		mode = 'P'
	}
	hasValue := false
	for _, a := range o.Args {
		if strings.Contains(a, "=") {
			hasValue = true
		}
	}
	if hasValue {
		o.Edit = true
	}
	if o.Edit && (o.Delete || o.Comment) {
		if o.Delete {
			msg.Fatal("specify one of -e -X")
		}
		msg.Fatal("specify one of -e -#")
	}
	if o.Edit || o.Delete || o.Comment {
		return editMaster(o, mode)
	}
	pats := parseMasterPatterns(o.Args, mode)
	masterPath := conf.FilePath(o.ConfigDir, "master.cf")
	mf := readMasterOrDie(o, masterPath)
	t := loadTable(o, true)
	for _, w := range mf.Warnings {
		msg.Warn("%s", w)
	}
	ms := newMasterScope(t, mf)
	ms.warnUndefined()
	w := bufio.NewWriter(stdout)
	matched := make([]bool, len(pats))
	for _, e := range mf.Entries {
		if len(pats) == 0 {
			showMasterEntry(w, o, mode, ms, e, masterPattern{})
			continue
		}
		for i, p := range pats {
			if p.matchEntry(e) && showMasterEntry(w, o, mode, ms, e, p) {
				matched[i] = true
			}
		}
	}
	w.Flush()
	for i, p := range pats {
		if !matched[i] {
			msg.Warn("unmatched request: \"%s\"", p.text)
		}
	}
	ms.warnUnused()
	return 0
}

// readMasterOrDie reads master.cf, reporting a missing main.cf first as
// Postfix does (it reads main.cf before master.cf).
func readMasterOrDie(o *Options, path string) *conf.MasterFile {
	mf, err := conf.ReadMaster(path)
	if err == nil {
		return mf
	}
	if _, merr := conf.ReadMain(conf.FilePath(o.ConfigDir, "main.cf")); merr != nil {
		loadTable(o, true) // dies with Postfix's message about main.cf
	}
	var me *conf.MasterError
	if errors.As(err, &me) {
		for _, w := range mf.Warnings {
			msg.Warn("%s", w)
		}
		msg.Fatal("%s", me.Msg)
	}
	msg.Fatal("open %s: %s", path, masterErrText(err))
	return nil
}

func masterErrText(err error) string {
	if errors.Is(err, fs.ErrNotExist) {
		return "No such file or directory"
	}
	if errors.Is(err, fs.ErrPermission) {
		return "Permission denied"
	}
	return errText(err)
}

// masterPattern is one service[/type[/name]] command-line argument.
type masterPattern struct {
	text                 string
	service, typ, member string // "" or "*" match anything
}

func wild(pat, s string) bool { return pat == "" || pat == "*" || pat == s }

func (p masterPattern) matchEntry(e *conf.MasterEntry) bool {
	return wild(p.service, e.Service) && wild(p.typ, e.Type)
}

// splitSlash splits at "/" dropping empty parts, as Postfix does.
func splitSlash(s string) []string {
	var out []string
	for _, f := range strings.Split(s, "/") {
		if f != "" {
			out = append(out, f)
		}
	}
	return out
}

var masterUsage = map[byte]string{
	'M': "-M option requires service_name[/type]",
	'F': "-F option requires service_name[/type[/field]]",
	'P': "-P option requires service_name[/type[/parameter]]",
}

func parseMasterPatterns(args []string, mode byte) []masterPattern {
	maxParts := 3
	if mode == 'M' {
		maxParts = 2
	}
	var pats []masterPattern
	for _, a := range args {
		parts := splitSlash(a)
		if strings.HasPrefix(a, "/") || len(parts) == 0 || len(parts) > maxParts {
			msg.Fatal("%s", masterUsage[mode])
		}
		p := masterPattern{text: a, service: parts[0]}
		if len(parts) > 1 {
			p.typ = parts[1]
		}
		if len(parts) > 2 {
			p.member = parts[2]
			if mode == 'F' && p.member != "*" && masterFieldIndex(p.member) < 0 {
				msg.Fatal("invalid service attribute name: \"%s\"", p.member)
			}
		}
		pats = append(pats, p)
	}
	return pats
}

func masterFieldIndex(name string) int {
	for i, n := range conf.MasterFieldNames {
		if n == name {
			return i
		}
	}
	return -1
}

// showMasterEntry prints what pattern p selects from e and reports
// whether it selected anything.
func showMasterEntry(w *bufio.Writer, o *Options, mode byte, ms *masterScope, e *conf.MasterEntry, p masterPattern) bool {
	argv := e.Argv()
	if o.Expand {
		argv = ms.expandArgv(e, argv)
	}
	name := e.Service + "/" + e.Type + "/"
	switch mode {
	case 'M':
		w.WriteString(conf.FormatMaster(argv, o.Fold))
		return true
	case 'F':
		any := false
		for f, fname := range conf.MasterFieldNames {
			if !wild(p.member, fname) {
				continue
			}
			any = true
			if o.NameOnly {
				w.WriteString(name + fname + "\n")
				continue
			}
			prefix := name + fname + " = "
			if o.HideName {
				prefix = ""
			}
			items := []string{argv[f]}
			if f == 7 {
				items = argv[7:]
			}
			w.WriteString(conf.FormatMasterField(prefix, items, o.Fold))
		}
		return any
	}
	params := ms.paramsOf(e)
	names := make([]string, 0, len(params))
	for n := range params {
		if wild(p.member, n) {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	pr := &printer{w: w, o: o, fold: o.Fold}
	for _, n := range names {
		v := params[n]
		if o.Expand {
			v = ms.expand(e, v)
		}
		pr.line(name+n, v)
	}
	return len(names) > 0
}
