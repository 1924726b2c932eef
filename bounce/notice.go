package bounce

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/postfix-go/postfix/internal/bouncelog"
	"github.com/postfix-go/postfix/internal/dsn"
	"github.com/postfix-go/postfix/internal/record"
)

// notifyOverride selects every logged recipient, whatever its DSN NOTIFY
// bits (postmaster copies).
const notifyOverride = dsn.NotifyNever | dsn.NotifySuccess | dsn.NotifyFailure | dsn.NotifyDelay

// SMTPUTF8 request bit (Postfix's SMTPUTF8_FLAG_REQUESTED).
const smtputf8Requested = 1 << 0

// rec is one record of a notice on its way to cleanup.
type rec struct {
	t    record.Type
	data string
}

// report holds what one notice is built from: the request, the original
// queue file and the log.
type report struct {
	d         *Daemon
	queueName string
	queueID   string
	smtputf8  int
	envID     string
	tmpl      *Template
	// mimeEncoding is "8bit", "7bit" or "" (unknown).
	mimeEncoding string
	boundary     string
	mailName     string

	// From the queue file; qf is nil when it could not be opened.
	qf       *os.File
	sender   string // quoted; "MAILER-DAEMON" for the null sender
	arrival  int64
	origOffs int64
	msgSize  int64
	msgID    string

	// From the log; haveLog is false when there is none.
	entries     []bouncelog.Entry
	logWarnings []string
	haveLog     bool
}

// newReport opens the queue file and the log of service (bounce, defer,
// trace; "" for none) for queueID. A missing file is tolerated, as
// Postfix's best-effort notices do; any other error is returned.
func (d *Daemon) newReport(service, queueName, queueID, encoding string, smtputf8 int, envID string, tmpl *Template, now time.Time) (*report, error) {
	r := &report{d: d, queueName: queueName, queueID: queueID, smtputf8: smtputf8, envID: envID, tmpl: tmpl}
	switch {
	case d.set.SMTPUTF8:
		r.mimeEncoding = "8bit"
	case encoding == "8bit" || encoding == "7bit":
		r.mimeEncoding = encoding
	default:
		if encoding != "" {
			d.warn("%s: unknown encoding: %.200s", queueID, encoding)
		}
	}
	r.mailName = mailNameAtom(d.set.MailName)
	r.boundary = fmt.Sprintf("%s.%d/%s", queueID, now.Unix(), d.set.Hostname)
	if service != "" {
		if err := r.readLog(service); err != nil {
			return nil, err
		}
	}
	if err := r.readQueueFile(); err != nil {
		return nil, err
	}
	return r, nil
}

// readLog reads the log of service. Its warnings are kept: Postfix reads
// the log again for each part of each notice, and warns each time.
func (r *report) readLog(service string) error {
	f, err := os.Open(r.d.layout.Path(service, r.queueID))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("open %s %s: %w", service, r.queueID, err)
	}
	defer f.Close()
	entries, warnings, err := bouncelog.Parse(f, r.d.layout.RelPath(service, r.queueID), service, r.d.logOpts())
	if err != nil {
		r.d.warn("%s: read bounce log %s: %v", r.queueID, r.queueID, err)
	}
	r.entries, r.logWarnings, r.haveLog = entries, warnings, true
	return nil
}

// pass stands for one reading of the log: it repeats the log's warnings.
func (r *report) pass() {
	for _, w := range r.logWarnings {
		r.d.warn("%s", w)
	}
}

// close releases the queue file.
func (r *report) close() {
	if r.qf != nil {
		r.qf.Close()
	}
}

// mailNameAtom makes mail_name usable as an RFC 822 atom (X-Postfix).
func mailNameAtom(name string) string {
	b := []byte(name)
	for i, c := range b {
		if strings.IndexByte(" \t\r\n()<>@,;:\\\".[]", c) >= 0 {
			b[i] = '-'
		}
	}
	return string(b)
}

// readQueueFile takes the sender, arrival time and content position from
// the original queue file, holding a shared lock as Postfix does.
func (r *report) readQueueFile() error {
	f, err := os.OpenFile(r.d.layout.Path(r.queueName, r.queueID), os.O_RDWR, 0)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("open %s %s: %w", r.queueName, r.queueID, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB); err != nil {
		f.Close()
		return fmt.Errorf("cannot get shared lock on %s: %w", r.d.layout.RelPath(r.queueName, r.queueID), err)
	}
	r.qf = f
	rr := record.NewReader(f, 1<<30)
	haveSender := false
	for {
		t, data, err := rr.Next()
		if err != nil {
			break
		}
		switch t {
		case record.Size:
			if r.msgSize == 0 {
				var size, offs int64
				n, _ := fmt.Sscanf(string(data), "%d %d", &size, &offs)
				if n >= 1 {
					r.msgSize = max(size, 0)
				}
				if n >= 2 {
					r.origOffs = max(offs, 0)
				}
			}
		case record.Time:
			if r.arrival == 0 {
				r.arrival = max(atol(string(data)), 0)
			}
		case record.From:
			s := string(data)
			if s == "" {
				s = "MAILER-DAEMON"
			}
			r.sender = bouncelog.QuoteLocal8(s, false)
			haveSender = true
		case record.Mesg:
			if !haveSender {
				r.d.warn("%s: no sender before message content record", r.queueID)
			}
			if r.origOffs == 0 {
				r.origOffs = rr.Offset()
			}
		}
		if r.origOffs > 0 && r.arrival > 0 && haveSender {
			break
		}
		if t == record.Mesg || t == record.End {
			break
		}
	}
	if r.d.set.Threaded && r.origOffs > 0 {
		r.msgID = r.findMessageID()
	}
	return nil
}

// findMessageID returns the Message-ID header value of the original
// ("<...>"), or "".
func (r *report) findMessageID() string {
	if _, err := r.qf.Seek(r.origOffs, 0); err != nil {
		return ""
	}
	rr := record.NewReader(r.qf, 1<<30)
	prev := record.Type(0)
	for {
		t, data, err := rr.Next()
		if err != nil || (t != record.Norm && t != record.Cont) {
			return ""
		}
		line := string(data)
		switch {
		case prev == record.Cont:
		case isHeader(line):
			name, value, _ := strings.Cut(line, ":")
			if strings.EqualFold(strings.TrimRight(name, " \t"), "Message-ID") {
				value = strings.TrimLeft(strings.TrimRight(value, " \t\r\n"), " \t\r\n")
				if strings.HasPrefix(value, "<") && strings.HasSuffix(value, ">") {
					return value
				}
				r.d.warn("%s: ignoring malformed Message-ID", r.queueID)
			}
		case line != "" && (line[0] == ' ' || line[0] == '\t'):
		default:
			return ""
		}
		prev = t
	}
}

// atol converts a leading decimal number as C's atol does.
func atol(s string) int64 {
	s = strings.TrimLeft(s, " \t")
	i := 0
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		i++
	}
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	n, _ := strconv.ParseInt(s[:i], 10, 64)
	return n
}

// isHeader reports whether line starts with a header label and a colon.
func isHeader(line string) bool {
	i := 0
	for i < len(line) && line[i] > ' ' && line[i] < 0x7f && line[i] != ':' {
		i++
	}
	if i == 0 {
		return false
	}
	for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
		i++
	}
	return i < len(line) && line[i] == ':'
}

// mailDate formats t as Postfix's mail_date does (RFC 5322 with the zone
// name in a comment).
func mailDate(t time.Time) string {
	return t.Format("Mon, 02 Jan 2006 15:04:05 -0700 (MST)")
}

// isUTF8Address reports whether an address needs the "utf-8" address type.
func isUTF8Address(s string) bool {
	if s == "" || !utf8.ValidString(s) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return true
		}
	}
	return false
}

// notice accumulates the records of one notice.
type notice struct {
	recs []rec
}

func (n *notice) line(format string, args ...any) {
	n.recs = append(n.recs, rec{record.Norm, fmt.Sprintf(format, args...)})
}

func (n *notice) put(s string) { n.recs = append(n.recs, rec{record.Norm, s}) }

// wrap adds text as lines of at most 79 columns, continuation lines
// indented by four spaces, as Postfix's line_wrap does.
func (n *notice) wrap(text string) {
	const length, indent = 79, 4
	curIndent, curLen := 0, length
	start, word := 0, 0
	for {
		nextSpace := word + strings.IndexAny(text[word:]+" ", " \t")
		if nextSpace > len(text) {
			nextSpace = len(text)
		}
		if word > start && nextSpace-start > curLen {
			end := word
			for end > start && isSpaceByte(text[end-1]) {
				end--
			}
			n.put(strings.Repeat(" ", curIndent) + text[start:end])
			for word < len(text) && isSpaceByte(text[word]) {
				word++
			}
			if start == 0 {
				curIndent += indent
				curLen -= indent
			}
			start = word
		}
		if nextSpace >= len(text) {
			break
		}
		word = nextSpace + 1
	}
	end := len(text)
	for end > start && isSpaceByte(text[end-1]) {
		end--
	}
	n.put(strings.Repeat(" ", curIndent) + text[start:end])
}

func isSpaceByte(c byte) bool { return c == ' ' || c >= '\t' && c <= '\r' }

// header writes the notice's message header and the start of the
// human-readable part.
func (r *report) header(n *notice, dest string, postmasterCopy bool) {
	t := r.tmpl
	n.line("From: %s", t.From)
	subject := t.Subject
	if postmasterCopy && t.PostmasterSubject != "" {
		subject = t.PostmasterSubject
	}
	n.line("Subject: %s", subject)
	n.line("To: %s", bouncelog.QuoteLocal(dest))
	if r.msgID != "" {
		n.line("References: %s", r.msgID)
		n.line("In-Reply-To: %s", r.msgID)
	}
	if postmasterCopy {
		n.line("Auto-Submitted: %s", "auto-generated")
	} else {
		n.line("Auto-Submitted: %s", "auto-replied")
	}
	n.line("MIME-Version: 1.0")
	n.line("Content-Type: %s; report-type=%s;", "multipart/report", "delivery-status")
	n.line("\tboundary=\"%s\"", r.boundary)
	if r.mimeEncoding != "" {
		enc := r.mimeEncoding
		if enc == "7bit" {
			enc = templateEncoding(t)
		}
		n.line("Content-Transfer-Encoding: %s", enc)
	}
	n.put("")
	n.put("This is a MIME-encapsulated message.")
	n.put("")
	n.line("--%s", r.boundary)
	n.line("Content-Description: %s", "Notification")
	charset := "us-ascii"
	switch {
	case !strings.EqualFold(t.Charset, "us-ascii"):
		charset = t.Charset
	case r.not7bit():
		charset = "utf-8"
	}
	n.line("Content-Type: %s; charset=%s", "text/plain", charset)
	if r.not7bit() {
		n.line("Content-Transfer-Encoding: %s", r.mimeEncoding)
	}
	n.put("")
}

func (r *report) not7bit() bool {
	return r.mimeEncoding != "" && !strings.EqualFold(r.mimeEncoding, "7bit")
}

// templateEncoding is "8bit" for a template with non-ASCII text, else
// "7bit".
func templateEncoding(t *Template) string {
	for i := 0; i < len(t.Text); i++ {
		if t.Text[i] >= 0x80 {
			return "8bit"
		}
	}
	return "7bit"
}

// boilerplate writes the expanded template text.
func (r *report) boilerplate(n *notice) error {
	lines, err := r.d.expander().Expand(r.tmpl)
	if err != nil {
		return err
	}
	for _, l := range lines {
		n.put(l)
	}
	return nil
}

// selected reports whether a logged recipient goes into a notice with the
// given NOTIFY filter.
func selected(e bouncelog.Entry, filter int) bool {
	return e.Rcpt.Notify == 0 || e.Rcpt.Notify&filter != 0
}

// diagnosticLog writes the human-readable recipient list and returns how
// many recipients it holds.
func (r *report) diagnosticLog(n *notice, filter int) int {
	if !r.haveLog {
		if r.tmpl.Kind == "failure" {
			n.put("")
			n.put("\t--- Delivery report unavailable ---")
			return 1
		}
		return 0
	}
	r.pass()
	count := 0
	for _, e := range r.entries {
		if !selected(e, filter) {
			continue
		}
		count++
		n.put("")
		if e.Rcpt.Orig != "" {
			n.wrap(fmt.Sprintf("<%s> (expanded from <%s>): %s", e.Rcpt.Address, e.Rcpt.Orig, e.Status.Reason))
		} else {
			n.wrap(fmt.Sprintf("<%s>: %s", e.Rcpt.Address, e.Status.Reason))
		}
	}
	return count
}

// headerDSN writes the start of the message/delivery-status part and its
// per-message fields.
func (r *report) headerDSN(n *notice) {
	n.put("")
	n.line("--%s", r.boundary)
	n.line("Content-Description: %s", "Delivery report")
	global := ""
	if r.smtputf8&smtputf8Requested != 0 {
		global = "global-"
	}
	n.line("Content-Type: message/%sdelivery-status", global)
	if r.not7bit() && r.smtputf8&smtputf8Requested != 0 {
		n.line("Content-Transfer-Encoding: %s", r.mimeEncoding)
	}
	n.put("")
	n.line("Reporting-MTA: dns; %s", r.d.set.Hostname)
	if r.envID != "" {
		n.line("Original-Envelope-Id: %s", r.envID)
	}
	n.line("X-%s-Queue-ID: %s", r.mailName, r.queueID)
	if r.sender != "" {
		n.line("X-%s-Sender: %s; %s", r.mailName, r.addrType(r.sender), r.sender)
	}
	if r.arrival > 0 {
		n.line("Arrival-Date: %s", mailDate(time.Unix(r.arrival, 0)))
	}
}

func (r *report) addrType(addr string) string {
	if r.smtputf8 != 0 && isUTF8Address(addr) {
		return "utf-8"
	}
	return "rfc822"
}

// diagnosticDSN writes the per-recipient fields and returns how many
// recipients it holds.
func (r *report) diagnosticDSN(n *notice, filter int) int {
	if !r.haveLog {
		if r.tmpl.Kind == "failure" {
			return 1
		}
		return 0
	}
	r.pass()
	count := 0
	for _, e := range r.entries {
		if !selected(e, filter) {
			continue
		}
		count++
		n.put("")
		n.line("Final-Recipient: %s; %s", r.addrType(e.Rcpt.Address), e.Rcpt.Address)
		if e.Rcpt.DSNOrig != "" {
			n.line("Original-Recipient: %s", e.Rcpt.DSNOrig)
		} else if e.Rcpt.Orig != "" {
			n.line("Original-Recipient: %s; %s", r.addrType(e.Rcpt.Orig), e.Rcpt.Orig)
		}
		action := e.Status.Action
		if r.tmpl.Kind == "failure" {
			action = dsn.Failed
		}
		n.line("Action: %s", action)
		n.line("Status: %s", e.Status.Code)
		if e.Status.MTAType != "" && e.Status.MTA != "" {
			n.wrap(fmt.Sprintf("Remote-MTA: %s; %s", e.Status.MTAType, e.Status.MTA))
		}
		if e.Status.DiagType != "" && e.Status.Diag != "" {
			n.wrap(fmt.Sprintf("Diagnostic-Code: %s; %s", e.Status.DiagType, e.Status.Diag))
		} else {
			n.wrap(fmt.Sprintf("Diagnostic-Code: X-%s; %s", r.mailName, e.Status.Reason))
		}
		if r.tmpl.Kind == "delay" {
			n.line("Will-Retry-Until: %s", mailDate(time.Unix(r.arrival+int64(r.d.set.MaxQueueTime/time.Second), 0)))
		}
	}
	return count
}

// original writes the last part: the original message, or its headers
// (ret is dsn.RetFull or dsn.RetHdrs), and the closing boundary.
func (r *report) original(n *notice, ret int) {
	limit := r.d.set.SizeLimit
	if limit > 0 && r.qf != nil && (r.msgSize <= 0 || r.msgSize > limit) {
		ret = dsn.RetHdrs
	}
	undelivered := r.tmpl.Kind == "failure" || r.tmpl.Kind == "delay"
	desc := "Message"
	if ret == dsn.RetHdrs {
		desc = "Message Headers"
	}
	if undelivered {
		desc = "Undelivered " + desc
	}
	n.put("")
	n.line("--%s", r.boundary)
	n.line("Content-Description: %s", desc)
	switch {
	case r.smtputf8&smtputf8Requested != 0 && ret == dsn.RetHdrs:
		n.line("Content-Type: message/%s", "global-headers")
	case r.smtputf8&smtputf8Requested != 0:
		n.line("Content-Type: message/%s", "global")
	case ret == dsn.RetHdrs:
		n.line("Content-Type: %s", "text/rfc822-headers")
	default:
		n.line("Content-Type: %s", "message/rfc822")
	}
	if r.not7bit() {
		n.line("Content-Transfer-Encoding: %s", r.mimeEncoding)
	}
	n.put("")
	if r.origOffs == 0 || r.qf == nil {
		n.put("\t--- Undelivered message unavailable ---")
		return
	}
	if _, err := r.qf.Seek(r.origOffs, 0); err != nil {
		n.put("\t--- Undelivered message unavailable ---")
		return
	}
	n.line("Return-Path: <%s>", r.sender)
	rr := record.NewReader(r.qf, 1<<30)
	for {
		t, data, err := rr.Next()
		if err != nil || (t != record.Norm && t != record.Cont) {
			break
		}
		line := string(data)
		if ret == dsn.RetHdrs && !(line != "" && (line[0] == ' ' || line[0] == '\t') || isHeader(line)) {
			break
		}
		n.recs = append(n.recs, rec{t, line})
	}
	n.put("")
	n.line("--%s--", r.boundary)
}

// deleteRecipients marks the logged recipients done in the queue file
// (BOUNCE_FLAG_DELRCPT), as Postfix's deliver_completed does.
func (r *report) deleteRecipients() {
	if r.qf == nil || !r.haveLog {
		return
	}
	r.pass()
	for _, e := range r.entries {
		if e.Rcpt.Offset > 0 {
			markDone(r.d, r.qf, r.queueID, e.Rcpt.Offset)
		}
	}
}

// markDone changes the recipient record at offset from R to D, leaving any
// other record alone.
func markDone(d *Daemon, f *os.File, queueID string, offset int64) {
	var b [1]byte
	if _, err := f.ReadAt(b[:], offset); err != nil {
		d.warn("%s: read recipient record at offset %d: %v", queueID, offset, err)
		return
	}
	if record.Type(b[0]) != record.Rcpt {
		return
	}
	b[0] = byte(record.Done)
	if _, err := f.WriteAt(b[:], offset); err != nil {
		d.warn("%s: update recipient record at offset %d: %v", queueID, offset, err)
	}
}
