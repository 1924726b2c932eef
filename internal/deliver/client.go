package deliver

import (
	"fmt"
	"net"
	"time"

	"github.com/postfix-go/postfix/conf"
	"github.com/postfix-go/postfix/internal/attr"
	"github.com/postfix-go/postfix/internal/dsn"
	"github.com/postfix-go/postfix/internal/ipc"
)

// Conn is the queue manager's connection to one delivery agent process.
type Conn struct {
	conn    net.Conn
	path    string
	enc     *attr.Encoder
	dec     *attr.Decoder
	timeout time.Duration
	// Hop is the hop status of the last reply (nil when none).
	Hop *dsn.Status
}

// Dial connects to the delivery agent service private/SERVICE and waits
// for its protocol announcement (within $ipc_timeout).
func Dial(c *conf.Config, service string) (*Conn, error) {
	t := ipcTimeout(c)
	nc, err := ipc.Dial(c, "private", service, t)
	if err != nil {
		return nil, err
	}
	return NewConn(nc, "private/"+service, t)
}

// NewConn wraps an established connection to a delivery agent and reads
// its announcement. path names the peer in errors.
func NewConn(nc net.Conn, path string, timeout time.Duration) (*Conn, error) {
	c := &Conn{conn: nc, path: path, timeout: timeout,
		enc: attr.NewEncoder(nc, attr.Zero), dec: attr.NewDecoder(nc, attr.Zero)}
	c.dec.Path = path
	if timeout > 0 {
		_ = nc.SetDeadline(time.Now().Add(timeout))
	}
	if err := c.dec.ReadProtocol(Protocol); err != nil {
		nc.Close()
		return nil, err
	}
	_ = nc.SetDeadline(time.Time{})
	return c, nil
}

// Deliver sends r and waits (without a time limit: a delivery may take
// long; the agent's own timeouts bound it) for the agent's status. An
// error means the agent went away or answered nonsense: the caller must
// assume nothing about the recipients beyond what the queue file and the
// defer and bounce logs show. The reply's hop status goes to c.Hop and
// r.HopStatus.
func (c *Conn) Deliver(r *Request) (status int, err error) {
	if c.timeout > 0 {
		_ = c.conn.SetWriteDeadline(time.Now().Add(c.timeout))
	}
	if err := WriteRequest(c.enc, r); err != nil {
		return StatDefer, fmt.Errorf("write to process (%s): %w", c.path, err)
	}
	_ = c.conn.SetWriteDeadline(time.Time{})
	hop, status, err := readReply(c.dec)
	if err != nil {
		return StatDefer, err
	}
	c.Hop, r.HopStatus = hop, hop
	return status, nil
}

// Close hangs up; the agent is waiting for that after its reply.
func (c *Conn) Close() error { return c.conn.Close() }

// SetDeadline bounds the next exchanges on the connection (the queue
// manager uses $daemon_timeout for an agent's answer).
func (c *Conn) SetDeadline(t time.Time) error { return c.conn.SetDeadline(t) }
