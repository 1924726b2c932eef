package cleanup

import (
	"bytes"
	"strings"
	"time"

	"github.com/postfix-go/postfix/internal/address"
	"github.com/postfix-go/postfix/internal/queue"
	"github.com/postfix-go/postfix/internal/record"
	"github.com/postfix-go/postfix/internal/submit"
)

// message is the content-processing state of one message.
type message struct {
	st        *state
	inHeaders bool
	hdr       []string // lines of the header being collected
	hdrSize   int
	partial   []byte // L records of an unfinished line
	pieces    []int  // where each record of the current line ends in it, but the last
	hops      int
	seen      map[string]bool
	resent    bool
	received  bool
	bodyBytes int
	checks    bool
	mime      mimeState
}

func newMessage(st *state) *message {
	m := &message{st: st, inHeaders: true, seen: map[string]bool{}}
	m.checks = st.flags&submit.FlagFilter != 0
	m.mime.off = st.d.cfg.Bool("disable_mime_input_processing")
	return m
}

// content handles one record of the content section.
func (st *state) content(t record.Type, data []byte) {
	m := st.msg
	switch t {
	case record.Cont:
		m.partial = append(m.partial, data...)
		m.pieces = append(m.pieces, len(m.partial))
		m.checkSize(st)
	case record.Norm:
		line := data
		if len(m.partial) > 0 {
			line = append(m.partial, data...)
			m.partial = nil
		}
		m.line(string(line))
		m.pieces = m.pieces[:0]
		m.checkSize(st)
	case record.Xtra:
		if len(m.partial) > 0 {
			m.pieces = m.pieces[:len(m.pieces)-1]
			m.line(string(m.partial))
			m.partial = nil
			m.pieces = m.pieces[:0]
		}
		if m.inHeaders {
			m.endHeaders()
		}
		st.xtraOffset = st.offset()
		st.put(record.Xtra, "")
		st.sec = secExtracted
	case record.Pointer, record.Padding:
		// not produced by clients; ignore
	default:
		st.d.Warn("%s: message rejected: unexpected record type %d in message content", st.id, t)
		st.errs |= submit.StatBad
	}
}

// checkSize enforces message_size_limit on the queue file being built.
// Postfix's cleanup writes through a 4096-byte buffer into a file whose
// size the system limits to message_size_limit: the write that fails is
// that of the buffer holding the limit, so the message is found too big
// only once the file grows past the next multiple of 4096 bytes (or at
// the end, see finish); header and body processing, checks included, go
// on until then. This mirrors that point.
func (m *message) checkSize(st *state) {
	if st.d.sizeLimit <= 0 || st.errs&submit.StatSize != 0 {
		return
	}
	const bufSize = 4096
	flushAt := (st.d.sizeLimit/bufSize + 1) * bufSize
	if st.fileSize()+int64(len(m.partial)) > flushAt {
		st.tooBig()
	}
}

// fileSize is the size of the queue file written so far, size record
// included.
func (st *state) fileSize() int64 {
	const sizeLen = 6*15 + 5
	return int64(1+record.LengthSize(sizeLen)+sizeLen) + st.offset()
}

// tooBig notes that the queue file outgrew message_size_limit.
func (st *state) tooBig() {
	st.d.Warn("%s: queue file size limit exceeded", st.id)
	st.errs |= submit.StatSize
}

// writeText writes one content line, split at line_length_limit.
func (st *state) writeText(line string) {
	limit := st.d.lineLimit
	if limit <= 0 {
		limit = queue.DefaultLineLimit
	}
	st.w.PutText([]byte(line), limit)
}

// line handles one logical content line.
func (m *message) line(l string) {
	st := m.st
	// Postfix's cleanup turns a carriage return inside a line (one
	// that is not part of the line end smtpd or sendmail removed) into
	// a space, before any other processing.
	if strings.IndexByte(l, '\r') >= 0 {
		l = strings.ReplaceAll(l, "\r", " ")
	}
	// Like header and body checks, these apply only with the client's
	// filter flag, and not after a REJECT, DISCARD or REDIRECT; a line
	// with a rejected character is not kept.
	if m.checks && st.d.rejectChars != "" && strings.ContainsAny(l, st.d.rejectChars) && st.outOK() {
		st.reject("content", l, "", "5.7.1", "disallowed character")
		return
	}
	if m.checks && st.d.stripChars != "" && strings.ContainsAny(l, st.d.stripChars) {
		l = strings.Map(func(r rune) rune {
			if strings.ContainsRune(st.d.stripChars, r) {
				return -1
			}
			return r
		}, l)
	}
	if m.inHeaders {
		if len(m.hdr) > 0 && l != "" && (l[0] == ' ' || l[0] == '\t') {
			l = m.cutNUL(l)
			// header_size_limit cuts the header text (newlines
			// included) at that many bytes; the rest is dropped.
			if room := st.d.hdrLimit - m.hdrSize - 1; st.d.hdrLimit <= 0 || room >= len(l) {
				m.hdr = append(m.hdr, l)
				m.hdrSize += len(l) + 1
			} else if room > 0 {
				m.hdr = append(m.hdr, l[:room])
				m.hdrSize = st.d.hdrLimit
			}
			return
		}
		m.flushHeader()
		if isHeader(l) {
			l = m.cutNUL(l)
			if st.d.hdrLimit > 0 && len(l) > st.d.hdrLimit {
				l = l[:st.d.hdrLimit]
			}
			m.hdr = []string{l}
			m.hdrSize = len(l)
			return
		}
		m.endHeaders()
		m.mime.startBody()
		// The body is separated from the headers by an empty line,
		// which cleanup supplies when the client did not.
		st.writeText("")
		if l == "" {
			return
		}
	}
	m.body(l)
}

// cutNUL drops, from each queue record that makes up the header line l,
// the bytes from its first NUL on: Postfix's cleanup collects header
// text as C strings, one record at a time, so a NUL ends what it keeps
// of that record (body lines keep their NUL bytes). When
// message_strip_characters shortened the line, the record bounds are
// lost and the line is cut at its first NUL.
func (m *message) cutNUL(l string) string {
	if strings.IndexByte(l, 0) < 0 {
		return l
	}
	ends := append(m.pieces, len(l))
	if len(m.pieces) > 0 && m.pieces[len(m.pieces)-1] >= len(l) {
		ends = []int{len(l)}
	}
	var b strings.Builder
	start := 0
	for _, end := range ends {
		p := l[start:end]
		if i := strings.IndexByte(p, 0); i >= 0 {
			p = p[:i]
		}
		b.WriteString(p)
		start = end
	}
	return b.String()
}

// isHeader says whether l starts a header: a name of printable
// characters other than ':' followed by optional blanks and ':'.
func isHeader(l string) bool {
	i := 0
	for i < len(l) && l[i] > ' ' && l[i] < 0x7f && l[i] != ':' {
		i++
	}
	if i == 0 {
		return false
	}
	for i < len(l) && (l[i] == ' ' || l[i] == '\t') {
		i++
	}
	return i < len(l) && l[i] == ':'
}

// headerName returns the name of header h in lower case.
func headerName(h string) string {
	i := strings.IndexByte(h, ':')
	return strings.ToLower(strings.TrimRight(h[:i], " \t"))
}

// flushHeader processes the header collected so far.
func (m *message) flushHeader() {
	if len(m.hdr) == 0 {
		return
	}
	h := strings.Join(m.hdr, "\n")
	m.hdr = nil
	m.header(h)
}

// Header classes.
var (
	senderHeaders = map[string]bool{"from": true, "sender": true, "reply-to": true,
		"return-receipt-to": true, "errors-to": true, "resent-from": true,
		"resent-sender": true, "resent-reply-to": true}
	recipientHeaders = map[string]bool{"to": true, "cc": true, "bcc": true,
		"resent-to": true, "resent-cc": true, "resent-bcc": true, "apparently-to": true}
)

// header processes one complete primary header.
func (m *message) header(h string) {
	st := m.st
	name := headerName(h)
	if m.checks && st.outOK() {
		table := st.d.hdrChecks
		if isMIMEHeader(name) && st.d.mimeChecks.set() {
			table = st.d.mimeChecks
		}
		var keep bool
		h, keep = st.applyChecks(table, "header", h)
		if !keep {
			return
		}
		name = headerName(h)
	}
	switch name {
	case "received":
		m.received = true
		m.hops++
	case "delivered-to":
		m.hops++
	}
	if m.hops > st.d.hopLimit && st.d.hopLimit > 0 && st.errs&submit.StatHops == 0 {
		st.d.Warn("%s: message rejected: hopcount exceeded", st.id)
		st.errs |= submit.StatHops
	}
	if strings.HasPrefix(name, "resent-") {
		m.resent = true
	}
	value := h[strings.IndexByte(h, ':')+1:]
	m.seen[name] = true
	if !isASCII(h) {
		st.smtputf8 |= utf8Header
	}
	if name == "content-type" {
		m.mime.noteType(value)
	}
	if st.d.dropHeader(name) {
		return
	}
	if name == "message-id" || name == "resent-message-id" {
		st.d.Info("%s: %s=%s", st.id, name, strings.TrimSpace(strings.ReplaceAll(value, "\n", "")))
	}
	if (senderHeaders[name] || recipientHeaders[name]) && st.hdrCtx != "" {
		cls := clsHdrRcpt
		if senderHeaders[name] {
			cls = clsHdrSender
		}
		n := h[:strings.IndexByte(h, ':')]
		if out, changed := address.RewriteHeader(n, value, func(a string) string {
			return st.headerAddr(a, cls)
		}); changed {
			h = out
		}
	}
	m.emit(h)
}

// emit writes a (possibly multi-line) header.
func (m *message) emit(h string) {
	for _, l := range strings.Split(h, "\n") {
		m.st.writeText(l)
	}
}

// headerAddr rewrites one header address of class cls.
func (st *state) headerAddr(a, cls string) string {
	if a == "" {
		return a
	}
	a = st.rewriteAddr(st.hdrCtx, a)
	if st.flags&submit.FlagMapOK != 0 {
		a = st.canonical(a, cls, cls == clsHdrSender)
		if st.d.masqCls[cls] {
			a = st.masquerade(a)
		}
	}
	return a
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func isMIMEHeader(name string) bool {
	return name == "mime-version" || strings.HasPrefix(name, "content-")
}

// dropHeader says whether message_drop_headers lists name.
func (d *Daemon) dropHeader(name string) bool {
	for _, h := range d.cfg.List("message_drop_headers") {
		if strings.EqualFold(h, name) {
			return true
		}
	}
	return false
}

// endHeaders ends the primary header block: add missing headers.
func (m *message) endHeaders() {
	m.flushHeader()
	if !m.inHeaders {
		return
	}
	m.inHeaders = false
	st := m.st
	if !st.outOK() {
		return
	}
	if !m.received {
		st.d.Warn("%s: message rejected: no Received: header", st.id)
		st.errs |= submit.StatBad
		return
	}
	if st.hdrCtx == "" && !st.d.alwaysAdd {
		if !m.seen["message-id"] {
			st.d.Info("%s: message-id=<>", st.id)
		}
		return
	}
	defer func() {
		if !m.seen["message-id"] && m.resent {
			st.d.Info("%s: message-id=<>", st.id)
		}
	}()
	prefix := ""
	if m.resent {
		prefix = "resent-"
	}
	if !m.seen[prefix+"message-id"] {
		id := st.id
		if !st.d.layout.Long {
			id = time.Now().UTC().Format("20060102150405") + "." + st.id
		}
		v := "<" + id + "@" + st.d.myhostname + ">"
		m.emit(titleHeader(prefix, "Message-Id") + ": " + v)
		st.d.Info("%s: %smessage-id=%s", st.id, prefix, v)
	}
	if !m.seen[prefix+"date"] {
		m.emit(titleHeader(prefix, "Date") + ": " + mailDate(st.arrival))
	}
	if !m.seen[prefix+"from"] {
		m.emit(titleHeader(prefix, "From") + ": " + st.fromHeader())
	}
	if !m.resent && !m.seen["to"] && !m.seen["cc"] && !m.seen["bcc"] && st.d.undisclosed != "" {
		m.emit(st.d.undisclosed)
	}
}

func titleHeader(prefix, name string) string {
	if prefix != "" {
		return "Resent-" + name
	}
	return name
}

// mailDate formats t as Postfix's mail_date does.
func mailDate(t time.Time) string {
	return t.Local().Format("Mon, _2 Jan 2006 15:04:05 -0700 (MST)")
}

// fromHeader is the value of a From: header made from the envelope.
func (st *state) fromHeader() string {
	sender := ""
	if st.sender != nil {
		sender = *st.sender
	}
	if sender == "" {
		return "MAILER-DAEMON"
	}
	ext := address.External(sender)
	if st.fullname != nil && *st.fullname != "" {
		return quotePhrase(*st.fullname) + " <" + ext + ">"
	}
	return ext
}

// quotePhrase quotes a display name when it holds RFC 5322 specials.
func quotePhrase(s string) string {
	if !strings.ContainsAny(s, "()<>@,;:\\\".[]") {
		return s
	}
	var b bytes.Buffer
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
	return b.String()
}

// body handles one body line.
func (m *message) body(l string) {
	st := m.st
	if m.bodyLine(l) {
		return
	}
	if m.checks && st.outOK() && st.d.bodyChecks.set() && m.bodyBytes < st.d.bodyChkSize {
		// body_checks see the line as a C string, up to a NUL; the
		// queue file keeps the whole line.
		text := l
		if i := strings.IndexByte(l, 0); i >= 0 {
			text = l[:i]
		}
		out, keep := st.applyChecks(st.d.bodyChecks, "body", text)
		if out != text {
			l = out
		}
		m.bodyBytes += len(l) + 1
		if !keep {
			return
		}
	}
	st.writeText(l)
}
