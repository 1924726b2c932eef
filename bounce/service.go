package bounce

import (
	"fmt"
	"strings"
	"time"

	"github.com/postfix-go/postfix/conf"
	"github.com/postfix-go/postfix/internal/bouncelog"
	"github.com/postfix-go/postfix/internal/dsn"
	"github.com/postfix-go/postfix/internal/queue"
	"github.com/postfix-go/postfix/internal/record"
	"github.com/postfix-go/postfix/internal/submit"
)

// Error classes of notify_classes (Postfix's MAIL_ERROR_*).
const (
	classPolicy = 1 << iota
	classProtocol
	classBounce
	classSoftware
	classResource
	class2Bounce
	classDelay
	classData
)

var errorClasses = map[string]int{
	"policy": classPolicy, "protocol": classProtocol, "bounce": classBounce, "software": classSoftware,
	"resource": classResource, "2bounce": class2Bounce, "delay": classDelay, "data": classData,
}

// Delivery request flags that select the verify template for a trace
// report (Postfix's DEL_REQ_FLAG_USR_VRFY and DEL_REQ_FLAG_RECORD).
const (
	flagUserVerify = 1 << 9
	flagRecord     = 1 << 10
)

// Settings are the main.cf parameters the daemon works with.
type Settings struct {
	Hostname      string        // myhostname
	MailName      string        // mail_name
	SizeLimit     int64         // bounce_size_limit
	MaxQueueTime  time.Duration // maximal_queue_lifetime
	NotifyMask    int           // notify_classes
	BounceRcpt    string        // bounce_notice_recipient
	TwoBounceRcpt string        // 2bounce_notice_recipient
	DelayRcpt     string        // delay_notice_recipient
	DoubleBounce  string        // double_bounce_sender@myhostname
	SMTPUTF8      bool          // smtputf8_enable
	Threaded      bool          // enable_threaded_bounces
	OldLogCompat  bool          // backwards_bounce_logfile_compatibility
	// CleanupFlags are sent with every notice: MAP_OK, plus FILTER and
	// MILTER when internal_mail_filter_classes has "bounce", plus
	// AUTOUTF8 when smtputf8_autodetect_classes has "bounce" or "all".
	CleanupFlags int
}

// nameMask parses a class list as Postfix's name_mask does: names are
// separated by commas and white space and matched without regard to case.
func nameMask(param, value string, table map[string]int) (int, error) {
	mask := 0
	for _, f := range strings.FieldsFunc(value, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\r' || r == '\n' }) {
		bit, ok := table[strings.ToLower(f)]
		if !ok {
			return 0, fmt.Errorf("unknown %s value \"%s\" in \"%s\"", param, f, value)
		}
		mask |= bit
	}
	return mask, nil
}

// LoadSettings reads Settings from c.
func LoadSettings(c *conf.Config) (Settings, error) {
	s := Settings{
		Hostname:      c.Get("myhostname"),
		MailName:      c.Get("mail_name"),
		SizeLimit:     c.Long("bounce_size_limit"),
		MaxQueueTime:  c.Time("maximal_queue_lifetime", 'd'),
		BounceRcpt:    c.Get("bounce_notice_recipient"),
		TwoBounceRcpt: c.Get("2bounce_notice_recipient"),
		DelayRcpt:     c.Get("delay_notice_recipient"),
		SMTPUTF8:      c.Bool("smtputf8_enable"),
		Threaded:      c.Bool("enable_threaded_bounces"),
		OldLogCompat:  c.Bool("backwards_bounce_logfile_compatibility"),
		CleanupFlags:  submit.FlagMapOK,
	}
	s.DoubleBounce = c.Get("double_bounce_sender") + "@" + s.Hostname
	var err error
	if s.NotifyMask, err = nameMask("notify_classes", c.Get("notify_classes"), errorClasses); err != nil {
		return s, err
	}
	filt, err := nameMask("internal_mail_filter_classes", c.Get("internal_mail_filter_classes"),
		map[string]int{"bounce": 1, "notify": 2})
	if err != nil {
		return s, err
	}
	if filt&1 != 0 {
		s.CleanupFlags |= submit.FlagFilter | submit.FlagMilter
	}
	auto, err := nameMask("smtputf8_autodetect_classes", c.Get("smtputf8_autodetect_classes"),
		map[string]int{"sendmail": 1, "smtpd": 2, "qmqpd": 4, "forward": 8, "bounce": 16, "notify": 32, "verify": 64, "all": 127})
	if err != nil {
		return s, err
	}
	if auto&16 != 0 {
		s.CleanupFlags |= submit.FlagAutoUTF8
	}
	return s, nil
}

// Poster is one message being submitted to the cleanup service
// (internal/submit's Stream).
type Poster interface {
	QueueID() string
	Put(t record.Type, data []byte) error
	Close() (status int, reason string, err error)
	Abort()
}

// Daemon is the bounce service: it keeps the per-message logs and sends
// the notices built from them.
type Daemon struct {
	Config *conf.Config
	set    Settings
	layout queue.Layout
	tmpl   map[string]*Template
	// Open starts a notice submission with the given cleanup flags.
	Open func(flags int) (Poster, error)
	// Info and Warn log a line; Now is the clock.
	Info, Warn func(format string, args ...any)
	Now        func() time.Time
}

// NewDaemon returns a daemon working with c, templates tmpl (from Load)
// and the queue layout l.
func NewDaemon(c *conf.Config, l queue.Layout, tmpl map[string]*Template) (*Daemon, error) {
	set, err := LoadSettings(c)
	if err != nil {
		return nil, err
	}
	return &Daemon{Config: c, set: set, layout: l, tmpl: tmpl, Now: time.Now,
		Info: func(string, ...any) {}, Warn: func(string, ...any) {}}, nil
}

// logOpts are the log settings of main.cf.
func (d *Daemon) logOpts() bouncelog.Options {
	return bouncelog.Options{NoOldCompat: !d.set.OldLogCompat, ASCII: !d.set.SMTPUTF8}
}

func (d *Daemon) info(format string, args ...any) { d.Info(format, args...) }
func (d *Daemon) warn(format string, args ...any) { d.Warn(format, args...) }

func (d *Daemon) expander() *Expander {
	return NewExpander(d.Config, d.warn)
}

// send builds a notice and submits it from sender to dest, as Postfix
// does: the cleanup session is opened first (failing to open it fails the
// request), and abandoned when no recipient qualifies (status 0). logText
// is the middle of the log line ("sender non-delivery notification").
func (d *Daemon) send(r *report, sender, dest string, postmasterCopy bool, filter, ret int, logText string) (int, error) {
	flags := d.set.CleanupFlags
	if r.smtputf8&smtputf8Requested != 0 {
		flags |= submit.FlagSMTPUTF8
	}
	p, err := d.Open(flags)
	if err != nil {
		d.warn("%v", err)
		return 1, nil
	}
	n, err := d.build(r, dest, postmasterCopy, filter, ret)
	if err != nil || n == nil {
		p.Abort() // no applicable recipients: cancel this notice
		return 0, err
	}
	now := d.Now()
	date := mailDate(now)
	id := p.QueueID()
	recs := []rec{
		{record.Time, fmt.Sprintf("%d %d", now.Unix(), now.Nanosecond()/1000)},
		{record.Attr, "log_message_origin=local"},
		{record.Attr, "trace_flags=0"},
		{record.From, sender},
		{record.Rcpt, dest},
		{record.Mesg, ""},
		{record.Norm, fmt.Sprintf("Received: by %s (%s)", d.set.Hostname, d.set.MailName)},
		{record.Norm, fmt.Sprintf("\tid %s; %s", id, date)},
		{record.Norm, "Date: " + date},
	}
	recs = append(recs, n.recs...)
	recs = append(recs, rec{record.Xtra, ""}, rec{record.End, ""})
	for _, rc := range recs {
		if err := p.Put(rc.t, []byte(rc.data)); err != nil {
			d.warn("%s: %v", r.queueID, err)
			p.Abort()
			return 1, nil
		}
	}
	status, _, err := p.Close()
	if err != nil {
		d.warn("%s: %v", r.queueID, err)
		return 1, nil
	}
	if status == 0 {
		d.info("%s: %s: %s", r.queueID, logText, id)
	}
	return status, nil
}

// build makes one notice: header, boilerplate (sender notices), the
// human-readable and the machine-readable report of the recipients that
// filter selects, and the original (ret). It returns nil when no
// recipient was selected.
func (d *Daemon) build(r *report, dest string, postmasterCopy bool, filter, ret int) (*notice, error) {
	n := &notice{}
	r.header(n, dest, postmasterCopy)
	if !postmasterCopy {
		if err := r.boilerplate(n); err != nil {
			return nil, err
		}
	}
	if r.diagnosticLog(n, filter) <= 0 {
		return nil, nil
	}
	r.headerDSN(n)
	if r.diagnosticDSN(n, filter) <= 0 {
		return nil, nil
	}
	r.original(n, ret)
	return n, nil
}

func (d *Daemon) isDoubleBounce(addr string) bool { return strings.EqualFold(addr, d.set.DoubleBounce) }

// retOrFull is the DSN RET of a sender notice: as requested, else full.
func retOrFull(ret int) int {
	if ret != 0 {
		return ret
	}
	return dsn.RetFull
}

// Flush sends the non-delivery notice for the log of service (bounce, or
// defer for expired mail) and removes the log when the notice is posted.
func (d *Daemon) Flush(service string, q *bouncelog.Request) (int, error) {
	r, err := d.newReport(service, q.QueueName, q.QueueID, q.Encoding, q.SMTPUTF8, q.EnvID, d.tmpl["failure"], d.Now())
	if err != nil {
		return -1, err
	}
	defer r.close()
	status, err := d.failureNotices(r, q, false)
	if err != nil {
		return -1, err
	}
	if status == 0 && q.Flags&bouncelog.FlagDelRcpt != 0 {
		r.deleteRecipients()
	}
	if status == 0 {
		if err := bouncelog.Remove(d.layout, service, q.QueueID); err != nil {
			return -1, err
		}
	}
	return status, nil
}

// DelayWarn sends the delay warning for the defer log; the log is kept.
func (d *Daemon) DelayWarn(service string, q *bouncelog.Request) (int, error) {
	r, err := d.newReport(service, q.QueueName, q.QueueID, q.Encoding, q.SMTPUTF8, q.EnvID, d.tmpl["delay"], d.Now())
	if err != nil {
		return -1, err
	}
	defer r.close()
	status := 1
	switch {
	case d.isDoubleBounce(q.Sender):
		d.warn("%s: undeliverable postmaster notification discarded", q.QueueID)
		status = 0
	case q.Sender == "":
		if d.set.NotifyMask&classDelay == 0 {
			status = 0
		} else if status, err = d.send(r, d.set.DoubleBounce, d.set.DelayRcpt, true, notifyOverride, dsn.RetFull,
			"postmaster delay notification"); err != nil {
			return -1, err
		}
	default:
		if status, err = d.send(r, "", q.Sender, false, dsn.NotifyDelay, dsn.RetHdrs,
			"sender delay notification"); err != nil {
			return -1, err
		}
		if status == 0 && d.set.NotifyMask&classDelay != 0 {
			pm, err := d.send(r, d.set.DoubleBounce, d.set.DelayRcpt, true, notifyOverride, dsn.RetHdrs,
				"postmaster delay notification")
			if err != nil || pm != 0 {
				d.warn("%s: postmaster notice failed while warning %s", q.QueueID, q.Sender)
			}
		}
	}
	return status, nil
}

// Trace sends the delivery status report from the trace log (sendmail -v
// and -bv, DSN NOTIFY=SUCCESS) and removes the log when it is posted.
func (d *Daemon) Trace(service string, q *bouncelog.Request) (int, error) {
	sender, rcpt := "", q.Sender
	switch {
	case d.isDoubleBounce(q.Sender):
		d.info("%s: not sending trace/success notification for double-bounce message", q.QueueID)
		return 0, nil
	case q.Sender == "":
		if d.set.NotifyMask&class2Bounce == 0 {
			d.info("%s: not sending trace/success notification for single-bounce message", q.QueueID)
			return 0, bouncelog.Remove(d.layout, service, q.QueueID)
		}
		sender, rcpt = d.set.DoubleBounce, d.set.TwoBounceRcpt
	}
	tmpl := d.tmpl["success"]
	if q.Flags&(flagUserVerify|flagRecord) != 0 {
		tmpl = d.tmpl["verify"]
	}
	r, err := d.newReport(service, q.QueueName, q.QueueID, q.Encoding, q.SMTPUTF8, q.EnvID, tmpl, d.Now())
	if err != nil {
		return -1, err
	}
	defer r.close()
	if !r.haveLog {
		return 0, nil // no trace file: nothing to report
	}
	status, err := d.send(r, sender, rcpt, false, notifyOverride, dsn.RetHdrs, "sender delivery status notification")
	if err != nil {
		return -1, err
	}
	if status == 0 {
		if err := bouncelog.Remove(d.layout, service, q.QueueID); err != nil {
			return -1, err
		}
	}
	return status, nil
}

// One sends a non-delivery notice for the one recipient in the request,
// without a log (Postfix's bounce_one).
func (d *Daemon) One(q *bouncelog.Request) (int, error) {
	r, err := d.newReport("", q.QueueName, q.QueueID, q.Encoding, q.SMTPUTF8, q.EnvID, d.tmpl["failure"], d.Now())
	if err != nil {
		return -1, err
	}
	defer r.close()
	return d.one(r, q)
}

// failureNotices sends the non-delivery notices of report r as Postfix
// does: none for mail to the double-bounce address, a postmaster notice
// (when notify_classes asks) for mail from <>, else one to the sender
// (unless quiet) and a copy to bounce_notice_recipient when notify_classes
// has "bounce". The status is 0 when the notices are posted.
func (d *Daemon) failureNotices(r *report, q *bouncelog.Request, quiet bool) (int, error) {
	var err error
	status := 1
	switch {
	case d.isDoubleBounce(q.Sender):
		d.warn("%s: undeliverable postmaster notification discarded", q.QueueID)
		status = 0
	case q.Sender == "":
		if d.set.NotifyMask&(classBounce|class2Bounce) == 0 {
			status = 0
		} else if status, err = d.send(r, d.set.DoubleBounce, d.set.TwoBounceRcpt, true, notifyOverride, dsn.RetFull,
			"postmaster non-delivery notification"); err != nil {
			return -1, err
		}
	default:
		if quiet {
			status = 0
		} else if status, err = d.send(r, "", q.Sender, false, dsn.NotifyFailure, retOrFull(q.Ret),
			"sender non-delivery notification"); err != nil {
			return -1, err
		}
		if status == 0 && d.set.NotifyMask&classBounce != 0 {
			pm, err := d.send(r, d.set.DoubleBounce, d.set.BounceRcpt, true, notifyOverride, dsn.RetHdrs,
				"postmaster non-delivery notification")
			if err != nil || pm != 0 {
				d.warn("%s: postmaster notice failed while bouncing to %s", q.QueueID, q.Sender)
			}
		}
	}
	return status, nil
}

// one is One over an open report.
func (d *Daemon) one(r *report, q *bouncelog.Request) (int, error) {
	e := q.Entry
	r.entries, r.haveLog = []bouncelog.Entry{e}, true
	// A recipient whose DSN NOTIFY leaves out FAILURE gets no notice.
	status, err := d.failureNotices(r, q, e.Rcpt.Notify != 0 && e.Rcpt.Notify&dsn.NotifyFailure == 0)
	if err != nil {
		return -1, err
	}
	if status == 0 && q.Flags&bouncelog.FlagDelRcpt != 0 && r.qf != nil && e.Rcpt.Offset > 0 {
		markDone(d, r.qf, q.QueueID, e.Rcpt.Offset)
	}
	return status, nil
}

// Append adds the request's recipient to the log of service.
func (d *Daemon) Append(service string, q *bouncelog.Request) (int, error) {
	if err := bouncelog.AppendOpts(d.layout, service, q.QueueID, q.Entry, d.logOpts()); err != nil {
		return -1, err
	}
	return 0, nil
}

// queueNameOK reports whether s is a valid queue or service name, as
// Postfix's mail_queue_name_ok: letters and digits, at most 100 bytes.
func queueNameOK(s string) bool {
	if s == "" || len(s) > 100 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// queueIDOK reports whether s is a valid queue ID as Postfix's
// mail_queue_id_ok: letters, digits and '_', at most 100 bytes.
func queueIDOK(s string) bool {
	if s == "" || len(s) > 100 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_') {
			return false
		}
	}
	return true
}

// verpSender encodes a recipient into the sender address with the two
// VERP delimiters: prefix@origin and user@domain give
// prefix+user=domain@origin (the original recipient is used when known).
func verpSender(delims, sender string, e bouncelog.Entry) string {
	rcpt := e.Rcpt.Address
	if e.Rcpt.Orig != "" {
		rcpt = e.Rcpt.Orig
	}
	sLocal, sDomain, sAt := cutLast(sender)
	rLocal, rDomain, rAt := cutLast(rcpt)
	b := []byte(sLocal)
	b = append(b, delims[0])
	b = append(b, rLocal...)
	if rAt && rDomain != "" {
		b = append(b, delims[1])
		b = append(b, rDomain...)
	}
	if sAt && sDomain != "" {
		b = append(b, '@')
		b = append(b, sDomain...)
	}
	return string(b)
}

// cutLast splits s at its last '@'.
func cutLast(s string) (local, domain string, found bool) {
	if i := strings.LastIndexByte(s, '@'); i >= 0 {
		return s[:i], s[i+1:], true
	}
	return s, "", false
}

// Verp sends one non-delivery notice per logged recipient, each to the
// sender address with that recipient encoded in it (Postfix's
// bounce_notify_verp). Bounces of bounces fall back to Flush.
func (d *Daemon) Verp(service string, q *bouncelog.Request) (int, error) {
	if q.Sender == "" || d.isDoubleBounce(q.Sender) {
		d.warn("request to send VERP-style notification of bounced mail")
		return d.Flush(service, q)
	}
	r, err := d.newReport(service, q.QueueName, q.QueueID, q.Encoding, q.SMTPUTF8, q.EnvID, d.tmpl["failure"], d.Now())
	if err != nil {
		return -1, err
	}
	defer r.close()
	if !r.haveLog {
		one := *q
		one.Entry = bouncelog.Entry{Rcpt: dsn.Recipient{Address: "(recipient address unavailable)"},
			Status: dsn.Status{Code: "5.0.0", Reason: "(error report unavailable)"}}
		return d.one(r, &one)
	}
	// Postfix reads the log once here, sending each recipient's notice as
	// it goes: the log's warnings come once.
	r.pass()
	warnings := r.logWarnings
	r.logWarnings = nil
	defer func() { r.logWarnings = warnings }()
	status := 0
	all := r.entries
	for _, e := range all {
		r.entries = []bouncelog.Entry{e}
		if e.Rcpt.Notify == 0 || e.Rcpt.Notify&dsn.NotifyFailure != 0 {
			rcpt := verpSender(q.Verp, q.Sender, e)
			if status, err = d.send(r, "", rcpt, false, notifyOverride, retOrFull(q.Ret),
				"sender non-delivery notification"); err != nil {
				return -1, err
			}
			if status != 0 {
				break
			}
			if q.Flags&bouncelog.FlagDelRcpt != 0 && r.qf != nil && e.Rcpt.Offset > 0 {
				markDone(d, r.qf, q.QueueID, e.Rcpt.Offset)
			}
		}
		if d.set.NotifyMask&classBounce != 0 {
			pm, err := d.send(r, d.set.DoubleBounce, d.set.BounceRcpt, true, notifyOverride, dsn.RetHdrs,
				"postmaster non-delivery notification")
			if err != nil || pm != 0 {
				d.warn("%s: postmaster notice failed while bouncing to %s", q.QueueID, q.Sender)
			}
		}
	}
	r.entries = all
	if status == 0 {
		if err := bouncelog.Remove(d.layout, service, q.QueueID); err != nil {
			return -1, err
		}
	}
	return status, nil
}
