package maptypes

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

// The memcache text protocol as Postfix's client uses it: one request
// line ending in CRLF, "set" followed by the data block and CRLF; reply
// lines end in LF or CRLF and may not be longer than line_size_limit;
// a "get" is answered by "VALUE key flags length", the data, CRLF and
// "END", or by "END" alone.

type mcConn struct {
	c  net.Conn
	rd *bufio.Reader
}

// endpoint is the server name used in "connect to" warnings.
func (c *mcClient) endpoint() string {
	_, rest, _ := strings.Cut(c.cfg.Server, ":")
	return rest
}

// access returns the open connection, connecting when there is none.
func (c *mcClient) access() (*mcConn, error) {
	if c.conn != nil {
		return c.conn, nil
	}
	network, addr, err := splitMemcacheServer(c.cfg.Server)
	if err != nil {
		return nil, err
	}
	d := net.Dialer{}
	if c.cfg.Timeout > 0 {
		d.Timeout = time.Duration(c.cfg.Timeout) * time.Second
	}
	nc, err := d.Dial(network, addr)
	if err != nil {
		Warn(fmt.Sprintf("connect to %s: %s", c.endpoint(), errText(err)))
		return nil, err
	}
	c.conn = &mcConn{c: nc, rd: bufio.NewReader(nc)}
	return c.conn, nil
}

// recover drops the connection after an error; the next request
// reconnects.
func (c *mcClient) recover() {
	if c.conn != nil {
		c.conn.c.Close()
		c.conn = nil
	}
}

func (c *mcClient) close() { c.recover() }

func (c *mcClient) deadline(mc *mcConn) {
	if c.cfg.Timeout > 0 {
		mc.c.SetDeadline(time.Now().Add(time.Duration(c.cfg.Timeout) * time.Second))
	} else {
		mc.c.SetDeadline(time.Time{})
	}
}

// send writes one request line, and data (with its CRLF) when not nil.
func (mc *mcConn) send(line string, data *string) error {
	buf := make([]byte, 0, len(line)+2)
	buf = append(buf, line...)
	buf = append(buf, '\r', '\n')
	if data != nil {
		buf = append(buf, *data...)
		buf = append(buf, '\r', '\n')
	}
	_, err := mc.c.Write(buf)
	return err
}

// errMCLine is a reply line longer than line_size_limit.
var errMCLine = errors.New("reply line too long")

// line reads one reply line without its LF or CRLF.
func (mc *mcConn) line(limit int) (string, error) {
	var b []byte
	for {
		c, err := mc.rd.ReadByte()
		if err != nil {
			return "", err
		}
		if c == '\n' {
			break
		}
		if len(b) >= limit+1 {
			return "", errMCLine
		}
		b = append(b, c)
	}
	if n := len(b); n > 0 && b[n-1] == '\r' {
		b = b[:n-1]
	}
	if len(b) > limit {
		return "", errMCLine
	}
	return string(b), nil
}

// block reads n bytes of data followed by CRLF.
func (mc *mcConn) block(n int) (string, error) {
	buf := make([]byte, n+2)
	if _, err := io.ReadFull(mc.rd, buf); err != nil {
		return "", err
	}
	if buf[n] != '\r' || buf[n+1] != '\n' {
		return "", errMCProto
	}
	return string(buf[:n]), nil
}

// mcErrText is the system error text of a network error. An error that
// carries none (an EOF, a protocol error) gets the text Postfix's client
// shows then: the errno left over from its connect, "Operation now in
// progress" after a non-blocking TCP connect (timeout > 0), else none.
func (c *mcClient) errText(err error) string {
	switch {
	case err == nil, errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, errMCProto), errors.Is(err, errMCLine):
		if c.cfg.Timeout > 0 && strings.HasPrefix(c.cfg.Server, "inet:") {
			return "Operation now in progress"
		}
		return ""
	case errors.Is(err, os.ErrDeadlineExceeded):
		return "Connection timed out"
	}
	return errText(err)
}

// ioWarn warns about a failed request as Postfix does.
func (c *mcClient) ioWarn(name string, err error) {
	if t := c.errText(err); t != "" {
		Warn(fmt.Sprintf("database memcache:%s: I/O error: %s", name, t))
	} else {
		Warn(fmt.Sprintf("database memcache:%s: I/O error", name))
	}
}

// failure is the error of a request that could not be completed; its
// text is what Postfix's postmap shows after "query error: ".
func (c *mcClient) failure(err error) error {
	if t := c.errText(err); t != "" {
		return retryf(t)
	}
	return retryf("Application error")
}

// try runs op up to max_try times; op returns done=true when it got an
// answer. A server that accepts no connection is not retried.
func (c *mcClient) try(op func(mc *mcConn, warn bool) (done bool, err error)) error {
	var last error = errMCProto
	for count := 0; count < c.cfg.MaxTry; count++ {
		if count > 0 {
			time.Sleep(mcRetryPause(c.cfg))
		}
		mc, err := c.access()
		if err != nil {
			return c.failure(err)
		}
		c.deadline(mc)
		done, err := op(mc, count > 0)
		if done {
			return nil
		}
		last = err
		c.recover()
	}
	return c.failure(last)
}

// command sends cmd (followed by data, if any) and reads the reply line;
// with warn, an I/O failure is logged for table name.
func (c *mcClient) command(mc *mcConn, warn bool, name, cmd string, data *string) (string, error) {
	err := mc.send(cmd, data)
	line := ""
	if err == nil {
		line, err = mc.line(c.cfg.LineLimit)
	}
	if err != nil && warn {
		c.ioWarn(name, err)
	}
	return line, err
}

// get looks mk up; name is the table name for warnings.
func (c *mcClient) get(name, mk string) (value string, found bool, err error) {
	err = c.try(func(mc *mcConn, warn bool) (bool, error) {
		line, err := c.command(mc, warn, name, "get "+mk, nil)
		if err != nil {
			return false, err
		}
		if line == "END" {
			return true, nil
		}
		n, ok := mcValueLength(line)
		if !ok || n < 0 || n > int64(c.cfg.DataLimit) {
			if warn {
				Warn(fmt.Sprintf("%s: unexpected memcache server reply: %s", name, truncate30(Printable(line))))
			}
			return false, errMCProto
		}
		v, err := mc.block(int(n))
		if err != nil {
			if warn {
				Warn(fmt.Sprintf("%s: EOF receiving memcache server reply", name))
			}
			return false, err
		}
		value, found = v, true
		if end, err := mc.line(c.cfg.LineLimit); err != nil || end != "END" {
			c.recover()
		}
		return true, nil
	})
	return value, found, err
}

// mcValueLength parses "VALUE key flags length ...".
func mcValueLength(line string) (int64, bool) {
	if !strings.HasPrefix(line, "VALUE") {
		return 0, false
	}
	f := strings.Fields(line[len("VALUE"):])
	if len(f) < 3 {
		return 0, false
	}
	s := f[2]
	end := 0
	if end < len(s) && (s[end] == '-' || s[end] == '+') {
		end++
	}
	for end < len(s) && s[end] >= '0' && s[end] <= '9' {
		end++
	}
	n, err := strconv.ParseInt(s[:end], 10, 64)
	return n, err == nil
}

func truncate30(s string) string {
	if len(s) > 30 {
		return s[:30]
	}
	return s
}

// set stores mk=value with the configured flags and ttl.
func (c *mcClient) set(name, mk, value string) error {
	return c.try(func(mc *mcConn, warn bool) (bool, error) {
		line, err := c.command(mc, warn, name, fmt.Sprintf("set %s %d %d %d", mk, c.cfg.Flags, c.cfg.TTL, len(value)), &value)
		if err != nil {
			return false, err
		}
		if line != "STORED" {
			if warn {
				Warn(fmt.Sprintf("database memcache:%s: update failed: %s", name, truncate30(Printable(line))))
			}
			return false, errMCProto
		}
		return true, nil
	})
}

// del deletes mk and reports whether it was there.
func (c *mcClient) del(name, mk string) (found bool, err error) {
	err = c.try(func(mc *mcConn, warn bool) (bool, error) {
		line, err := c.command(mc, warn, name, "delete "+mk, nil)
		if err != nil {
			return false, err
		}
		switch line {
		case "DELETED":
			found = true
			return true, nil
		case "NOT_FOUND":
			return true, nil
		}
		if warn {
			Warn(fmt.Sprintf("database memcache:%s: delete failed: %s", name, truncate30(Printable(line))))
		}
		return false, errMCProto
	})
	return found, err
}
