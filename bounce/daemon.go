package bounce

import (
	"errors"
	"io"
	"net"
	"time"

	"github.com/postfix-go/postfix/internal/attr"
	"github.com/postfix-go/postfix/internal/bouncelog"
	"github.com/postfix-go/postfix/internal/maillog"
	"github.com/postfix-go/postfix/internal/server"
	"github.com/postfix-go/postfix/internal/submit"
)

// Serve answers one client of service (the master.cf service name, which
// names the log directory: bounce, defer or trace): it announces the
// protocol, reads one request, carries it out and replies with its status.
func (d *Daemon) Serve(service string, conn net.Conn, timeout time.Duration) {
	if timeout > 0 {
		_ = conn.SetDeadline(time.Now().Add(timeout))
	}
	enc := attr.NewEncoder(conn, attr.Zero)
	dec := attr.NewDecoder(conn, attr.Zero)
	dec.Path = service + " socket"
	if enc.WriteProtocol(bouncelog.Protocol) != nil || enc.Flush() != nil {
		return
	}
	status := -1
	q, err := bouncelog.ReadRequest(dec)
	if err != nil {
		var ae *attr.Error
		if errors.As(err, &ae) {
			// A client that hangs up before it sends anything is only
			// a malformed request, as in Postfix.
			if !errors.Is(err, io.EOF) {
				d.warn("%s", ae.Msg)
			}
			d.warn("malformed request")
		} else {
			d.warn("%v", err) // unknown command
		}
		q = nil
	} else {
		status = d.dispatch(service, q)
	}
	clean := q != nil && q.Flags&bouncelog.FlagClean != 0
	if clean && status != 0 {
		d.removeLog(service, q.QueueID)
		clean = false
	}
	werr := enc.Write(attr.Int("status", uint32(int32(status))))
	if werr == nil {
		werr = enc.Flush()
	}
	if clean && werr != nil {
		d.removeLog(service, q.QueueID)
	}
}

// removeLog deletes the log of a failed request that asked for it
// (BOUNCE_FLAG_CLEAN).
func (d *Daemon) removeLog(service, queueID string) {
	if err := bouncelog.Remove(d.layout, service, queueID); err != nil {
		d.warn("%v", err)
	}
}

// dispatch checks a request and carries it out.
func (d *Daemon) dispatch(service string, q *bouncelog.Request) int {
	if q.Cmd != bouncelog.CmdAppend && !queueNameOK(q.QueueName) {
		d.warn("malformed queue name: %s", d.logOpts().Printable(q.QueueName))
		return -1
	}
	if !queueIDOK(q.QueueID) {
		d.warn("malformed queue id: %s", d.logOpts().Printable(q.QueueID))
		return -1
	}
	o := d.logOpts()
	q.Encoding = o.Printable(q.Encoding)
	q.Sender = o.Printable(q.Sender)
	q.EnvID = o.Printable(q.EnvID)
	var status int
	var err error
	switch q.Cmd {
	case bouncelog.CmdAppend:
		status, err = d.Append(service, q)
	case bouncelog.CmdFlush:
		status, err = d.Flush(service, q)
	case bouncelog.CmdVerp:
		if len(q.Verp) != 2 {
			d.warn("malformed verp delimiter string: %s", o.Printable(q.Verp))
			return -1
		}
		status, err = d.Verp(service, q)
	case bouncelog.CmdWarn:
		status, err = d.DelayWarn(service, q)
	case bouncelog.CmdTrace:
		status, err = d.Trace(service, q)
	case bouncelog.CmdOne:
		if service != "bounce" {
			d.warn("wrong service name \"%s\" for one-recipient bouncing", service)
			return -1
		}
		status, err = d.One(q)
	}
	if err != nil {
		d.warn("%v", err)
		return -1
	}
	return status
}

// Run is the bounce daemon's main program, started by master(8) as the
// bounce, defer and trace services.
func Run() {
	var d *Daemon
	var tmpl map[string]*Template
	server.Run("bounce", server.Options{
		Mode: server.Multi,
		PreJail: func(s *server.Service) error {
			// The template file is read before chroot, as Postfix does,
			// and so is the local time zone that dates are written in.
			tmpl = Load(s.Config.Get("bounce_template_file"))
			_ = time.Now().Local().Format(time.RFC3339)
			return nil
		},
		PostJail: func(s *server.Service) error {
			if !queueNameOK(s.Name) {
				maillog.Fatal("malformed service name: %s", s.Name)
			}
			// The skeleton runs us in queue_directory (perhaps as the root
			// of a chroot jail): use paths relative to it.
			l := s.Layout
			l.Dir = "."
			var err error
			d, err = NewDaemon(s.Config, l, tmpl)
			if err != nil {
				maillog.Fatal("%v", err)
			}
			d.Info, d.Warn = maillog.Info, maillog.Warn
			d.Open = func(flags int) (Poster, error) { return submit.Open(s.Config, flags) }
			return nil
		},
		Conn: func(s *server.Service, c net.Conn) {
			d.Serve(s.Name, c, s.Config.Time("ipc_timeout", 's'))
		},
	})
}
