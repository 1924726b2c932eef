package resolver

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/postfix-go/postfix/internal/maillog"
)

// warnf, when set (tests), receives the warnings instead of the log.
var warnf func(format string, args ...any)

func warn(format string, args ...any) {
	if warnf != nil {
		warnf(format, args...)
		return
	}
	maillog.Warn(format, args...)
}

// Name lookup status codes, as Postfix's smtpd keeps them.
const (
	StatusOK     = 2 // the name was found (and, for the client name, confirmed)
	StatusTemp   = 4 // temporary failure
	StatusPerm   = 5 // no name
	StatusForged = 6 // the reverse name does not resolve back to the address
)

// Unknown is the name Postfix shows when a client has none.
const Unknown = "unknown"

// NormalizeAddr returns the address as Postfix's smtpd shows it: an
// IPv4-mapped IPv6 address becomes the IPv4 address, and the zone is
// dropped.
func NormalizeAddr(a netip.Addr) netip.Addr { return a.Unmap().WithZone("") }

// ClientName does smtpd's peer name lookup (Postfix's smtpd_peer): the
// reverse name of addr (hosts file, then PTR), checked for hostname syntax,
// then confirmed by looking the name up again (addresses of addr's family
// only) and finding addr among the answers. reverse is the reverse name
// alone ("unknown" when none); name is the confirmed name or "unknown".
// Statuses are StatusOK, StatusTemp, StatusPerm or StatusForged (name only,
// when the reverse name does not resolve back). The warnings Postfix's
// smtpd logs on the way ("hostname X does not resolve to address Y",
// "numeric hostname: X") are logged through maillog.
func (r *Resolver) ClientName(addr netip.Addr) (name, reverse string, nameStatus, reverseStatus int) {
	addr = NormalizeAddr(addr)
	names, err := r.PTR(addr)
	if err == nil && len(names) > 0 {
		if why := checkPeerName(names[0]); why != "" {
			warn("%s", why)
			err = &Error{Name: addr.String(), Rcode: -1}
		}
	} else if err == nil {
		err = &Error{Name: addr.String(), Rcode: -1}
	}
	if err != nil {
		st := StatusPerm
		if errors.Is(err, ErrTemp) {
			st = StatusTemp
		}
		return Unknown, Unknown, st, st
	}
	reverse = names[0]
	addrs, err := r.addrs(reverse, addr.Is4(), addr.Is6())
	if err != nil {
		st := StatusForged
		text := "Name or service not known"
		if errors.Is(err, ErrTemp) {
			st = StatusTemp
			text = "Temporary failure in name resolution"
		} else if e := (*Error)(nil); errors.As(err, &e) && !e.NXDomain {
			text = "No address associated with hostname"
		}
		warn("hostname %s does not resolve to address %s: %s", reverse, addr, text)
		return Unknown, reverse, st, StatusOK
	}
	for _, a := range addrs {
		if a.Unmap() == addr {
			return reverse, reverse, StatusOK, StatusOK
		}
	}
	warn("hostname %s does not resolve to address %s", reverse, addr)
	return Unknown, reverse, StatusForged, StatusOK
}

// checkPeerName returns Postfix's warning for a reverse name that may not
// be used, or "".
func checkPeerName(n string) string {
	if _, err := netip.ParseAddr(n); err == nil {
		return fmt.Sprintf("numeric hostname: %s", n)
	}
	if ok, why := ValidHostname(n); !ok {
		return why
	}
	return ""
}

// ValidHostname checks host name syntax as Postfix's valid_hostname does:
// letters, digits, "_" and inner "-" in labels of at most 63 characters,
// no empty label, not all digits, at most 255 characters. why is Postfix's
// warning text ("valid_hostname: misplaced delimiter: a..b").
func ValidHostname(name string) (ok bool, why string) {
	const me = "valid_hostname"
	trunc := func(s string) string {
		if len(s) > 100 {
			return s[:100]
		}
		return s
	}
	if name == "" {
		return false, me + ": empty hostname"
	}
	label, nonNumeric := 0, false
	for i := 0; i < len(name); i++ {
		ch := name[i]
		switch {
		case isAlnum(ch) || ch == '_':
			label++
			if label > 63 {
				return false, fmt.Sprintf("%s: hostname label too long: %s", me, trunc(name))
			}
			if ch < '0' || ch > '9' {
				nonNumeric = true
			}
		case ch == '.':
			if label == 0 || i+1 == len(name) {
				return false, fmt.Sprintf("%s: misplaced delimiter: %s", me, trunc(name))
			}
			label = 0
		case ch == '-':
			nonNumeric = true
			label++
			if label == 1 || i+1 == len(name) || name[i+1] == '.' {
				return false, fmt.Sprintf("%s: misplaced hyphen: %s", me, trunc(name))
			}
		default:
			return false, fmt.Sprintf("%s: invalid character %d(decimal): %s", me, ch, trunc(name))
		}
	}
	if !nonNumeric {
		return false, fmt.Sprintf("%s: numeric hostname: %s", me, trunc(name))
	}
	if len(name) > 255 {
		return false, fmt.Sprintf("%s: bad length %d for %s...", me, len(name), trunc(name))
	}
	return true, ""
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
