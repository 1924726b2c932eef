package policy

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/postfix-go/postfix/conf"
	"github.com/postfix-go/postfix/internal/attr"
	"github.com/postfix-go/postfix/internal/ipc"
	"github.com/postfix-go/postfix/internal/maillog"
)

// Attr is one request attribute, sent as "name=value".
type Attr struct{ Name, Value string }

// ErrFailed wraps every Query error: the service could not give an answer
// within try_limit tries, and the caller applies DefaultAction.
var ErrFailed = errors.New("policy service request failed")

// Client queries one policy server. It is safe for concurrent use: each
// query takes a connection of its own from a pool (dialled on demand), so
// every connection carries one request at a time as with Postfix's
// one-session-per-process smtpd, and a query prefers the connection that
// last carried its "instance", keeping one message's requests together.
type Client struct {
	Settings
	// Name is the endpoint without its transport, as Postfix names the
	// server in warnings ("127.0.0.1:10023", "private/policy").
	Name string
	// Dial opens a connection; New sets it from the endpoint.
	Dial func() (net.Conn, error)
	// Warn logs a warning; nil means maillog.Warn.
	Warn func(format string, args ...any)

	mu   sync.Mutex
	idle []*pconn
}

// pconn is one connection to the server.
type pconn struct {
	c        net.Conn
	br       *bufio.Reader
	opened   time.Time
	used     time.Time
	requests int
	instance string
	timer    *time.Timer // closes the connection after MaxIdle in the pool
}

// New returns a client for the check_policy_service operand spec (see
// ParseSpec); nothing is dialled before the first Query. A "unix:" path
// that is not absolute names a socket below queue_directory.
func New(c *conf.Config, spec string) (*Client, error) {
	s, err := ParseSpec(c, spec)
	if err != nil {
		return nil, err
	}
	transport, endpoint, _ := strings.Cut(s.Endpoint, ":")
	p := &Client{Settings: s, Name: endpoint}
	switch transport {
	case "inet":
		p.Dial = func() (net.Conn, error) {
			host, port, err := hostPort(endpoint)
			if err != nil {
				return nil, err
			}
			var d net.Dialer
			d.Timeout = p.Timeout
			return d.Dial("tcp", net.JoinHostPort(host, port))
		}
	default: // unix, local
		path := endpoint
		if !strings.HasPrefix(path, "/") {
			path = ipcPath(c, path)
		}
		p.Dial = func() (net.Conn, error) {
			var d net.Dialer
			d.Timeout = p.Timeout
			return d.Dial("unix", path)
		}
	}
	return p, nil
}

// ipcPath resolves a queue-directory-relative path as internal/ipc does
// for "private/NAME": relative inside a daemon, absolute elsewhere.
func ipcPath(c *conf.Config, rel string) string {
	class, name, ok := strings.Cut(rel, "/")
	if !ok {
		return ipc.Path(c, ".", rel)
	}
	return ipc.Path(c, class, name)
}

// hostPort splits an inet endpoint ("host:port", "[v6]:port"); the host
// defaults to localhost, as in Postfix.
func hostPort(ep string) (string, string, error) {
	if strings.HasPrefix(ep, "[") {
		if i := strings.Index(ep, "]:"); i > 0 && i+2 < len(ep) {
			return ep[1:i], ep[i+2:], nil
		}
		return "", "", fmt.Errorf("%s: missing \"]\" or port", ep)
	}
	i := strings.LastIndexByte(ep, ':')
	if i < 0 || i == len(ep)-1 {
		return "", "", fmt.Errorf("%s: missing port", ep)
	}
	host := ep[:i]
	if host == "" {
		host = "localhost"
	}
	return host, ep[i+1:], nil
}

func (p *Client) warn(format string, args ...any) {
	if p.Warn != nil {
		p.Warn(format, args...)
		return
	}
	maillog.Warn(format, args...)
}

// take returns an idle connection, preferring one that last served
// instance, or nil. Connections past max_idle or max_ttl are closed.
func (p *Client) take(instance string) *pconn {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	keep := p.idle[:0]
	var best *pconn
	for _, c := range p.idle {
		if now.Sub(c.used) >= p.MaxIdle || now.Sub(c.opened) >= p.MaxTTL {
			c.close()
			continue
		}
		keep = append(keep, c)
	}
	p.idle = keep
	for i := len(p.idle) - 1; i >= 0; i-- {
		if best == nil || p.idle[i].instance == instance && best.instance != instance {
			best = p.idle[i]
		}
	}
	if best != nil {
		for i, c := range p.idle {
			if c == best {
				p.idle = append(p.idle[:i], p.idle[i+1:]...)
				break
			}
		}
		if best.timer != nil {
			best.timer.Stop()
		}
	}
	return best
}

// put returns c to the pool and arms its idle timer.
func (p *Client) put(c *pconn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.idle = append(p.idle, c)
	if p.MaxIdle > 0 {
		c.timer = time.AfterFunc(p.MaxIdle, func() {
			p.mu.Lock()
			defer p.mu.Unlock()
			for i, x := range p.idle {
				if x == c {
					p.idle = append(p.idle[:i], p.idle[i+1:]...)
					c.close()
					return
				}
			}
		})
	}
}

func (c *pconn) close() {
	if c.timer != nil {
		c.timer.Stop()
	}
	c.c.Close()
}

// Close closes the idle connections.
func (p *Client) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.idle {
		c.close()
	}
	p.idle = nil
}

// Query sends one request and returns the server's action (the text
// after "action="). It tries up to TryLimit times, RetryDelay apart, on a
// new connection each time, logging Postfix's warnings; an error (wrapping
// ErrFailed) means the caller applies DefaultAction.
func (p *Client) Query(attrs []Attr) (string, error) {
	req, err := encodeRequest(attrs)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrFailed, err)
	}
	instance := ""
	for _, a := range attrs {
		if a.Name == "instance" {
			instance = a.Value
		}
	}
	for try := 1; ; try++ {
		action, err := p.try(req, instance)
		if err == nil {
			return action, nil
		}
		if try >= p.TryLimit || !quiet(err) {
			p.warn("problem talking to server %s: %s", p.Name, errText(err))
		}
		if try >= p.TryLimit {
			return "", fmt.Errorf("%w: %s: %v", ErrFailed, p.Name, err)
		}
		time.Sleep(p.RetryDelay)
	}
}

// try performs one exchange.
func (p *Client) try(req []byte, instance string) (string, error) {
	c := p.take(instance)
	for c != nil && c.stale() {
		c.close()
		c = p.take(instance)
	}
	if c == nil {
		nc, err := p.Dial()
		if err != nil {
			p.warn("connect to %s: %s", p.Name, errText(err))
			return "", err
		}
		now := time.Now()
		c = &pconn{c: nc, br: bufio.NewReader(nc), opened: now}
	}
	if p.Timeout > 0 {
		_ = c.c.SetDeadline(time.Now().Add(p.Timeout))
	}
	if _, err := c.c.Write(req); err != nil {
		c.close()
		return "", err
	}
	action, err := readReply(c.br, p.Name)
	if err != nil {
		if msg := attrWarning(err); msg != "" {
			p.warn("%s", msg)
		}
		c.close()
		return "", err
	}
	c.used, c.instance = time.Now(), instance
	c.requests++
	if p.RequestLimit > 0 && c.requests >= p.RequestLimit {
		c.close()
	} else {
		p.put(c)
	}
	return action, nil
}

// encodeRequest writes attrs as a plain attribute record.
func encodeRequest(attrs []Attr) ([]byte, error) {
	as := make([]attr.Attr, len(attrs))
	for i, a := range attrs {
		as[i] = attr.Str(a.Name, a.Value)
	}
	return attr.Marshal(attr.Plain, as...)
}

// readReply reads one reply record and returns its action; other
// attributes are skipped, a missing action is an error.
func readReply(r io.Reader, name string) (string, error) {
	d := attr.NewDecoder(r, attr.Plain)
	d.Path = name
	var action string
	if _, err := d.Scan(attr.Missing, attr.WantStr("action", &action)); err != nil {
		return "", err
	}
	return action, nil
}

// quiet reports whether Postfix keeps quiet about err when another try
// follows (a vanished socket, a peer that hung up, a bad reply).
func quiet(err error) bool {
	var en syscall.Errno
	if errors.As(err, &en) {
		return en == syscall.EPIPE || en == syscall.ENOENT || en == syscall.ECONNRESET
	}
	return !isTimeout(err)
}

// errText is the strerror text of err's cause, as Postfix's %m prints it
// (without an errno, Postfix's formatter prints "Application error").
func errText(err error) string {
	var en syscall.Errno
	if errors.As(err, &en) {
		return ipc.Errno{Errno: en}.Error()
	}
	if isTimeout(err) {
		return "Connection timed out"
	}
	return "Application error"
}

// attrWarning returns the warning Postfix logs for a malformed reply, or
// "" for a server that hung up or timed out (Postfix says nothing then
// but "problem talking to server").
func attrWarning(err error) string {
	var ae *attr.Error
	if !errors.As(err, &ae) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || isTimeout(err) {
		return ""
	}
	return ae.Msg
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// stale reports whether the server closed (or wrote to) an idle
// connection: Postfix's client checks that before it sends a request.
func (c *pconn) stale() bool {
	return c.br.Buffered() > 0 || ipc.PeerDone(c.c)
}
