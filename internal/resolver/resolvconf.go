package resolver

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// ResolvConfig is what ParseResolvConf found in a resolv.conf file.
type ResolvConfig struct {
	Servers  []string      // "host:port", at most three, as the C library uses
	Search   []string      // search list (parsed, never applied)
	Timeout  time.Duration // options timeout:N (seconds; default 5, at most 30)
	Attempts int           // options attempts:N (default 2, at most 5)
	Ndots    int           // options ndots:N (default 1, at most 15)
	Rotate   bool          // options rotate
}

// maxNameservers is the C library's MAXNS.
const maxNameservers = 3

// ParseResolvConf parses resolv.conf text the way the C library does:
// unknown keywords and malformed values are ignored. The returned warnings
// ("line N: ...") describe what was ignored; the C library says nothing, and
// neither does New.
func ParseResolvConf(text string) (ResolvConfig, []string) {
	cfg := ResolvConfig{Timeout: 5 * time.Second, Attempts: 2, Ndots: 1}
	var warns []string
	warn := func(n int, f string, a ...any) {
		warns = append(warns, fmt.Sprintf("line %d: ", n)+fmt.Sprintf(f, a...))
	}
	for i, line := range strings.Split(text, "\n") {
		n := i + 1
		if j := strings.IndexAny(line, "#;"); j >= 0 {
			line = line[:j]
		}
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		switch f[0] {
		case "nameserver":
			if len(f) < 2 {
				warn(n, "nameserver without address")
				continue
			}
			host := f[1]
			if k := strings.IndexByte(host, '%'); k >= 0 {
				host = host[:k] // zone suffix: dropped
			}
			if _, err := netip.ParseAddr(host); err != nil {
				warn(n, "bad nameserver address %q", f[1])
				continue
			}
			if len(cfg.Servers) >= maxNameservers {
				warn(n, "more than %d nameservers: %s ignored", maxNameservers, f[1])
				continue
			}
			cfg.Servers = append(cfg.Servers, net.JoinHostPort(host, "53"))
		case "search", "domain":
			// The last search or domain line wins.
			cfg.Search = append([]string(nil), f[1:]...)
		case "options":
			for _, o := range f[1:] {
				key, val, hasVal := strings.Cut(o, ":")
				num := func(max int) (int, bool) {
					v, err := strconv.Atoi(val)
					if !hasVal || err != nil || v < 0 {
						warn(n, "bad option %q", o)
						return 0, false
					}
					if v > max {
						v = max
					}
					return v, true
				}
				switch key {
				case "timeout":
					if v, ok := num(30); ok {
						if v == 0 {
							v = 1
						}
						cfg.Timeout = time.Duration(v) * time.Second
					}
				case "attempts":
					if v, ok := num(5); ok {
						if v == 0 {
							v = 1
						}
						cfg.Attempts = v
					}
				case "ndots":
					if v, ok := num(15); ok {
						cfg.Ndots = v
					}
				case "rotate":
					cfg.Rotate = true
				default:
					warn(n, "option %q ignored", o)
				}
			}
		default:
			warn(n, "keyword %q ignored", f[0])
		}
	}
	return cfg, warns
}
