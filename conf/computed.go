package conf

// Defaults that Postfix computes on the running machine, reproduced as
// Postfix 3.7 computes them (checked against /usr/sbin/postconf on the
// same machine, with the same main.cf):
//
//   - process_id: the running process's pid.
//   - process_name: the last path component of argv[0].
//   - myhostname: the kernel's host name (gethostname); when it has no dot,
//     ".DOMAIN" is appended, where DOMAIN is mydomain as main.cf sets it,
//     or "localdomain" when main.cf does not set it. A numeric host name is
//     fatal ("unable to use my own hostname").
//   - mydomain: what follows the first dot of myhostname (possibly empty),
//     "localdomain" when it has no dot.
//   - mynetworks: one pattern per address of the interfaces that
//     inet_interfaces names (all, loopback-only or a list of addresses and
//     host names), restricted to the inet_protocols families, IPv4 before
//     IPv6 as the kernel lists them, in the form mynetworks_style asks:
//     host (a.b.c.d/32, [addr]/128), subnet (the interface's network) or
//     class (the IPv4 address class network; IPv6 as subnet).
//
// "postconf -d" computes these from built-in defaults only; plain
// "postconf" and the daemons use main.cf's values.

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/postfix-go/postfix/internal/msg"
)

// ComputedDefault returns the default of a Computed parameter; get returns
// another parameter's expanded value as the configuration says. It does
// not look at main.cf's explicit mydomain when it computes myhostname (see
// ComputedDefaultFunc). An error is fatal, as in Postfix. It returns "" for
// a parameter that is not computed.
func ComputedDefault(name string, get func(name string) string) string {
	v, err := ComputedDefaultFunc(name, get, nil)
	if err != nil {
		msg.Fatal("%s", err.Error())
	}
	return v
}

// ComputedDefaultFunc is ComputedDefault with an explicit function that
// returns the expanded value of a parameter only when main.cf (or an
// override) sets it: myhostname's default uses an explicit mydomain, and
// asking get for mydomain there would loop back to myhostname. explicit
// may be nil ("postconf -d" behaviour). The error text is Postfix's fatal
// message.
func ComputedDefaultFunc(name string, get func(string) string, explicit func(string) (string, bool)) (string, error) {
	switch name {
	case "process_id":
		return strconv.Itoa(os.Getpid()), nil
	case "process_name":
		return processName(), nil
	case "myhostname":
		return defaultHostname(explicit)
	case "mydomain":
		return domainOf(get("myhostname")), nil
	case "mynetworks":
		return Mynetworks(get("mynetworks_style"), get("inet_interfaces"), get("inet_protocols"))
	}
	return "", nil
}

func processName() string {
	if len(os.Args) == 0 {
		return ""
	}
	a := os.Args[0]
	if i := strings.LastIndexByte(a, '/'); i >= 0 {
		return a[i+1:]
	}
	return a
}

func defaultHostname(explicit func(string) (string, bool)) (string, error) {
	h, err := osHostname()
	if err != nil {
		return "", fmt.Errorf("gethostname: %v", err)
	}
	if _, err := netip.ParseAddr(h); err == nil {
		msg.Warn("valid_hostname: numeric hostname: %s", h)
		return "", fmt.Errorf("unable to use my own hostname")
	}
	if strings.IndexByte(h, '.') >= 0 {
		return h, nil
	}
	dom := "localdomain"
	if explicit != nil {
		if d, ok := explicit("mydomain"); ok {
			dom = d
		}
	}
	return h + "." + dom, nil
}

// osHostname is gethostname(2); tests replace it.
var osHostname = os.Hostname

// domainOf is mydomain's default for a given myhostname.
func domainOf(host string) string {
	if i := strings.IndexByte(host, '.'); i >= 0 {
		return host[i+1:]
	}
	return "localdomain"
}

// ifaceAddr is one interface address with its network.
type ifaceAddr struct {
	addr   netip.Addr
	prefix netip.Prefix
}

// interfaceAddrs lists the machine's addresses in kernel order; tests
// replace it.
var interfaceAddrs = func() ([]ifaceAddr, error) {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil, err
	}
	var out []ifaceAddr
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		ip, ok := netip.AddrFromSlice(ipn.IP)
		if !ok {
			continue
		}
		ip = ip.Unmap()
		ones, _ := ipn.Mask.Size()
		out = append(out, ifaceAddr{addr: ip, prefix: netip.PrefixFrom(ip, ones).Masked()})
	}
	return out, nil
}

// lookupHost resolves an inet_interfaces host name; tests replace it.
var lookupHost = func(name string) ([]netip.Addr, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return net.DefaultResolver.LookupNetIP(ctx, "ip", name)
}

// Mynetworks computes mynetworks's default from the values of
// mynetworks_style, inet_interfaces and inet_protocols. The error text is
// Postfix's fatal message.
func Mynetworks(style, interfaces, protocols string) (string, error) {
	want4, want6, err := parseProtocols(protocols)
	if err != nil {
		return "", err
	}
	// The style is a list of words of which exactly one must be given.
	words := SplitList(style)
	for _, w := range words {
		switch w {
		case "host", "subnet", "class":
		default:
			return "", fmt.Errorf("unknown mynetworks mask style value \"%s\" in \"%s\"", w, style)
		}
	}
	if len(words) != 1 {
		return "", fmt.Errorf("bad mynetworks_style value: %s; specify exactly one value", style)
	}
	style = words[0]
	if !want4 && !want6 {
		return "", nil
	}
	local, err := interfaceAddrs()
	if err != nil {
		return "", fmt.Errorf("could not find any active network interfaces: %v", err)
	}
	wanted := func(a netip.Addr) bool { return (a.Is4() && want4) || (a.Is6() && want6) }
	var chosen []ifaceAddr
	items := SplitList(interfaces)
	switch {
	case len(items) == 1 && items[0] == "all":
		for _, a := range local {
			if wanted(a.addr) {
				chosen = append(chosen, a)
			}
		}
	default:
		var names []string
		if len(items) == 1 && items[0] == "loopback-only" {
			names = []string{"127.0.0.1", "::1"}
		} else {
			names = items
		}
		for _, n := range names {
			addrs, err := interfaceTokenAddrs(n, wanted, len(items) == 1 && items[0] == "loopback-only")
			if err != nil {
				return "", err
			}
			for _, a := range addrs {
				found := false
				for _, l := range local {
					if l.addr == a {
						chosen = append(chosen, l)
						found = true
						break
					}
				}
				if !found {
					return "", fmt.Errorf("parameter inet_interfaces: no local interface found for %s", a)
				}
			}
		}
	}
	parts := make([]string, 0, len(chosen))
	for _, a := range chosen {
		parts = append(parts, networkPattern(a, style))
	}
	return strings.Join(parts, " "), nil
}

// interfaceTokenAddrs turns one inet_interfaces item into addresses of the
// wanted families.
func interfaceTokenAddrs(item string, wanted func(netip.Addr) bool, loopback bool) ([]netip.Addr, error) {
	lit := item
	if strings.HasPrefix(lit, "[") && strings.HasSuffix(lit, "]") {
		lit = lit[1 : len(lit)-1]
	}
	if a, err := netip.ParseAddr(lit); err == nil {
		a = a.Unmap()
		if !wanted(a) {
			if loopback {
				return nil, nil
			}
			return nil, fmt.Errorf("config variable inet_interfaces: host not found: %s", item)
		}
		return []netip.Addr{a}, nil
	}
	found, err := lookupHost(item)
	var out []netip.Addr
	for _, a := range found {
		a = a.Unmap()
		if wanted(a) {
			out = append(out, a)
		}
	}
	if err != nil || len(out) == 0 {
		return nil, fmt.Errorf("config variable inet_interfaces: host not found: %s", item)
	}
	return out, nil
}

// parseProtocols reads inet_protocols.
func parseProtocols(v string) (want4, want6 bool, err error) {
	for _, p := range SplitList(v) {
		switch p {
		case "ipv4":
			want4 = true
		case "ipv6":
			want6 = true
		case "all":
			want4, want6 = true, true
		default:
			return false, false, fmt.Errorf("unknown inet_protocols value %q in %q", p, v)
		}
	}
	return want4, want6, nil
}

// networkPattern formats one mynetworks entry.
func networkPattern(a ifaceAddr, style string) string {
	p := a.prefix
	switch style {
	case "host":
		p = netip.PrefixFrom(a.addr, a.addr.BitLen())
	case "class":
		if a.addr.Is4() {
			b := a.addr.As4()[0]
			bits := 32
			switch {
			case b < 128:
				bits = 8
			case b < 192:
				bits = 16
			case b < 224:
				bits = 24
			}
			p = netip.PrefixFrom(a.addr, bits).Masked()
		}
	}
	if p.Addr().Is6() {
		return "[" + p.Addr().String() + "]/" + strconv.Itoa(p.Bits())
	}
	return p.String()
}
