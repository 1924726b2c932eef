package smtpd

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/postfix-go/postfix/conf"
	"github.com/postfix-go/postfix/internal/address"
	"github.com/postfix-go/postfix/internal/maillog"
	"github.com/postfix-go/postfix/internal/record"
	"github.com/postfix-go/postfix/internal/smtpread"
	"github.com/postfix-go/postfix/internal/submit"
)

// cleanupStream is the part of a cleanup stream smtpd uses
// (internal/submit.Stream).
type cleanupStream interface {
	QueueID() string
	Put(t record.Type, data []byte) error
	PutAttr(name, value string) error
	PutString(t record.Type, s string) error
	Close() (status int, reason string, err error)
	Abort()
}

func openCleanup(c *conf.Config, flags int) (cleanupStream, error) {
	st, err := submit.Open(c, flags)
	if err != nil {
		return nil, err
	}
	return st, nil
}

// receiveFlags are the cleanup flags of a message received over SMTP,
// less what receive_override_options turns off.
func receiveFlags(overrides string) int {
	flags := submit.FlagMaskExternal
	for _, o := range conf.SplitList(overrides) {
		switch o {
		case "no_address_mappings":
			flags &^= submit.FlagBCCOK | submit.FlagMapOK
		case "no_header_body_checks":
			flags &^= submit.FlagFilter
		case "no_milters":
			flags &^= submit.FlagMilter
		}
	}
	return flags
}

// cleanupFlags are the flags of this session's current message.
func (s *session) cleanupFlags() int {
	flags := s.p.cleanupFlags
	if s.tx.smtputf8 {
		flags |= submit.FlagSMTPUTF8
	}
	return flags
}

// openStream opens the cleanup stream when MAIL is accepted, logs the
// client= line and writes the envelope up to the sender and the client
// attributes. It returns false when cleanup cannot be reached.
func (s *session) openStream() bool {
	sender := s.tx.sender
	open := s.srv.cleanup
	if s.standalone {
		open = func(int) (cleanupStream, error) { return openPostdrop(s.srv.c) }
	}
	st, err := open(s.cleanupFlags())
	if err != nil {
		maillog.Warn("connect to cleanup service: %v", err)
		return false
	}
	tx := &s.tx
	tx.stream = st
	tx.queueID = st.QueueID()
	s.checkQueueID(tx.queueID)
	line := tx.queueID + ": client=" + s.namaddr()
	if f := s.fwd; f.set {
		if f.ident != "" {
			line += ", orig_queue_id=" + f.ident
		}
		if f.name != "" || f.addr != "" {
			line += ", orig_client=" + orUnknown(f.name) + "[" + orUnknown(f.addr) + "]"
		}
	}
	if s.auth.method != "" {
		line += ", sasl_method=" + s.auth.method + ", sasl_username=" + s.auth.username
		if s.auth.sender != "" {
			line += ", sasl_sender=" + s.auth.sender
		}
	}
	maillog.Info("%s", line)
	if !s.standalone {
		// postdrop writes its own time and takes no filter or log_ident.
		now := time.Now()
		st.PutString(record.Time, fmt.Sprintf("%d %d", now.Unix(), now.Nanosecond()/1000))
		if f := s.p.contentFilter; f != "" {
			st.PutString(record.Filter, f)
		}
		ident := tx.queueID
		if s.fwd.ident != "" {
			ident = s.fwd.ident
		}
		if ident != "" {
			st.PutAttr("log_ident", ident)
		}
		// Nor does Postfix's smtpd -S write a rewrite context: pickup
		// gives maildrop mail its own.
		st.PutAttr("rewrite_context", s.rewriteContext())
	}
	if s.auth.method != "" {
		st.PutAttr("sasl_method", s.auth.method)
		st.PutAttr("sasl_username", s.auth.username)
		if s.auth.sender != "" {
			st.PutAttr("sasl_sender", s.auth.sender)
		}
	}
	if tx.envid != "" {
		st.PutAttr("envelope_id", tx.envid)
	}
	if tx.ret != 0 {
		st.PutAttr("ret_flags", strconv.Itoa(tx.ret))
	}
	st.PutString(record.From, sender)
	if tx.encoding != "" {
		st.PutAttr("encoding", tx.encoding)
	}
	if !s.standalone {
		f := s.forwarded()
		st.PutAttr("log_client_name", f.name)
		st.PutAttr("log_client_address", f.addr)
		st.PutAttr("log_client_port", f.port)
		st.PutAttr("log_message_origin", f.name+"["+f.addr+"]")
		if f.helo != "" {
			st.PutAttr("log_helo_name", f.helo)
		}
		st.PutAttr("log_protocol_name", f.proto)
		st.PutAttr("client_name", s.name)
		st.PutAttr("reverse_client_name", s.reverseName)
		st.PutAttr("client_address", s.addr)
		st.PutAttr("client_port", s.port)
		st.PutAttr("server_address", s.serverAddr)
		st.PutAttr("server_port", s.serverPort)
		if s.helo != "" {
			st.PutAttr("helo_name", s.helo)
		}
		st.PutAttr("protocol_name", s.protocol)
		af := "2"
		if s.ip.Is6() {
			af = "10"
		}
		st.PutAttr("client_address_type", af)
	}
	return true
}

// writeRcpt writes one accepted recipient to the envelope.
func (s *session) writeRcpt(r rcpt) {
	st := s.tx.stream
	if st == nil {
		return
	}
	if r.notify != 0 {
		st.PutAttr("notify_flags", strconv.Itoa(r.notify))
	}
	st.PutAttr("dsn_orig_rcpt", r.orcpt)
	st.PutString(record.Rcpt, r.addr)
}

// rewriteContext is "local" for clients that local_header_rewrite_clients
// allows, else "remote".
func (s *session) rewriteContext() string {
	// XFORWARD SOURCE overrides local_header_rewrite_clients.
	if src := s.fwd.source; src != "" {
		return src
	}
	if s.localRewriteOK() {
		return "local"
	}
	return "remote"
}

func (s *session) dataCmd(arg string) int {
	if s.tx.bdat != nil {
		s.reply("503 5.5.1 Error: DATA after BDAT")
		return cmdError
	}
	if len(s.tx.rcpts) == 0 {
		if !s.tx.active {
			s.reply("503 5.5.1 Error: need RCPT command")
		} else {
			s.reply("554 5.5.1 Error: no valid recipients")
		}
		return cmdError
	}
	if arg != "" {
		s.reply("501 5.5.4 Syntax: DATA")
		return cmdError
	}
	if r := s.checkData(); r != "" {
		s.reply(r)
		return cmdError
	}
	s.startContent()
	s.reply("354 End data with <CR><LF>.<CR><LF>")
	if err := s.flush(); err != nil {
		maillog.Info("lost connection after DATA from %s", s.namaddr())
		return cmdHangup
	}
	s.where = "DATA"
	cw := &contentWriter{s: s}
	s.conn.SetReadDeadline(time.Now().Add(s.p.timeout))
	res, err := s.rd.ReadData(cw.line)
	cw.size = res.Size
	if err != nil {
		var re *smtpread.Error
		if errors.As(err, &re) {
			s.where = "END-OF-MESSAGE"
			s.logBareLF(re)
			s.tx.abort()
			s.endTransaction()
			s.reply(re.Reply)
			if re.Hangup {
				return cmdHangup
			}
			return cmdError
		}
		s.readError(err, fmt.Sprintf("DATA (%d bytes)", cw.size))
		return cmdHangup
	}
	return s.endContent(cw, "")
}

// startContent writes what precedes the message content: the actions the
// restrictions saved, the content marker, prepended headers and our
// Received: header.
func (s *session) startContent() {
	st := s.tx.stream
	if st == nil {
		return
	}
	s.writeFlags()
	st.Put(record.Mesg, nil)
	for _, h := range s.checkPrepend() {
		st.PutString(record.Norm, h)
	}
	for _, l := range s.receivedHeader() {
		st.PutString(record.Norm, l)
	}
}

// contentWriter passes message content to cleanup and counts its size.
type contentWriter struct {
	s      *session
	size   int64
	tooBig bool
}

func (w *contentWriter) line(line []byte, partial bool) error {
	w.size += int64(len(line))
	if !partial {
		w.size += 2
	}
	lim := w.s.p.sizeLimit
	if lim > 0 && w.size > lim {
		w.tooBig = true
	}
	if w.tooBig || w.s.tx.stream == nil {
		return nil
	}
	t := record.Norm
	if partial {
		t = record.Cont
	}
	return w.s.tx.stream.Put(t, line)
}

// endContent finishes a message after its last line: end-of-data
// restrictions, the closing records and cleanup's verdict. okText is the
// reply prefix for BDAT ("" for DATA).
func (s *session) endContent(cw *contentWriter, okText string) int {
	s.where = "END-OF-MESSAGE"
	defer s.endTransaction()
	st := s.tx.stream
	if cw.tooBig {
		maillog.Warn("%s: queue file size limit exceeded", s.tx.queueID)
		s.tx.abort()
		s.reply("552 5.3.4 Error: message file too big")
		return cmdError
	}
	if st == nil {
		s.reply("451 4.3.0 Error: queue file write error")
		return cmdError
	}
	st.Put(record.Xtra, nil)
	// Postfix's smtpd repeats the BODY= encoding in the extracted section.
	if s.tx.encoding != "" {
		st.PutAttr("encoding", s.tx.encoding)
	}
	s.writeActions()
	if r := s.checkEndOfData(cw.size); r != "" {
		s.tx.abort()
		s.reply(r)
		return cmdError
	}
	st.Put(record.End, nil)
	s.tx.stream = nil
	status, reason, err := st.Close()
	if err != nil {
		maillog.Warn("%s: cleanup service: %v", s.tx.queueID, err)
		s.reply("451 4.3.0 Error: queue file write error")
		return cmdError
	}
	if status == 0 {
		s.junk = 0
		s.reply("250 2.0.0 Ok: " + okText + "queued as " + s.tx.queueID)
		return cmdOK
	}
	s.reply(cleanupReply(status, reason))
	return cmdError
}

// cleanupReply is the reply for a cleanup failure status.
func cleanupReply(status int, reason string) string {
	code, enh, text := submit.Detail(status)
	if reason != "" {
		if len(reason) > 4 && (reason[0] == '4' || reason[0] == '5') && reason[3] == ' ' {
			return reason
		}
		text = reason
	}
	return strconv.Itoa(code) + " " + enh + " " + text
}

// endTransaction resets the transaction after the message (accepted or
// not).
func (s *session) endTransaction() {
	s.tx.abort()
	s.tx = transaction{}
	// XFORWARD describes one transaction, as in Postfix.
	s.fwd = forwardState{}
	s.checkReset()
}

// receivedHeader returns our Received: header's lines.
func (s *session) receivedHeader() []string {
	from := s.helo
	if from == "" {
		from = s.name
	}
	addr := s.addr
	if s.ip.Is6() {
		addr = "IPv6:" + addr
	}
	lines := []string{"Received: from " + from + " (" + s.name + " [" + addr + "])"}
	if s.tlsActive && s.tlsInfo != nil && s.p.recvHeaderTLS {
		lines = append(lines, s.tlsInfo.received...)
	}
	if s.srv.sasl.authHeader && s.auth.username != "" {
		lines = append(lines, "\t(Authenticated sender: "+s.auth.username+")")
	}
	proto := s.protocol
	if s.ehlo {
		if s.tlsActive {
			proto += "S"
		}
		if s.auth.username != "" {
			proto += "A"
		}
	}
	if s.tx.smtputf8 {
		proto = "UTF8" + proto
	}
	by := "\tby " + s.p.hostname + " (" + s.p.mailName + ") with " + proto + " id " + s.tx.queueID
	date := mailDate(time.Now())
	if len(s.tx.rcpts) == 1 {
		lines = append(lines, by, "\tfor <"+address.External(s.tx.rcpts[0].addr)+">; "+date)
	} else {
		lines = append(lines, by+";", "\t"+date)
	}
	return lines
}

// mailDate formats t as Postfix's mail_date does for Received: headers,
// "Sat, 28 Nov 2026 13:12:43 +0000 (UTC)".
func mailDate(t time.Time) string {
	return t.Format("Mon, _2 Jan 2006 15:04:05 -0700 (MST)")
}
