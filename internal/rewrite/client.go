package rewrite

import (
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/postfix-go/postfix/conf"
	"github.com/postfix-go/postfix/internal/address"
	"github.com/postfix-go/postfix/internal/attr"
	"github.com/postfix-go/postfix/internal/ipc"
)

// Protocol is the name trivial-rewrite announces on each new connection.
const Protocol = "trivial_rewrite_protocol"

// Request names, as Postfix's clients send them in the "request" attribute.
const (
	ReqRewrite = "rewrite" // rewrite one address with a rule set
	ReqResolve = "resolve" // resolve a recipient for delivery
	ReqVerify  = "verify"  // resolve for address verification probes
)

// Rule set names for Rewrite.
const (
	RuleLocal  = "local"  // complete with $myorigin and $mydomain
	RuleRemote = "remote" // complete with $remote_header_rewrite_domain
)

// Resolution flags: Postfix's RESOLVE_FLAG_* and RESOLVE_CLASS_* values.
const (
	FlagFinal    = 1 << 0  // final delivery (unused by Postfix, kept for the wire)
	FlagRouted   = 1 << 1  // the local part still holds routing operators
	FlagError    = 1 << 2  // the resolved domain has bad syntax
	FlagFail     = 1 << 3  // the request failed (table unreadable): try again later
	ClassLocal   = 1 << 8  // $mydestination, $inet_interfaces, $proxy_interfaces
	ClassAlias   = 1 << 9  // $virtual_alias_domains
	ClassVirtual = 1 << 10 // $virtual_mailbox_domains
	ClassRelay   = 1 << 11 // $relay_domains
	ClassDefault = 1 << 12 // anything else
)

// ClassFinal is every class for which this machine is the final destination.
const ClassFinal = ClassLocal | ClassAlias | ClassVirtual

// ClassMask selects the address class bits of Resolution.Flags.
const ClassMask = ClassLocal | ClassAlias | ClassVirtual | ClassRelay | ClassDefault

// Resolution is the answer to a resolve or verify request.
type Resolution struct {
	// Flags holds the Flag* and Class* bits.
	Flags int
	// Transport is the master.cf service that delivers the recipient.
	Transport string
	// Nexthop is the transport's destination (for error, the reason text).
	Nexthop string
	// Recipient is the resolved recipient in internal form.
	Recipient string
}

// dialTimeout bounds the connect to the rewrite service.
const dialTimeout = 10 * time.Second

// dialService connects to private/svc: relative to the queue directory
// inside a daemon, absolute elsewhere (internal/ipc decides).
func dialService(c *conf.Config, svc string) (net.Conn, error) {
	return ipc.Dial(c, "private", svc, dialTimeout)
}

// Client talks to the trivial-rewrite service. It is safe for concurrent
// use: requests are serialised over one connection, which is dialled on
// first use and redialled once when an exchange fails.
type Client struct {
	// Dial opens a connection to the service; NewClient sets it.
	Dial func() (net.Conn, error)
	// Name is the peer's name in diagnostics ("private/rewrite").
	Name string
	// Timeout bounds each exchange ($ipc_timeout).
	Timeout time.Duration
	// IdleTimeout and TTL close a connection that sat unused for
	// $ipc_idle, or that is older than $ipc_ttl, before the next request.
	IdleTimeout, TTL time.Duration

	mu      sync.Mutex
	conn    *attr.Client
	opened  time.Time
	lastUse time.Time
}

// NewClient returns a client for private/$rewrite_service_name of the
// mail system that c describes.
func NewClient(c *conf.Config) *Client {
	svc := c.Get("rewrite_service_name")
	return &Client{
		Dial: func() (net.Conn, error) {
			return dialService(c, svc)
		},
		Name:        "private/" + svc,
		Timeout:     c.Time("ipc_timeout", 's'),
		IdleTimeout: c.Time("ipc_idle", 's'),
		TTL:         c.Time("ipc_ttl", 's'),
	}
}

// NewClientDial returns a client that opens its connections with dial; name
// is the service's socket name for diagnostics.
func NewClientDial(name string, dial func() (net.Conn, error)) *Client {
	return &Client{Dial: dial, Name: name, Timeout: time.Hour}
}

// connect returns the open connection, dialling when there is none or when
// the current one has been idle or alive too long.
func (cl *Client) connect() (*attr.Client, error) {
	now := time.Now()
	if cl.conn != nil && ((cl.IdleTimeout > 0 && now.Sub(cl.lastUse) > cl.IdleTimeout) ||
		(cl.TTL > 0 && now.Sub(cl.opened) > cl.TTL)) {
		cl.drop()
	}
	if cl.conn != nil {
		return cl.conn, nil
	}
	conn, err := cl.Dial()
	if err != nil {
		return nil, err
	}
	ac, err := attr.NewClient(conn, attr.Zero, cl.Name, Protocol, cl.Timeout)
	if err != nil {
		conn.Close()
		return nil, err
	}
	cl.conn, cl.opened = ac, now
	return ac, nil
}

func (cl *Client) drop() {
	if cl.conn != nil {
		cl.conn.Close()
		cl.conn = nil
	}
}

// call sends req and scans the reply into wants. The first "flags" of
// every reply is the server's: when not zero the server asks its clients to
// reconnect. A failed exchange is retried once on a new connection.
func (cl *Client) call(req []attr.Attr, wants ...attr.Want) error {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	var serverFlags uint32
	all := append([]attr.Want{attr.WantInt("flags", &serverFlags)}, wants...)
	var err error
	for try := 0; try < 2; try++ {
		var ac *attr.Client
		if ac, err = cl.connect(); err != nil {
			continue
		}
		if err = ac.Call(req, all...); err != nil {
			cl.drop()
			continue
		}
		cl.lastUse = time.Now()
		if serverFlags != 0 {
			cl.drop()
		}
		return nil
	}
	return fmt.Errorf("problem talking to service %s: %w", cl.Name, err)
}

// Rewrite rewrites addr (internal form) with the rule set ("local" or
// "remote") and returns the result in internal form, as Postfix's
// rewrite_clnt_internal does.
func (cl *Client) Rewrite(ruleset, addr string) (string, error) {
	out, err := cl.RewriteExternal(ruleset, address.External(addr))
	if err != nil {
		return "", err
	}
	return address.Internal(out), nil
}

// RewriteExternal rewrites addr given and returned in external (quoted)
// form, which is what the protocol carries.
func (cl *Client) RewriteExternal(ruleset, addr string) (string, error) {
	var out string
	err := cl.call([]attr.Attr{attr.Str("request", ReqRewrite), attr.Str("rule", ruleset), attr.Str("address", addr)},
		attr.WantStr("address", &out))
	return out, err
}

// Resolve resolves the recipient addr (internal form) of a message from
// sender to a transport, nexthop and recipient.
func (cl *Client) Resolve(sender, addr string) (Resolution, error) {
	return cl.resolve(ReqResolve, sender, addr)
}

// Verify is Resolve with the address verification personality
// (address_verify_* parameters).
func (cl *Client) Verify(sender, addr string) (Resolution, error) {
	return cl.resolve(ReqVerify, sender, addr)
}

func (cl *Client) resolve(req, sender, addr string) (Resolution, error) {
	var r Resolution
	var flags uint32
	err := cl.call([]attr.Attr{attr.Str("request", req), attr.Str("sender", sender), attr.Str("address", addr)},
		attr.WantStr("transport", &r.Transport), attr.WantStr("nexthop", &r.Nexthop),
		attr.WantStr("recipient", &r.Recipient), attr.WantInt("flags", &flags))
	if err != nil {
		return Resolution{}, err
	}
	r.Flags = int(flags)
	if r.Flags&FlagFail == 0 {
		if r.Transport == "" {
			return Resolution{}, fmt.Errorf("resolve_clnt: null transport result for: <%s>", addr)
		}
		if r.Recipient == "" && addr != "" {
			return Resolution{}, fmt.Errorf("resolve_clnt: null recipient result for: <%s>", addr)
		}
	}
	return r, nil
}

// Close closes the connection, if any; the client stays usable.
func (cl *Client) Close() error {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	cl.drop()
	return nil
}
