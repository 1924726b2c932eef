package bouncelog

import (
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/postfix-go/postfix/conf"
	"github.com/postfix-go/postfix/internal/attr"
	"github.com/postfix-go/postfix/internal/ipc"
)

// Protocol is the name the bounce daemon announces.
const Protocol = "delivery_status_protocol"

// Request commands (Postfix's BOUNCE_CMD_*), the value of "nrequest".
const (
	CmdAppend = 0 // append a recipient to the log
	CmdFlush  = 1 // send a notice from the log, then remove the log
	CmdWarn   = 2 // send a delay warning, keep the log
	CmdVerp   = 3 // like flush, one notice per recipient (VERP)
	CmdOne    = 4 // send a notice for one recipient without a log
	CmdTrace  = 5 // send a delivery record from the trace log
)

// Request flags (Postfix's BOUNCE_FLAG_*).
const (
	// FlagClean asks the daemon to remove the log when the request fails.
	FlagClean = 1 << 0
	// FlagDelRcpt asks the daemon to mark the logged recipients done in
	// the queue file after a flush.
	FlagDelRcpt = 1 << 1
)

// Request is one request to the bounce daemon, as the daemon reads it.
type Request struct {
	Cmd       int
	Flags     int
	QueueName string // flush, warn, verp, one, trace: the queue of the message
	QueueID   string
	Encoding  string // "7bit", "8bit" or ""
	SMTPUTF8  int
	Sender    string
	EnvID     string // DSN ENVID
	Ret       int    // DSN RET bits
	Verp      string // verp: the two delimiter characters
	Entry     Entry  // append, one: the recipient and its status
}

// attrs returns the request's attributes in Postfix's order.
func (r *Request) attrs() []attr.Attr {
	a := []attr.Attr{attr.Int("nrequest", uint32(r.Cmd)), attr.Int("flags", uint32(r.Flags))}
	if r.Cmd == CmdAppend {
		a = append(a, attr.Str("queue_id", r.QueueID))
		return append(a, entryAttrs(r.Entry)...)
	}
	a = append(a,
		attr.Str("queue_name", r.QueueName),
		attr.Str("queue_id", r.QueueID),
		attr.Str("encoding", r.Encoding),
		attr.Int("smtputf8", uint32(r.SMTPUTF8)),
		attr.Str("sender", r.Sender),
		attr.Str("envelope_id", r.EnvID),
		attr.Int("ret_flags", uint32(r.Ret)))
	switch r.Cmd {
	case CmdVerp:
		a = append(a, attr.Str("verp_delimiters", r.Verp))
	case CmdOne:
		a = append(a, entryAttrs(r.Entry)...)
	}
	return a
}

// entryAttrs is Postfix's rcpt_print followed by dsn_print.
func entryAttrs(e Entry) []attr.Attr {
	return []attr.Attr{
		attr.Str(attrOrcpt, e.Rcpt.Orig),
		attr.Str(attrRecip, e.Rcpt.Address),
		attr.Long(attrOffset, uint64(max(e.Rcpt.Offset, 0))),
		attr.Str(attrDSNOrcpt, e.Rcpt.DSNOrig),
		attr.Int(attrNotify, uint32(e.Rcpt.Notify)),
		attr.Str(attrStatus, e.Status.Code),
		attr.Str(attrDType, e.Status.DiagType),
		attr.Str(attrDText, e.Status.Diag),
		attr.Str(attrMType, e.Status.MTAType),
		attr.Str(attrMName, e.Status.MTA),
		attr.Str(attrAction, e.Status.Action),
		attr.Str(attrReason, e.Status.Reason),
	}
}

// ReadRequest reads one request from a client, as the bounce daemon does
// after announcing Protocol. A malformed request yields an error (the
// daemon logs "malformed request" and replies status -1).
func ReadRequest(d *attr.Decoder) (*Request, error) {
	var cmd uint32
	if _, err := d.Scan(attr.Strict|attr.More, attr.WantInt("nrequest", &cmd)); err != nil {
		return nil, err
	}
	r := &Request{Cmd: int(cmd)}
	var flags, utf8, ret, notify uint32
	var offset uint64
	rcpt := []attr.Want{
		attr.WantStr(attrOrcpt, &r.Entry.Rcpt.Orig),
		attr.WantStr(attrRecip, &r.Entry.Rcpt.Address),
		attr.WantLong(attrOffset, &offset),
		attr.WantStr(attrDSNOrcpt, &r.Entry.Rcpt.DSNOrig),
		attr.WantInt(attrNotify, &notify),
		attr.WantStr(attrStatus, &r.Entry.Status.Code),
		attr.WantStr(attrDType, &r.Entry.Status.DiagType),
		attr.WantStr(attrDText, &r.Entry.Status.Diag),
		attr.WantStr(attrMType, &r.Entry.Status.MTAType),
		attr.WantStr(attrMName, &r.Entry.Status.MTA),
		attr.WantStr(attrAction, &r.Entry.Status.Action),
		attr.WantStr(attrReason, &r.Entry.Status.Reason),
	}
	var wants []attr.Want
	switch r.Cmd {
	case CmdAppend:
		wants = append([]attr.Want{attr.WantInt("flags", &flags), attr.WantStr("queue_id", &r.QueueID)}, rcpt...)
	case CmdFlush, CmdWarn, CmdTrace, CmdVerp, CmdOne:
		wants = []attr.Want{
			attr.WantInt("flags", &flags),
			attr.WantStr("queue_name", &r.QueueName),
			attr.WantStr("queue_id", &r.QueueID),
			attr.WantStr("encoding", &r.Encoding),
			attr.WantInt("smtputf8", &utf8),
			attr.WantStr("sender", &r.Sender),
			attr.WantStr("envelope_id", &r.EnvID),
			attr.WantInt("ret_flags", &ret),
		}
		if r.Cmd == CmdVerp {
			wants = append(wants, attr.WantStr("verp_delimiters", &r.Verp))
		}
		if r.Cmd == CmdOne {
			wants = append(wants, rcpt...)
		}
	default:
		return r, fmt.Errorf("unknown command: %d", r.Cmd)
	}
	if _, err := d.Scan(attr.Strict, wants...); err != nil {
		return nil, err
	}
	r.Flags, r.SMTPUTF8, r.Ret = int(int32(flags)), int(int32(utf8)), int(int32(ret))
	r.Entry.Rcpt.Offset = int64(offset)
	r.Entry.Rcpt.Notify = int(notify)
	return r, nil
}

// dialFunc connects to a private service.
type dialFunc func(c *conf.Config, name string, timeout time.Duration) (net.Conn, error)

// dialPrivate connects to the private service name.
func dialPrivate(c *conf.Config, name string, timeout time.Duration) (net.Conn, error) {
	return ipc.Dial(c, "private", name, timeout)
}

// ErrFailed is returned when the bounce daemon reports that a request
// failed (a non-zero status).
var ErrFailed = errors.New("bounce service request failed")

// Send sends r to the private service and waits for its status.
func Send(c *conf.Config, service string, r *Request) error {
	return sendWith(c, service, r, dialPrivate)
}

func sendWith(c *conf.Config, service string, r *Request, dial dialFunc) error {
	timeout := c.Time("ipc_timeout", 's')
	conn, err := dial(c, service, timeout)
	if err != nil {
		return err
	}
	defer conn.Close()
	return SendConn(conn, service, r, timeout)
}

// SendConn sends r over an open connection to a bounce daemon serving
// service (named in diagnostics only) and waits for its status.
func SendConn(conn net.Conn, service string, r *Request, timeout time.Duration) error {
	cl, err := attr.NewClient(conn, attr.Zero, "private/"+service, Protocol, timeout)
	if err != nil {
		return err
	}
	var status uint32
	if err := cl.Call(r.attrs(), attr.WantInt("status", &status)); err != nil {
		return err
	}
	if status != 0 {
		return fmt.Errorf("private/%s: %w", service, ErrFailed)
	}
	return nil
}

func notice(cmd, flags int, queueName, queueID, encoding string, smtputf8 int, sender, envid string, ret int) *Request {
	return &Request{Cmd: cmd, Flags: flags, QueueName: queueName, QueueID: queueID, Encoding: encoding,
		SMTPUTF8: smtputf8, Sender: sender, EnvID: envid, Ret: ret}
}

// Flush asks $bounce_service_name to send the sender a non-delivery
// notice for the recipients in the bounce log of queueID, then remove the
// log (Postfix's bounce_flush).
func Flush(c *conf.Config, flags int, queueName, queueID, encoding string, smtputf8 int, sender, envid string, ret int) error {
	return Send(c, c.Get("bounce_service_name"), notice(CmdFlush, flags, queueName, queueID, encoding, smtputf8, sender, envid, ret))
}

// DeferFlush asks $defer_service_name to bounce the recipients in the
// defer log of queueID (a message past maximal_queue_lifetime) and remove
// that log (Postfix's defer_flush).
func DeferFlush(c *conf.Config, flags int, queueName, queueID, encoding string, smtputf8 int, sender, envid string, ret int) error {
	return Send(c, c.Get("defer_service_name"), notice(CmdFlush, flags, queueName, queueID, encoding, smtputf8, sender, envid, ret))
}

// Warn asks $defer_service_name to send the sender a delay warning from
// the defer log of queueID; the log is kept (Postfix's defer_warn).
func Warn(c *conf.Config, flags int, queueName, queueID, encoding string, smtputf8 int, sender, envid string, ret int) error {
	return Send(c, c.Get("defer_service_name"), notice(CmdWarn, flags, queueName, queueID, encoding, smtputf8, sender, envid, ret))
}

// Trace asks $trace_service_name to send the sender the delivery record in
// the trace log of queueID (sendmail -v, sendmail -bv, DSN NOTIFY=SUCCESS),
// then remove the log (Postfix's trace_flush).
func Trace(c *conf.Config, flags int, queueName, queueID, encoding string, smtputf8 int, sender, envid string, ret int) error {
	return Send(c, c.Get("trace_service_name"), notice(CmdTrace, flags, queueName, queueID, encoding, smtputf8, sender, envid, ret))
}

// AppendService asks the bounce daemon serving service (the bounce, defer
// or trace service name) to append e to its log of queueID, for callers
// that may not write the log themselves.
func AppendService(c *conf.Config, service string, flags int, queueID string, e Entry) error {
	return Send(c, service, &Request{Cmd: CmdAppend, Flags: flags, QueueID: queueID, Entry: e})
}

// One asks $bounce_service_name to send a non-delivery notice for one
// recipient without a log (Postfix's bounce_one).
func One(c *conf.Config, flags int, queueName, queueID, encoding string, smtputf8 int, sender, envid string, ret int, e Entry) error {
	r := notice(CmdOne, flags, queueName, queueID, encoding, smtputf8, sender, envid, ret)
	r.Entry = e
	return Send(c, c.Get("bounce_service_name"), r)
}
