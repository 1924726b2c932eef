package deliver

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/postfix-go/postfix/internal/bouncelog"
	"github.com/postfix-go/postfix/internal/dsn"
	"github.com/postfix-go/postfix/internal/maillog"
	"github.com/postfix-go/postfix/internal/queue"
)

// logInfo writes one mail log line; tests may watch it.
var logInfo = maillog.Info

// logWarn writes one warning line.
var logWarn = maillog.Warn

// LogLine returns Postfix's per-recipient delivery log line (without the
// syslog prefix) for recipient rc of r, reported now by relay with status
// word what ("sent", "deferred", "bounced", "expired, returned to sender"…):
//
//	QUEUEID: to=<a>, orig_to=<o>, relay=R, delay=D, delays=a/b/c/d, dsn=X.Y.Z, status=WHAT (REASON)
//
// orig_to appears only when the original address differs from the
// recipient other than in case; conn_use=N follows relay= for a reused
// connection. Addresses are printed in external form, as Postfix's default
// info_log_address_format = external does.
func (r *Request) LogLine(rc *dsn.Recipient, relay string, st dsn.Status, what string, now time.Time) string {
	var b strings.Builder
	b.Grow(160 + len(rc.Address) + len(rc.Orig) + len(st.Reason))
	b.WriteString(r.QueueID)
	b.WriteString(": to=<")
	b.WriteString(logAddr(rc.Address))
	b.WriteString(">")
	if rc.Orig != "" && !strings.EqualFold(rc.Orig, rc.Address) {
		b.WriteString(", orig_to=<")
		b.WriteString(logAddr(rc.Orig))
		b.WriteString(">")
	}
	b.WriteString(", relay=")
	b.WriteString(relay)
	if r.ReuseCount > 0 {
		b.WriteString(", conn_use=")
		b.WriteString(strconv.Itoa(r.ReuseCount + 1))
	}
	res := 2
	if r.Config != nil {
		res = r.Config.Int("delay_logging_resolution_limit")
	}
	total, p, a, s, x := r.delays(now)
	b.WriteString(", delay=")
	b.WriteString(FormatDelay(total, res))
	b.WriteString(", delays=")
	for i, d := range [...]time.Duration{p, a, s, x} {
		if i > 0 {
			b.WriteByte('/')
		}
		b.WriteString(FormatDelay(d, res))
	}
	b.WriteString(", dsn=")
	b.WriteString(st.Code)
	b.WriteString(", status=")
	b.WriteString(what)
	b.WriteString(" (")
	b.WriteString(st.Reason)
	b.WriteString(")")
	return b.String()
}

// logAddr prints an address as the info_log_address_format = external
// default does; the null address stays empty.
func logAddr(a string) string {
	if a == "" {
		return ""
	}
	return bouncelog.QuoteLocal(a)
}

// fixCode forces the class digit of st's code to class, with Postfix's
// warning, as its sent/defer/bounce routines do.
func fixCode(st dsn.Status, class byte, who string) dsn.Status {
	if st.Code == "" || st.Code[0] != class || !dsn.Valid(st.Code) {
		logWarn("%s: ignoring dsn code \"%s\"", who, st.Code)
		st.Code = string(class) + ".0.0"
	}
	if st.Reason == "" {
		st.Reason = "unknown"
	}
	return st
}

// Sent records a successful delivery of rc: it logs status=sent and marks
// the recipient done in the queue file (when the request asks for it). For
// an address probe (sendmail -bv, verify) it records "deliverable" in the
// trace log instead and leaves the queue file alone. A recipient who asked
// for NOTIFY=SUCCESS, or a request with FlagRecord, also gets a trace log
// entry so that the queue manager can send the success notice.
func (r *Request) Sent(rc *dsn.Recipient, relay string, st dsn.Status) error {
	st = fixCode(st, '2', "sent")
	if st.Action == "" || st.Action == dsn.Failed || st.Action == dsn.Delayed {
		st.Action = dsn.Delivered
	}
	now := time.Now()
	if r.Flags&FlagTraceOnly != 0 {
		// An address probe: the result goes to the trace log, and the
		// recipient is done, as Postfix's agents mark it after sent().
		st.Action = "deliverable"
		err := r.appendLog(queue.Trace, rc, st, now)
		logInfo("%s", r.LogLine(rc, relay, st, "deliverable", now))
		if err == nil && r.Flags&FlagSuccess != 0 {
			err = r.markDone(rc)
		}
		return err
	}
	if r.Flags&FlagRecord != 0 || rc.Notify&dsn.NotifySuccess != 0 {
		if err := r.appendLog(queue.Trace, rc, st, now); err != nil {
			logWarn("%s: trace log append failed: %v", r.QueueID, err)
		}
	}
	logInfo("%s", r.LogLine(rc, relay, st, "sent", now))
	if r.Flags&FlagSuccess != 0 {
		return r.markDone(rc)
	}
	return nil
}

// Defer records that rc must be tried again later: it appends the status
// to the message's defer log and logs status=deferred. When the log cannot
// be written the line says so and Defer returns the error (the queue
// manager then treats the whole request as deferred).
func (r *Request) Defer(rc *dsn.Recipient, relay string, st dsn.Status) error {
	st = fixCode(st, '4', "defer_append")
	st.Action = dsn.Delayed
	now := time.Now()
	if r.Flags&FlagTraceOnly != 0 {
		// An address probe is not retried: the result goes to the trace
		// log and the recipient is done, as with Postfix's agents
		// (defer_append answers 0 for probes).
		st.Action = "undeliverable"
		err := r.appendLog(queue.Trace, rc, st, now)
		logInfo("%s", r.LogLine(rc, relay, st, "undeliverable", now))
		if err == nil {
			err = r.markDone(rc)
		}
		if err != nil {
			r.deferred = true
		}
		return err
	}
	r.deferred = true
	if err := r.appendLog(queue.Defer, rc, st, now); err != nil {
		failed := st
		failed.Code, failed.Reason = "4.3.0", r.serviceFailure("defer_service_name", "defer")
		logInfo("%s", r.LogLine(rc, relay, failed, "deferred", now))
		return err
	}
	if r.Flags&FlagRecord != 0 {
		if err := r.appendLog(queue.Trace, rc, st, now); err != nil {
			logWarn("%s: trace log append failed: %v", r.QueueID, err)
		}
	}
	logInfo("%s", r.LogLine(rc, relay, st, "deferred", now))
	return nil
}

// Bounce records that delivery to rc failed for good: it appends the
// status to the message's bounce log, logs status=bounced and marks the
// recipient done. With soft_bounce = yes the failure is deferred instead,
// with the code's class changed to 4, as Postfix does.
func (r *Request) Bounce(rc *dsn.Recipient, relay string, st dsn.Status) error {
	st = fixCode(st, '5', "bounce_append")
	if r.Config != nil && r.Config.Bool("soft_bounce") {
		st.Code = "4" + st.Code[1:]
		return r.Defer(rc, relay, st)
	}
	st.Action = dsn.Failed
	now := time.Now()
	if r.Flags&FlagTraceOnly != 0 {
		st.Action = "undeliverable"
		err := r.appendLog(queue.Trace, rc, st, now)
		logInfo("%s", r.LogLine(rc, relay, st, "undeliverable", now))
		if err == nil {
			err = r.markDone(rc)
		}
		return err
	}
	if err := r.appendLog(queue.Bounce, rc, st, now); err != nil {
		// Postfix falls back to deferring the recipient.
		failed := st
		failed.Code, failed.Reason = "4.3.0", r.serviceFailure("bounce_service_name", "bounce")
		return r.Defer(rc, relay, failed)
	}
	if r.Flags&FlagRecord != 0 {
		if err := r.appendLog(queue.Trace, rc, st, now); err != nil {
			logWarn("%s: trace log append failed: %v", r.QueueID, err)
		}
	}
	logInfo("%s", r.LogLine(rc, relay, st, "bounced", now))
	return r.markDone(rc)
}

// serviceFailure is Postfix's reason when a log cannot be written:
// "defer or trace service failure" (with the configured service names).
func (r *Request) serviceFailure(param, def string) string {
	svc, trace := def, "trace"
	if r.Config != nil {
		if v := r.Config.Get(param); v != "" {
			svc = v
		}
		if v := r.Config.Get("trace_service_name"); v != "" {
			trace = v
		}
	}
	return svc + " or " + trace + " service failure"
}

// appendLog adds one entry to the bounce, defer or trace log of r's file.
func (r *Request) appendLog(log string, rc *dsn.Recipient, st dsn.Status, now time.Time) error {
	return bouncelog.Append(r.Layout(), log, r.QueueID, bouncelog.Entry{Rcpt: *rc, Status: st, When: now})
}

// markDone turns the recipient record at rc.Offset into a done record,
// as Postfix's deliver_completed does: only the type byte changes, through
// the descriptor ServeConn holds when there is one.
func (r *Request) markDone(rc *dsn.Recipient) error {
	if rc.Offset < 0 {
		// -1: the caller marks the recipient itself, as Postfix's
		// deliver_completed() skips offset -1 (local(8) fan-out).
		return nil
	}
	path := r.Layout().Path(r.QueueName, r.QueueID)
	if r.qf != nil && r.qf.fd >= 0 {
		return r.qf.markDone(path, rc.Offset)
	}
	return MarkDone(path, rc.Offset)
}

// MarkDone changes the recipient record at offset in the queue file at
// path from R to D (delivered or bounced). A record that is already done is
// left alone; any other record type at that offset is an error.
func MarkDone(path string, offset int64) error {
	fd, err := openQueueFile(path)
	if err != nil {
		return err
	}
	if err := markDoneFD(fd, path, offset); err != nil {
		syscall.Close(fd)
		return err
	}
	if err := syscall.Close(fd); err != nil {
		return &os.PathError{Op: "close", Path: path, Err: err}
	}
	return nil
}
