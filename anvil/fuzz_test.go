package anvil

import (
	"bytes"
	"net"
	"strings"
	"testing"
	"time"
)

// byteConn is a connection whose input is fixed and whose output is kept.
type byteConn struct {
	in  *bytes.Reader
	out bytes.Buffer
}

func (c *byteConn) Read(p []byte) (int, error)       { return c.in.Read(p) }
func (c *byteConn) Write(p []byte) (int, error)      { return c.out.Write(p) }
func (c *byteConn) Close() error                     { return nil }
func (c *byteConn) LocalAddr() net.Addr              { return &net.UnixAddr{Name: "anvil", Net: "unix"} }
func (c *byteConn) RemoteAddr() net.Addr             { return &net.UnixAddr{Name: "client", Net: "unix"} }
func (c *byteConn) SetDeadline(time.Time) error      { return nil }
func (c *byteConn) SetReadDeadline(time.Time) error  { return nil }
func (c *byteConn) SetWriteDeadline(time.Time) error { return nil }

// FuzzServe gives the daemon's request loop arbitrary client input: it
// must neither panic nor hang, every reply is a whole record, and a
// session the input registered ends with the connection.
func FuzzServe(f *testing.F) {
	for _, s := range []string{
		"request=connect\nident=smtp:192.0.2.1\n\n",
		"request=connect\nident=a\n\nrequest=message\nident=a\n\nrequest=lookup\nident=a\n\n",
		"request=lookup\nident=x\nextra=1\n\nrequest=lookup\nident=x\n\n",
		"request=bogus\nident=x\n\n",
		"ident=x\nrequest=lookup\n\n",
		"request\n\n",
		"request=disconnect\nident=a\n\n",
		"request=newtls_status\nident=\n\n",
		"\n\n\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		tb := NewTable(time.Minute)
		c := &byteConn{in: bytes.NewReader(data)}
		Serve(tb, c, func(string, ...any) {})
		out := c.out.String()
		if !strings.HasPrefix(out, "protocol=anvil_protocol\n\n") || !strings.HasSuffix(out, "\n\n") {
			t.Fatalf("output %q", out)
		}
		tb.mu.Lock()
		defer tb.mu.Unlock()
		for id, r := range tb.remotes {
			if r.count != 0 {
				t.Errorf("%q: count %d after the connection ended", id, r.count)
			}
		}
	})
}
