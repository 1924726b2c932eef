package anvil

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/postfix-go/postfix/conf"
	"github.com/postfix-go/postfix/internal/attr"
	"github.com/postfix-go/postfix/internal/ipc"
	"github.com/postfix-go/postfix/internal/maillog"
)

// ErrUnavailable wraps every client error: anvil could not be asked, and
// the caller carries on without the limit, as Postfix's smtpd does.
var ErrUnavailable = errors.New("anvil service unavailable")

// Client talks to the anvil service. It is safe for concurrent use by
// many SMTP sessions.
//
// anvil ties a connection count to the client connection that reported
// it: one anvil connection stands for one SMTP session at a time (Postfix
// runs one session per smtpd process). So Connect takes a connection of
// its own from a pool and keeps it bound to (service, addr) until a
// Disconnect for the same pair takes it back (the sessions of one pair are
// interchangeable, so any one of its bound connections will do, but each
// Disconnect takes a different one); rate requests travel over a
// connection bound to their pair. A connection that breaks is closed and
// the request is tried once more on a new one after RetryDelay, as
// Postfix's attr_clnt does; anvil then forgets the session, as it does
// for Postfix's smtpd.
type Client struct {
	// Dial opens a connection to the service; NewClient sets it.
	Dial func() (net.Conn, error)
	// Name is the service's socket name in diagnostics ("private/anvil").
	Name string
	// Timeout bounds each exchange ($ipc_timeout).
	Timeout time.Duration
	// IdleTimeout and TTL close a pooled connection unused for $ipc_idle
	// or older than $ipc_ttl before its next use.
	IdleTimeout, TTL time.Duration
	// RetryDelay is the pause before the second try (Postfix: 1s).
	RetryDelay time.Duration
	// Warn logs a warning; nil means maillog.Warn.
	Warn func(format string, args ...any)

	mu    sync.Mutex
	free  []*conn            // idle connections, bound to nobody
	bound map[string][]*conn // connections bound by Connect, by ident
}

// conn is one connection to anvil.
type conn struct {
	mu           sync.Mutex // one exchange at a time
	nc           net.Conn
	ac           *attr.Client
	opened, used time.Time
}

// stale reports whether anvil closed (or wrote to) the idle connection:
// Postfix's client checks that before it sends, and reconnects quietly.
func (c *conn) stale() bool {
	return ipc.PeerDone(c.nc)
}

// NewClient returns a client for private/anvil of the mail system c
// describes; no connection is made before the first request.
func NewClient(c *conf.Config) *Client {
	return &Client{
		Dial: func() (net.Conn, error) {
			return ipc.Dial(c, "private", ServiceName, c.Time("ipc_timeout", 's'))
		},
		Name:        "private/" + ServiceName,
		Timeout:     c.Time("ipc_timeout", 's'),
		IdleTimeout: c.Time("ipc_idle", 's'),
		TTL:         c.Time("ipc_ttl", 's'),
		RetryDelay:  time.Second,
	}
}

// NewClientDial returns a client that opens connections with dial; name
// is the service's socket name in diagnostics.
func NewClientDial(name string, dial func() (net.Conn, error)) *Client {
	return &Client{Dial: dial, Name: name, Timeout: time.Hour, RetryDelay: time.Second}
}

// Ident is the key anvil counts under: "SERVICE:ADDR".
func Ident(service, addr string) string { return service + ":" + addr }

func (a *Client) warn(format string, args ...any) {
	if a.Warn != nil {
		a.Warn(format, args...)
		return
	}
	maillog.Warn(format, args...)
}

// take returns a connection for a request of the given mode (see
// exchange) about ident: one bound to it when there is one, else a free
// one (removed from the pool), else nil. A rate request leaves the bound
// connection bound; a disconnect takes it out of the bound list, so that
// two sessions of one client ending at the same moment never both end
// the session of the same connection (which left the other one counted
// for ever and put one connection in the pool twice).
func (a *Client) take(ident string, mode bindMode) (*conn, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if mode != modeBind {
		if cs := a.bound[ident]; len(cs) > 0 {
			c := cs[len(cs)-1]
			if mode == modeUnbind {
				if len(cs) == 1 {
					delete(a.bound, ident)
				} else {
					a.bound[ident] = cs[:len(cs)-1]
				}
			}
			return c, true
		}
	}
	now := time.Now()
	for len(a.free) > 0 {
		c := a.free[len(a.free)-1]
		a.free = a.free[:len(a.free)-1]
		if (a.IdleTimeout > 0 && now.Sub(c.used) > a.IdleTimeout) || (a.TTL > 0 && now.Sub(c.opened) > a.TTL) {
			c.ac.Close()
			continue
		}
		return c, false
	}
	return nil, false
}

// put returns c to the pool, bound to ident when bind is set.
func (a *Client) put(c *conn, ident string, bind bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if bind {
		if a.bound == nil {
			a.bound = make(map[string][]*conn)
		}
		a.bound[ident] = append(a.bound[ident], c)
		return
	}
	a.free = append(a.free, c)
}

// unbind removes c from ident's bound list.
func (a *Client) unbind(c *conn, ident string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	cs := a.bound[ident]
	for i, x := range cs {
		if x == c {
			cs = append(cs[:i], cs[i+1:]...)
			break
		}
	}
	if len(cs) == 0 {
		delete(a.bound, ident)
	} else {
		a.bound[ident] = cs
	}
}

func (a *Client) open() (*conn, error) {
	nc, err := a.Dial()
	if err != nil {
		a.warn("connect to %s: %s", a.Name, errText(err))
		return nil, err
	}
	ac, err := attr.NewClient(nc, attr.Plain, a.Name, Protocol, a.Timeout)
	if err != nil {
		nc.Close()
		return nil, err
	}
	now := time.Now()
	return &conn{nc: nc, ac: ac, opened: now, used: now}, nil
}

// bindMode is what a request does to its connection's binding.
type bindMode int

const (
	modeNone   bindMode = iota // a rate or lookup request
	modeBind                   // connect: binds the connection to the session
	modeUnbind                 // disconnect: ends the binding
)

// exchange sends req for ident and scans the reply into wants; mode says
// what the request does to the connection's binding.
func (a *Client) exchange(ident string, mode bindMode, req []attr.Attr, wants ...attr.Want) error {
	var status uint32
	all := append([]attr.Want{attr.WantInt(AttrStatus, &status)}, wants...)
	var err error
	for try := 1; ; try++ {
		c, wasBound := a.take(ident, mode)
		if c != nil {
			c.mu.Lock()
			if c.stale() {
				c.mu.Unlock()
				c.ac.Close()
				if wasBound {
					// anvil went away (postfix reload) and forgot
					// the session.
					if mode == modeUnbind {
						return nil
					}
					a.unbind(c, ident)
				}
				c, wasBound = nil, false
			}
		}
		if c == nil {
			if c, err = a.open(); c != nil {
				c.mu.Lock()
			}
		}
		if c != nil {
			err = c.ac.Call(req, all...)
			c.used = time.Now()
			c.mu.Unlock()
			if err == nil {
				switch {
				case wasBound && mode == modeUnbind:
					a.put(c, "", false)
				case !wasBound:
					a.put(c, ident, mode == modeBind)
				}
				if status != StatusOK {
					return fmt.Errorf("%w: %s: request %s: status %d", ErrUnavailable, a.Name, req[0].S, int32(status))
				}
				return nil
			}
			var ae *attr.Error
			if errors.As(err, &ae) && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && quietErr(err) {
				a.warn("%s", ae.Msg)
			}
			if wasBound && mode != modeUnbind {
				a.unbind(c, ident)
			}
			c.ac.Close()
		}
		if try >= 2 || !quietErr(err) {
			a.warn("problem talking to server %s: %s", a.Name, errText(err))
		}
		if try >= 2 {
			return fmt.Errorf("%w: %s: %v", ErrUnavailable, a.Name, err)
		}
		if mode == modeUnbind && wasBound {
			// anvil forgot the session with the broken connection.
			return nil
		}
		time.Sleep(a.RetryDelay)
	}
}

// quietErr reports whether Postfix's attr_clnt keeps quiet about err on a
// first failure (no such socket, a peer that hung up).
func quietErr(err error) bool {
	var en syscall.Errno
	if errors.As(err, &en) {
		return en == syscall.ENOENT || en == syscall.EPIPE || en == syscall.ECONNRESET
	}
	var ne net.Error
	return !(errors.As(err, &ne) && ne.Timeout())
}

// errText is the strerror-like text of err's cause.
func errText(err error) string {
	var en syscall.Errno
	if errors.As(err, &en) {
		return ipc.Errno{Errno: en}.Error()
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "Connection timed out"
	}
	return "Application error"
}

func request(name, ident string) []attr.Attr {
	return []attr.Attr{attr.Str(AttrRequest, name), attr.Str(AttrIdent, ident)}
}

// Connect registers a new session of addr on service and returns the
// number of simultaneous sessions and the connection rate per
// anvil_rate_time_unit. A successful Connect holds an anvil connection
// until the matching Disconnect, which every session must send.
func (a *Client) Connect(service, addr string) (count, rate int, err error) {
	id := Ident(service, addr)
	var n, r uint32
	err = a.exchange(id, modeBind, request(ReqConnect, id), attr.WantInt(AttrCount, &n), attr.WantInt(AttrRate, &r))
	return int(n), int(r), err
}

// Disconnect ends a session registered with Connect.
func (a *Client) Disconnect(service, addr string) error {
	id := Ident(service, addr)
	return a.exchange(id, modeUnbind, request(ReqDisconnect, id))
}

func (a *Client) rate(req, service, addr string) (int, error) {
	id := Ident(service, addr)
	var r uint32
	err := a.exchange(id, modeNone, request(req, id), attr.WantInt(AttrRate, &r))
	return int(r), err
}

// Mail registers a MAIL FROM and returns the message rate.
func (a *Client) Mail(service, addr string) (rate int, err error) {
	return a.rate(ReqMessage, service, addr)
}

// Rcpt registers a RCPT TO and returns the recipient rate.
func (a *Client) Rcpt(service, addr string) (rate int, err error) {
	return a.rate(ReqRecipient, service, addr)
}

// NewTLS registers a new (uncached) TLS session and returns its rate.
func (a *Client) NewTLS(service, addr string) (rate int, err error) {
	return a.rate(ReqNewTLS, service, addr)
}

// NewTLSReport returns the new TLS session rate without counting.
func (a *Client) NewTLSReport(service, addr string) (rate int, err error) {
	return a.rate(ReqNewTLSReport, service, addr)
}

// Auth registers an AUTH command and returns the AUTH rate.
func (a *Client) Auth(service, addr string) (rate int, err error) {
	return a.rate(ReqAuth, service, addr)
}

// Lookup returns what anvil knows about (service, addr) without changing it.
func (a *Client) Lookup(service, addr string) (Stats, error) {
	id := Ident(service, addr)
	var s [6]uint32
	err := a.exchange(id, modeNone, request(ReqLookup, id), attr.WantInt(AttrCount, &s[0]), attr.WantInt(AttrRate, &s[1]),
		attr.WantInt(AttrMail, &s[2]), attr.WantInt(AttrRcpt, &s[3]), attr.WantInt(AttrNewTLS, &s[4]), attr.WantInt(AttrAuth, &s[5]))
	return Stats{Count: int(s[0]), Rate: int(s[1]), Mail: int(s[2]), Rcpt: int(s[3]), NewTLS: int(s[4]), Auth: int(s[5])}, err
}

// Close closes every pooled connection; anvil forgets their sessions.
func (a *Client) Close() {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, c := range a.free {
		c.ac.Close()
	}
	for _, cs := range a.bound {
		for _, c := range cs {
			c.ac.Close()
		}
	}
	a.free, a.bound = nil, nil
}
