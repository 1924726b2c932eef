package rewrite

import (
	"errors"
	"io"
	"net"
	"time"

	"github.com/postfix-go/postfix/internal/attr"
)

// Serve speaks the trivial-rewrite protocol on conn until the client
// hangs up or sends a request it cannot parse: it announces the protocol,
// then answers "rewrite", "resolve" and "verify" requests, one record
// each. timeout bounds each read and write ($ipc_timeout; 0 for none).
// Protocol problems are reported through e.Warn as Postfix words them;
// a client closing its end is not a problem.
func (e *Engine) Serve(conn net.Conn, timeout time.Duration) {
	defer conn.Close()
	enc := attr.NewEncoder(conn, attr.Zero)
	dec := attr.NewDecoder(conn, attr.Zero)
	dec.Path = "private/rewrite"
	deadline := func() {
		if timeout > 0 {
			_ = conn.SetDeadline(time.Now().Add(timeout))
		}
	}
	deadline()
	if err := enc.WriteProtocol(Protocol); err != nil {
		return
	}
	if err := enc.Flush(); err != nil {
		return
	}
	for {
		deadline()
		var req string
		if _, err := dec.Scan(attr.Strict|attr.More, attr.WantStr("request", &req)); err != nil {
			if !isEOF(err) {
				e.warn("%s", err)
			}
			return
		}
		var reply []attr.Attr
		switch req {
		case ReqRewrite:
			var rule, addr string
			if _, err := dec.Scan(attr.Strict, attr.WantStr("rule", &rule), attr.WantStr("address", &addr)); err != nil {
				e.warn("%s", err)
				return
			}
			out, ok := e.RewriteExternal(rule, addr)
			if !ok {
				return
			}
			reply = []attr.Attr{attr.Int("flags", 0), attr.Str("address", out)}
		case ReqResolve, ReqVerify:
			var sender, addr string
			if _, err := dec.Scan(attr.Strict, attr.WantStr("sender", &sender), attr.WantStr("address", &addr)); err != nil {
				e.warn("%s", err)
				return
			}
			var r Resolution
			if req == ReqResolve {
				r = e.Resolve(sender, addr)
			} else {
				r = e.Verify(sender, addr)
			}
			reply = []attr.Attr{attr.Int("flags", 0), attr.Str("transport", r.Transport),
				attr.Str("nexthop", r.Nexthop), attr.Str("recipient", r.Recipient),
				attr.Int("flags", uint32(r.Flags))}
		default:
			e.warn("bad command %s", printable30(req))
			return
		}
		if err := enc.Write(reply...); err != nil {
			e.warn("write rewrite reply: %v", err)
			return
		}
		if err := enc.Flush(); err != nil {
			e.warn("write rewrite reply: %v", err)
			return
		}
	}
}

func isEOF(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed)
}

// printable30 is Postfix's "%.30s" of printable(s, '?').
func printable30(s string) string {
	b := []byte(s)
	if len(b) > 30 {
		b = b[:30]
	}
	for i, c := range b {
		if c < 0x20 || c >= 0x7f {
			b[i] = '?'
		}
	}
	return string(b)
}
