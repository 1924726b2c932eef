package conf

// master.cf reading.
//
// master.cf holds one service per logical line. A logical line starts with
// a non-blank character; a following line that starts with white space
// continues it, and the continuation is joined to it verbatim (white space
// included). Empty lines, white-space-only lines and lines whose first
// non-blank character is "#" are skipped, also in the middle of a logical
// line. Each entry has eight or more fields separated by white space:
//
//	service type private unpriv chroot wakeup maxproc command [args...]
//
// where "-" in a field asks for the built-in default. Command arguments
// may be grouped with "{" and "}" to protect white space; "-o name=value"
// and "-o { name = value }" override main.cf parameters for the service.
//
// ParseMaster reports problems as Postfix's postconf does: a continuation
// line with nothing to continue is a warning naming the file, and the line
// is ignored; brace problems in arguments are warnings; too few fields or an
// invalid type, private, unprivileged, chroot, wakeup or process_limit
// field make the whole file unusable (a *MasterError).

import (
	"fmt"
	"os"
	"strings"
)

// MasterFieldNames are the names postconf -F uses for the eight fields.
var MasterFieldNames = []string{"service", "type", "private", "unprivileged", "chroot", "wakeup", "process_limit", "command"}

// MasterFile is a parsed master.cf, with every physical line kept so that
// an edit can rewrite one entry and keep all other bytes.
type MasterFile struct {
	// Path is the file name used in diagnostics.
	Path string
	// Entries are the services in file order (duplicates included).
	Entries []*MasterEntry
	// Lines are the physical lines, each with its newline (the last one may
	// lack it).
	Lines []MasterLine
	// Warnings are the diagnostics found while parsing, without the program
	// prefix, in the order Postfix prints them.
	Warnings []string
}

// MasterLineKind says what a physical line of master.cf is.
type MasterLineKind int

// The kinds of physical line.
const (
	// LineSkip is an empty, white-space-only or comment line.
	LineSkip MasterLineKind = iota
	// LineStart starts a logical line (an entry).
	LineStart
	// LineCont continues the entry started before it.
	LineCont
	// LineOrphan starts with white space but has nothing to continue.
	LineOrphan
)

// MasterLine is one physical line.
type MasterLine struct {
	// Text is the line including its newline, if it had one.
	Text string
	// Kind is what the line is.
	Kind MasterLineKind
	// Entry is the index in Entries of the entry this line belongs to, or
	// -1 for LineSkip and LineOrphan lines.
	Entry int
}

// MasterEntry is one service definition.
type MasterEntry struct {
	// Line is the physical line number where the entry starts (1-based);
	// EndLine is the last physical line that belongs to it.
	Line, EndLine int
	// The eight fields as written ("-" for a default).
	Service, Type, Private, Unpriv, Chroot, Wakeup, Maxproc, Command string
	// Args are the command arguments after normalization: "-oname=value"
	// split in two, "-o { name = value }" turned into "-o" "name=value",
	// braces removed from grouped arguments.
	Args []string
	// Params are the -o name=value overrides in order (duplicates kept; the
	// last one wins).
	Params []MasterParam
	// Text is the logical line as read: physical lines joined without their
	// newlines.
	Text string
}

// MasterParam is one "-o name=value" override.
type MasterParam struct {
	Name, Value string
}

// MasterError is a problem that makes master.cf unusable; its text is
// what Postfix prints after "fatal: ".
type MasterError struct {
	Msg string
}

func (e *MasterError) Error() string { return e.Msg }

// ReadMaster reads and parses the master.cf file at path.
func ReadMaster(path string) (*MasterFile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseMaster(path, data)
}

// masterBlank reports whether c separates master.cf fields.
func masterBlank(c byte) bool {
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'
}

// isSkippableMaster reports whether a physical line is empty, white space
// only, or a comment.
func isSkippableMaster(line string) bool {
	for i := 0; i < len(line); i++ {
		if !masterBlank(line[i]) {
			return line[i] == '#'
		}
	}
	return true
}

// splitPhysicalLines splits data into lines that keep their newline.
func splitPhysicalLines(data []byte) []string {
	var out []string
	s := string(data)
	for len(s) > 0 {
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			out = append(out, s)
			break
		}
		out = append(out, s[:i+1])
		s = s[i+1:]
	}
	return out
}

// ParseMaster parses master.cf text; path is used in diagnostics. On a
// *MasterError the returned file holds the warnings found so far.
func ParseMaster(path string, data []byte) (*MasterFile, error) {
	mf := &MasterFile{Path: path}
	type logical struct {
		text        string
		first, last int
	}
	var cur *logical
	var all []logical
	for i, raw := range splitPhysicalLines(data) {
		line := strings.TrimSuffix(raw, "\n")
		ml := MasterLine{Text: raw, Entry: -1}
		switch {
		case isSkippableMaster(line):
			ml.Kind = LineSkip
		case masterBlank(line[0]):
			if cur == nil {
				ml.Kind = LineOrphan
				mf.Warnings = append(mf.Warnings, fmt.Sprintf("%s: logical line must not start with whitespace: \"%s\"", path, line))
				break
			}
			ml.Kind = LineCont
			ml.Entry = len(all) - 1
			cur.text += line
			cur.last = i + 1
		default:
			ml.Kind = LineStart
			all = append(all, logical{text: line, first: i + 1, last: i + 1})
			cur = &all[len(all)-1]
			ml.Entry = len(all) - 1
		}
		mf.Lines = append(mf.Lines, ml)
	}
	for _, l := range all {
		e, warns, err := ParseMasterEntry(l.text)
		mf.Warnings = append(mf.Warnings, warns...)
		if err != nil {
			if err.Msg == errBadFieldCount {
				err.Msg = fmt.Sprintf("file %s: line %d: %s", path, l.first, errBadFieldCount)
			}
			return mf, err
		}
		e.Line, e.EndLine = l.first, l.last
		mf.Entries = append(mf.Entries, e)
	}
	return mf, nil
}

const errBadFieldCount = "bad field count"

// ParseMasterEntry parses the text of one logical master.cf line. It
// returns the warnings for brace and -o syntax problems and a *MasterError
// whose Msg is "bad field count" (without file and line) or a field
// validation message.
func ParseMasterEntry(text string) (*MasterEntry, []string, *MasterError) {
	argv := splitMasterArgs(text)
	if len(argv) < 8 {
		return nil, nil, &MasterError{Msg: errBadFieldCount}
	}
	if err := validateMasterFields(argv, text); err != nil {
		return nil, nil, err
	}
	args, params, warns := normalizeMasterArgs(argv[8:])
	e := &MasterEntry{
		Service: argv[0], Type: argv[1], Private: argv[2], Unpriv: argv[3],
		Chroot: argv[4], Wakeup: argv[5], Maxproc: argv[6], Command: argv[7],
		Args: args, Params: params, Text: text,
	}
	return e, warns, nil
}

// splitMasterArgs splits text at white space, keeping "{...}" groups
// (which may nest and contain white space) inside one token. An unclosed
// "{" extends its token to the end of the text.
func splitMasterArgs(text string) []string {
	var out []string
	i := 0
	for {
		for i < len(text) && masterBlank(text[i]) {
			i++
		}
		if i >= len(text) {
			return out
		}
		start, level := i, 0
		for ; i < len(text); i++ {
			c := text[i]
			if c == '{' {
				level++
			} else if c == '}' && level > 0 {
				level--
			} else if level == 0 && masterBlank(c) {
				break
			}
		}
		out = append(out, text[start:i])
	}
}

// validateMasterFields checks the type and the y/n/number fields.
func validateMasterFields(argv []string, text string) *MasterError {
	for f := 1; f <= 6; f++ {
		if !ValidMasterField(f, argv[f]) {
			return &MasterError{Msg: fmt.Sprintf("invalid %s field \"%s\" in \"%s\"", MasterFieldNames[f], argv[f], masterPrintable(text))}
		}
	}
	return nil
}

// ValidMasterField reports whether value is acceptable for field number f
// (0 service ... 7 command): a known type; y, n or - for private,
// unprivileged and chroot; digits (wakeup: with an optional trailing "?")
// or - for wakeup and process_limit.
func ValidMasterField(f int, value string) bool {
	switch f {
	case 1:
		switch value {
		case "inet", "unix", "unix-dgram", "fifo", "pass":
			return true
		}
		return false
	case 2, 3, 4:
		return value == "-" || value == "y" || value == "n"
	case 5:
		return value == "-" || masterDigits(strings.TrimSuffix(value, "?"))
	case 6:
		return value == "-" || masterDigits(value)
	}
	return true
}

// masterDigits reports whether s holds only decimal digits (or nothing).
func masterDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// masterPrintable replaces every byte that is not printable ASCII with "?", as
// Postfix does when it quotes input in a diagnostic.
func masterPrintable(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c < 0x20 || c > 0x7e {
			b[i] = '?'
		}
	}
	return string(b)
}

// takesValue reports whether a daemon option is followed by a value: "-o",
// and (a quirk Postfix has) a lone "-".
func takesValue(arg string) bool {
	return len(arg) >= 1 && arg[0] == '-' && (len(arg) == 1 || arg[1] == 'o')
}

// daemonOptionsEnd reports whether arg ends the daemon options: the first
// argument that is not an option, or "--".
func daemonOptionsEnd(arg string) bool {
	return arg == "" || arg[0] != '-' || arg == "--"
}

// normalizeMasterArgs rewrites the command arguments into the form
// postconf shows and collects the -o overrides.
func normalizeMasterArgs(in []string) (args []string, params []MasterParam, warns []string) {
	args = append([]string(nil), in...)
	i := 0
	for ; i < len(args); i++ {
		arg := args[i]
		if daemonOptionsEnd(arg) {
			break
		}
		if !takesValue(arg) {
			continue
		}
		if len(arg) > 2 {
			// "-oname=value": split into option and value.
			args = append(args[:i+1], append([]string{arg[2:]}, args[i+1:]...)...)
			args[i] = arg[:2]
		}
		if i+1 >= len(args) {
			break
		}
		i++
		val := args[i]
		braced := strings.HasPrefix(val, "{")
		if braced {
			var w string
			val, w = extractBraces(val)
			if w != "" {
				warns = append(warns, w)
			}
		}
		if args[i-1] == "-o" {
			if braced {
				name, value, w := splitMasterNameValue(val)
				if w != "" {
					warns = append(warns, w)
				} else {
					val = name + "=" + value
				}
			}
			if eq := strings.IndexByte(val, '='); eq > 0 {
				params = append(params, MasterParam{Name: val[:eq], Value: val[eq+1:]})
			}
		}
		args[i] = val
	}
	for ; i < len(args); i++ {
		if strings.HasPrefix(args[i], "{") {
			var w string
			args[i], w = extractBraces(args[i])
			if w != "" {
				warns = append(warns, w)
			}
		}
	}
	return args, params, warns
}

// extractBraces removes the outer braces of a grouped argument and the
// white space just inside them.
func extractBraces(s string) (string, string) {
	level := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '{':
			level++
		case '}':
			level--
			if level == 0 {
				inner := trimMasterBlank(s[1:i])
				if i+1 < len(s) {
					return inner, fmt.Sprintf("master.cf: syntax error after '}' in \"%s\"", s)
				}
				return inner, ""
			}
		}
	}
	return trimMasterBlank(s[1:]), fmt.Sprintf("master.cf: missing '}' in \"%s\"", s)
}

func trimMasterBlank(s string) string {
	i, j := 0, len(s)
	for i < j && masterBlank(s[i]) {
		i++
	}
	for j > i && masterBlank(s[j-1]) {
		j--
	}
	return s[i:j]
}

// splitMasterNameValue splits "name = value" from a braced -o argument.
func splitMasterNameValue(s string) (name, value, warn string) {
	eq := strings.IndexByte(s, '=')
	if eq < 0 {
		name = trimMasterBlank(s)
	} else {
		name = trimMasterBlank(s[:eq])
	}
	if name == "" {
		return "", "", fmt.Sprintf("master.cf: missing attribute name: \"%s\"", s)
	}
	if eq < 0 {
		return "", "", fmt.Sprintf("master.cf: missing '=' after attribute name: \"%s\"", s)
	}
	return name, trimMasterBlank(s[eq+1:]), ""
}

// Fields returns the eight fields in order, the command without arguments.
func (e *MasterEntry) Fields() []string {
	return []string{e.Service, e.Type, e.Private, e.Unpriv, e.Chroot, e.Wakeup, e.Maxproc, e.Command}
}

// Argv returns the fields followed by the normalized arguments.
func (e *MasterEntry) Argv() []string {
	return append(e.Fields(), e.Args...)
}

// Name returns "service/type", the name postconf uses for the entry.
func (e *MasterEntry) Name() string { return e.Service + "/" + e.Type }

// ParamMap returns the -o overrides with the last setting of each name.
func (e *MasterEntry) ParamMap() map[string]string {
	m := make(map[string]string, len(e.Params))
	for _, p := range e.Params {
		m[p.Name] = p.Value
	}
	return m
}
