package cleanup

import (
	"fmt"
	"strings"

	"github.com/postfix-go/postfix/internal/dsn"
	"github.com/postfix-go/postfix/internal/submit"
	"github.com/postfix-go/postfix/maptypes"
)

// checkTable is a header_checks-style table list.
type checkTable struct {
	param string
	maps  maptypes.Maps
}

func (c checkTable) set() bool { return len(c.maps) > 0 }

// openChecks opens the pattern tables of parameter name.
func (d *Daemon) openChecks(name string) checkTable {
	return checkTable{param: name, maps: d.openMaps(name)}
}

// logAction writes Postfix's log line for a content action:
// "ID: ACTION: CLASS CONTENT from ORIGIN; from=<S> to=<R>[ proto=P helo=<H>]: TEXT".
func (st *state) logAction(action, class, content, text string) {
	origin := st.attrs["log_message_origin"]
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s: %s %.200s from %s;", st.id, action, class, printable(content), origin)
	if st.sender != nil {
		fmt.Fprintf(&b, " from=<%s>", *st.sender)
	}
	if st.recip != "" {
		fmt.Fprintf(&b, " to=<%s>", st.recip)
	}
	if p := st.attrs["log_protocol_name"]; p != "" {
		fmt.Fprintf(&b, " proto=%s", p)
	}
	if h := st.attrs["log_helo_name"]; h != "" {
		fmt.Fprintf(&b, " helo=<%s>", h)
	}
	if text != "" {
		fmt.Fprintf(&b, ": %s", text)
	}
	st.d.Info("%s", b.String())
}

// printable replaces control characters as Postfix's logging does.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '?'
		}
		return r
	}, s)
}

// applyChecks looks text up in table and applies the action. It returns
// the text to write (changed by REPLACE) and whether to write it.
func (st *state) applyChecks(table checkTable, class, text string) (string, bool) {
	if !table.set() {
		return text, true
	}
	v, found, err := table.maps.Find(text, false)
	if err != nil {
		st.d.Warn("%s: %s map lookup problem -- message not accepted, try again later", st.id, table.param)
		// No reason: the client reports the status itself ("queue
		// file write error"), as Postfix's cleanup leaves it.
		st.errs |= submit.StatWrite
		return text, true
	}
	if !found {
		return text, true
	}
	cmd, arg, _ := strings.Cut(v, " ")
	arg = strings.TrimLeft(arg, " \t")
	switch strings.ToUpper(cmd) {
	case "REJECT":
		st.reject(class, text, arg, "5.7.1", "message content rejected")
	case "WARN":
		st.logAction("warning", class, text, arg)
	case "INFO":
		st.logAction("info", class, text, arg)
	case "HOLD":
		if !st.hold && !st.discard {
			st.logAction("hold", class, text, arg)
			st.hold = true
		}
	case "DISCARD":
		st.logAction("discard", class, text, arg)
		st.discard = true
		st.stopChecks()
	case "REDIRECT":
		if !strings.Contains(arg, "@") {
			st.d.Warn("bad REDIRECT target \"%s\" in %s map -- need user@domain", arg, table.param)
			break
		}
		st.logAction("redirect", class, text, arg)
		st.redirect = arg
		st.stopChecks()
	case "FILTER":
		if arg == "" {
			st.d.Warn("missing FILTER command argument in %s map", table.param)
			break
		}
		if !strings.Contains(arg, ":") {
			st.d.Warn("bad FILTER command %s in %s -- need transport:destination", arg, table.param)
			break
		}
		st.logAction("filter", class, text, arg)
		st.filter = arg
	case "BCC":
		if !strings.Contains(arg, "@") {
			st.d.Warn("bad BCC address \"%s\" in %s map -- need user@domain", arg, table.param)
			break
		}
		st.logAction("bcc", class, text, arg)
		st.bccs = append(st.bccs, arg)
	case "IGNORE":
		return text, false
	case "PREPEND":
		if arg == "" {
			st.d.Warn("PREPEND action without text in %s map", table.param)
			break
		}
		if class == "header" && !isHeader(arg) {
			st.d.Warn("bad PREPEND header text \"%s\" in %s map -- need \"headername: headervalue\"", arg, table.param)
			break
		}
		st.logAction("prepend", class, text, arg)
		st.writeText(arg)
	case "REPLACE":
		if arg == "" {
			st.d.Warn("REPLACE action without text in %s map", table.param)
			break
		}
		if class == "header" && !isHeader(arg) {
			st.d.Warn("bad REPLACE header text \"%s\" in %s map -- need \"headername: headervalue\"", arg, table.param)
			break
		}
		st.logAction("replace", class, text, arg)
		return arg, true
	case "DUNNO", "OK":
	default:
		st.d.Warn("unknown command in %s map: %s", table.param, v)
	}
	return text, true
}

// stopChecks turns content inspection off for the rest of the message, as
// Postfix does after REJECT, DISCARD and REDIRECT: later header and body
// lines are copied without header_checks, body_checks or
// message_reject_characters.
func (st *state) stopChecks() {
	if st.msg != nil {
		st.msg.checks = false
	}
}

// withCode puts an enhanced status code in front of text unless it has one.
func withCode(enh, text, def string) string {
	if text == "" {
		text = def
	}
	if c, _, _ := strings.Cut(text, " "); dsn.Valid(c) {
		return text
	}
	return enh + " " + text
}

// reject handles the REJECT action. A text with a 4.X.Y code makes the
// refusal temporary (the message stays with the client); a code of any
// other class is warned about and treated as temporary, as in Postfix.
func (st *state) reject(class, content, text, enh, def string) {
	reason := withCode(enh, text, def)
	if reason[0] != '4' && reason[0] != '5' {
		st.d.Warn("bad DSN action in %s -- need 4.x.x or 5.x.x", text)
		reason = "4" + reason[1:]
	}
	if reason[0] == '4' {
		st.errs |= submit.StatDefer
	} else {
		st.errs |= submit.StatCont
	}
	st.reason = reason
	st.stopChecks()
	st.logAction("reject", class, content, reason)
}
