// Package getopt parses command-line options the way Postfix's commands
// see them through glibc's getopt in POSIX mode: options end at the first
// operand or at "--", option letters may be grouped ("-nf"), and an
// option's argument may be attached ("-cDIR") or follow ("-c DIR").
// Errors are worded as glibc words them.
package getopt

import (
	"fmt"
	"io"
	"strings"
)

// Parse walks args (without argv[0]) against spec, a getopt option string
// ("c:" takes an argument), calling onOpt for each option in order. It
// returns the operands. On an unknown option or a missing argument it
// writes glibc's message, prefixed with prog, to stderr and returns
// ok=false; it also returns ok=false when onOpt does.
func Parse(prog string, stderr io.Writer, args []string, spec string, onOpt func(c byte, arg string) bool) (operands []string, ok bool) {
	i := 0
	for i < len(args) {
		a := args[i]
		if a == "--" {
			i++
			break
		}
		if len(a) < 2 || a[0] != '-' {
			break
		}
		i++
		for j := 1; j < len(a); j++ {
			c := a[j]
			k := strings.IndexByte(spec, c)
			if k < 0 || c == ':' {
				fmt.Fprintf(stderr, "%s: invalid option -- '%c'\n", prog, c)
				return nil, false
			}
			if k+1 < len(spec) && spec[k+1] == ':' {
				var arg string
				switch {
				case j+1 < len(a):
					arg = a[j+1:]
				case i < len(args):
					arg = args[i]
					i++
				default:
					fmt.Fprintf(stderr, "%s: option requires an argument -- '%c'\n", prog, c)
					return nil, false
				}
				if !onOpt(c, arg) {
					return nil, false
				}
				break
			}
			if !onOpt(c, "") {
				return nil, false
			}
		}
	}
	return args[i:], true
}
