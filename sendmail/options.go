package sendmail

import (
	"fmt"
	"path/filepath"
	"strings"
)

// Mode is sendmail's mode of operation.
type Mode int

// The modes, as Postfix's sendmail has them.
const (
	ModeEnqueue  Mode = iota + 1 // deliver a message (-bm)
	ModeNewAlias                 // rebuild the alias database (-bi, -I)
	ModeMailq                    // list the queue (-bp)
	ModeDaemon                   // start the mail system (-bd)
	ModeUser                     // SMTP on standard input (-bs)
	ModeFlushq                   // flush the queue (-q)
	ModeIgnore                   // do nothing (-bh, -bH)
)

// Flag bits of a submission. The trace bits are Postfix's
// DEL_REQ_FLAG_* values, which travel in the trace_flags attribute.
const (
	FlagAEOF    = 1 << 0  // a "." line ends the message
	FlagXRcpt   = 1 << 1  // -t: extract recipients from headers
	FlagUsrVrfy = 1 << 9  // -bv: verify recipients, report to sender
	FlagRecord  = 1 << 10 // -v: record delivery, report to sender
	traceMask   = 1<<8 | FlagUsrVrfy | FlagRecord
)

// Options is a parsed sendmail command line.
type Options struct {
	Mode      Mode
	Flags     int
	Sender    *string // -f or -r; nil: the login name
	FullName  *string // -F; nil: $NAME or the GECOS name
	Encoding  string  // -B: "7bit" or "8bit"
	EnvID     string  // -V
	Notify    int     // -N
	Ret       int     // -R
	Context   string  // "local", or "remote" with -G
	Verp      *string // -XV
	AliasMaps *string // -oA
	Site      string  // -qR
	QueueID   string  // -qI
	QTime     string  // -qINTERVAL
	Verbose   int     // -v count (after the -v/RECORD rule)
	Operands  []string
	// Warnings and Infos are diagnostics to print, in order, as they
	// arose; Infos only matter with -v.
	Diags []Diag
}

// Diag is one diagnostic produced while parsing.
type Diag struct {
	Level string // "warning", "info" or "stderr" (a bare getopt message)
	Text  string
}

// UsageError is a fatal command-line problem.
type UsageError struct{ Text string }

// Error returns the diagnostic.
func (e *UsageError) Error() string { return e.Text }

// optSpec is Postfix sendmail's getopt list: a letter followed by ':'
// takes an argument.
const optSpec = "A:B:C:F:GIL:N:O:R:UV:X:b:ce:f:h:imno:p:r:q:tvx"

func takesArg(c byte) (known, arg bool) {
	i := strings.IndexByte(optSpec, c)
	if i < 0 || c == ':' {
		return false, false
	}
	return true, i+1 < len(optSpec) && optSpec[i+1] == ':'
}

// scanner walks argv the way glibc's getopt does with a leading "+" (stop
// at the first operand), one option letter at a time.
type scanner struct {
	args []string
	ind  int // index of the element being scanned
	pos  int // position inside args[ind]; 0 = at a new element
	prog string
}

// next returns the next option letter and its argument. ok is false at the
// end of the options. A letter '?' reports a bad option; its message is in
// text.
func (s *scanner) next() (c byte, arg string, text string, ok bool) {
	if s.pos == 0 {
		if s.ind >= len(s.args) {
			return 0, "", "", false
		}
		a := s.args[s.ind]
		if a == "--" {
			s.ind++
			return 0, "", "", false
		}
		if len(a) < 2 || a[0] != '-' {
			return 0, "", "", false
		}
		s.pos = 1
	}
	a := s.args[s.ind]
	c = a[s.pos]
	s.pos++
	known, wantArg := takesArg(c)
	if !known {
		if s.pos >= len(a) {
			s.ind++
			s.pos = 0
		}
		return '?', "", fmt.Sprintf("%s: invalid option -- '%c'", s.prog, c), true
	}
	if !wantArg {
		if s.pos >= len(a) {
			s.ind++
			s.pos = 0
		}
		return c, "", "", true
	}
	if s.pos < len(a) {
		arg = a[s.pos:]
		s.ind++
		s.pos = 0
		return c, arg, "", true
	}
	s.ind++
	s.pos = 0
	if s.ind >= len(s.args) {
		return '?', "", fmt.Sprintf("%s: option requires an argument -- '%c'", s.prog, c), true
	}
	arg = s.args[s.ind]
	s.ind++
	return c, arg, "", true
}

// ConfigDir returns the configuration directory named by the last -C
// option (a main.cf file stands for its directory), found by a pre-scan
// of the command line as Postfix does, and the getopt complaints that
// pre-scan printed.
func ConfigDir(prog string, args []string) (dir string, complaints []string) {
	s := &scanner{args: args, prog: prog}
	for {
		if s.pos == 0 && s.ind < len(s.args) && s.args[s.ind] == "-q" {
			s.ind++
			continue
		}
		c, arg, text, ok := s.next()
		if !ok {
			return dir, complaints
		}
		switch c {
		case '?':
			complaints = append(complaints, text)
		case 'C':
			if filepath.Base(arg) == "main.cf" {
				dir = filepath.Dir(arg)
			} else {
				dir = arg
			}
		}
	}
}

// Params are the main.cf values option parsing needs.
type Params struct {
	VerpDelims string // default_verp_delimiters
	VerpFilter string // verp_delimiter_filter
}

// Parse parses the options after argv[0] for the program named prog
// (already reduced to its base name). It returns a *UsageError for a
// fatal problem; diagnostics that precede it are in opts.Diags.
func Parse(prog string, args []string, p Params) (*Options, error) {
	o := &Options{Mode: ModeEnqueue, Flags: FlagAEOF, Context: "local"}
	switch prog {
	case "mailq":
		o.Mode = ModeMailq
	case "newaliases":
		o.Mode = ModeNewAlias
	case "smtpd":
		o.Mode = ModeDaemon
	}
	warn := func(format string, a ...any) {
		o.Diags = append(o.Diags, Diag{"warning", fmt.Sprintf(format, a...)})
	}
	info := func(format string, a ...any) {
		if o.Verbose > 0 {
			o.Diags = append(o.Diags, Diag{"info", fmt.Sprintf(format, a...)})
		}
	}
	fatal := func(format string, a ...any) (*Options, error) {
		return o, &UsageError{fmt.Sprintf(format, a...)}
	}
	args = append([]string(nil), args...)
	s := &scanner{args: args, prog: prog}
	for {
		if s.pos == 0 && s.ind < len(args) {
			a := args[s.ind]
			if a == "-q" {
				if o.Mode == ModeDaemon {
					warn("ignoring -q option in daemon mode")
				} else {
					o.Mode = ModeFlushq
				}
				s.ind++
				continue
			}
			if a == "-V" && s.ind+1 < len(args) && len(args[s.ind+1]) == 2 {
				warn("option -V is deprecated with Postfix 2.3; specify -XV instead")
				args[s.ind] = "-XV"
				a = "-XV"
			}
			if strings.HasPrefix(a, "-V") && len(a) == 4 {
				warn("option %s is deprecated with Postfix 2.3; specify -X%s instead", a, a[1:])
				args[s.ind] = "-X" + a[1:]
				a = args[s.ind]
			}
			if a == "-XV" {
				d := p.VerpDelims
				o.Verp = &d
				s.ind++
				continue
			}
		}
		c, arg, text, ok := s.next()
		if !ok {
			break
		}
		switch c {
		default:
			info("-%c option ignored", c)
		case '?':
			o.Diags = append(o.Diags, Diag{"stderr", text})
			return fatal("usage: %s [options]", prog)
		case 'n':
			return fatal("-%c option not supported", c)
		case 'B':
			switch arg {
			case "8BITMIME":
				o.Encoding = "8bit"
			case "7BIT":
				o.Encoding = "7bit"
			default:
				return fatal("-B option needs 8BITMIME or 7BIT")
			}
		case 'F':
			v := arg
			o.FullName = &v
		case 'G':
			o.Context = "remote"
		case 'I':
			o.Mode = ModeNewAlias
		case 'N':
			mask, bad := NotifyMask(arg)
			if bad != "" {
				warn("%s", bad)
			}
			if mask == 0 {
				warn("bad -N option value -- ignored")
			}
			o.Notify = mask
		case 'R':
			switch strings.ToLower(arg) {
			case "full":
				o.Ret = 1
			case "hdrs":
				o.Ret = 2
			default:
				warn("bad -R option value -- ignored")
			}
		case 'V':
			switch {
			case len(arg) > 100:
				warn("too long -V option value -- ignored")
			case !allPrint(arg):
				warn("bad syntax in -V option value -- ignored")
			default:
				o.EnvID = arg
			}
		case 'X':
			if arg == "" || arg[0] != 'V' {
				return fatal("unsupported: -%c%s", c, firstByte(arg))
			}
			d := arg[1:]
			if !verpOK(d, p.VerpFilter) {
				return fatal("-V requires two characters from %s", p.VerpFilter)
			}
			o.Verp = &d
		case 'b':
			switch firstByte(arg) {
			case "d":
				if o.Mode == ModeFlushq {
					warn("ignoring -q option in daemon mode")
				}
				o.Mode = ModeDaemon
			case "h", "H":
				o.Mode = ModeIgnore
			case "i":
				o.Mode = ModeNewAlias
			case "m":
				o.Mode = ModeEnqueue
			case "p":
				o.Mode = ModeMailq
			case "s":
				o.Mode = ModeUser
			case "v":
				o.Flags |= FlagUsrVrfy
			default:
				return fatal("unsupported: -%c%s", c, firstByte(arg))
			}
		case 'f', 'r':
			v := arg
			o.Sender = &v
		case 'i':
			o.Flags &^= FlagAEOF
		case 'o':
			switch firstByte(arg) {
			default:
				info("-%c%s option ignored", c, firstByte(arg))
			case "A":
				if len(arg) == 1 {
					return fatal("-oA requires pathname")
				}
				v := arg[1:]
				o.AliasMaps = &v
			case "7", "8", "m":
			case "i":
				o.Flags &^= FlagAEOF
			}
		case 'q':
			switch {
			case arg != "" && arg[0] >= '0' && arg[0] <= '9':
				o.QTime = arg
			case arg != "" && arg[0] == 'R':
				o.Site = arg[1:]
				if o.Site == "" {
					return fatal("specify: -qRsitename")
				}
			case arg != "" && arg[0] == 'I':
				o.QueueID = arg[1:]
				if o.QueueID == "" {
					return fatal("specify: -qIqueueid")
				}
			default:
				return fatal("-q%s is not implemented", firstByte(arg))
			}
		case 't':
			o.Flags |= FlagXRcpt
		case 'v':
			o.Verbose++
		}
	}
	o.Operands = args[s.ind:]

	if o.Flags&FlagXRcpt != 0 && o.Mode != ModeEnqueue {
		return fatal("-t can be used only in delivery mode")
	}
	if o.Site != "" && o.Mode != ModeEnqueue {
		return fatal("-qR can be used only in delivery mode")
	}
	if o.QueueID != "" && o.Mode != ModeEnqueue {
		return fatal("-qI can be used only in delivery mode")
	}
	if o.Flags&FlagUsrVrfy != 0 {
		if o.Flags&FlagXRcpt != 0 {
			return fatal("-t option cannot be used with -bv")
		}
		if o.Notify != 0 {
			return fatal("-N option cannot be used with -bv")
		}
		if o.Verbose == 1 {
			return fatal("-v option cannot be used with -bv")
		}
	}
	// One -v asks for a delivery report; more ask for verbose logging.
	if o.Verbose == 1 && o.Mode == ModeEnqueue {
		o.Verbose = 0
		o.Flags |= FlagRecord
	}
	return o, nil
}

func firstByte(s string) string {
	if s == "" {
		return ""
	}
	return s[:1]
}

func allPrint(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// verpOK reports whether d is two characters from filter, as Postfix's
// verp_delims_verify requires.
func verpOK(d, filter string) bool {
	if len(d) != 2 {
		return false
	}
	return strings.IndexByte(filter, d[0]) >= 0 && strings.IndexByte(filter, d[1]) >= 0
}

// NotifyMask parses a DSN NOTIFY list ("success,delay", "never") into
// Postfix's notify_flags bits (NEVER 1, SUCCESS 2, FAILURE 4, DELAY 8). It
// returns 0 for an invalid list, with Postfix's warning text for an unknown
// word.
func NotifyMask(s string) (mask int, warning string) {
	for _, w := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
		switch strings.ToUpper(w) {
		case "NEVER":
			mask |= 1
		case "SUCCESS":
			mask |= 2
		case "FAILURE":
			mask |= 4
		case "DELAY":
			mask |= 8
		default:
			return 0, fmt.Sprintf("unknown DSN NOTIFY command value \"%s\" in \"%s\"", w, s)
		}
	}
	if mask&1 != 0 && mask != 1 {
		return 0, ""
	}
	return mask, ""
}
