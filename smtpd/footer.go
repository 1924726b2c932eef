package smtpd

import (
	"strings"
	"time"

	"github.com/postfix-go/postfix/conf"
	"github.com/postfix-go/postfix/internal/dnsbl"
	"github.com/postfix-go/postfix/internal/maillog"
	"github.com/postfix-go/postfix/maptypes"
)

// The reject footer: smtpd_reject_footer and smtpd_reject_footer_maps.
//
// Every 4xx or 5xx reply smtpd sends (restriction rejects, protocol
// errors such as "500 5.5.2 Error: command not recognized" and "503 5.5.1
// Error: nested MAIL command", the 421 replies that end a session) gets a
// footer when one applies. smtpd_reject_footer_maps is searched first,
// table by table, with the whole reply as the key ("550 5.1.1 <u@x>:
// Recipient address rejected: ..."); a table that fails ends the search,
// and then, as when nothing matched, smtpd_reject_footer (taken as
// written, without $name expansion of main.cf) is the footer, if not
// empty.
//
// The footer text is cut at each two-character sequence `\n` into lines.
// Each line becomes a new reply line with the reply's code and enhanced
// status code; a first line that starts with `\c` is instead appended to
// the reply's last line. In each line $name, ${name}, $(name), the
// ${name?text} and ${name:text} conditionals and $$ are expanded with the
// session's attributes (values filtered through smtpd_expansion_filter,
// other characters becoming "_"): server_name, client, client_address,
// client_name, client_port, reverse_client_name, helo_name, sender,
// sender_name, sender_domain (once MAIL was accepted), recipient,
// recipient_name, recipient_domain (the transaction's first accepted
// recipient) and localtime ("Mmm dd hh:mm:ss"). An unknown name is logged
// ("unknown macro name") and expands to nothing; a syntax error is logged
// and the reply goes out without footer.

// footerConf is what the footer needs from main.cf, read once per process.
type footerConf struct {
	text   string        // smtpd_reject_footer, unexpanded
	maps   []footerTable // smtpd_reject_footer_maps
	filter string        // smtpd_expansion_filter, unescaped
}

// footerTable is one table of smtpd_reject_footer_maps.
type footerTable struct {
	spec    string
	t       maptypes.Table
	openErr error // the table could not be opened
}

// readFooter reads the footer parameters and opens the footer tables.
func readFooter(c *conf.Config) footerConf {
	f := footerConf{text: rawParam(c, "smtpd_reject_footer"), filter: dnsbl.DefaultFilter}
	if v, ok := c.Raw("smtpd_expansion_filter"); ok {
		f.filter = conf.Unescape(v)
	}
	for _, spec := range c.List("smtpd_reject_footer_maps") {
		t, err := maptypes.Open(spec, maptypes.FoldFixed)
		if err != nil {
			maillog.Error("%v", err)
		}
		f.maps = append(f.maps, footerTable{spec: spec, t: t, openErr: err})
	}
	return f
}

// template returns the footer template for a reply ("" for none).
func (f *footerConf) template(reply string) string {
	for _, m := range f.maps {
		if m.openErr != nil {
			maillog.Warn("%s is unavailable. %v", m.spec, m.openErr)
			maillog.Warn("%s lookup error for \"%s\"", m.spec, reply)
			break
		}
		v, ok, err := m.t.Lookup(reply)
		if err != nil {
			maillog.Warn("%s lookup error for \"%s\"", m.spec, reply)
			break
		}
		if ok {
			return v
		}
	}
	return f.text
}

// addFooter appends the footer to a reply given as its lines without
// CRLF, each "CODE-text" or "CODE text". The reply is returned unchanged
// when it is not a 4xx/5xx reply, when no footer applies and when the
// footer cannot be expanded.
func (s *session) addFooter(lines []string) []string {
	if len(lines) == 0 || len(lines[0]) < 4 || (lines[0][0] != '4' && lines[0][0] != '5') {
		return lines
	}
	f := &s.p.footer
	if f.text == "" && len(f.maps) == 0 {
		return lines
	}
	tmpl := f.template(strings.Join(lines, "\r\n"))
	if tmpl == "" {
		return lines
	}
	out, ok := appendFooter(lines, tmpl, s.expandFooterLine)
	if !ok {
		return lines
	}
	return out
}

// appendFooter adds the lines of template tmpl to a reply (lines without
// CRLF, each starting with a three-digit code and ' ' or '-'), expanding
// each footer line with expand; false when the reply is malformed or a
// footer line cannot be expanded. Separators are made '-' on every line
// but the last.
func appendFooter(lines []string, tmpl string, expand func(string) (string, bool)) ([]string, bool) {
	if len(lines) == 0 {
		return nil, false
	}
	for _, l := range lines {
		if !replyLine(l) {
			return nil, false
		}
	}
	code := lines[0][:3]
	prefix := code + " "
	if n := dsnLength(lines[0][4:]); n > 0 {
		prefix += lines[0][4:4+n] + " "
	}
	out := append([]string(nil), lines...)
	for i, seg := range strings.Split(tmpl, `\n`) {
		cont := i == 0 && strings.HasPrefix(seg, `\c`)
		if cont {
			seg = seg[2:]
		}
		text, ok := expand(seg)
		if !ok {
			return nil, false
		}
		if cont {
			out[len(out)-1] += text
		} else {
			out = append(out, prefix+text)
		}
	}
	for i := range out {
		sep := byte('-')
		if i == len(out)-1 {
			sep = ' '
		}
		out[i] = out[i][:3] + string(sep) + out[i][4:]
	}
	return out, true
}

// replyLine reports whether l starts like an SMTP reply line: three
// digits, then ' ' or '-'.
func replyLine(l string) bool {
	return len(l) >= 4 && isDigit(l[0]) && isDigit(l[1]) && isDigit(l[2]) && (l[3] == ' ' || l[3] == '-')
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// dsnLength is the length of the enhanced status code at the start of t
// (class 2, 4 or 5; subject and detail of one to three digits; then the
// end or white space), or 0 when there is none.
func dsnLength(t string) int {
	if len(t) < 5 || (t[0] != '2' && t[0] != '4' && t[0] != '5') || t[1] != '.' {
		return 0
	}
	i := 2
	for part := 0; part < 2; part++ {
		j := i
		for j < len(t) && isDigit(t[j]) {
			j++
		}
		if n := j - i; n < 1 || n > 3 {
			return 0
		}
		i = j
		if part == 0 {
			if i >= len(t) || t[i] != '.' {
				return 0
			}
			i++
		}
	}
	if i < len(t) && !strings.ContainsRune(" \t\n\v\f\r", rune(t[i])) {
		return 0
	}
	return i
}

// expandFooterLine expands one footer line with the session's attributes;
// false after a syntax error (logged).
func (s *session) expandFooterLine(line string) (string, bool) {
	return expandFooterText(line, s.footerValue, func(text string) { maillog.Warn("%s", text) })
}

// expandFooterText expands the $name references of one footer line with
// lookup (false: an unknown name). warn is told, in Postfix's words, of
// each unknown name (which expands to nothing) and of a syntax error,
// after which the result is false.
func expandFooterText(line string, lookup func(string) (string, bool), warn func(string)) (string, bool) {
	x := &conf.Expander{
		Lookup:    lookup,
		Undefined: func(name string) { warn("unknown macro name \"" + name + "\" in expansion request") },
		Warn:      warn,
		NoRecurse: true,
	}
	out, err := x.Expand(line)
	return out, err == nil
}

// footerValue is the value of a footer attribute, filtered through
// smtpd_expansion_filter; false for an unknown name.
func (s *session) footerValue(name string) (string, bool) {
	v, ok := s.footerAttr(name)
	if !ok {
		return "", false
	}
	return filterChars(v, s.p.footer.filter), true
}

func (s *session) footerAttr(name string) (string, bool) {
	switch name {
	case "server_name":
		return s.p.hostname, true
	case "client":
		return s.namaddr(), true
	case "client_address":
		return s.addr, true
	case "client_name":
		return s.name, true
	case "client_port":
		return s.port, true
	case "reverse_client_name":
		return s.reverseName, true
	case "helo_name":
		return s.helo, true
	case "localtime":
		return time.Now().Format("Jan 02 15:04:05"), true
	}
	if rest, ok := strings.CutPrefix(name, "sender"); ok {
		return addrAttr(rest, s.tx.sender, s.tx.active)
	}
	if rest, ok := strings.CutPrefix(name, "recipient"); ok {
		first := ""
		if len(s.tx.rcpts) > 0 {
			first = s.tx.rcpts[0].addr
		}
		return addrAttr(rest, first, len(s.tx.rcpts) > 0)
	}
	return "", false
}

// addrAttr is the value of sender or recipient (suffix ""), or of its
// _name or _domain part; without an address every form is empty.
func addrAttr(suffix, addr string, have bool) (string, bool) {
	if !have {
		return "", true
	}
	at := strings.LastIndexByte(addr, '@')
	switch suffix {
	case "":
		if addr == "" {
			return "<>", true
		}
		return addr, true
	case "_name":
		if addr == "" {
			return "<>", true
		}
		if at >= 0 {
			return addr[:at], true
		}
		return addr, true
	case "_domain":
		if at >= 0 {
			return addr[at+1:], true
		}
		return "", true
	}
	return "", false
}

// filterChars replaces each byte of v that is not in allowed with "_".
func filterChars(v, allowed string) string {
	b := []byte(v)
	for i, c := range b {
		if strings.IndexByte(allowed, c) < 0 {
			b[i] = '_'
		}
	}
	return string(b)
}
