// Package postconf is the postconf(1) command: it shows and edits main.cf
// and master.cf exactly as Postfix 3.7's postconf does, with the same
// output bytes, diagnostics and exit statuses.
//
// Modes: no flag or -p shows main.cf parameters (-n only those set, -d the
// defaults, -x expanded, -h values only, -H names only, -f folded, -C to
// pick classes, -o to override); -e, -X and -# edit main.cf (or master.cf
// with -M, -F, -P); -M, -F and -P show master.cf entries, fields and -o
// parameters; -m, -l, -a and -A list map types, lock methods and SASL
// plug-ins; -b and -t show bounce templates. Edits are atomic: a temporary
// file in the same directory, fsync, rename.
//
// Configuration: config_directory from -c, else $MAIL_CONFIG, else
// /etc/postfix.
package postconf

import (
	"os"
	"strings"

	"github.com/postfix-go/postfix/internal/getopt"
	"github.com/postfix-go/postfix/internal/msg"
)

// Options are postconf's command-line flags.
type Options struct {
	ConfigDir string // -c
	Classes   []string
	// Modifiers.
	Defaults, NonDefault, HideName, NameOnly, Expand, Fold, Edit, Delete, Comment bool
	// Modes.
	Master, Fields, Params                         bool // -M -F -P
	MapTypes, Locks, SASLServer, SASLClient, MainP bool // -m -l -a -A -p
	BounceExpand, BounceRaw                        bool // -b -t
	TLS                                            string
	TLSSet                                         bool
	Overrides                                      []string // -o name=value, in order
	Verbose                                        int
	Args                                           []string
	// configDirGiven is set by -c or MAIL_CONFIG (config_directory is
	// then shown as set).
	configDirGiven bool
}

const optString = "aAbc:C:deEfFhHlmMno:pPtT:vxX#"

func usage(prog string) {
	msg.Fatal("usage: %s [-a (server SASL types)] [-A (client SASL types)] [-b (bounce templates)] [-c config_dir] [-c param_class] [-d (parameter defaults)] [-e (edit configuration)] [-f (fold lines)] [-F (master.cf fields)] [-h (no names)] [-H (no values)] [-l (lock types)] [-m (map types)] [-M (master.cf)] [-n (non-default parameters)] [-o name=value (override parameter value)] [-p (main.cf, default)] [-P (master.cf parameters)] [-t (bounce templates)] [-T compile-version|run-version|public-key-algorithms] [-v (verbose)] [-x (expand parameter values)] [-X (exclude)] [-# (comment-out)] [name...]", prog)
}

// ParseArgs parses argv (without argv[0]) as Postfix's postconf does: POSIX
// getopt, stopping at the first non-option. A bad option is fatal, with
// postconf's usage message.
func ParseArgs(args []string) *Options {
	o := &Options{}
	rest, ok := getopt.Parse(msg.ProgName(), os.Stderr, args, optString, func(c byte, arg string) bool {
		o.apply(c, arg)
		return true
	})
	if !ok {
		usage(msg.ProgName())
	}
	o.Args = rest
	return o
}

func (o *Options) apply(c byte, arg string) {
	switch c {
	case 'a':
		o.SASLServer = true
	case 'A':
		o.SASLClient = true
	case 'b':
		o.BounceExpand = true
	case 'c':
		o.ConfigDir = arg
	case 'C':
		o.Classes = append(o.Classes, arg)
	case 'd':
		o.Defaults = true
	case 'e':
		o.Edit = true
	case 'E':
		// Accepted and ignored, as postconf 3.7 does.
	case 'f':
		o.Fold = true
	case 'F':
		o.Fields = true
	case 'h':
		o.HideName = true
	case 'H':
		o.NameOnly = true
	case 'l':
		o.Locks = true
	case 'm':
		o.MapTypes = true
	case 'M':
		o.Master = true
	case 'n':
		o.NonDefault = true
	case 'o':
		o.Overrides = append(o.Overrides, arg)
	case 'p':
		o.MainP = true
	case 'P':
		o.Params = true
	case 't':
		o.BounceRaw = true
	case 'T':
		o.TLS, o.TLSSet = arg, true
	case 'v':
		o.Verbose++
		msg.Verbose++
	case 'x':
		o.Expand = true
	case 'X':
		o.Delete = true
	case '#':
		o.Comment = true
	}
}

func (o *Options) flag(c byte) bool {
	switch c {
	case 'a':
		return o.SASLServer
	case 'A':
		return o.SASLClient
	case 'b':
		return o.BounceExpand
	case 'd':
		return o.Defaults
	case 'e':
		return o.Edit
	case 'f':
		return o.Fold
	case 'F':
		return o.Fields
	case 'h':
		return o.HideName
	case 'H':
		return o.NameOnly
	case 'l':
		return o.Locks
	case 'm':
		return o.MapTypes
	case 'M':
		return o.Master
	case 'n':
		return o.NonDefault
	case 'p':
		return o.MainP
	case 'P':
		return o.Params
	case 't':
		return o.BounceRaw
	case 'x':
		return o.Expand
	case 'X':
		return o.Delete
	case '#':
		return o.Comment
	}
	return false
}

// Groups of options of which at most one may be given, checked in this
// order; the message lists every member given, in the group's order.
var exclusive = []string{
	"aAbFlmMpPt",
	"denX#",
	"efX#",
	"ehHX#",
	"exX#",
}

// What each mode refuses.
var refuses = map[byte]string{
	'a': "defhHnxX#", 'A': "defhHnxX#", 'b': "defhHnxX#", 't': "defhHnxX#",
	'l': "defhHnxX#", 'm': "defhHnxX#",
	'M': "dhHn", 'F': "dnX#", 'P': "dn#",
}

// check reports conflicting options as Postfix does.
func (o *Options) check() {
	if o.BounceExpand && o.BounceRaw {
		msg.Fatal("specify one of -b and -t")
	}
	for _, g := range exclusive {
		var set []string
		for i := 0; i < len(g); i++ {
			if o.flag(g[i]) {
				set = append(set, "-"+string(g[i]))
			}
		}
		if len(set) > 1 {
			msg.Fatal("specify one of %s", strings.Join(set, " "))
		}
	}
	for _, m := range "aAbtlmMFP" {
		if !o.flag(byte(m)) {
			continue
		}
		r := refuses[byte(m)]
		for i := 0; i < len(r); i++ {
			if o.flag(r[i]) {
				msg.Fatal("with option -%c, do not specify -%c", m, r[i])
			}
		}
	}
}
