package smtpread

import (
	"net/netip"
	"strings"
)

// Fields splits the argument text of a command into words as Postfix's
// smtpd tokenizer does (see Split): white space is ASCII white space
// only, "<...>" and "\"...\"" keep blanks inside, and "TO:" or "FROM:"
// ends a word at its colon. VRFY, ETRN and AUTH count their arguments
// so.
func Fields(arg string) []string {
	toks := tokenize(arg)
	out := make([]string, len(toks))
	for i, t := range toks {
		out[i] = t.text
	}
	return out
}

// Replies ParseVrfy returns.
const (
	replyVrfySyntax = "501 5.5.4 Syntax: VRFY address [SMTPUTF8]"
)

// ParseVrfy parses the argument of VRFY as Postfix's smtpd does: with
// smtputf8 (smtputf8_enable), a last word SMTPUTF8 (any case) after the
// address is the option (utf8), else it is part of the address; the
// other words are joined with single spaces (raw, what a 252 reply
// echoes) and read as one address, never with strict_rfc821_envelopes.
// No words give "501 5.5.4 Syntax: VRFY address [SMTPUTF8]"; an address
// that does not parse, an empty one or an invalid domain give "501 5.1.3
// Bad recipient address syntax" with Error.Warn set (smtpd logs "Illegal
// address syntax from HOST in VRFY command: RAW").
func ParseVrfy(arg string, smtputf8 bool) (raw, addr string, utf8 bool, err error) {
	words := Fields(arg)
	if len(words) == 0 {
		return "", "", false, &Error{Reply: replyVrfySyntax}
	}
	if smtputf8 && len(words) == 2 && strings.EqualFold(words[1], "SMTPUTF8") {
		words, utf8 = words[:1], true
	}
	raw = strings.Join(words, " ")
	addr, ok := extractAddr(raw, false)
	if !ok || addr == "" || !checkAddr(addr, utf8) {
		return raw, "", utf8, &Error{Reply: replyBadRcpt, Warn: true}
	}
	return raw, addr, utf8, nil
}

// ValidDomain reports whether d is what Postfix's smtpd accepts as the
// ETRN domain: a host name (labels of letters, digits, '-' and '_', not
// all-numeric) or an address literal ([1.2.3.4], [IPv6:...]).
func ValidDomain(d string) bool {
	if strings.HasPrefix(d, "[") {
		if !strings.HasSuffix(d, "]") {
			return false
		}
		lit := d[1 : len(d)-1]
		if v, ok := strings.CutPrefix(lit, "IPv6:"); ok {
			a, err := netip.ParseAddr(v)
			return err == nil && a.Is6()
		}
		a, err := netip.ParseAddr(lit)
		return err == nil && a.Is4()
	}
	return validHostname(d, false)
}
