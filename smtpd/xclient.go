package smtpd

import (
	"net/netip"
	"strings"
)

// forwardState is what XFORWARD told about the original client.
type forwardState struct {
	set                           bool
	name, addr, port, proto, helo string
	ident, source                 string
}

// fwdInfo is the client as recorded in the log_* attributes.
type fwdInfo struct{ name, addr, port, proto, helo string }

// forwarded returns the client for logging: XFORWARD's when given, else
// the session's own.
func (s *session) forwarded() fwdInfo {
	f := fwdInfo{s.name, s.addr, s.port, s.protocol, s.helo}
	x := s.fwd
	if !x.set {
		return f
	}
	if x.name != "" {
		f.name = x.name
	}
	if x.addr != "" {
		f.addr = x.addr
	}
	if x.port != "" {
		f.port = x.port
	}
	if x.proto != "" {
		f.proto = x.proto
	}
	if x.helo != "" {
		f.helo = x.helo
	}
	return f
}

// xclientAllowed and xforwardAllowed say whether the client may use
// XCLIENT and XFORWARD; decided once, for the real client, as Postfix does.
func (s *session) xclientAllowed() bool  { s.xauth(); return s.xclientOK }
func (s *session) xforwardAllowed() bool { s.xauth(); return s.xforwardOK }

func (s *session) xauth() {
	if !s.xauthDone {
		s.xauthDone = true
		s.xclientOK = s.srv.xclient.match(s)
		s.xforwardOK = s.srv.xforward.match(s)
	}
}

// xvalue decodes an XCLIENT/XFORWARD attribute value; the unavailable
// markers become "".
func xvalue(v string) (string, bool) {
	d, ok := xtextDecode(v)
	if !ok {
		return "", false
	}
	switch strings.ToUpper(d) {
	case "[UNAVAILABLE]", "[TEMPUNAVAIL]":
		return "", true
	}
	return d, true
}

// xattr is one NAME=value of an XCLIENT or XFORWARD command, its value
// decoded.
type xattr struct{ name, value string }

// xattrs checks what XCLIENT and XFORWARD (cmd) have in common —
// authorization, no mail transaction, NAME=value syntax, xtext and UTF-8 —
// and returns the attributes, names as the client wrote them; false when it has
// replied with an error.
func (s *session) xattrs(cmd, arg string, allowed bool) ([]xattr, bool) {
	if !allowed {
		s.reply("550 5.7.0 Error: insufficient authorization")
		return nil, false
	}
	if s.tx.active {
		s.reply("503 5.5.1 Error: MAIL transaction in progress")
		return nil, false
	}
	words := strings.Fields(arg)
	if len(words) == 0 {
		s.reply("501 5.5.4 Syntax: " + cmd + " attribute=value...")
		return nil, false
	}
	attrs := make([]xattr, 0, len(words))
	for _, w := range words {
		name, val, ok := strings.Cut(w, "=")
		if !ok {
			s.reply("501 5.5.4 Syntax: " + cmd + " attribute=value...")
			return nil, false
		}
		v, ok := xvalue(val)
		if !ok {
			s.reply("501 5.5.4 Bad UTF-8 syntax in " + cmd + " attribute value")
			return nil, false
		}
		attrs = append(attrs, xattr{name, v})
	}
	return attrs, true
}

func (s *session) xclientCmd(arg string) int {
	attrs, ok := s.xattrs("XCLIENT", arg, s.xclientAllowed())
	if !ok {
		return cmdError
	}
	n := *s
	// The announced client has said no HELO yet: Postfix forgets the
	// HELO name and the protocol unless XCLIENT gives them.
	n.helo, n.protocol = "", "SMTP"
	// Nor has it logged in, unless LOGIN says so.
	n.auth.username, n.auth.method = "", ""
	gotName, gotRev := false, false
	for _, a := range attrs {
		name, v := a.name, a.value
		switch strings.ToUpper(name) {
		case "NAME":
			gotName = true
			n.name, n.nameStatus = orUnknown(v), 2
			if v == "" {
				n.nameStatus = 5
			}
		case "REVERSE_NAME":
			gotRev = true
			n.reverseName, n.reverseStatus = orUnknown(v), 2
			if v == "" {
				n.reverseStatus = 5
			}
		case "ADDR":
			a := strings.TrimPrefix(strings.ToLower(v), "ipv6:")
			ip, err := netip.ParseAddr(a)
			if v != "" && err != nil {
				s.reply("501 5.5.4 Bad ADDR syntax: " + v)
				return cmdError
			}
			n.addr, n.ip = a, ip
			if v == "" {
				n.addr = "unknown"
			}
		case "PORT":
			n.port = v
			if v == "" {
				n.port = "unknown"
			}
		case "PROTO":
			switch strings.ToUpper(v) {
			case "SMTP", "ESMTP":
				n.protocol = strings.ToUpper(v)
			default:
				s.reply("501 5.5.4 Bad PROTO syntax: " + v)
				return cmdError
			}
		case "HELO":
			n.helo = v
		case "LOGIN":
			n.auth.username = v
			if v != "" {
				n.auth.method = "XCLIENT"
			}
		case "DESTADDR":
			n.serverAddr = v
		case "DESTPORT":
			n.serverPort = v
		default:
			s.reply("501 5.5.4 Bad XCLIENT attribute name: " + name)
			return cmdError
		}
	}
	if gotName && !gotRev {
		n.reverseName, n.reverseStatus = n.name, n.nameStatus
	}
	s.name, s.reverseName, s.addr, s.ip, s.port = n.name, n.reverseName, n.addr, n.ip, n.port
	s.nameStatus, s.reverseStatus = n.nameStatus, n.reverseStatus
	s.serverAddr, s.serverPort = n.serverAddr, n.serverPort
	s.auth.username, s.auth.method = n.auth.username, n.auth.method
	// A new SASL server session for the new client's addresses.
	s.auth.close()
	helo, proto := n.helo, n.protocol
	s.heloReset()
	s.helo, s.protocol = helo, proto
	s.check = nil
	// XCLIENT is allowed again only if the new client is authorized.
	s.xclientOK = s.srv.xclient.match(s)
	if r := s.checkClient("XCLIENT"); r != "" {
		// As at connect time (smtpd_delay_reject = no): the reject
		// replaces the greeting and every later command but QUIT is
		// refused.
		s.accessDenied = true
		s.reply(r)
		return cmdError
	}
	s.greet()
	// Postfix does not count a successful XCLIENT as such.
	return cmdUncounted
}

func orUnknown(v string) string {
	if v == "" {
		return "unknown"
	}
	return v
}

func (s *session) xforwardCmd(arg string) int {
	attrs, ok := s.xattrs("XFORWARD", arg, s.xforwardAllowed())
	if !ok {
		return cmdError
	}
	f := s.fwd
	for _, a := range attrs {
		name, v := a.name, a.value
		switch strings.ToUpper(name) {
		case "NAME":
			f.name = v
		case "ADDR":
			f.addr = strings.TrimPrefix(strings.ToLower(v), "ipv6:")
		case "PORT":
			f.port = v
		case "PROTO":
			f.proto = v
		case "HELO":
			f.helo = v
		case "IDENT":
			f.ident = v
		case "SOURCE":
			f.source = strings.ToUpper(v)
		default:
			s.reply("501 5.5.4 Bad XFORWARD attribute name: " + name)
			return cmdError
		}
	}
	f.set = true
	s.fwd = f
	s.reply("250 2.0.0 Ok")
	return cmdOK
}
