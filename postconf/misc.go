package postconf

import (
	"bufio"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/postfix-go/postfix/bounce"
	"github.com/postfix-go/postfix/conf"
	"github.com/postfix-go/postfix/internal/msg"
	"github.com/postfix-go/postfix/maptypes"
)

var (
	saslServerTypes = []string{"cyrus", "dovecot"}
	saslClientTypes = []string{"cyrus"}
	lockMethods     = []string{"flock", "fcntl", "dotlock"}
)

func listLines(w *bufio.Writer, lines []string) int {
	for _, l := range lines {
		w.WriteString(l + "\n")
	}
	return 0
}

func listLocks(w *bufio.Writer) int { return listLines(w, lockMethods) }

// listMapTypes lists the lookup table types this build can open.
// "proxy" is the proxymap wrapper, which opens the table it names.
func listMapTypes(w *bufio.Writer) int {
	types := append(maptypes.Types(), "proxy")
	sort.Strings(types)
	return listLines(w, types)
}

// tlsMode answers -T as a Postfix built without TLS support would not: we
// report the Go TLS stack instead of OpenSSL where asked for a version.
func tlsMode(o *Options, w *bufio.Writer) int {
	switch o.TLS {
	case "compile-version", "run-version":
		w.WriteString("Go crypto/tls\n")
	case "public-key-algorithms":
		w.WriteString("ecdsa\nrsa\ned25519\n")
	default:
		msg.Warn("unknown 'postconf -T' mode: %s", o.TLS)
		return 1
	}
	return 0
}

// showBounce prints the bounce templates: as written for -t, the message
// text with $name expanded for -b. A template file named on the command
// line wins over bounce_template_file.
func showBounce(o *Options, w *bufio.Writer) int {
	var cfg *conf.Config
	if o.BounceExpand || len(o.Args) == 0 {
		c, err := conf.Load(o.ConfigDir)
		if err != nil {
			msg.Fatal("%v", err)
		}
		cfg = c
	}
	file := ""
	if len(o.Args) > 0 {
		file = o.Args[0]
	} else {
		file = cfg.Get("bounce_template_file")
	}
	tmpl := bounce.Load(file)
	for i, kind := range bounce.Kinds {
		if i > 0 {
			w.WriteString("\n")
		}
		t := tmpl[kind]
		if o.BounceRaw {
			w.WriteString(kind + "_template = <<EOF\n" + t.Source() + "EOF\n")
			continue
		}
		w.WriteString("expanded_" + kind + "_text = <<EOF\n" + expandBounce(cfg, t.Text) + "EOF\n")
	}
	return 0
}

// expandBounce expands a template body with main.cf parameters and the
// time variables bounce(5) adds (delay_warning_time_hours and so on).
func expandBounce(cfg *conf.Config, body string) string {
	x := cfg.Expander()
	base := x.Lookup
	x.Lookup = func(name string) (string, bool) {
		for _, p := range []string{"delay_warning_time", "maximal_queue_lifetime"} {
			if !strings.HasPrefix(name, p+"_") {
				continue
			}
			unit := map[string]time.Duration{"seconds": time.Second, "minutes": time.Minute, "hours": time.Hour,
				"days": 24 * time.Hour, "weeks": 7 * 24 * time.Hour}[name[len(p)+1:]]
			if unit == 0 {
				break
			}
			def := byte('h')
			if p == "maximal_queue_lifetime" {
				def = 'd'
			}
			d, err := conf.ParseTime(cfg.Get(p), def)
			if err != nil {
				return "0", true
			}
			return strconv.FormatInt(int64(d/unit), 10), true
		}
		return base(name)
	}
	v, err := x.Expand(body)
	if err != nil {
		msg.Fatal("macro processing error")
	}
	return v
}
