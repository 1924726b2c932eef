// Package resolver is the name service of the Postfix daemons: DNS lookups
// through github.com/miekg/dns, with /etc/hosts consulted first for
// name-to-address and address-to-name lookups, as the C library does with
// "hosts: files dns" in nsswitch.conf. smtpd uses it for the client's
// host name (ClientName, Postfix's smtpd_peer logic), for the DNS-based
// restrictions (MX, NS, A/AAAA of sender and recipient domains) and for
// DNS blocklists (package internal/dnsbl).
//
// Name servers. New reads /etc/resolv.conf once: up to three "nameserver"
// lines, and "options timeout:N attempts:N ndots:N rotate". Each query is
// sent over UDP to each server in turn, attempts times, each try waiting
// timeout (defaults 5 s and 2, as in the C library); a truncated UDP answer
// is asked again over TCP. Queries are always for absolute names: the
// "search" and "domain" lines are parsed but never applied, because smtpd
// only asks for names it already has in full. For tests the environment
// variable PFGO_DNS_SERVER=host:port[,host:port…] replaces the name servers
// (daemons receive it through import_environment), and
// PFGO_DNS_TIMEOUT=duration (Go syntax, "500ms") replaces the per-try
// timeout, with one attempt.
//
// Errors. A lookup error satisfies errors.Is(err, ErrNotFound) when the
// name does not exist (NXDOMAIN) or has no data of the asked type, and
// errors.Is(err, ErrTemp) when the answer could not be had (SERVFAIL,
// REFUSED, timeout, network trouble): callers turn ErrTemp into a 4XX
// reply, never into "not listed". The concrete type is *Error.
//
// /etc/hosts. Addrs and the forward check of ClientName look the name up
// in the hosts file first ("multi on": every matching line counts); PTR
// returns the first name of the first line listing the address. Only when
// the file has no answer is the DNS asked. The file is re-read when its
// modification time changes; inside a chroot jail where it cannot be
// found, the copy read before the jail stays in use. Malformed lines are
// skipped silently, as the C library skips them (ParseHosts reports them
// for tests).
//
// Cache. Answers are kept per process for their TTL (at most five
// minutes); NXDOMAIN and no-data answers for at most one minute;
// temporary failures are not kept. Records with TTL 0 are not cached.
//
// Parameters read from main.cf: disable_dns_lookups (yes: only /etc/hosts
// answers, every DNS lookup fails with ErrNotFound; smtpd's client name
// lookup then works as with "hosts: files"). smtpd_peername_lookup is
// smtpd's business (it simply does not call ClientName).
//
// Security: answers are parsed by miekg/dns; message IDs are random per
// query and an answer whose question does not match is discarded by the
// client library. Nothing here runs with privileges.
package resolver

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
	"github.com/postfix-go/postfix/conf"
)

// ErrNotFound is matched (errors.Is) by lookups whose name does not exist
// or has no record of the asked type.
var ErrNotFound = errors.New("not found")

// ErrTemp is matched (errors.Is) by lookups that failed for a reason that
// may go away: SERVFAIL, REFUSED, timeout, network trouble.
var ErrTemp = errors.New("temporary failure")

// Error describes a failed lookup.
type Error struct {
	Name     string // the name asked for, without the trailing dot
	Type     uint16 // the record type asked for
	Rcode    int    // the DNS response code, or -1 when no answer came
	NXDomain bool   // the name does not exist (as opposed to: no data of this type)
	Temp     bool   // a temporary failure
	Err      error  // the network error, if any
}

// Error returns a description in Postfix's dns_lookup words.
func (e *Error) Error() string {
	t := dns.TypeToString[e.Type]
	switch {
	case e.Temp:
		return fmt.Sprintf("Host or domain name not found. Name service error for name=%s type=%s: Host not found, try again", e.Name, t)
	case e.NXDomain:
		return fmt.Sprintf("Host or domain name not found. Name service error for name=%s type=%s: Host not found", e.Name, t)
	default:
		return fmt.Sprintf("Host or domain name not found. Name service error for name=%s type=%s: No address associated with hostname", e.Name, t)
	}
}

// Is makes errors.Is(err, ErrNotFound) and errors.Is(err, ErrTemp) work.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrTemp:
		return e.Temp
	case ErrNotFound:
		return !e.Temp
	}
	return false
}

// Unwrap returns the network error, if any.
func (e *Error) Unwrap() error { return e.Err }

// Options configures a Resolver made by NewWith.
type Options struct {
	Servers   []string      // "host:port" of each name server, tried in order
	Timeout   time.Duration // wait for one try (default 5s)
	Attempts  int           // rounds over all servers (default 2)
	Rotate    bool          // start with a different server for each query
	HostsFile string        // "" means /etc/hosts; "-" means none
	NoDNS     bool          // answer from the hosts file only
	NoCache   bool          // keep no answers
}

// Resolver answers name service questions; it is safe for concurrent use.
type Resolver struct {
	opt   Options
	hosts *hostsFile
	cache *cache
	mu    sync.Mutex
	next  int // rotate position
}

// ResolvConf is where New reads the name servers from.
const ResolvConf = "/etc/resolv.conf"

// New makes the resolver of a daemon: the name servers of /etc/resolv.conf
// (or PFGO_DNS_SERVER), /etc/hosts, and main.cf's disable_dns_lookups. c may
// be nil (defaults).
func New(c *conf.Config) *Resolver {
	var o Options
	if rc, err := os.ReadFile(ResolvConf); err == nil {
		cfg, _ := ParseResolvConf(string(rc))
		o.Servers = cfg.Servers
		o.Timeout = cfg.Timeout
		o.Attempts = cfg.Attempts
		o.Rotate = cfg.Rotate
	}
	if len(o.Servers) == 0 {
		o.Servers = []string{"127.0.0.1:53"}
	}
	if env := os.Getenv("PFGO_DNS_SERVER"); env != "" {
		o.Servers = nil
		for _, s := range strings.Split(env, ",") {
			if s = strings.TrimSpace(s); s != "" {
				o.Servers = append(o.Servers, s)
			}
		}
		o.Attempts = 1
	}
	if env := os.Getenv("PFGO_DNS_TIMEOUT"); env != "" {
		if d, err := time.ParseDuration(env); err == nil && d > 0 {
			o.Timeout = d
			o.Attempts = 1
		}
	}
	if c != nil && c.Bool("disable_dns_lookups") {
		o.NoDNS = true
	}
	return NewWith(o)
}

// NewWith makes a resolver from explicit options (tests, tools).
func NewWith(o Options) *Resolver {
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Second
	}
	if o.Attempts <= 0 {
		o.Attempts = 2
	}
	path := o.HostsFile
	if path == "" {
		path = "/etc/hosts"
	}
	r := &Resolver{opt: o}
	if path != "-" {
		r.hosts = openHosts(path)
	}
	if !o.NoCache {
		r.cache = newCache()
	}
	return r
}

// Servers returns the name servers in use ("host:port").
func (r *Resolver) Servers() []string { return append([]string(nil), r.opt.Servers...) }
