package smtpd

import (
	"strconv"
	"strings"

	"github.com/emersion/go-smtp"

	"github.com/postfix-go/postfix/internal/maillog"
	"github.com/postfix-go/postfix/internal/smtpread"
)

// transaction is one mail transaction, from MAIL FROM to the end of the
// message.
type transaction struct {
	active     bool   // MAIL was accepted
	sender     string // internal form
	size       int64  // SIZE= value
	encoding   string // BODY= → "7bit"/"8bit"
	envid      string // ENVID (xtext-decoded)
	ret        int    // RET= flags (1 FULL, 2 HDRS)
	smtputf8   bool
	authSender string
	localCtx   bool // local_header_rewrite_clients matched at MAIL (rewrite_context=local)
	rcpts      []rcpt
	stream     cleanupStream
	queueID    string
	bdat       *bdatState
}

// rcpt is one accepted recipient.
type rcpt struct {
	addr   string // internal form
	orcpt  string // DSN ORCPT ("rfc822;addr" by default)
	notify int    // DSN NOTIFY flags
}

// DSN NOTIFY and RET flags as Postfix stores them.
const (
	notifyNever   = 1
	notifySuccess = 2
	notifyFailure = 4
	notifyDelay   = 8
	retFull       = 1
	retHdrs       = 2
)

// abort abandons the cleanup stream of an unfinished message.
func (t *transaction) abort() {
	if t.stream != nil {
		t.stream.Abort()
		t.stream = nil
	}
}

func (s *session) mailCmd(arg string) int {
	if s.tx.active {
		s.reply("503 5.5.1 Error: nested MAIL command")
		return cmdError
	}
	path, err := smtpread.ParsePath("MAIL", arg, s.pathOptions(false))
	tx := &s.tx
	// As in Postfix, a SIZE= value stays until the transaction is reset,
	// also when this command fails after it or the next MAIL has none.
	if path.Mail.Size != 0 || hasParam(path, "SIZE") && err == nil {
		tx.size = path.Mail.Size
	}
	if err != nil {
		return s.pathErr("MAIL", arg, path, err)
	}
	// ParsePath checked the parameters with Postfix's replies.
	o := path.Mail
	tx.encoding, tx.ret = "", 0
	switch o.Body {
	case smtp.Body8BitMIME:
		tx.encoding = "8bit"
	case smtp.Body7Bit:
		tx.encoding = "7bit"
	}
	tx.smtputf8 = o.UTF8
	switch o.Return {
	case smtp.DSNReturnFull:
		tx.ret = retFull
	case smtp.DSNReturnHeaders:
		tx.ret = retHdrs
	}
	tx.envid = o.EnvelopeID
	tx.authSender = path.AuthRaw
	if s.p.sizeLimit > 0 && tx.size > s.p.sizeLimit {
		s.logReject("MAIL", "552 5.3.4 Message size exceeds fixed limit", path.Addr, "")
		s.reply("552 5.3.4 Message size exceeds fixed limit")
		return cmdError
	}
	if r := s.anvilMail(); r != "" {
		s.reply(r)
		return cmdError
	}
	if r := s.checkMail(path.Addr); r != "" {
		s.reply(r)
		return cmdError
	}
	if r := s.checkRewrite(); r != "" {
		s.reply(r)
		return cmdError
	}
	tx.sender = path.Addr
	if !s.p.delayOpen && !s.openStream() {
		s.reply("451 4.3.0 Error: queue file write error")
		return cmdError
	}
	tx.active = true
	s.reply("250 2.1.0 Ok")
	return cmdOK
}

// checkRewrite decides, on every MAIL once the sender restrictions have
// passed, whether cleanup rewrites the message's headers in the local or
// the remote context (local_header_rewrite_clients), as Postfix's smtpd
// does. A lookup table that fails or gives an empty result makes MAIL
// fail with a 451 reply; the checker logs the reject line, which has no
// from=<...> because the sender is not recorded yet. A stand-alone
// session (sendmail -bs) has no client to judge: its mail is local.
func (s *session) checkRewrite() string {
	s.tx.localCtx = false
	if s.standalone {
		s.tx.localCtx = true
		return ""
	}
	if s.srv.checks == nil {
		return "" // checkMail has answered already
	}
	k := s.cs("MAIL")
	ctx, r := s.srv.checks.RewriteContext(k)
	if r != nil {
		k.ResetTransaction()
		return s.verdict(r)
	}
	s.tx.localCtx = ctx == "local"
	return ""
}

func (s *session) rcptCmd(arg string) int {
	if !s.tx.active {
		s.reply("503 5.5.1 Error: need MAIL command")
		return cmdError
	}
	path, err := smtpread.ParsePath("RCPT", arg, s.pathOptions(s.tx.smtputf8))
	if err != nil {
		return s.pathErr("RCPT", arg, path, err)
	}
	r := rcpt{addr: path.Addr, notify: smtpread.NotifyFlags(path.Rcpt.Notify)}
	if t := path.Rcpt.OriginalRecipientType; t != "" {
		r.orcpt = string(t) + ";" + path.Rcpt.OriginalRecipient
	} else {
		// Postfix makes up ORCPT from the address as the client wrote
		// it (external form, route included), without its brackets.
		raw := path.Raw
		if len(raw) >= 2 && raw[0] == '<' && raw[len(raw)-1] == '>' {
			raw = raw[1 : len(raw)-1]
		}
		r.orcpt = "rfc822;" + raw
	}
	if s.p.rcptLimit > 0 && len(s.tx.rcpts) >= s.p.rcptLimit {
		s.reply("452 4.5.3 Error: too many recipients")
		// Within smtpd_recipient_overshoot_limit this is not an error.
		s.overshoot++
		if s.overshoot <= s.p.overshootLimit {
			return cmdOK
		}
		return cmdError
	}
	if rep := s.anvilRcpt(); rep != "" {
		s.reply(rep)
		return cmdError
	}
	if rep := s.checkRcpt(path.Addr); rep != "" {
		s.reply(rep)
		return cmdError
	}
	if s.tx.stream == nil && !s.openStream() {
		s.reply("451 4.3.0 Error: queue file write error")
		return cmdError
	}
	s.tx.rcpts = append(s.tx.rcpts, r)
	s.writeRcpt(r)
	s.reply("250 2.1.5 Ok")
	return cmdOK
}

// pathOptions are the MAIL/RCPT parsing settings for this session.
func (s *session) pathOptions(utf8 bool) smtpread.PathOptions {
	return smtpread.PathOptions{StrictRFC821: s.p.strict821, SMTPUTF8: utf8,
		NoDSN: s.discardKeyword("DSN"), NoSMTPUTF8: !s.p.smtputf8 || s.discardKeyword("SMTPUTF8")}
}

// replyErr sends the reply an *smtpread.Error carries.
func (s *session) replyErr(err error) int {
	if re, ok := err.(*smtpread.Error); ok {
		s.reply(re.Reply)
		return cmdError
	}
	s.reply("501 5.5.4 Syntax error")
	return cmdError
}

// pathErr answers a MAIL or RCPT argument that did not parse, with the
// warnings Postfix logs for a bad address or NOTIFY value.
func (s *session) pathErr(verb, arg string, path smtpread.Path, err error) int {
	re, ok := err.(*smtpread.Error)
	if ok && re.Warn {
		maillog.Warn("Illegal address syntax from %s in %s command: %s", s.namaddr(), verb, path.Raw)
	}
	if ok && strings.Contains(re.Reply, "Bad NOTIFY parameter") {
		for _, w := range smtpread.Fields(arg) {
			if v, found := cutPrefixFold(w, "NOTIFY="); found {
				for _, k := range strings.Split(v, ",") {
					if _, known := notifyWords[strings.ToUpper(k)]; !known {
						maillog.Warn("unknown DSN NOTIFY command value \"%s\" in \"%s\"", k, v)
						break
					}
				}
			}
		}
	}
	return s.replyErr(err)
}

var notifyWords = map[string]int{"NEVER": notifyNever, "SUCCESS": notifySuccess, "FAILURE": notifyFailure, "DELAY": notifyDelay}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}

// hasParam reports whether the command had the ESMTP parameter name.
func hasParam(p smtpread.Path, name string) bool {
	for _, q := range p.Params {
		if q.Name == name {
			return true
		}
	}
	return false
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// xtextDecode decodes RFC 3461 xtext.
func xtextDecode(v string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c < '!' || c > '~' || c == '=' {
			return "", false
		}
		if c != '+' {
			b.WriteByte(c)
			continue
		}
		if i+2 >= len(v) {
			return "", false
		}
		x, err := strconv.ParseUint(v[i+1:i+3], 16, 8)
		if err != nil || v[i+1] >= 'a' || v[i+2] >= 'a' {
			return "", false
		}
		b.WriteByte(byte(x))
		i += 2
	}
	return b.String(), true
}

// logReject logs a reject the engine itself decided, as Postfix's
// smtpd_check would: "NOQUEUE: reject: MAIL from host[addr]: REPLY;
// from=<a> proto=ESMTP helo=<h>".
func (s *session) logReject(stage, reply, sender, rcpt string) {
	id := "NOQUEUE"
	if s.tx.queueID != "" {
		id = s.tx.queueID
	}
	var b strings.Builder
	b.WriteString(id + ": reject: " + stage + " from " + s.namaddr() + ": " + reply + ";")
	b.WriteString(" from=<" + sender + ">")
	if rcpt != "" {
		b.WriteString(" to=<" + rcpt + ">")
	}
	b.WriteString(" proto=" + s.protocol)
	if s.helo != "" {
		b.WriteString(" helo=<" + s.helo + ">")
	}
	maillog.Info("%s", b.String())
}

// logWhatsup logs an event of the session the way Postfix's smtpd does
// for its own rejects: "QUEUEID: reject: WHERE from HOST[ADDR]: TEXT;
// from=<S> to=<R> proto=P helo=<H>", each part only when known.
func (s *session) logWhatsup(action, text string) {
	id := "NOQUEUE"
	if s.tx.queueID != "" {
		id = s.tx.queueID
	}
	var b strings.Builder
	b.WriteString(id + ": " + action + ": " + s.where + " from " + s.namaddr() + ": " + text + ";")
	if s.tx.active {
		b.WriteString(" from=<" + s.tx.sender + ">")
	}
	if n := len(s.tx.rcpts); n > 0 {
		b.WriteString(" to=<" + s.tx.rcpts[n-1].addr + ">")
	}
	b.WriteString(" proto=" + s.protocol)
	if s.helo != "" {
		b.WriteString(" helo=<" + s.helo + ">")
	}
	maillog.Info("%s", b.String())
}
