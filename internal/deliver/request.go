package deliver

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"time"

	"github.com/postfix-go/postfix/conf"
	"github.com/postfix-go/postfix/internal/attr"
	"github.com/postfix-go/postfix/internal/dsn"
	"github.com/postfix-go/postfix/internal/queue"
)

// Protocol is the name a delivery agent announces on each new connection.
const Protocol = "delivery_request_protocol"

// Request flags (Postfix's DEL_REQ_FLAG_* values).
const (
	FlagSuccess     = 1 << 0  // mark delivered recipients done in the queue file
	FlagBounce      = 1 << 1  // mark bounced recipients done (always on in practice)
	FlagMTAVerify   = 1 << 8  // address probe requested by the MTA (verify)
	FlagUserVerify  = 1 << 9  // address probe requested by a user (sendmail -bv)
	FlagRecord      = 1 << 10 // deliver and record the outcome (sendmail -v)
	FlagConnLoad    = 1 << 11 // consult the connection cache
	FlagConnStore   = 1 << 12 // update the connection cache
	FlagDefault     = FlagSuccess | FlagBounce
	FlagTraceMask   = FlagMTAVerify | FlagUserVerify | FlagRecord
	FlagTraceOnly   = FlagMTAVerify | FlagUserVerify
	StatFinal       = 0  // every recipient's fate was recorded
	StatDefer       = -1 // something went wrong: assume nothing was recorded
	statsSize       = 88 // sizeof(MSG_STATS) on LP64 Linux
	maxRecipients   = 1 << 20
	defaultMaxValue = 1 << 20
)

// Attribute names of the delivery request and reply (Postfix's MAIL_ATTR_*).
const (
	attrFlags       = "flags"
	attrQueue       = "queue_name"
	attrQueueID     = "queue_id"
	attrOffset      = "offset"
	attrSize        = "size"
	attrNexthop     = "nexthop"
	attrEncoding    = "encoding"
	attrSMTPUTF8    = "smtputf8"
	attrSender      = "sender"
	attrEnvID       = "envelope_id"
	attrRet         = "ret_flags"
	attrTime        = "time"
	attrClientName  = "log_client_name"
	attrClientAddr  = "log_client_address"
	attrClientPort  = "log_client_port"
	attrClientProto = "log_protocol_name"
	attrHeloName    = "log_helo_name"
	attrSASLMethod  = "sasl_method"
	attrSASLUser    = "sasl_username"
	attrSASLSender  = "sasl_sender"
	attrLogIdent    = "log_ident"
	attrRwrContext  = "rewrite_context"
	attrRcptCount   = "recipient_count"
	attrOrigRcpt    = "original_recipient"
	attrRecipient   = "recipient"
	attrDSNOrig     = "dsn_orig_rcpt"
	attrNotify      = "notify_flags"
	attrStatus      = "status"
	attrDiagType    = "diag_type"
	attrDiagText    = "diag_text"
	attrMTAType     = "mta_type"
	attrMTAName     = "mta_mname"
	attrAction      = "action"
	attrReason      = "reason"
)

// Request is one delivery request: one message, one next hop, and the
// recipients the queue manager hands to the agent in one go.
type Request struct {
	Flags              int // Flag* bits
	QueueName, QueueID string
	DataOffset         int64 // offset of the first content record
	DataSize           int64 // content length (the fifth field of the size record)
	Nexthop, Encoding  string
	SMTPUTF8           int
	Sender, EnvID      string
	Ret                int       // DSN RET bits
	Arrival            time.Time // T record (seconds and microseconds)
	ActiveAt           time.Time // when qmgr moved the file to active
	AgentAt            time.Time // when the agent received the request (set by Serve)

	// Client and SASL details of the original submission, for logging.
	ClientName, ClientAddr, ClientPort, ClientProto, HeloName string

	SASLMethod, SASLUsername, SASLSender, LogIdent, RewriteContext string

	Recipients []dsn.Recipient
	Config     *conf.Config // set by Serve, for the helpers below

	// HopStatus, set by an agent, says that the whole next hop should be
	// avoided for a while (an unreachable host); Deliver returns it to the
	// queue manager. Nil means no such problem.
	HopStatus *dsn.Status

	// ConnSetupAt and DoneAt are the other time stamps of Postfix's message
	// statistics: connection set-up done (network agents) and delivery done
	// (multi-recipient agents set it so that every line shows one delay).
	ConnSetupAt, DoneAt time.Time
	// ReuseCount is the connection reuse count (logged as conn_use=N+1).
	ReuseCount int

	layout   queue.Layout // where the queue file lives (set by Serve)
	deferred bool         // Defer was called for some recipient
	qf       *queueFile   // the locked queue file while ServeConn runs the handler
}

// UseLayout sets the queue layout the request's file lives in, for
// callers other than Serve (the queue manager records outcomes itself
// when no agent can).
func (r *Request) UseLayout(l queue.Layout) { r.layout = l }

// Deferred reports whether Defer recorded some recipient of r.
func (r *Request) Deferred() bool { return r.deferred }

// Layout returns the queue layout the request's file lives in.
func (r *Request) Layout() queue.Layout {
	if r.layout.Dir == "" && r.Config != nil {
		return queue.FromConfig(r.Config)
	}
	return r.layout
}

// encodeStats returns Postfix's MSG_STATS structure as it travels in the
// "time" attribute: five struct timevals (arrival, active queue entry,
// agent hand-off, connection set-up done, delivery done; zero when
// unknown), then the connection reuse count and padding, as the C
// structure is laid out on 64-bit Linux (little-endian 64-bit fields).
func (r *Request) encodeStats() []byte {
	b := make([]byte, statsSize)
	for i, t := range r.statTimes() {
		if t.IsZero() {
			continue
		}
		off := 16 * i
		binary.LittleEndian.PutUint64(b[off:], uint64(t.Unix()))
		binary.LittleEndian.PutUint64(b[off+8:], uint64(t.Nanosecond()/1000))
	}
	binary.LittleEndian.PutUint32(b[80:], uint32(int32(r.ReuseCount)))
	return b
}

func (r *Request) statTimes() []time.Time {
	return []time.Time{r.Arrival, r.ActiveAt, r.AgentAt, r.ConnSetupAt, r.DoneAt}
}

// decodeStats is the inverse of encodeStats. Like Postfix, it insists on
// the exact size.
func (r *Request) decodeStats(b []byte) error {
	if len(b) != statsSize {
		return fmt.Errorf("msg_stats_scan: size mis-match: %d != %d", len(b), statsSize)
	}
	get := func(off int) int64 { return int64(binary.LittleEndian.Uint64(b[off:])) }
	for i, p := range []*time.Time{&r.Arrival, &r.ActiveAt, &r.AgentAt, &r.ConnSetupAt, &r.DoneAt} {
		off := 16 * i
		if s := get(off); s > 0 {
			us := get(off + 8)
			if us < 0 || us >= 1e6 {
				us = 0
			}
			*p = time.Unix(s, us*1000)
		} else {
			*p = time.Time{}
		}
	}
	r.ReuseCount = int(int32(binary.LittleEndian.Uint32(b[80:])))
	return nil
}

// attrs returns the request's common attributes in Postfix's order.
func (r *Request) attrs() []attr.Attr {
	return []attr.Attr{
		attr.Int(attrFlags, uint32(r.Flags)),
		attr.Str(attrQueue, r.QueueName),
		attr.Str(attrQueueID, r.QueueID),
		attr.Long(attrOffset, uint64(r.DataOffset)),
		attr.Long(attrSize, uint64(r.DataSize)),
		attr.Str(attrNexthop, r.Nexthop),
		attr.Str(attrEncoding, r.Encoding),
		attr.Int(attrSMTPUTF8, uint32(r.SMTPUTF8)),
		attr.Str(attrSender, r.Sender),
		attr.Str(attrEnvID, r.EnvID),
		attr.Int(attrRet, uint32(r.Ret)),
		attr.Data(attrTime, r.encodeStats()),
		attr.Str(attrClientName, r.ClientName),
		attr.Str(attrClientAddr, r.ClientAddr),
		attr.Str(attrClientPort, r.ClientPort),
		attr.Str(attrClientProto, r.ClientProto),
		attr.Str(attrHeloName, r.HeloName),
		attr.Str(attrSASLMethod, r.SASLMethod),
		attr.Str(attrSASLUser, r.SASLUsername),
		attr.Str(attrSASLSender, r.SASLSender),
		attr.Str(attrLogIdent, r.LogIdent),
		attr.Str(attrRwrContext, r.RewriteContext),
		attr.Int(attrRcptCount, uint32(len(r.Recipients))),
	}
}

// rcptAttrs returns one recipient's attributes in Postfix's order.
func rcptAttrs(rc *dsn.Recipient) []attr.Attr {
	return []attr.Attr{
		attr.Str(attrOrigRcpt, rc.Orig),
		attr.Str(attrRecipient, rc.Address),
		attr.Long(attrOffset, uint64(rc.Offset)),
		attr.Str(attrDSNOrig, rc.DSNOrig),
		attr.Int(attrNotify, uint32(rc.Notify)),
	}
}

// WriteRequest sends r as Postfix's queue manager does: one record with
// the common attributes, then one record per recipient.
func WriteRequest(e *attr.Encoder, r *Request) error {
	if err := e.Write(r.attrs()...); err != nil {
		return err
	}
	for i := range r.Recipients {
		if err := e.Write(rcptAttrs(&r.Recipients[i])...); err != nil {
			return err
		}
	}
	return e.Flush()
}

// ReadRequest reads one request written by WriteRequest (or by Postfix's
// queue manager). Errors are worded as Postfix's warnings.
func ReadRequest(d *attr.Decoder) (*Request, error) {
	r := &Request{}
	var flags, utf8, ret, count uint32
	var off, size uint64
	var stats []byte
	_, err := d.Scan(attr.Strict,
		attr.WantInt(attrFlags, &flags),
		attr.WantStr(attrQueue, &r.QueueName),
		attr.WantStr(attrQueueID, &r.QueueID),
		attr.WantLong(attrOffset, &off),
		attr.WantLong(attrSize, &size),
		attr.WantStr(attrNexthop, &r.Nexthop),
		attr.WantStr(attrEncoding, &r.Encoding),
		attr.WantInt(attrSMTPUTF8, &utf8),
		attr.WantStr(attrSender, &r.Sender),
		attr.WantStr(attrEnvID, &r.EnvID),
		attr.WantInt(attrRet, &ret),
		attr.WantData(attrTime, &stats),
		attr.WantStr(attrClientName, &r.ClientName),
		attr.WantStr(attrClientAddr, &r.ClientAddr),
		attr.WantStr(attrClientPort, &r.ClientPort),
		attr.WantStr(attrClientProto, &r.ClientProto),
		attr.WantStr(attrHeloName, &r.HeloName),
		attr.WantStr(attrSASLMethod, &r.SASLMethod),
		attr.WantStr(attrSASLUser, &r.SASLUsername),
		attr.WantStr(attrSASLSender, &r.SASLSender),
		attr.WantStr(attrLogIdent, &r.LogIdent),
		attr.WantStr(attrRwrContext, &r.RewriteContext),
		attr.WantInt(attrRcptCount, &count),
	)
	if err != nil {
		return nil, fmt.Errorf("deliver_request_get: error receiving common attributes: %w", err)
	}
	r.Flags, r.SMTPUTF8, r.Ret = int(flags), int(utf8), int(ret)
	r.DataOffset, r.DataSize = int64(off), int64(size)
	if err := r.decodeStats(stats); err != nil {
		return nil, fmt.Errorf("deliver_request_get: error receiving common attributes: %w", err)
	}
	if count > maxRecipients {
		return nil, fmt.Errorf("deliver_request_get: error receiving common attributes: recipient count %d too large", count)
	}
	for i := uint32(0); i < count; i++ {
		var rc dsn.Recipient
		var roff uint64
		var notify uint32
		_, err := d.Scan(attr.Strict,
			attr.WantStr(attrOrigRcpt, &rc.Orig),
			attr.WantStr(attrRecipient, &rc.Address),
			attr.WantLong(attrOffset, &roff),
			attr.WantStr(attrDSNOrig, &rc.DSNOrig),
			attr.WantInt(attrNotify, &notify),
		)
		if err != nil {
			return nil, fmt.Errorf("deliver_request_get: error receiving recipient attributes: %w", err)
		}
		rc.Offset, rc.Notify = int64(roff), int(notify)
		r.Recipients = append(r.Recipients, rc)
	}
	if len(r.Recipients) == 0 {
		return r, fmt.Errorf("%s: no recipients in delivery request for destination %s", r.QueueID, r.Nexthop)
	}
	return r, nil
}

// writeReply sends the agent's final answer: the hop status (all empty
// when there is none) and the request status.
func writeReply(e *attr.Encoder, hop *dsn.Status, status int) error {
	var h dsn.Status
	if hop != nil {
		h = *hop
	}
	if err := e.Write(
		attr.Str(attrStatus, h.Code),
		attr.Str(attrDiagType, h.DiagType),
		attr.Str(attrDiagText, h.Diag),
		attr.Str(attrMTAType, h.MTAType),
		attr.Str(attrMTAName, h.MTA),
		attr.Str(attrAction, h.Action),
		attr.Str(attrReason, h.Reason),
		attr.Int(attrStatus, uint32(int32(status))),
	); err != nil {
		return err
	}
	return e.Flush()
}

// readReply reads the agent's final answer. The two "status" attributes
// (the hop's DSN code and the request status) are told apart by position.
func readReply(d *attr.Decoder) (hop *dsn.Status, status int, err error) {
	pairs, err := d.ReadRecord()
	if err != nil {
		return nil, StatDefer, err
	}
	var h dsn.Status
	seenStatus := false
	gotInt := false
	for _, p := range pairs {
		switch p.Name {
		case attrStatus:
			if !seenStatus {
				h.Code, seenStatus = p.Value, true
				continue
			}
			// Plain digits, as agents send them, need no scanner; anything
			// else is read as before.
			n, err := strconv.ParseInt(p.Value, 10, 64)
			if err != nil {
				if _, err := fmt.Sscanf(p.Value, "%d", &n); err != nil {
					return nil, StatDefer, fmt.Errorf("malformed status %q", p.Value)
				}
			}
			status, gotInt = int(int32(uint32(n))), true
		case attrDiagType:
			h.DiagType = p.Value
		case attrDiagText:
			h.Diag = p.Value
		case attrMTAType:
			h.MTAType = p.Value
		case attrMTAName:
			h.MTA = p.Value
		case attrAction:
			h.Action = p.Value
		case attrReason:
			h.Reason = p.Value
		}
	}
	if !gotInt {
		return nil, StatDefer, fmt.Errorf("missing attribute %s in delivery status", attrStatus)
	}
	if h.Code != "" || h.Reason != "" {
		hop = &h
	}
	return hop, status, nil
}
