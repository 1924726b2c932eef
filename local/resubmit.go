package local

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/postfix-go/postfix/conf"
	"github.com/postfix-go/postfix/internal/deliver"
	"github.com/postfix-go/postfix/internal/dsn"
	"github.com/postfix-go/postfix/internal/maillog"
	"github.com/postfix-go/postfix/internal/record"
	"github.com/postfix-go/postfix/internal/submit"
)

// cleanupStream is a message being submitted to cleanup (internal/submit).
type cleanupStream interface {
	QueueID() string
	Put(t record.Type, data []byte) error
	Close() (status int, reason string, err error)
}

// aborter is implemented by streams that can be abandoned without
// committing a message.
type aborter interface{ Abort() }

// forwardGroup is one new message: the forwarded addresses that share a
// Delivered-To address and an envelope sender.
type forwardGroup struct {
	delivered, sender string
	stream            cleanupStream
	err               error
}

// forwardAppend adds the current address to the new message for its
// Delivered-To address and sender, starting that message (and its
// envelope) when needed.
func (j *job) forwardAppend(s state) error {
	var g *forwardGroup
	for _, fg := range j.forwards {
		if fg.delivered == s.delivered && fg.sender == s.sender {
			g = fg
			break
		}
	}
	if g == nil {
		st, err := j.forwardOpen(s.sender)
		if err != nil {
			return err
		}
		g = &forwardGroup{delivered: s.delivered, sender: s.sender, stream: st}
		j.forwards = append(j.forwards, g)
	}
	put := func(t record.Type, v string) {
		if g.err == nil {
			g.err = g.stream.Put(t, []byte(v))
		}
	}
	if s.rcpt.DSNOrig != "" {
		put(record.Attr, record.AttrDSNOrigRcpt+"="+s.rcpt.DSNOrig)
	}
	if s.rcpt.Notify != 0 {
		put(record.Attr, record.AttrNotifyFlags+"="+strconv.Itoa(s.rcpt.Notify))
	}
	if s.rcpt.Orig != "" {
		put(record.ORcpt, s.rcpt.Orig)
	}
	put(record.Rcpt, s.rcpt.Address)
	return g.err
}

// forwardOpen starts a message to cleanup with the envelope of the
// message being delivered and the given sender. Cleanup is asked to
// bounce bad messages itself.
func (j *job) forwardOpen(sender string) (cleanupStream, error) {
	st, err := j.a.openCleanup(cleanupFlags)
	if err != nil {
		return nil, err
	}
	r := j.r
	now := time.Now()
	recs := []struct {
		t record.Type
		v string
	}{
		{record.Time, fmt.Sprintf("%d %d", now.Unix(), now.Nanosecond()/1000)},
		{record.From, sender},
	}
	if r.Ret != 0 {
		recs = append(recs, struct {
			t record.Type
			v string
		}{record.Attr, record.AttrRetFlags + "=" + strconv.Itoa(r.Ret)})
	}
	for _, kv := range [][2]string{
		{record.AttrEnvID, r.EnvID},
		{"log_client_name", r.ClientName},
		{"log_client_address", r.ClientAddr},
		{"log_protocol_name", r.ClientProto},
		{"log_helo_name", r.HeloName},
		{"sasl_method", r.SASLMethod},
		{"sasl_username", r.SASLUsername},
		{"sasl_sender", r.SASLSender},
		{"log_ident", r.LogIdent},
		{record.AttrRewriteContext, r.RewriteContext},
	} {
		if kv[1] != "" {
			recs = append(recs, struct {
				t record.Type
				v string
			}{record.Attr, kv[0] + "=" + kv[1]})
		}
	}
	for _, rec := range recs {
		if err := st.Put(rec.t, []byte(rec.v)); err != nil {
			abort(st)
			return nil, err
		}
	}
	return st, nil
}

// forwardFinish sends the messages started for the top-level recipient
// of s, when its delivery status is 0, and reports each as "forwarded as
// QUEUEID"; otherwise it abandons them, so that nothing is forwarded
// twice when the recipient is tried again.
func (j *job) forwardFinish(s state, status int) int {
	for _, g := range j.forwards {
		if status != 0 || g.err != nil {
			if g.err != nil && status == 0 {
				maillog.Warn("%s: forward to cleanup: %v", j.r.QueueID, g.err)
				status = 1
			}
			abort(g.stream)
			continue
		}
		status |= j.forwardSend(s, g)
	}
	j.forwards = nil
	return status
}

// forwardSend writes the content of the new message: a Received: header,
// a Delivered-To: header (prepend_delivered_header forward) and the
// original message, then commits it and reports the recipient.
func (j *job) forwardSend(s state, g *forwardGroup) int {
	st := g.stream
	var err error
	put := func(t record.Type, v string) {
		if err == nil {
			err = st.Put(t, []byte(v))
		}
	}
	now := time.Now()
	put(record.Mesg, "")
	put(record.Norm, fmt.Sprintf("Received: by %s (%s)", j.a.myhostname, j.a.mailName))
	put(record.Norm, fmt.Sprintf("\tid %s; %s", st.QueueID(), mailDate(now)))
	if j.a.hdrMask&hdrForward != 0 {
		put(record.Norm, "Delivered-To: "+strings.ToLower(g.delivered))
	}
	if err == nil {
		err = j.copyRecords(st)
	}
	put(record.Xtra, "")
	put(record.End, "")
	if err != nil {
		maillog.Warn("%s: forward to cleanup: %v", j.r.QueueID, err)
		abort(st)
		return 1
	}
	cst, reason, err := st.Close()
	if err != nil || cst != 0 {
		if err != nil {
			maillog.Warn("%s: forward to cleanup: %v", j.r.QueueID, err)
		} else if reason != "" {
			maillog.Warn("%s: forward to cleanup: %s", j.r.QueueID, reason)
		}
		return 1
	}
	s.rcpt.Notify = withoutSuccess(s.rcpt.Notify)
	rc := report(s)
	stt := dsn.New("2.0.0", "forwarded as "+st.QueueID())
	stt.Action = dsn.Relayed
	if err := j.r.Sent(rc, j.a.Service, stt); err != nil {
		return 1
	}
	return 0
}

// copyRecords sends the message content as text records, long lines
// split as line_length_limit says.
func (j *job) copyRecords(st cleanupStream) error {
	rd, err := j.content()
	if err != nil {
		return err
	}
	defer rd.Close()
	limit := j.a.Config.Int("line_length_limit")
	if limit <= 0 {
		limit = 2048
	}
	br := bufio.NewReaderSize(rd, 64*1024)
	for {
		line, err := br.ReadString('\n')
		if len(line) > 0 {
			text := strings.TrimSuffix(line, "\n")
			for len(text) > limit {
				if perr := st.Put(record.Cont, []byte(text[:limit])); perr != nil {
					return perr
				}
				text = text[limit:]
			}
			if perr := st.Put(record.Norm, []byte(text)); perr != nil {
				return perr
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// abort abandons a stream without committing its message.
func abort(st cleanupStream) {
	if a, ok := st.(aborter); ok {
		a.Abort()
		return
	}
	_, _, _ = st.Close()
}

// mailDate formats t as an RFC 5322 date as Postfix's mail_date does:
// "Sat, 28 Nov 2026 13:12:43 +0000 (UTC)".
func mailDate(t time.Time) string {
	return t.Format("Mon, 02 Jan 2006 15:04:05 -0700 (MST)")
}

// cleanupFlags are the flags of forwarded mail, as Postfix's local sends
// them: cleanup bounces bad mail itself, and address mapping applies.
const cleanupFlags = submit.FlagBounce | submit.FlagMaskInternal

// openSubmit starts a message to the cleanup service.
func openSubmit(c *conf.Config, flags int) (cleanupStream, error) {
	s, err := submit.Open(c, flags)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// deliverPass hands one recipient to another delivery agent
// (mailbox_transport, fallback_transport and their _maps), as Postfix's
// deliver_pass does: transport is "service[:nexthop]" (the request's next
// hop when none is given). The recipient carries offset -1, so the other
// agent logs the outcome and this agent marks the queue file. A transport
// that cannot be reached defers the recipient.
func deliverPass(r *deliver.Request, transport string, rc deliverRecipient) int {
	svc, nexthop, _ := strings.Cut(transport, ":")
	if nexthop == "" {
		nexthop = r.Nexthop
	}
	rc.Offset = -1
	fail := func(err error, reason string) int {
		maillog.Warn("%s: %s: %v", r.QueueID, svc, err)
		_ = r.Defer(&rc, "none", dsn.New("4.3.0", reason))
		return 1
	}
	if svc == "" {
		fatalf("missing transport name in \"%s\"", transport)
	}
	conn, err := deliver.Dial(r.Config, svc)
	if err != nil {
		// Postfix keeps trying to connect for a while and then exits;
		// this agent defers the recipient at once.
		return fail(err, "mail transport unavailable")
	}
	defer conn.Close()
	req := *r
	req.Nexthop = nexthop
	req.Recipients = []dsn.Recipient{rc}
	req.HopStatus = nil
	req.AgentAt = time.Time{}
	status, err := conn.Deliver(&req)
	if err != nil {
		return fail(err, "unknown mail transport error")
	}
	if status != 0 {
		return 1
	}
	return 0
}
