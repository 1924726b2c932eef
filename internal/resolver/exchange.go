package resolver

import (
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// maxCNAME bounds the CNAME chain Lookup follows.
const maxCNAME = 8

// Lookup asks the DNS for records of type qtype for name (an absolute
// name; a trailing dot is optional) and returns the records of that type
// in the answer, following CNAME chains. The hosts file is not consulted.
func (r *Resolver) Lookup(name string, qtype uint16) ([]dns.RR, error) {
	name = strings.TrimSuffix(name, ".")
	if r.opt.NoDNS {
		return nil, &Error{Name: name, Type: qtype, Rcode: -1, NXDomain: true}
	}
	q := dns.Fqdn(name)
	for range maxCNAME {
		rrs, cname, err := r.query(q, qtype)
		if err != nil {
			if e, ok := err.(*Error); ok {
				c := *e // cached errors are shared: copy
				c.Name = name
				return nil, &c
			}
			return nil, err
		}
		if cname == "" {
			return rrs, nil
		}
		q = cname
	}
	return nil, &Error{Name: name, Type: qtype, Rcode: dns.RcodeServerFailure, Temp: true}
}

// query answers one question; cname is set when the answer holds only a
// CNAME for the name (the caller asks again for its target).
func (r *Resolver) query(q string, qtype uint16) (rrs []dns.RR, cname string, err error) {
	key := cacheKey{strings.ToLower(q), qtype}
	if e, ok := r.cache.get(key); ok {
		return e.rrs, e.cname, e.err
	}
	m, err := r.exchange(q, qtype)
	if err != nil {
		return nil, "", err
	}
	name := strings.TrimSuffix(q, ".")
	switch m.Rcode {
	case dns.RcodeSuccess:
	case dns.RcodeNameError:
		err := &Error{Name: name, Type: qtype, Rcode: m.Rcode, NXDomain: true}
		r.cache.put(key, entry{err: err}, negTTL(m))
		return nil, "", err
	default:
		return nil, "", &Error{Name: name, Type: qtype, Rcode: m.Rcode, Temp: true}
	}
	// Walk the answer: records of the asked type for the name (or the end
	// of a CNAME chain inside the answer).
	owner := q
	ttl := uint32(maxTTL)
	for range maxCNAME + 1 {
		var next string
		for _, rr := range m.Answer {
			h := rr.Header()
			if !strings.EqualFold(h.Name, owner) {
				continue
			}
			if h.Rrtype == qtype {
				rrs = append(rrs, rr)
				ttl = min(ttl, h.Ttl)
			} else if c, ok := rr.(*dns.CNAME); ok && qtype != dns.TypeCNAME {
				next = c.Target
				ttl = min(ttl, h.Ttl)
			}
		}
		if len(rrs) > 0 || next == "" {
			break
		}
		owner = next
	}
	if len(rrs) == 0 && owner != q {
		// The chain left the answer: ask for its end.
		r.cache.put(key, entry{cname: owner}, ttl)
		return nil, owner, nil
	}
	if len(rrs) == 0 {
		err := &Error{Name: name, Type: qtype, Rcode: m.Rcode}
		r.cache.put(key, entry{err: err}, negTTL(m))
		return nil, "", err
	}
	r.cache.put(key, entry{rrs: rrs}, ttl)
	return rrs, "", nil
}

// exchange sends the question to the name servers, UDP first and TCP
// when the UDP answer is truncated, as the C library does.
func (r *Resolver) exchange(q string, qtype uint16) (*dns.Msg, error) {
	m := new(dns.Msg)
	m.SetQuestion(q, qtype)
	m.RecursionDesired = true
	servers := r.opt.Servers
	if r.opt.Rotate && len(servers) > 1 {
		r.mu.Lock()
		k := r.next % len(servers)
		r.next++
		r.mu.Unlock()
		servers = append(append([]string(nil), servers[k:]...), servers[:k]...)
	}
	var lastErr error
	lastRcode := -1
	for range r.opt.Attempts {
		for _, s := range servers {
			c := &dns.Client{Net: "udp", Timeout: r.opt.Timeout}
			in, _, err := c.Exchange(m, s)
			if err == nil && in.Truncated {
				c.Net = "tcp"
				in, _, err = c.Exchange(m, s)
			}
			if err != nil {
				lastErr = err
				continue
			}
			switch in.Rcode {
			case dns.RcodeSuccess, dns.RcodeNameError:
				return in, nil
			}
			// SERVFAIL, REFUSED, …: try the next server.
			lastRcode = in.Rcode
		}
	}
	name := strings.TrimSuffix(q, ".")
	if lastRcode >= 0 {
		return &dns.Msg{MsgHdr: dns.MsgHdr{Rcode: lastRcode}}, nil
	}
	return nil, &Error{Name: name, Type: qtype, Rcode: -1, Temp: true, Err: lastErr}
}

// Cache limits.
const (
	maxTTL       = 300
	maxNegTTL    = 60
	maxCacheSize = 4096
)

func negTTL(m *dns.Msg) uint32 {
	for _, rr := range m.Ns {
		if soa, ok := rr.(*dns.SOA); ok {
			return min(soa.Hdr.Ttl, soa.Minttl, maxNegTTL)
		}
	}
	return 0
}

type cacheKey struct {
	name  string
	qtype uint16
}

type entry struct {
	rrs     []dns.RR
	cname   string
	err     error
	expires time.Time
}

type cache struct {
	mu sync.Mutex
	m  map[cacheKey]entry
}

func newCache() *cache { return &cache{m: make(map[cacheKey]entry)} }

func (c *cache) get(k cacheKey) (entry, bool) {
	if c == nil {
		return entry{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[k]
	if !ok {
		return entry{}, false
	}
	if time.Now().After(e.expires) {
		delete(c.m, k)
		return entry{}, false
	}
	return e, true
}

func (c *cache) put(k cacheKey, e entry, ttl uint32) {
	if c == nil || ttl == 0 {
		return
	}
	ttl = min(ttl, maxTTL)
	e.expires = time.Now().Add(time.Duration(ttl) * time.Second)
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= maxCacheSize {
		now := time.Now()
		for k2, e2 := range c.m {
			if now.After(e2.expires) || len(c.m) >= maxCacheSize {
				delete(c.m, k2)
			}
		}
	}
	c.m[k] = e
}
