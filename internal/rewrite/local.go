package rewrite

import (
	"net"
	"net/netip"
	"strings"

	"github.com/postfix-go/postfix/conf"
)

// resolveLocal says whether domain is this mail system's: 1 when it
// matches $mydestination, or is an address literal of one of
// $inet_interfaces or $proxy_interfaces; 0 when not; -1 when a table
// lookup failed.
func (e *Engine) resolveLocal(domain string) int {
	if domain == "" {
		return 0
	}
	domain = strings.TrimSuffix(domain, ".")
	if domain == "" || strings.HasSuffix(domain, ".") {
		return 0
	}
	// A failed lookup is logged by the list ("mydestination: TYPE:NAME:
	// table lookup problem") and nothing more, as in Postfix.
	ok, err := e.mydest.match(domain)
	if err != nil {
		return -1
	}
	if ok {
		return 1
	}
	if len(domain) >= 2 && domain[0] == '[' && domain[len(domain)-1] == ']' {
		bare, valid := validMailhostAddr(domain[1:len(domain)-1], e.warn)
		if valid {
			if a, err := netip.ParseAddr(bare); err == nil && e.ownAddrs.has(a) {
				return 1
			}
		}
	}
	return 0
}

// addrSet is the set of this machine's addresses for mail purposes:
// $inet_interfaces and $proxy_interfaces.
type addrSet struct{ addrs map[netip.Addr]bool }

func (s *addrSet) has(a netip.Addr) bool {
	if s == nil {
		return false
	}
	return s.addrs[a.Unmap()]
}

// newAddrSet works out the addresses of $inet_interfaces ("all": every
// interface address; "loopback-only": the loopback addresses; otherwise
// the listed addresses or names) and $proxy_interfaces, restricted to the
// families of $inet_protocols.
func newAddrSet(c *conf.Config, w warnFunc) *addrSet {
	want4, want6 := true, true
	if p := strings.ToLower(strings.Join(c.List("inet_protocols"), " ")); p != "all" && p != "" {
		want4 = strings.Contains(p, "ipv4")
		want6 = strings.Contains(p, "ipv6")
	}
	s := &addrSet{addrs: map[netip.Addr]bool{}}
	add := func(a netip.Addr) {
		a = a.Unmap()
		if (a.Is4() && want4) || (a.Is6() && want6) {
			s.addrs[a] = true
		}
	}
	ifaceAddrs := func(loopOnly bool) {
		list, err := net.InterfaceAddrs()
		if err != nil {
			w.gripe("cannot list network interfaces: %v", err)
			return
		}
		for _, x := range list {
			p, err := netip.ParsePrefix(x.String())
			if err != nil {
				continue
			}
			if loopOnly && !p.Addr().IsLoopback() {
				continue
			}
			add(p.Addr())
		}
	}
	hostAddrs := func(item string) {
		item = strings.TrimSuffix(strings.TrimPrefix(item, "["), "]")
		if a, err := netip.ParseAddr(item); err == nil {
			add(a)
			return
		}
		ips, err := net.LookupHost(item)
		if err != nil {
			w.gripe("%s: host not found", item)
			return
		}
		for _, ip := range ips {
			if a, err := netip.ParseAddr(ip); err == nil {
				add(a)
			}
		}
	}
	for _, item := range c.List("inet_interfaces") {
		switch strings.ToLower(item) {
		case "all":
			ifaceAddrs(false)
		case "loopback-only":
			ifaceAddrs(true)
		default:
			hostAddrs(item)
		}
	}
	for _, item := range c.List("proxy_interfaces") {
		hostAddrs(item)
	}
	return s
}
