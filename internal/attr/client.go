package attr

import (
	"net"
	"time"
)

// Client is one connection to a Postfix-style server: it reads the
// server's protocol announcement, then exchanges request/reply records.
type Client struct {
	conn    net.Conn
	enc     *Encoder
	dec     *Decoder
	timeout time.Duration
}

// NewClient wraps conn using format f. path names the peer in diagnostics
// (Postfix uses the service's socket name, e.g. "private/rewrite").
// protocol, when not empty, is the announcement the server must send first.
// timeout bounds each exchange (0: none).
func NewClient(conn net.Conn, f Format, path, protocol string, timeout time.Duration) (*Client, error) {
	c := &Client{conn: conn, enc: NewEncoder(conn, f), dec: NewDecoder(conn, f), timeout: timeout}
	c.dec.Path = path
	if protocol != "" {
		c.deadline()
		if err := c.dec.ReadProtocol(protocol); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func (c *Client) deadline() {
	if c.timeout > 0 {
		_ = c.conn.SetDeadline(time.Now().Add(c.timeout))
	}
}

// Call sends one request record and scans the reply strictly into wants.
func (c *Client) Call(req []Attr, wants ...Want) error {
	c.deadline()
	if err := c.enc.Write(req...); err != nil {
		return err
	}
	if err := c.enc.Flush(); err != nil {
		return err
	}
	_, err := c.dec.Scan(Strict, wants...)
	return err
}

// Decoder returns the connection's decoder, for replies that need a
// lenient or multi-part Scan.
func (c *Client) Decoder() *Decoder { return c.dec }

// Encoder returns the connection's encoder.
func (c *Client) Encoder() *Encoder { return c.enc }

// Close closes the connection.
func (c *Client) Close() error { return c.conn.Close() }
