package check

import (
	"errors"
	"net/netip"
	"sort"
	"strings"

	"github.com/miekg/dns"
	"github.com/postfix-go/postfix/internal/resolver"
	"github.com/postfix-go/postfix/internal/rewrite"
)

// dnsStatus classifies a lookup error: "" ok, "notfound", "retry".
func dnsStatus(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, resolver.ErrNotFound):
		return "notfound"
	}
	return "retry"
}

var errNoResolver = &resolver.Error{Temp: true, Rcode: -1}

// lookupAny asks for each type in turn and stops at the first that has
// records; the error is the last (a temporary failure wins).
func (e *eval) lookupAny(name string, types ...uint16) error {
	r := e.k.deps.Resolver
	if r == nil {
		return errNoResolver
	}
	var last error
	temp := false
	for _, t := range types {
		rrs, err := r.Lookup(name, t)
		if err == nil && len(rrs) > 0 {
			return nil
		}
		if err == nil {
			err = &resolver.Error{Name: name, Type: t}
		}
		if dnsStatus(err) == "retry" {
			temp = true
		}
		last = err
	}
	if temp {
		return &resolver.Error{Name: name, Temp: true, Rcode: -1}
	}
	return last
}

// unknownHostname is reject_unknown_helo_hostname: A, AAAA or MX.
func (e *eval) unknownHostname(name, replyName, replyClass string) status {
	err := e.lookupAny(name, dns.TypeA, dns.TypeAAAA, dns.TypeMX)
	switch dnsStatus(err) {
	case "":
		return stDunno
	case "retry":
		return e.deferIfPermit(e.k.p.unkNameTF, classPolicy, 450, "4.7.1", "<%s>: %s rejected: Host not found", replyName, replyClass)
	}
	return e.reject(classPolicy, e.k.p.unkNameCode, "4.7.1", "<%s>: %s rejected: %s", replyName, replyClass, "Host not found")
}

// unknownMailhost is reject_unknown_sender/recipient_domain: MX, A or AAAA.
func (e *eval) unknownMailhost(name, replyName, replyClass string) status {
	dsn := "4.1.2"
	if replyClass == nameSender {
		dsn = "4.1.8"
	}
	err := e.lookupAny(name, dns.TypeMX, dns.TypeA, dns.TypeAAAA)
	switch dnsStatus(err) {
	case "":
		return stDunno
	case "retry":
		return e.deferIfPermit(e.k.p.unkAddrTF, classPolicy, 450, dsn, "<%s>: %s rejected: Domain not found", replyName, replyClass)
	}
	return e.reject(classPolicy, e.k.p.unkAddrCode, dsn, "<%s>: %s rejected: %s", replyName, replyClass, "Domain not found")
}

// serverAccess is check_*_mx_access / check_*_ns_access: the MX or NS
// hosts of a domain (their names, then their addresses) in the table.
func (e *eval) serverAccess(table, name string, mx bool, replyName, replyClass, defACL string) status {
	r := e.k.deps.Resolver
	domain := name
	if i := strings.LastIndexByte(name, '@'); i >= 0 {
		domain = name[i+1:]
	}
	if strings.HasPrefix(domain, "[") {
		if !mx || !strings.HasSuffix(domain, "]") {
			return stDunno
		}
		a := domain[1 : len(domain)-1]
		if !validMailhostAddr(a) {
			return stDunno
		}
		if len(a) > 5 && strings.EqualFold(a[:5], "IPv6:") {
			a = a[5:]
		}
		st, _ := e.addrAccess(table, a, false, replyName, replyClass, defACL)
		return st
	}
	typ := "MX"
	if !mx {
		typ = "NS"
	}
	var hosts []string
	var err error
	if r == nil {
		err = errNoResolver
	} else if mx {
		var mxs []*dns.MX
		mxs, err = r.MX(domain)
		for _, m := range mxs {
			hosts = append(hosts, strings.TrimSuffix(m.Mx, "."))
		}
		if err != nil && dnsStatus(err) == "notfound" {
			// No MX record (or no such name): the domain is its own MX host.
			hosts, err = []string{domain}, nil
		}
	} else {
		hosts, err = r.NS(domain)
		for err != nil && dnsStatus(err) == "notfound" {
			var re *resolver.Error
			if !errors.As(err, &re) || re.NXDomain {
				break
			}
			i := strings.IndexByte(domain, '.')
			if i < 0 || i+1 >= len(domain) {
				break
			}
			domain = domain[i+1:]
			hosts, err = r.NS(domain)
		}
		for i := range hosts {
			hosts[i] = strings.TrimSuffix(hosts[i], ".")
		}
	}
	if err != nil {
		why := "Host not found, try again"
		if dnsStatus(err) == "notfound" {
			why = "Host not found"
		}
		e.k.warn("Unable to look up %s host for %s: %s", typ, domain, why)
		return stDunno
	}
	for _, h := range hosts {
		if validHostaddr(h) {
			if st, found := e.addrAccess(table, h, false, replyName, replyClass, defACL); st != stDunno || found {
				return st
			}
			continue
		}
		if st, found := e.domainAccess(table, h, false, replyName, replyClass, defACL); st != stDunno || found {
			return st
		}
		addrs, err := r.Addrs(h)
		if err != nil {
			why := "Name or service not known"
			var re *resolver.Error
			switch {
			case dnsStatus(err) == "retry":
				why = "Temporary failure in name resolution"
			case errors.As(err, &re) && !re.NXDomain:
				why = "No address associated with hostname"
			}
			e.k.warn("Unable to look up %s host %s for %s %s: %s", typ, h, replyClass, replyName, why)
			continue
		}
		for _, a := range addrs {
			if st, found := e.addrAccess(table, a.String(), false, replyName, replyClass, defACL); st != stDunno || found {
				return st
			}
		}
	}
	return stDunno
}

// permitMXBackup: OK when this host is a backup MX for the recipient's
// domain (and the primaries are in permit_mx_backup_networks, if set).
func (e *eval) permitMXBackup(rcpt, replyName, replyClass string) status {
	k := e.k
	res := e.resolve(rcpt)
	at := strings.LastIndexByte(res.Recipient, '@')
	if at < 0 {
		return stOK
	}
	domain := res.Recipient[at+1:]
	if !k.p.allowUntrusted && res.Flags&flagRouted != 0 {
		return stDunno
	}
	if res.Flags&(rewrite.ClassFinal|rewrite.ClassRelay) != 0 {
		return stOK
	}
	if strings.HasPrefix(domain, "[") && strings.HasSuffix(domain, "]") {
		return stDunno
	}
	r := k.deps.Resolver
	if r == nil {
		return stDunno
	}
	mxs, err := r.MX(domain)
	if err != nil {
		if dnsStatus(err) == "retry" {
			e.deferIfReject(classPolicy, 450, "4.4.4", "<%s>: %s rejected: Unable to look up mail exchanger information", replyName, replyClass)
		}
		return stDunno
	}
	sort.SliceStable(mxs, func(i, j int) bool { return mxs[i].Preference < mxs[j].Preference })
	best := mxs[0].Preference
	var primary, backup []string
	for _, m := range mxs {
		h := strings.TrimSuffix(m.Mx, ".")
		if m.Preference == best {
			primary = append(primary, h)
		} else {
			backup = append(backup, h)
		}
	}
	if e.iAmMX(primary) {
		return stDunno
	}
	if len(backup) == 0 || !e.iAmMX(backup) {
		return stDunno
	}
	if k.c.Get("permit_mx_backup_networks") != "" {
		for _, h := range primary {
			addrs, err := r.Addrs(h)
			if err != nil {
				e.deferIfReject(classPolicy, 450, "4.4.4", "<%s>: %s rejected: Unable to look up host %s as mail exchanger", replyName, replyClass, h)
				return stDunno
			}
			for _, a := range addrs {
				ok, err := k.permMX.Match(h, a.String())
				if err != nil {
					e.deferIfReject(classPolicy, 450, "4.4.4", "<%s>: %s rejected: Unable to verify host %s as mail exchanger", replyName, replyClass, h)
					return stDunno
				}
				if !ok {
					return stDunno
				}
			}
		}
	}
	return stOK
}

// iAmMX reports whether one of hosts is this machine: by name
// ($mydestination-style local domain) or by address.
func (e *eval) iAmMX(hosts []string) bool {
	k := e.k
	for _, h := range hosts {
		if k.isLocal(h) {
			return true
		}
	}
	r := k.deps.Resolver
	for _, h := range hosts {
		addrs, err := r.Addrs(h)
		if err != nil {
			continue
		}
		for _, a := range addrs {
			if k.ownAddr(a.String()) || k.proxyAddr(a) {
				return true
			}
		}
	}
	return false
}

func (k *Checker) proxyAddr(a netip.Addr) bool {
	for _, it := range k.c.List("proxy_interfaces") {
		if b, err := netip.ParseAddr(strings.Trim(it, "[]")); err == nil && b == a {
			return true
		}
	}
	return false
}

// addrsAccess is check_*_a_access: the IPv4 and IPv6 addresses of a host
// name (or of an address's domain) in the table.
func (e *eval) addrsAccess(table, name, replyName, replyClass, defACL string) status {
	domain := name
	if i := strings.LastIndexByte(name, '@'); i >= 0 {
		domain = name[i+1:]
	}
	if strings.HasPrefix(domain, "[") {
		return stDunno
	}
	r := e.k.deps.Resolver
	if r == nil {
		return stDunno
	}
	addrs, err := r.Addrs(domain)
	if err != nil {
		// A name without addresses is not restricted (Postfix is silent).
		if dnsStatus(err) == "retry" {
			e.k.warn("Unable to look up %s host for %s: %s", "A/AAAA", domain, "Host not found, try again")
		}
		return stDunno
	}
	for _, a := range addrs {
		if st, found := e.addrAccess(table, a.String(), false, replyName, replyClass, defACL); st != stDunno || found {
			return st
		}
	}
	return stDunno
}
