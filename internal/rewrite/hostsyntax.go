package rewrite

import (
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// Syntax checks for domain names and address literals, with Postfix's
// rules and (when warn is not nil) its warning texts.

const (
	maxLabelLen    = 63
	maxHostnameLen = 255
	maxHostaddrLen = 45 // INET6_ADDRSTRLEN - 1
)

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

type warnFunc func(format string, args ...any)

func (w warnFunc) gripe(format string, args ...any) {
	if w != nil {
		w(format, args...)
	}
}

// trunc100 is C's "%.100s".
func trunc100(s string) string {
	if len(s) > 100 {
		return s[:100]
	}
	return s
}

// validHostname checks a domain name: letters, digits, '_' and inner
// hyphens in labels of at most 63 bytes, not all numeric, at most 255
// bytes in all.
func validHostname(name string, w warnFunc) bool {
	const me = "valid_hostname"
	if name == "" {
		w.gripe("%s: empty hostname", me)
		return false
	}
	labelLen, nonNumeric := 0, false
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case isAlnum(c) || c == '_':
			labelLen++
			if labelLen > maxLabelLen {
				w.gripe("%s: hostname label too long: %s", me, trunc100(name))
				return false
			}
			if !isDigit(c) {
				nonNumeric = true
			}
		case c == '.':
			if labelLen == 0 || i+1 == len(name) {
				w.gripe("%s: misplaced delimiter: %s", me, trunc100(name))
				return false
			}
			labelLen = 0
		case c == '-':
			labelLen++
			if labelLen == 1 || i+1 == len(name) || name[i+1] == '.' {
				w.gripe("%s: misplaced hyphen: %s", me, trunc100(name))
				return false
			}
		default:
			w.gripe("%s: invalid character %d(decimal): %s", me, c, trunc100(name))
			return false
		}
	}
	if !nonNumeric {
		w.gripe("%s: numeric hostname: %s", me, trunc100(name))
		return false
	}
	if len(name) > maxHostnameLen {
		w.gripe("%s: bad length %d for %s...", me, len(name), trunc100(name))
		return false
	}
	return true
}

// validHostaddr checks an IPv4 or (when it holds ':') IPv6 address.
func validHostaddr(addr string, w warnFunc) bool {
	if addr == "" {
		w.gripe("valid_hostaddr: empty address")
		return false
	}
	if strings.IndexByte(addr, ':') >= 0 {
		return validIPv6(addr, w)
	}
	return validIPv4(addr, w)
}

// validIPv4 checks a dotted quad.
func validIPv4(addr string, w warnFunc) bool {
	const me = "valid_ipv4_hostaddr"
	inByte, count, val := false, 0, 0
	for i := 0; i < len(addr); i++ {
		c := addr[i]
		switch {
		case isDigit(c):
			if !inByte {
				inByte, val = true, 0
				count++
			}
			val = val*10 + int(c-'0')
			if val > 255 {
				w.gripe("%s: invalid octet value: %s", me, trunc100(addr))
				return false
			}
		case c == '.':
			if !inByte || i+1 == len(addr) {
				w.gripe("%s: misplaced dot: %s", me, trunc100(addr))
				return false
			}
			if count == 1 && val == 0 && strings.Trim(addr, "0.") != "" && !allZeroDot(addr) {
				w.gripe("%s: bad initial octet value: %s", me, trunc100(addr))
				return false
			}
			inByte = false
		default:
			w.gripe("%s: invalid character %d(decimal): %s", me, c, trunc100(addr))
			return false
		}
	}
	if count != 4 {
		w.gripe("%s: invalid octet count: %s", me, trunc100(addr))
		return false
	}
	return true
}

// allZeroDot reports whether addr holds only '0' and '.' characters.
func allZeroDot(addr string) bool {
	for i := 0; i < len(addr); i++ {
		if addr[i] != '0' && addr[i] != '.' {
			return false
		}
	}
	return true
}

// validIPv6 checks an IPv6 address, eight hex fields or a :: compressed
// form, optionally ending in a dotted quad.
func validIPv6(addr string, w warnFunc) bool {
	const me = "valid_ipv6_hostaddr"
	nullField, field, length := 0, 0, 0
	i := 0
	for {
		var c byte
		if i < len(addr) {
			c = addr[i]
		}
		switch c {
		case 0:
			if field < 2 {
				w.gripe("%s: too few `:' in IPv6 address: %s", me, trunc100(addr))
				return false
			}
			if length == 0 && nullField != field-1 {
				w.gripe("%s: bad null last field in IPv6 address: %s", me, trunc100(addr))
				return false
			}
			return true
		case '.':
			if field < 2 || field > 6 {
				w.gripe("%s: malformed IPv4-in-IPv6 address: %s", me, trunc100(addr))
				return false
			}
			return validIPv4(addr[i-length:], w)
		case ':':
			if field == 0 && length == 0 && i+1 < len(addr) && isAlnum(addr[i+1]) {
				w.gripe("%s: bad null first field in IPv6 address: %s", me, trunc100(addr))
				return false
			}
			field++
			if field > 7 {
				w.gripe("%s: too many `:' in IPv6 address: %s", me, trunc100(addr))
				return false
			}
			i++
			length = 0
			if i < len(addr) && addr[i] == ':' {
				if nullField > 0 {
					w.gripe("%s: too many `::' in IPv6 address: %s", me, trunc100(addr))
					return false
				}
				nullField = field
			}
		default:
			length = 0
			for i+length < len(addr) && strings.IndexByte("0123456789abcdefABCDEF", addr[i+length]) >= 0 {
				length++
			}
			if length > 4 {
				w.gripe("%s: malformed IPv6 address: %s", me, trunc100(addr))
				return false
			}
			if length == 0 {
				w.gripe("%s: invalid character %d(decimal) in IPv6 address: %s", me, c, trunc100(addr))
				return false
			}
			i += length
		}
	}
}

// validMailhostAddr checks the inside of an address literal: a dotted
// quad, or "IPv6:" and an IPv6 address. It returns the bare address.
func validMailhostAddr(addr string, w warnFunc) (string, bool) {
	if len(addr) >= 5 && strings.EqualFold(addr[:5], "IPv6:") {
		bare := addr[5:]
		return bare, validIPv6(bare, w)
	}
	return addr, validIPv4(addr, w)
}

// validMailhostLiteral checks a whole "[address]" literal.
func validMailhostLiteral(lit string, w warnFunc) bool {
	const me = "valid_mailhost_literal"
	if !strings.HasPrefix(lit, "[") {
		w.gripe("%s: '[' expected: %s", me, trunc100(lit))
		return false
	}
	end := strings.IndexByte(lit, ']')
	if end < 0 {
		w.gripe("%s: ']' expected: %s", me, trunc100(lit))
		return false
	}
	if end+1 != len(lit) {
		w.gripe("%s: unexpected text after ']': %s", me, trunc100(lit))
		return false
	}
	inner := lit[1:end]
	if len(inner) > maxHostaddrLen {
		w.gripe("%s: address too long: %s", me, trunc100(lit))
		return false
	}
	_, ok := validMailhostAddr(inner, w)
	return ok
}

// idnaProfile converts UTF-8 domain names to A-labels as Postfix (through
// libidn2) does: UTS #46 mapping, non-transitional, without the bidi rule
// that libidn2 does not apply here.
var idnaProfile = idna.New(idna.MapForLookup(), idna.Transitional(false))

// validUTF8Hostname is validHostname that, with smtputf8_enable, also
// takes a domain name in UTF-8 whose A-label form is valid.
func (e *Engine) validUTF8Hostname(name string) bool {
	if !e.smtputf8 || isASCII(name) {
		return validHostname(name, nil)
	}
	if !utf8.ValidString(name) {
		return false
	}
	a, err := idnaProfile.ToASCII(name)
	if err != nil {
		return false
	}
	return validHostname(a, nil)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
