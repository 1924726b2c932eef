package resolver

import (
	"errors"
	"net/netip"
	"slices"
	"strings"

	"github.com/miekg/dns"
)

// Addrs returns the IPv4 and IPv6 addresses of name: from the hosts file
// when it lists the name, else from the DNS (A, then AAAA).
func (r *Resolver) Addrs(name string) ([]netip.Addr, error) {
	return r.addrs(name, true, true)
}

// addrs looks up the addresses of the wanted families.
func (r *Resolver) addrs(name string, want4, want6 bool) ([]netip.Addr, error) {
	name = strings.TrimSuffix(name, ".")
	if r.hosts != nil {
		var out []netip.Addr
		for _, a := range r.hosts.get().Lookup(name) {
			if (a.Is4() && want4) || (a.Is6() && want6) {
				out = append(out, a)
			}
		}
		if len(out) > 0 {
			return out, nil
		}
	}
	var out []netip.Addr
	var errs []error
	if want4 {
		rrs, err := r.Lookup(name, dns.TypeA)
		for _, rr := range rrs {
			if a, ok := netip.AddrFromSlice(rr.(*dns.A).A.To4()); ok {
				out = append(out, a)
			}
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	if want6 {
		rrs, err := r.Lookup(name, dns.TypeAAAA)
		for _, rr := range rrs {
			if a, ok := netip.AddrFromSlice(rr.(*dns.AAAA).AAAA.To16()); ok {
				out = append(out, a)
			}
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	if len(out) > 0 {
		return out, nil
	}
	return nil, worst(name, errs)
}

// worst picks the error to report when every lookup failed: a temporary
// failure over NXDOMAIN over no data.
func worst(name string, errs []error) error {
	var best *Error
	for _, err := range errs {
		var e *Error
		if !errors.As(err, &e) {
			return err
		}
		switch {
		case best == nil, e.Temp && !best.Temp, e.NXDomain && !best.Temp && !best.NXDomain:
			best = e
		}
	}
	if best == nil {
		return &Error{Name: name, Type: dns.TypeA, Rcode: dns.RcodeSuccess}
	}
	return best
}

// MX returns the MX records of name sorted by preference (stable).
func (r *Resolver) MX(name string) ([]*dns.MX, error) {
	rrs, err := r.Lookup(name, dns.TypeMX)
	if err != nil {
		return nil, err
	}
	out := make([]*dns.MX, 0, len(rrs))
	for _, rr := range rrs {
		out = append(out, rr.(*dns.MX))
	}
	slices.SortStableFunc(out, func(a, b *dns.MX) int { return int(a.Preference) - int(b.Preference) })
	return out, nil
}

// NS returns the name server names of name, without trailing dots.
func (r *Resolver) NS(name string) ([]string, error) {
	rrs, err := r.Lookup(name, dns.TypeNS)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(rrs))
	for _, rr := range rrs {
		out = append(out, strings.TrimSuffix(rr.(*dns.NS).Ns, "."))
	}
	return out, nil
}

// TXT returns the TXT records of name, the character strings of each
// record as raw bytes joined without separator (RFC 7208 style; Postfix's
// DNS lists use only the first string: see TXTStrings).
func (r *Resolver) TXT(name string) ([]string, error) {
	recs, err := r.TXTStrings(name)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(recs))
	for _, strs := range recs {
		out = append(out, strings.Join(strs, ""))
	}
	return out, nil
}

// TXTStrings returns the TXT records of name, each as its character
// strings in raw bytes.
func (r *Resolver) TXTStrings(name string) ([][]string, error) {
	rrs, err := r.Lookup(name, dns.TypeTXT)
	if err != nil {
		return nil, err
	}
	out := make([][]string, 0, len(rrs))
	for _, rr := range rrs {
		var strs []string
		for _, s := range rr.(*dns.TXT).Txt {
			strs = append(strs, unescapeTXT(s))
		}
		out = append(out, strs)
	}
	return out, nil
}

// unescapeTXT turns miekg/dns's presentation form of a character string
// ("a\\059b", "\\"") back into its bytes.
func unescapeTXT(s string) string {
	if !strings.Contains(s, "\\") {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 >= len(s) {
			b = append(b, c)
			continue
		}
		if i+3 < len(s) && isDigit(s[i+1]) && isDigit(s[i+2]) && isDigit(s[i+3]) {
			v := int(s[i+1]-'0')*100 + int(s[i+2]-'0')*10 + int(s[i+3]-'0')
			if v < 256 {
				b = append(b, byte(v))
				i += 3
				continue
			}
		}
		b = append(b, s[i+1])
		i++
	}
	return string(b)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// A returns the IPv4 addresses of name from the DNS only (DNSBL queries).
func (r *Resolver) A(name string) ([]netip.Addr, error) {
	rrs, err := r.Lookup(name, dns.TypeA)
	if err != nil {
		return nil, err
	}
	out := make([]netip.Addr, 0, len(rrs))
	for _, rr := range rrs {
		if a, ok := netip.AddrFromSlice(rr.(*dns.A).A.To4()); ok {
			out = append(out, a)
		}
	}
	return out, nil
}

// PTR returns the names of addr: the canonical name from the hosts file
// when it lists the address, else the PTR records (without trailing dots).
func (r *Resolver) PTR(addr netip.Addr) ([]string, error) {
	addr = addr.Unmap()
	if r.hosts != nil {
		if n, ok := r.hosts.get().Reverse(addr); ok {
			return []string{n}, nil
		}
	}
	rev, err := dns.ReverseAddr(addr.String())
	if err != nil {
		return nil, &Error{Name: addr.String(), Type: dns.TypePTR, Rcode: -1, NXDomain: true}
	}
	rrs, err := r.Lookup(rev, dns.TypePTR)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(rrs))
	for _, rr := range rrs {
		out = append(out, strings.TrimSuffix(rr.(*dns.PTR).Ptr, "."))
	}
	return out, nil
}
