package dnsbl

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/postfix-go/postfix/conf"
)

// Context holds the session values a reply template may name.
type Context struct {
	ServerName        string // $server_name ($myhostname)
	ClientName        string // $client_name
	ClientAddr        string // $client_address
	ClientPort        string // $client_port
	ReverseClientName string // $reverse_client_name
	HELO              string // $helo_name ("" when none)
	Sender            string // $sender ("" is shown as "<>" when HaveSender)
	HaveSender        bool   // MAIL FROM was given
	Recipient         string // $recipient
	HaveRecipient     bool   // RCPT TO was given
}

// Vars returns the template values of ctx and a listing: code is
// maps_rbl_reject_code, class the listed entity's kind ("Client host",
// "Helo command", "Sender address", "Recipient address"), what the
// entity (address, name, or e-mail address).
func Vars(ctx Context, hit *Hit, code int, class, what string) map[string]string {
	v := map[string]string{
		"server_name":         ctx.ServerName,
		"client":              ctx.ClientName + "[" + ctx.ClientAddr + "]",
		"client_address":      ctx.ClientAddr,
		"client_name":         ctx.ClientName,
		"client_port":         ctx.ClientPort,
		"reverse_client_name": ctx.ReverseClientName,
		"helo_name":           ctx.HELO,
		"rbl_code":            strconv.Itoa(code),
		"rbl_class":           class,
		"rbl_what":            what,
	}
	addrVars(v, "sender", ctx.Sender, ctx.HaveSender)
	addrVars(v, "recipient", ctx.Recipient, ctx.HaveRecipient)
	if hit != nil {
		v["rbl_domain"] = hit.Spec.Domain
		v["rbl_reason"] = hit.TXT
		v["rbl_txt"] = hit.TXT
	}
	return v
}

// addrVars adds NAME, NAME_name and NAME_domain as Postfix shows them.
func addrVars(v map[string]string, name, addr string, have bool) {
	switch {
	case !have:
		v[name], v[name+"_name"], v[name+"_domain"] = "", "", ""
	case addr == "":
		v[name], v[name+"_name"], v[name+"_domain"] = "<>", "<>", ""
	default:
		v[name], v[name+"_name"], v[name+"_domain"] = addr, addr, ""
		if i := strings.LastIndexByte(addr, '@'); i >= 0 {
			v[name+"_name"], v[name+"_domain"] = addr[:i], addr[i+1:]
		}
	}
}

// DefaultFilter is smtpd_expansion_filter's default, unescaped: tab,
// space and the printable ASCII characters.
const DefaultFilter = "\t !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~"

// Expand expands a reply template once with vars: $name, ${name},
// $(name), ${name?text}, ${name:text}, ${name?{text}:{text}}. Values are
// not expanded again, and each character of a value not in filter
// (DefaultFilter when "") becomes "_". A syntax error, or a name not in
// vars (logged as Postfix logs it: unknown macro name "x" in expansion
// request), makes the template unusable: the error is ErrTemplate.
func Expand(template string, vars map[string]string, filter string) (string, error) {
	if filter == "" {
		filter = DefaultFilter
	}
	undefined := false
	x := &conf.Expander{
		Lookup: func(name string) (string, bool) {
			val, ok := vars[name]
			if !ok {
				return "", false
			}
			return filterValue(val, filter), true
		},
		Undefined: func(name string) {
			undefined = true
			warn("unknown macro name \"%s\" in expansion request", name)
		},
		Warn:      func(text string) { warn("%s", text) },
		NoRecurse: true,
	}
	out, err := x.Expand(template)
	if err != nil || undefined {
		return out, ErrTemplate
	}
	return out, nil
}

// ErrTemplate is returned by Expand for a template with a syntax error or
// an unknown name.
var ErrTemplate = errors.New("bad reply template")

func filterValue(v, filter string) string {
	b := []byte(v)
	for i, c := range b {
		if strings.IndexByte(filter, c) < 0 {
			b[i] = '_'
		}
	}
	return string(b)
}

// Result is the reply to a listed request, before smtpd_check's
// adjustments (the DSN class digit and kind, warn_if_reject, soft_bounce).
type Result struct {
	Code int    // 4XX or 5XX
	DSN  string // enhanced status code, X.7.1 unless the template gives one; X is Code's first digit
	Text string // the text after the codes
}

// String returns "CODE DSN TEXT".
func (r Result) String() string { return fmt.Sprintf("%d %s %s", r.Code, r.DSN, r.Text) }

// ErrBadDefault is returned when default_rbl_reply itself cannot be
// expanded (Postfix: fatal).
var ErrBadDefault = errors.New("bad default rbl reply template")

// Reply builds the reply for a listing. mapTemplate is rbl_reply_maps'
// value for hit.Spec.Raw ("" when none or no table), defTemplate
// default_rbl_reply, vars from Vars, filter smtpd_expansion_filter
// (unescaped; "" for the default).
func Reply(defTemplate, mapTemplate string, hit *Hit, vars map[string]string, filter string) (Result, error) {
	tmpl := mapTemplate
	var text string
	for {
		if tmpl == "" {
			tmpl = defTemplate
		}
		out, err := Expand(tmpl, vars, filter)
		if err == nil {
			text = out
			break
		}
		if tmpl == defTemplate {
			return Result{}, fmt.Errorf("rbl_reject_reply: %w: %s", ErrBadDefault, defTemplate)
		}
		warn("rbl_reject_reply: bad rbl reply template for domain %s: %s", hit.Spec.Raw, tmpl)
		tmpl = ""
	}
	if len(text) < 4 || (text[0] != '4' && text[0] != '5') || !isDigit(text[1]) || !isDigit(text[2]) || text[3] != ' ' {
		warn("rbl response code configuration error: %s", text)
		return Result{Code: 450, DSN: "4.7.1", Text: "Service unavailable"}, nil
	}
	code, _ := strconv.Atoi(text[:3])
	dsn, rest := SplitDSN(text[4:], "4.7.1")
	dsn = FixDSN(dsn, vars["rbl_class"])
	// The class digit follows the reply code, as smtpd_check_reject makes it.
	dsn = text[:1] + dsn[1:]
	if rest == "" {
		rest = "Service unavailable"
	}
	return Result{Code: code, DSN: dsn, Text: rest}, nil
}

// FixDSN adapts an address status (X.1.Y) to what is rejected, as
// Postfix's smtpd_dsn_fix does: a recipient status becomes the matching
// sender status when class is "Sender address" and the reverse for
// "Recipient address"; for anything else it becomes X.0.0 (4.0.0 before
// the class digit is fixed). A change is logged as Postfix logs it
// ("mapping DSN status 5.1.1 into Client host status 5.0.0").
func FixDSN(status, class string) string {
	if len(status) < 5 || !isDigit(status[0]) || status[1:4] != ".1." {
		return status
	}
	type pair struct{ sender, rcpt string }
	m := map[string]pair{
		"1": {"4.1.7", "4.1.1"}, "2": {"4.1.8", "4.1.2"}, "3": {"4.1.7", "4.1.3"},
		"4": {"4.1.7", "4.1.4"}, "5": {"4.1.0", "4.1.5"}, "6": {"4.1.7", "4.1.6"},
		"7": {"4.1.7", "4.1.3"}, "8": {"4.1.8", "4.1.2"},
	}
	p, ok := m[status[4:]]
	if !ok {
		p = pair{"4.1.0", "4.1.0"}
	}
	result := "4.0.0"
	switch class {
	case "Sender address":
		result = p.sender
	case "Recipient address":
		result = p.rcpt
	}
	if status[2:] != result[2:] {
		info("mapping DSN status %s into %s status %c%s", status, class, status[0], result[1:])
	}
	return result
}

// SplitDSN takes an enhanced status code off the start of text as
// Postfix's dsn_split does: "5.7.1 text" gives ("5.7.1", "text"); without
// one, (def, text with leading blanks removed).
func SplitDSN(text, def string) (dsn, rest string) {
	s := strings.TrimLeft(text, " \t")
	if n := dsnLen(s); n > 0 {
		return s[:n], strings.TrimLeft(s[n:], " \t")
	}
	return def, s
}

// dsnLen returns the length of a valid status code at the start of s
// (class 2, 4 or 5; subject and detail of 1-3 digits; then end or
// blank), or 0.
func dsnLen(s string) int {
	if len(s) < 5 || (s[0] != '2' && s[0] != '4' && s[0] != '5') || s[1] != '.' {
		return 0
	}
	i := 2
	for part := 0; part < 2; part++ {
		j := i
		for j < len(s) && isDigit(s[j]) && j-i < 4 {
			j++
		}
		if n := j - i; n == 0 || n > 3 {
			return 0
		}
		i = j
		if part == 0 {
			if i >= len(s) || s[i] != '.' {
				return 0
			}
			i++
		}
	}
	if i < len(s) && s[i] != ' ' && s[i] != '\t' {
		return 0
	}
	return i
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
