package anvil

import (
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/postfix-go/postfix/internal/attr"
	"github.com/postfix-go/postfix/internal/maillog"
	"github.com/postfix-go/postfix/internal/server"
)

var sprintf = fmt.Sprintf

// Run is the anvil daemon's main: a multi-client server on
// private/anvil.
func Run() {
	var table *Table
	server.Run("anvil", server.Options{
		Mode:    server.Multi,
		Abandon: true,
		PreJail: func(s *server.Service) error {
			c := s.Config
			unit := c.Time("anvil_rate_time_unit", 's')
			table = NewTable(unit)
			// One process keeps all the state: never retire after
			// max_use, and do not forget the period by exiting early.
			c.Set("max_use", "0")
			if c.Time("max_idle", 's') < unit {
				c.Set("max_idle", fmt.Sprintf("%ds", int64(unit/time.Second)))
			}
			return nil
		},
		PostJail: func(s *server.Service) error {
			every := s.Config.Time("anvil_status_update_time", 's')
			if every > 0 {
				go func() {
					for range time.Tick(every) {
						logReport(table)
					}
				}()
			}
			return nil
		},
		Conn: func(s *server.Service, c net.Conn) {
			Serve(table, c, maillog.Warn)
		},
		Exit: func(s *server.Service) {
			logReport(table)
		},
	})
}

func logReport(t *Table) {
	for _, l := range t.Report() {
		maillog.Info("%s", l)
	}
}

// Serve answers the requests of one client connection until it closes or
// sends a malformed request; then the session it registered ends. warn
// logs Postfix's warnings.
func Serve(t *Table, c net.Conn, warn func(string, ...any)) {
	l := &local{}
	gate := &gateReader{r: c}
	dec := attr.NewDecoder(gate, attr.Plain)
	dec.Path = ServiceName + " socket"
	enc := attr.NewEncoder(c, attr.Plain)
	defer func() {
		if l.remote != nil {
			// Postfix ends the session with a disconnect request of
			// its own, whose reply goes to the departing client.
			_ = enc.Write(attr.Int(AttrStatus, StatusOK))
			_ = enc.Flush()
		}
		t.Gone(l)
	}()
	if enc.WriteProtocol(Protocol) != nil || enc.Flush() != nil {
		return
	}
	for {
		var req, ident string
		n, err := dec.Scan(attr.Strict, attr.WantStr(AttrRequest, &req), attr.WantStr(AttrIdent, &ident))
		if err != nil {
			var ae *attr.Error
			if errors.As(err, &ae) && !errors.Is(err, io.EOF) {
				warn("%s", ae.Msg)
			}
			if n < 2 {
				return
			}
			// An extra attribute after request and ident: Postfix
			// answers anyway, and reads the rest of the record only
			// when the client sends more.
		}
		if werr := answer(t, l, enc, req, ident, warn); werr != nil {
			return
		}
		if err != nil && gate.wait() != nil {
			return
		}
	}
}

// answer performs one request and writes the reply.
func answer(t *Table, l *local, enc *attr.Encoder, req, ident string, warn func(string, ...any)) error {
	var reply []attr.Attr
	ok := attr.Int(AttrStatus, StatusOK)
	switch req {
	case ReqConnect:
		n, r := t.Connect(l, ident)
		reply = []attr.Attr{ok, attr.Int(AttrCount, uint32(n)), attr.Int(AttrRate, uint32(r))}
	case ReqDisconnect:
		t.Disconnect(l, ident)
		reply = []attr.Attr{ok}
	case ReqMessage, ReqRecipient, ReqNewTLS, ReqAuth:
		reply = []attr.Attr{ok, attr.Int(AttrRate, uint32(t.Event(l, req, ident)))}
	case ReqNewTLSReport:
		reply = []attr.Attr{ok, attr.Int(AttrRate, uint32(t.NewTLSReport(ident)))}
	case ReqLookup:
		st := t.Lookup(ident)
		reply = []attr.Attr{ok, attr.Int(AttrCount, uint32(st.Count)), attr.Int(AttrRate, uint32(st.Rate)),
			attr.Int(AttrMail, uint32(st.Mail)), attr.Int(AttrRcpt, uint32(st.Rcpt)),
			attr.Int(AttrNewTLS, uint32(st.NewTLS)), attr.Int(AttrAuth, uint32(st.Auth))}
	default:
		warn("unrecognized request: \"%s\", ignored", req)
		reply = []attr.Attr{attr.Int(AttrStatus, StatusFail)}
	}
	if err := enc.Write(reply...); err != nil {
		return err
	}
	return enc.Flush()
}

// gateReader lets the decoder's buffered left-overs wait until the
// client sends something new, as Postfix's event loop does: it only
// looks at a connection again when the socket turns readable.
type gateReader struct {
	r    io.Reader
	held []byte
}

func (g *gateReader) Read(p []byte) (int, error) {
	if len(g.held) > 0 {
		n := copy(p, g.held)
		g.held = g.held[n:]
		return n, nil
	}
	return g.r.Read(p)
}

// wait blocks until the client sends at least one more byte.
func (g *gateReader) wait() error {
	if len(g.held) > 0 {
		return nil
	}
	b := make([]byte, 512)
	n, err := g.r.Read(b)
	if n > 0 {
		g.held = b[:n]
		return nil
	}
	if err == nil {
		err = io.EOF
	}
	return err
}
