package smtpread

import (
	"net/netip"
	"strings"
)

// An address token is read the way Postfix's smtpd reads it: one pair of
// enclosing angle brackets is removed, a source route ("@a,@b:") is
// dropped, and the rest is parsed as an RFC 822 address: comments are
// removed, quoted strings and backslash escapes are unquoted, and the
// address inside a "<...>" (a phrase may come before it) is the one
// used. More than one address is an error; so is a word after the
// closing ">" or two words side by side.

// lexeme kinds of an RFC 822 address.
const (
	lexWord    = iota // atom, quoted string or domain literal (text is internal form)
	lexSpecial        // one of ()<>@,;:.[] (text is the byte)
)

type lexeme struct {
	kind int
	text string
	sp   bool // white space or a comment came before it
}

// lex822 splits s into RFC 822 lexemes; ok is false for an unterminated
// quoted string, comment or domain literal. comments counts the comments
// removed.
func lex822(s string) (out []lexeme, comments int, ok bool) {
	sp := false
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			sp = true
			i++
		case c == '(':
			depth := 0
			for ; i < len(s); i++ {
				if s[i] == '\\' {
					i++
					continue
				}
				if s[i] == '(' {
					depth++
				} else if s[i] == ')' {
					depth--
					if depth == 0 {
						break
					}
				}
			}
			if i >= len(s) {
				return nil, 0, false
			}
			i++
			sp = true
			comments++
		case c == '"':
			var b strings.Builder
			i++
			closed := false
			for i < len(s) {
				if s[i] == '\\' && i+1 < len(s) {
					b.WriteByte(s[i+1])
					i += 2
					continue
				}
				if s[i] == '"' {
					closed = true
					i++
					break
				}
				b.WriteByte(s[i])
				i++
			}
			if !closed {
				return nil, 0, false
			}
			out = append(out, lexeme{lexWord, b.String(), sp})
			sp = false
		case c == '[':
			j := strings.IndexByte(s[i:], ']')
			if j < 0 {
				return nil, 0, false
			}
			out = append(out, lexeme{lexWord, s[i : i+j+1], sp})
			i += j + 1
			sp = false
		case strings.IndexByte("()<>@,;:.]", c) >= 0:
			out = append(out, lexeme{lexSpecial, string(c), sp})
			sp = false
			i++
		default:
			var b strings.Builder
			for i < len(s) {
				c := s[i]
				if c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '"' || c == '[' ||
					strings.IndexByte("()<>@,;:.]", c) >= 0 {
					break
				}
				if c == '\\' && i+1 < len(s) {
					b.WriteByte(s[i+1])
					i += 2
					continue
				}
				b.WriteByte(c)
				i++
			}
			out = append(out, lexeme{lexWord, b.String(), sp})
			sp = false
		}
	}
	return out, comments, true
}

// extractAddr returns the internal form of the address in an address
// token, or ok false for Postfix's "Bad ... address syntax".
func extractAddr(tok string, strict bool) (string, bool) {
	text := tok
	bracketed := len(tok) >= 2 && tok[0] == '<' && tok[len(tok)-1] == '>'
	if bracketed {
		text = tok[1 : len(tok)-1]
	}
	if strings.HasPrefix(text, "@") {
		if i := strings.IndexByte(text, ':'); i >= 0 {
			text = text[i+1:]
		}
	}
	lx, comments, ok := lex822(text)
	if !ok {
		return "", false
	}
	if strict && comments > 0 {
		return "", false // a comment is not part of an RFC 821 path
	}
	// Split at top-level "," and ";": more than one address is an error.
	var groups [][]lexeme
	cur := []lexeme{}
	for _, l := range lx {
		if l.kind == lexSpecial && (l.text == "," || l.text == ";") {
			groups = append(groups, cur)
			cur = []lexeme{}
			continue
		}
		cur = append(cur, l)
	}
	groups = append(groups, cur)
	var addrLx []lexeme
	naddr, nonAddr := 0, 0
	for _, g := range groups {
		a, phrase, ok := routeAddr(g)
		if !ok {
			return "", false
		}
		nonAddr += phrase
		if a != nil {
			naddr++
			addrLx = a
		}
	}
	if len(groups) > 1 {
		nonAddr++
	}
	if naddr > 1 || (strict && (nonAddr > 0 || !bracketed)) {
		return "", false
	}
	var b strings.Builder
	for i, l := range addrLx {
		if i > 0 && l.sp && l.kind == lexWord && addrLx[i-1].kind == lexWord {
			return "", false // two words side by side
		}
		b.WriteString(l.text)
	}
	return b.String(), true
}

// routeAddr finds the address in one comma-separated group: the part
// inside "<...>" when there is one (its route removed), else the whole
// group minus stray angle brackets. phrase counts the words outside.
func routeAddr(g []lexeme) (addr []lexeme, phrase int, ok bool) {
	open := -1
	for i, l := range g {
		if l.kind == lexSpecial && l.text == "<" {
			open = i
			break
		}
	}
	if open < 0 {
		for _, l := range g {
			if l.kind == lexSpecial && (l.text == "<" || l.text == ">") {
				continue
			}
			addr = append(addr, l)
		}
		return addr, 0, true
	}
	closeAt := -1
	for i := open + 1; i < len(g); i++ {
		if g[i].kind == lexSpecial && g[i].text == ">" {
			closeAt = i
			break
		}
	}
	if closeAt < 0 {
		closeAt = len(g)
	}
	for i := closeAt + 1; i < len(g); i++ {
		if g[i].kind == lexWord {
			return nil, 0, false
		}
	}
	inner := g[open+1 : closeAt]
	// Drop a source route "@a,@b:" (commas were split already, so only
	// the last "@x:" prefix can remain here).
	if len(inner) > 0 && inner[0].kind == lexSpecial && inner[0].text == "@" {
		for i, l := range inner {
			if l.kind == lexSpecial && l.text == ":" {
				inner = inner[i+1:]
				break
			}
		}
	}
	for _, l := range g[:open] {
		if l.kind == lexWord {
			phrase++
		}
		if l.kind == lexSpecial && l.text == ":" {
			return nil, 0, false // a group name: Postfix finds no usable address
		}
	}
	if len(inner) == 0 {
		return nil, phrase, true
	}
	return inner, phrase, true
}

// checkAddr approximates the address check smtpd makes through
// trivial-rewrite: the domain after the last "@" must be a valid host
// name or address literal; a non-ASCII domain needs SMTPUTF8.
func checkAddr(addr string, smtputf8 bool) bool {
	at := strings.LastIndexByte(addr, '@')
	if addr == "" || at < 0 {
		return true
	}
	dom := addr[at+1:]
	if dom == "" {
		return false
	}
	if dom[0] == '[' {
		if dom[len(dom)-1] != ']' {
			return false
		}
		lit := dom[1 : len(dom)-1]
		if v, ok := strings.CutPrefix(lit, "IPv6:"); ok {
			a, err := netip.ParseAddr(v)
			return err == nil && a.Is6()
		}
		a, err := netip.ParseAddr(lit)
		return err == nil && a.Is4()
	}
	return validHostname(strings.TrimSuffix(dom, "."), smtputf8)
}

// validHostname checks labels of letters, digits, '-' and '_' that do
// not start or end with '-'.
func validHostname(h string, smtputf8 bool) bool {
	if h == "" || len(h) > 255 || strings.Trim(h, "0123456789.") == "" {
		return false // all-numeric names look like addresses
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			switch {
			case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_':
			case c >= 0x80 && smtputf8:
			default:
				return false
			}
		}
	}
	return true
}
