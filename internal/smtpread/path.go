package smtpread

import (
	"strconv"
	"strings"

	"github.com/emersion/go-smtp"
)

// Path is a parsed MAIL FROM / RCPT TO argument.
type Path struct {
	Addr   string  // the address in internal (unquoted) form; "" for <>
	Raw    string  // the address token as the client sent it ("<a@b>"), for ORCPT and logs
	Params []Param // ESMTP parameters in order, names upper-cased

	// Mail holds what the MAIL parameters say, after the checks
	// ParsePath makes: Body (smtp.Body7Bit, smtp.Body8BitMIME or ""),
	// Size (0 when absent), UTF8 (SMTPUTF8), Return (smtp.DSNReturnFull,
	// smtp.DSNReturnHeaders or "") and EnvelopeID (xtext-decoded). Its
	// Auth stays nil: see AuthRaw.
	Mail smtp.MailOptions
	// Rcpt holds what the RCPT parameters say: Notify (nil when absent,
	// else [NEVER] or the others in the order SUCCESS, FAILURE, DELAY),
	// OriginalRecipientType as the client spelled it ("rfc822") and
	// OriginalRecipient (xtext-decoded).
	Rcpt smtp.RcptOptions

	AuthRaw string // MAIL AUTH= value as sent, control characters as '?'; "" when absent or "<>"
	HasAuth bool   // MAIL had an AUTH= parameter
}

// NotifyFlags returns the NOTIFY= words as the bits Postfix stores in
// the queue file (Notify* constants); 0 when there were none.
func NotifyFlags(n []smtp.DSNNotify) int {
	m := 0
	for _, w := range n {
		switch smtp.DSNNotify(strings.ToUpper(string(w))) {
		case smtp.DSNNotifyNever:
			m |= NotifyNever
		case smtp.DSNNotifySuccess:
			m |= NotifySuccess
		case smtp.DSNNotifyFailure:
			m |= NotifyFailure
		case smtp.DSNNotifyDelayed:
			m |= NotifyDelay
		}
	}
	return m
}

// notifyWords is the inverse of NotifyFlags.
func notifyWords(m int) []smtp.DSNNotify {
	if m&NotifyNever != 0 {
		return []smtp.DSNNotify{smtp.DSNNotifyNever}
	}
	var out []smtp.DSNNotify
	for _, b := range []struct {
		bit int
		w   smtp.DSNNotify
	}{{NotifySuccess, smtp.DSNNotifySuccess}, {NotifyFailure, smtp.DSNNotifyFailure}, {NotifyDelay, smtp.DSNNotifyDelayed}} {
		if m&b.bit != 0 {
			out = append(out, b.w)
		}
	}
	return out
}

// Param is one ESMTP parameter of MAIL or RCPT.
type Param struct {
	Name, Value string
	HasValue    bool // the parameter had "=" (Value may still be "")
}

// NOTIFY bits, as Postfix stores them in the queue file (notify_flags).
const (
	NotifyNever   = 1
	NotifySuccess = 2
	NotifyFailure = 4
	NotifyDelay   = 8
)

// PathOptions are the settings ParsePath applies.
type PathOptions struct {
	StrictRFC821 bool // $strict_rfc821_envelopes
	SMTPUTF8     bool // RCPT: the MAIL command had SMTPUTF8 (allows a non-ASCII domain); MAIL looks at its own parameters
	NoDSN        bool // DSN is discarded from EHLO (smtpd_discard_ehlo_keywords)
	NoSMTPUTF8   bool // SMTPUTF8 is off or discarded: the SMTPUTF8 keyword is an unsupported option
}

// Replies ParsePath returns.
const (
	replyMailSyntax = "501 5.5.4 Syntax: MAIL FROM:<address>"
	replyRcptSyntax = "501 5.5.4 Syntax: RCPT TO:<address>"
	replyBadSender  = "501 5.1.7 Bad sender address syntax"
	replyBadRcpt    = "501 5.1.3 Bad recipient address syntax"
)

// ParsePath parses the text after "MAIL" or "RCPT" ("FROM:<a@b> SIZE=10",
// "TO:<x@y> NOTIFY=NEVER"); verb is "MAIL" or "RCPT". It checks, in
// Postfix's order, the FROM:/TO: keyword, the address and then each
// parameter, and returns the first problem as *Error with Postfix's reply.
// Checks that need session state are the caller's (see the package
// comment). A *Error with Warn set asks smtpd to log Postfix's "Illegal
// address syntax" warning.
func ParsePath(verb, arg string, o PathOptions) (Path, error) {
	mail := verb == "MAIL"
	kw, syntax, bad := "to:", replyRcptSyntax, replyBadRcpt
	if mail {
		kw, syntax, bad = "from:", replyMailSyntax, replyBadSender
	}
	toks := tokenize(arg)
	if len(toks) < 2 || !strings.EqualFold(toks[0].text, kw) {
		return Path{}, &Error{Reply: syntax}
	}
	var p Path
	p.Raw = toks[1].text
	if toks[1].unend {
		return p, &Error{Reply: bad}
	}
	addr, ok := extractAddr(toks[1].text, o.StrictRFC821)
	if ok && addr == "" && !mail {
		ok = false
	}
	if ok && o.StrictRFC821 && strings.HasPrefix(addr, "@") {
		ok = false
	}
	utf8ok := o.SMTPUTF8
	if mail && !o.NoSMTPUTF8 {
		// The SMTPUTF8 keyword of this MAIL command counts for its address.
		for _, t := range toks[2:] {
			if strings.EqualFold(t.text, "SMTPUTF8") {
				utf8ok = true
			}
		}
	}
	if ok && !checkAddr(addr, utf8ok) {
		ok = false
	}
	if !ok {
		return p, &Error{Reply: bad, Warn: true}
	}
	p.Addr = addr
	for _, t := range toks[2:] {
		name, value, has := strings.Cut(t.text, "=")
		p.Params = append(p.Params, Param{Name: strings.ToUpper(name), Value: value, HasValue: has})
	}
	var err error
	if mail {
		err = mailParams(&p, toks[2:], o)
	} else {
		err = rcptParams(&p, toks[2:], o)
	}
	return p, err
}

func unsupported(arg string) error {
	return &Error{Reply: "555 5.5.4 Unsupported option: " + arg}
}

var dsnDisabled = &Error{Reply: "501 5.7.1 DSN support is disabled"}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// mailParams checks MAIL parameters as Postfix's smtpd does.
func mailParams(p *Path, toks []token, o PathOptions) error {
	envid, authSet := false, false
	for _, t := range toks {
		arg := t.text
		switch {
		case strings.EqualFold(arg, "BODY=8BITMIME"):
			p.Mail.Body = smtp.Body8BitMIME
		case strings.EqualFold(arg, "BODY=7BIT"):
			p.Mail.Body = smtp.Body7Bit
		case hasPrefixFold(arg, "SIZE="):
			v := arg[5:]
			if v == "" || strings.Trim(v, "0123456789") != "" {
				return &Error{Reply: "501 5.5.4 Bad message size syntax"}
			}
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return &Error{Reply: "552 5.3.4 Message size exceeds file system imposed limit"}
			}
			p.Mail.Size = n
		case hasPrefixFold(arg, "AUTH="):
			// "<>" leaves no AUTH= sender, so it may be repeated.
			if authSet {
				return &Error{Reply: "503 5.5.4 Error: multiple AUTH= options"}
			}
			p.HasAuth = true
			if v := arg[5:]; v != "<>" {
				p.AuthRaw = printable(v)
				authSet = true
			}
		case hasPrefixFold(arg, "RET="):
			if o.NoDSN {
				return dsnDisabled
			}
			v := strings.ToUpper(arg[4:])
			if p.Mail.Return != "" || (v != "FULL" && v != "HDRS") {
				return &Error{Reply: "501 5.5.4 Bad RET parameter syntax"}
			}
			p.Mail.Return = smtp.DSNReturn(v)
		case hasPrefixFold(arg, "ENVID="):
			if o.NoDSN {
				return dsnDisabled
			}
			v, ok := xtextDecode(arg[6:])
			if envid || !ok || v == "" || !allPrint(v) {
				return &Error{Reply: "501 5.5.4 Bad ENVID parameter syntax"}
			}
			envid = true
			p.Mail.EnvelopeID = v
		case strings.EqualFold(arg, "SMTPUTF8") && !o.NoSMTPUTF8:
			p.Mail.UTF8 = true
		default:
			return unsupported(arg)
		}
	}
	return nil
}

// rcptParams checks RCPT parameters as Postfix's smtpd does.
func rcptParams(p *Path, toks []token, o PathOptions) error {
	orcpt, notify := false, 0
	for _, t := range toks {
		arg := t.text
		switch {
		case hasPrefixFold(arg, "NOTIFY="):
			if o.NoDSN {
				return dsnDisabled
			}
			m := notifyMask(arg[7:])
			if notify != 0 || m == 0 {
				return &Error{Reply: "501 5.5.4 Error: Bad NOTIFY parameter syntax"}
			}
			notify = m
			p.Rcpt.Notify = notifyWords(m)
		case hasPrefixFold(arg, "ORCPT="):
			if o.NoDSN {
				return dsnDisabled
			}
			typ, coded, found := strings.Cut(arg[6:], ";")
			addr, ok := xtextDecode(coded)
			if orcpt || !found || !ok || typ == "" {
				return &Error{Reply: "501 5.5.4 Error: Bad ORCPT parameter syntax"}
			}
			orcpt = true
			p.Rcpt.OriginalRecipientType, p.Rcpt.OriginalRecipient = smtp.DSNAddressType(typ), addr
		default:
			return unsupported(arg)
		}
	}
	return nil
}

// notifyMask parses a NOTIFY value; 0 means bad syntax.
func notifyMask(v string) int {
	m := 0
	for _, w := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' }) {
		switch strings.ToUpper(w) {
		case "NEVER":
			m |= NotifyNever
		case "SUCCESS":
			m |= NotifySuccess
		case "FAILURE":
			m |= NotifyFailure
		case "DELAY":
			m |= NotifyDelay
		default:
			return 0
		}
	}
	if m&NotifyNever != 0 && m != NotifyNever {
		return 0
	}
	return m
}

// xtextDecode decodes RFC 3461 xtext: "+" must be followed by two
// upper-case hex digits.
func xtextDecode(s string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '+' {
			if i+2 >= len(s) {
				return "", false
			}
			h, ok1 := hexUpper(s[i+1])
			l, ok2 := hexUpper(s[i+2])
			if !ok1 || !ok2 {
				return "", false
			}
			b.WriteByte(h<<4 | l)
			i += 2
			continue
		}
		b.WriteByte(c)
	}
	return b.String(), true
}

func hexUpper(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

// allPrint reports whether s is printable ASCII (space included).
func allPrint(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// printable replaces non-printable bytes with '?', as Postfix does with
// the AUTH= value (bytes of valid UTF-8 are kept).
func printable(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c < 0x20 || c == 0x7f {
			b[i] = '?'
		}
	}
	return string(b)
}
