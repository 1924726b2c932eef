package smtpd

import (
	"net/netip"
	"strings"
)

// forwardState is what XFORWARD told about the original client.
type forwardState struct {
	set                           bool
	name, addr, port, proto, helo string
	ident                         string
	source                        string // "local" or "remote" (rewrite_context)
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

// isTempUnavail says whether an xtext value is the [TEMPUNAVAIL] marker.
func isTempUnavail(v string) bool {
	d, _ := xtextDecode(v)
	return strings.EqualFold(d, "[TEMPUNAVAIL]")
}

// xattr is one NAME=value of an XCLIENT or XFORWARD command, its value
// decoded (raw: the value as the client wrote it); temp says the value
// was [TEMPUNAVAIL].
type xattr struct {
	name, value, raw string
	temp             bool
}

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
		if !ok || val == "" {
			// Postfix's reply for a word without "=" or without a value.
			s.reply("501 5.5.4 Error: attribute=value expected")
			return nil, false
		}
		v, ok := xvalue(val)
		if !ok {
			s.reply("501 5.5.4 Bad UTF-8 syntax in " + cmd + " attribute value")
			return nil, false
		}
		attrs = append(attrs, xattr{name, v, val, v == "" && isTempUnavail(val)})
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
	for _, a := range attrs {
		name, v := a.name, a.value
		switch strings.ToUpper(name) {
		case "NAME":
			n.name, n.nameStatus = orUnknown(v), 2
			if v == "" {
				n.nameStatus = lookupStatus(a.temp)
			} else {
				// A host name stands for the reverse name too, until
				// a later REVERSE_NAME; an unavailable NAME leaves the
				// reverse name as it was, as in Postfix.
				n.reverseName, n.reverseStatus = v, 2
			}
		case "REVERSE_NAME":
			n.reverseName, n.reverseStatus = orUnknown(v), 2
			if v == "" {
				n.reverseStatus = lookupStatus(a.temp)
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

// lookupStatus is the name lookup status an unavailable NAME or
// REVERSE_NAME stands for: 4 (temporary) for [TEMPUNAVAIL], else 5.
func lookupStatus(temp bool) int {
	if temp {
		return 4
	}
	return 5
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
			// The rewrite context of the forwarded mail; an unavailable
			// source counts as local.
			switch {
			case strings.EqualFold(v, "local"), v == "" && !a.temp:
				f.source = "local"
			case strings.EqualFold(v, "remote"):
				f.source = "remote"
			default:
				d, _ := xtextDecode(a.raw)
				s.reply("501 5.5.4 Bad SOURCE syntax: " + d)
				return cmdError
			}
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
