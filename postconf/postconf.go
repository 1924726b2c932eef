package postconf

import (
	"bufio"
	"io"
	"os"
	"strings"

	"github.com/postfix-go/postfix/conf"
	"github.com/postfix-go/postfix/internal/msg"
)

// Run is postconf's main: it parses args (without argv[0]), does what they
// ask, writes to stdout, and returns the exit status.
func Run(args []string, stdout io.Writer) int {
	o := ParseArgs(args)
	if o.ConfigDir != "" {
		o.configDirGiven = true
	} else {
		o.ConfigDir = conf.ConfigDir()
		if os.Getenv("MAIL_CONFIG") != "" {
			o.configDirGiven = true
		}
	}
	o.check()
	if o.Edit || o.Delete || o.Comment {
		if len(o.Args) == 0 {
			if o.Edit {
				msg.Fatal("-e requires name=value argument")
			}
			msg.Fatal("missing service argument")
		}
		for _, a := range o.Args {
			if strings.ContainsAny(a, "\n") {
				msg.Fatal("-e, -X, or -# accepts no multi-line input")
			}
		}
	}
	w := bufio.NewWriter(stdout)
	defer w.Flush()
	switch {
	case o.TLSSet:
		return tlsMode(o, w)
	case o.MapTypes:
		return listMapTypes(w)
	case o.Locks:
		return listLocks(w)
	case o.SASLServer:
		return listLines(w, saslServerTypes)
	case o.SASLClient:
		return listLines(w, saslClientTypes)
	case o.BounceExpand || o.BounceRaw:
		return showBounce(o, w)
	case o.Master || o.Fields || o.Params:
		w.Flush()
		return RunMaster(o, stdout)
	case o.Edit || o.Delete || o.Comment:
		return editMain(o)
	}
	return showMain(o, w)
}
