// Package submit speaks Postfix's cleanup protocol, the stream over which
// pickup(8), smtpd(8), bounce(8) and other programs hand a new message to
// the cleanup(8) daemon. Both ends live here: Stream is the client, Session
// the server side used by package cleanup. No other package spells the
// protocol's attribute names.
//
// The exchange, over a unix stream socket (public/$cleanup_service_name):
//
//  1. cleanup sends one attribute record (the "0" form of package attr)
//     holding protocol=cleanup_protocol and queue_id=ID, the name of the
//     queue file it has just created;
//  2. the client sends one record holding flags=N, the CLEANUP_FLAG_*
//     bits below (Flag*);
//  3. the client streams queue file records (package record): the
//     envelope (T arrival time, A name=value attributes such as
//     rewrite_context, F full name, S sender, per recipient optional
//     A dsn_orig_rcpt, A notify_flags and O original recipient, then R),
//     M, the content as N and L records, X, extracted records (recipients
//     taken from headers), and E;
//  4. cleanup answers with one record: status=N (CLEANUP_STAT_* bits,
//     Stat*; 0 is success) and reason=TEXT (empty on success).
//
// The message is in the queue only when the status is 0; Detail turns a
// status into the SMTP reply that Postfix gives for it.
//
// Parameters read by Open: cleanup_service_name, ipc_timeout,
// queue_directory (through internal/ipc).
package submit

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/postfix-go/postfix/conf"
	"github.com/postfix-go/postfix/internal/attr"
	"github.com/postfix-go/postfix/internal/ipc"
	"github.com/postfix-go/postfix/internal/record"
)

// Protocol is the name cleanup announces.
const Protocol = "cleanup_protocol"

// Attribute names of the protocol.
const (
	attrQueueID = "queue_id"
	attrFlags   = "flags"
	attrStatus  = "status"
	attrReason  = "reason"
)

// Client processing flags (Postfix's CLEANUP_FLAG_* values).
const (
	FlagBounce    = 1 << 0 // bounce bad mail instead of refusing it
	FlagFilter    = 1 << 1 // run header_checks and body_checks
	FlagHold      = 1 << 2 // put the message on hold
	FlagDiscard   = 1 << 3 // discard the message silently
	FlagBCCOK     = 1 << 4 // always_bcc and *_bcc_maps may add recipients
	FlagMapOK     = 1 << 5 // canonical and virtual maps may rewrite addresses
	FlagMilter    = 1 << 6 // run Milter applications
	FlagSMTPReply = 1 << 7 // the reason is a full SMTP reply
	FlagSMTPUTF8  = 1 << 8 // the client requested SMTPUTF8
	FlagAutoUTF8  = 1 << 9 // detect SMTPUTF8 from the content

	// FlagMaskExternal is what programs receiving mail from outside send
	// (smtpd, pickup, qmqpd): filters, milters, BCC and address mapping.
	FlagMaskExternal = FlagFilter | FlagMilter | FlagBCCOK | FlagMapOK
	// FlagMaskInternal is what internally generated mail gets (bounces,
	// forwarded mail): address mapping only.
	FlagMaskInternal = FlagMapOK
)

// Status bits of cleanup's reply (Postfix's CLEANUP_STAT_* values).
const (
	StatOK     = 0
	StatBad    = 1 << 0 // internal protocol error
	StatWrite  = 1 << 1 // error writing the queue file
	StatSize   = 1 << 2 // message too big
	StatCont   = 1 << 3 // content rejected
	StatHops   = 1 << 4 // too many hops
	StatRcpt   = 1 << 6 // no recipients
	StatProxy  = 1 << 7 // rejected by a proxy
	StatDefer  = 1 << 8 // temporary reject
	StatNoPerm = 1 << 9 // denied by a non-content policy

	// StatMaskCantBounce are the failures that no bounce can report.
	StatMaskCantBounce = StatBad | StatWrite | StatDefer | StatRcpt
	// StatMaskIncomplete are the failures after which cleanup stops
	// examining the records of a message.
	StatMaskIncomplete = StatBad | StatWrite | StatSize | StatDefer
)

// detail is one row of the status table, most severe first: a status with
// several bits is reported by its first row.
type detail struct {
	stat     int
	code     int
	enhanced string
	text     string
}

var details = []detail{
	{StatDefer, 451, "4.7.1", "service unavailable"},
	{StatProxy, 451, "4.3.0", "queue file write error"},
	{StatBad, 451, "4.3.0", "internal protocol error"},
	{StatRcpt, 550, "5.1.0", "no recipients specified"},
	{StatHops, 554, "5.4.0", "too many hops"},
	{StatSize, 552, "5.3.4", "message file too big"},
	{StatCont, 550, "5.7.1", "message content rejected"},
	{StatWrite, 451, "4.3.0", "queue file write error"},
	{StatNoPerm, 550, "5.7.1", "service denied"},
}

// Detail maps a status to the parts of the SMTP reply Postfix gives for
// it: 250 2.0.0 "Success" for 0, otherwise the reply of the most severe
// bit, for example 451 4.3.0 "Error: queue file write error" and 552 5.3.4
// "Error: message file too big". An unknown status reads as a protocol
// error.
func Detail(status int) (code int, enhanced, text string) {
	if status == StatOK {
		return 250, "2.0.0", "Success"
	}
	for _, d := range details {
		if status&d.stat != 0 {
			return d.code, d.enhanced, "Error: " + d.text
		}
	}
	return 451, "4.3.0", "Error: internal protocol error"
}

// StatusText is Postfix's cleanup_strerror: the text of the most severe
// bit of status without the "Error: " prefix ("Success" for 0).
func StatusText(status int) string {
	if status == StatOK {
		return "Success"
	}
	for _, d := range details {
		if status&d.stat != 0 {
			return d.text
		}
	}
	return "internal protocol error"
}

// Stream is one message being handed to cleanup.
type Stream struct {
	conn    net.Conn
	path    string
	bw      *bufio.Writer
	w       *record.Writer
	enc     *attr.Encoder
	dec     *attr.Decoder
	id      string
	timeout time.Duration
	closed  bool
}

// Open connects to the cleanup service, reads the queue ID and sends the
// processing flags.
func Open(c *conf.Config, flags int) (*Stream, error) {
	timeout := c.Time("ipc_timeout", 's')
	name := c.Get("cleanup_service_name")
	conn, err := ipc.Dial(c, "public", name, timeout)
	if err != nil {
		return nil, err
	}
	s, err := OpenConn(conn, ipc.Path(c, "public", name), flags, timeout)
	if err != nil {
		conn.Close()
		return nil, err
	}
	return s, nil
}

// OpenConn runs the start of the protocol over an established connection.
// path names the peer in diagnostics ("public/cleanup"); timeout bounds
// each exchange (0: none). On error the caller closes conn.
func OpenConn(conn net.Conn, path string, flags int, timeout time.Duration) (*Stream, error) {
	bw := bufio.NewWriterSize(conn, 8192)
	s := &Stream{
		conn: conn, path: path, bw: bw,
		w:       record.NewWriter(bw),
		enc:     attr.NewEncoder(bw, attr.Zero),
		dec:     attr.NewDecoder(conn, attr.Zero),
		timeout: timeout,
	}
	s.dec.Path = path
	s.deadline()
	var proto string
	if _, err := s.dec.Scan(attr.Strict, attr.WantStr(attr.ProtocolAttr, &proto), attr.WantStr(attrQueueID, &s.id)); err != nil {
		return nil, err
	}
	if proto != Protocol {
		return nil, fmt.Errorf("unexpected protocol %s from %s (expecting: %s)", proto, path, Protocol)
	}
	if err := s.enc.Write(attr.Int(attrFlags, uint32(flags))); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Stream) deadline() {
	if s.timeout > 0 {
		_ = s.conn.SetDeadline(time.Now().Add(s.timeout))
	}
}

// QueueID returns the queue ID cleanup assigned to the message.
func (s *Stream) QueueID() string { return s.id }

// Put sends one record. Output is buffered; errors are sticky.
func (s *Stream) Put(t record.Type, data []byte) error {
	return s.w.Put(t, data)
}

// PutString sends one record whose data is str.
func (s *Stream) PutString(t record.Type, str string) error {
	return s.w.PutString(t, str)
}

// PutAttr sends an A record "name=value".
func (s *Stream) PutAttr(name, value string) error {
	return s.w.PutAttr(name, value)
}

// Close flushes what was sent (which should end with an E record), reads
// cleanup's status and reason, and closes the connection. A non-nil error
// means that no status was received: the message is not queued.
func (s *Stream) Close() (status int, reason string, err error) {
	if s.closed {
		return 0, "", errors.New("submit: stream already closed")
	}
	s.closed = true
	defer s.conn.Close()
	s.deadline()
	if err := s.w.Flush(); err != nil {
		return 0, "", fmt.Errorf("write %s: %w", s.path, err)
	}
	var st uint32
	if _, err := s.dec.Scan(attr.Strict, attr.WantInt(attrStatus, &st), attr.WantStr(attrReason, &reason)); err != nil {
		return 0, "", err
	}
	return int(st), reason, nil
}

// Abort closes the connection without finishing the message; cleanup
// removes the incomplete queue file.
func (s *Stream) Abort() {
	if !s.closed {
		s.closed = true
		s.conn.Close()
	}
}
