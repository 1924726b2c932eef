package smtpread

import (
	"net/netip"
	"strings"
)

// An address token is read the way Postfix's smtpd reads it (its
// extract_addr on top of the RFC 822 parser tok822): one pair of
// enclosing angle brackets is removed, a source route ("@a,@b:") is
// dropped, and the rest is parsed as a permissive RFC 822 address list.
// The parser never fails: an unterminated quoted string, comment or
// domain literal runs to the end of the text ("a@[1.2.3.4" is
// a@[1.2.3.4]), a stray "<" or ">" is ignored ("a@b>" is a@b), a phrase
// before "<...>" is skipped, a group "name: a@b;" yields its member.
// What counts is how many address forms result: more than one (two
// words side by side, a comma, a word after ">") is Postfix's "Illegal
// address syntax".

// Token kinds: operators are their byte value; the rest are above 0xff.
const (
	tkAtom = 0x100 + iota
	tkQString
	tkDomLit
	tkComment
	tkAddr     // a parsed address form; its tokens are children
	tkStartGrp // the ":" that starts a named group
)

// tok822 is one token of the address parser, in a doubly linked list;
// an address form (tkAddr) holds its tokens as a child list. Sentinels
// have kind 0.
type tok822 struct {
	kind       int
	text       string // atom, quoted string, domain literal: internal form
	prev, next *tok822
	child      *tok822 // tkAddr: first token
}

// opChars are the single-byte operators: RFC 822 specials plus "%!|".
const opChars = "|%!()<>@,;:\\\".[]"

func isOp(c byte) bool { return strings.IndexByte(opChars, c) >= 0 }

// isLWS is white space to the address parser: space, tab, <CR>, <LF>.
func isLWS(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// collect copies s from i while cond holds for the (unescaped) byte; a
// backslash takes the next byte literally; white space becomes a space.
// It returns the text and where it stopped.
func collect(s string, i int, cond func(byte) bool) (string, int) {
	var b strings.Builder
	for i < len(s) {
		c := s[i]
		if c == '\\' {
			if i+1 >= len(s) {
				i++
				break
			}
			i++
			c = s[i]
		} else if !cond(c) {
			break
		}
		if isLWS(c) {
			c = ' '
		}
		b.WriteByte(c)
		i++
	}
	return b.String(), i
}

// scan822 splits s into a token list.
func scan822(s string) (first, last *tok822) {
	add := func(t *tok822) {
		if first == nil {
			first = t
		} else {
			last.next, t.prev = t, last
		}
		last = t
	}
	for i := 0; i < len(s); {
		c := s[i]
		i++
		switch {
		case isLWS(c):
		case c == '(':
			// Comments nest; the text is of no use to extract_addr.
			for depth := 1; i < len(s); {
				c := s[i]
				i++
				if c == '(' {
					depth++
				} else if c == ')' {
					if depth--; depth == 0 {
						break
					}
				} else if c == '\\' && i < len(s) {
					i++
				}
			}
			add(&tok822{kind: tkComment})
		case c == '[' || c == '"':
			end := byte(']')
			kind := tkDomLit
			if c == '"' {
				end, kind = '"', tkQString
			}
			var text string
			text, i = collect(s, i, func(b byte) bool { return b != end })
			if i < len(s) {
				i++ // the closing byte
			}
			add(&tok822{kind: kind, text: text})
		case c != '\\' && isOp(c):
			add(&tok822{kind: int(c)})
		default:
			var text string
			text, i = collect(s, i-1, func(b byte) bool { return !isLWS(b) && !isOp(b) })
			add(&tok822{kind: tkAtom, text: text})
		}
	}
	return first, last
}

// unlink removes t from its list and returns its predecessor.
func unlink(t *tok822) *tok822 {
	p := t.prev
	if p != nil {
		p.next = t.next
	}
	if t.next != nil {
		t.next.prev = p
	}
	t.prev, t.next = nil, nil
	return p
}

// insertBefore puts the single token t before r and returns t.
func insertBefore(r, t *tok822) *tok822 {
	p := r.prev
	if p != nil {
		p.next = t
	}
	t.prev, t.next, r.prev = p, r, t
	return t
}

// group moves the tokens strictly between left and right into a new
// address form placed between them; with comma, a "," token is put
// before the new form to keep the list well formed. It returns left.
func group(left, right *tok822, comma bool) *tok822 {
	first := left.next
	if left == right || first == right {
		return left
	}
	last := right.prev
	first.prev, last.next = nil, nil
	g := &tok822{kind: tkAddr, child: first}
	left.next, g.prev = g, left
	g.next, right.prev = right, g
	if comma {
		c := &tok822{kind: ',', prev: left, next: g}
		left.next, g.prev = c, c
	}
	return left
}

// parse822 turns the text into Postfix's parse tree, working from right
// to left as tok822_parse does, and returns its top-level tokens.
func parse822(text string) []*tok822 {
	first, last := scan822(text)
	if first == nil {
		return nil
	}
	head, tail := &tok822{}, &tok822{}
	head.next, first.prev = first, head
	last.next, tail.prev = tail, last

	const (
		doWord  = 1 // a word may start here
		doGroup = 2 // inside "name: ...;"
	)
	state := doWord
	right := tail
	tp := tail.prev
	for tp.kind != 0 {
		switch {
		case tp.kind == tkComment:
			// Comments go to the right of what is grouped.
			p := unlink(tp)
			right = insertBefore(right, tp)
			tp = p
			continue
		case tp.kind == ';':
			right = group(tp, right, true)
			state = doGroup | doWord
		case tp.kind == ':' && state&doGroup != 0:
			tp.kind = tkStartGrp
			group(tp, right, false)
			for tp.kind != 0 && tp.kind != ',' {
				tp = tp.prev
			}
			right = tp
			continue
		case tp.kind == '>':
			right = group(tp, right, true)
			for tp.kind != 0 && tp.kind != '<' {
				if tp.kind == tkComment {
					p := unlink(tp)
					right = insertBefore(right, tp)
					tp = p
					continue
				}
				tp = tp.prev
			}
			group(tp, right, false)
			// Skip the phrase before "<".
			for tp.kind != 0 && (tp.kind > 0xff || strings.IndexByte(">;,:", byte(tp.kind)) < 0) {
				tp = tp.prev
			}
			right = tp
			state |= doWord
			continue
		case tp.kind == tkAtom || tp.kind == tkQString || tp.kind == tkDomLit:
			if state&doWord == 0 {
				right = group(tp, right, true).next
			}
			state &^= doWord
		case tp.kind == ',':
			right = group(tp, right, false)
			state |= doWord
		default:
			state |= doWord
		}
		tp = tp.prev
	}
	group(tp, right, false)
	var out []*tok822
	for t := head.next; t != tail; t = t.next {
		out = append(out, t)
	}
	return out
}

// internalize is the unquoted text of an address form's tokens.
func internalize(t *tok822) string {
	var b strings.Builder
	for ; t != nil; t = t.next {
		switch t.kind {
		case tkAtom, tkQString:
			b.WriteString(t.text)
		case tkDomLit:
			b.WriteString("[" + t.text + "]")
		case tkAddr:
			b.WriteString(internalize(t.child))
		case tkStartGrp:
			b.WriteByte(':')
		case tkComment:
		default:
			b.WriteByte(byte(t.kind))
		}
	}
	return b.String()
}

// extractAddr returns the internal form of the address in an address
// token, or ok false where Postfix's smtpd logs "Illegal address syntax"
// before checking the address itself: more than one address form, or
// with strict_rfc821_envelopes anything but one bare address in "<>".
func extractAddr(tok string, strict bool) (string, bool) {
	text := tok
	if len(tok) >= 2 && tok[0] == '<' && tok[len(tok)-1] == '>' {
		text = tok[1 : len(tok)-1]
	}
	if strings.HasPrefix(text, "@") {
		if i := strings.IndexByte(text, ':'); i >= 0 {
			text = text[i+1:]
		}
	}
	var addr *tok822
	naddr, other := 0, 0
	for _, t := range parse822(text) {
		switch t.kind {
		case tkAddr:
			addr = t
			naddr++
		case '<', '>':
		default:
			other++
		}
	}
	if naddr > 1 || (strict && (other > 0 || !strings.HasPrefix(tok, "<"))) {
		return "", false
	}
	if addr == nil {
		return "", true
	}
	return internalize(addr.child), true
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
