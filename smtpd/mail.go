package smtpd

import (
	"strconv"
	"strings"

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
	if err != nil {
		return s.pathErr("MAIL", arg, path, err)
	}
	tx := &s.tx
	for _, p := range path.Params {
		switch p.Name {
		case "SIZE":
			n, err := strconv.ParseInt(p.Value, 10, 64)
			if err != nil || !p.HasValue || n < 0 || !allDigits(p.Value) {
				s.reply("501 5.5.4 Bad message size syntax")
				return cmdError
			}
			tx.size = n
		case "BODY":
			switch strings.ToUpper(p.Value) {
			case "8BITMIME":
				tx.encoding = "8bit"
			case "7BIT":
				tx.encoding = "7bit"
			default:
				s.reply("501 5.5.4 Unsupported BODY parameter")
				return cmdError
			}
		case "SMTPUTF8":
			if !s.p.smtputf8 || p.HasValue {
				s.reply("555 5.5.4 Unsupported option: " + paramText(p))
				return cmdError
			}
			tx.smtputf8 = true
		case "RET":
			switch strings.ToUpper(p.Value) {
			case "FULL":
				tx.ret = retFull
			case "HDRS":
				tx.ret = retHdrs
			default:
				s.reply("501 5.5.4 Bad RET parameter syntax")
				return cmdError
			}
		case "ENVID":
			v, ok := xtextDecode(p.Value)
			if !ok || !p.HasValue || tx.envid != "" {
				s.reply("501 5.5.4 Bad ENVID parameter syntax")
				return cmdError
			}
			tx.envid = v
		case "AUTH":
			if v, ok := xtextDecode(p.Value); ok {
				tx.authSender = v
			}
		default:
			s.reply("555 5.5.4 Unsupported option: " + paramText(p))
			return cmdError
		}
	}
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
	tx.sender = path.Addr
	if !s.p.delayOpen && !s.openStream() {
		s.reply("451 4.3.0 Error: queue file write error")
		return cmdError
	}
	tx.active = true
	s.reply("250 2.1.0 Ok")
	return cmdOK
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
	r := rcpt{addr: path.Addr}
	for _, p := range path.Params {
		switch p.Name {
		case "NOTIFY":
			if r.notify != 0 {
				s.reply("501 5.5.4 Error: Bad NOTIFY parameter syntax")
				return cmdError
			}
			n, ok := s.notifyFlags(p.Value)
			if !ok {
				s.reply("501 5.5.4 Error: Bad NOTIFY parameter syntax")
				return cmdError
			}
			r.notify = n
		case "ORCPT":
			v, ok := xtextDecode(p.Value)
			if !ok || r.orcpt != "" || !strings.Contains(v, ";") {
				s.reply("501 5.5.4 Error: Bad ORCPT parameter syntax")
				return cmdError
			}
			r.orcpt = v
		default:
			s.reply("555 5.5.4 Unsupported option: " + paramText(p))
			return cmdError
		}
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
	if r.orcpt == "" {
		r.orcpt = "rfc822;" + path.Addr
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
		for _, w := range strings.Fields(arg) {
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

// paramText is an ESMTP parameter as the client wrote it.
func paramText(p smtpread.Param) string {
	if p.HasValue {
		return p.Name + "=" + p.Value
	}
	return p.Name
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// notifyFlags parses a NOTIFY= value.
func (s *session) notifyFlags(v string) (int, bool) {
	n := 0
	for _, w := range strings.Split(v, ",") {
		switch strings.ToUpper(w) {
		case "NEVER":
			n |= notifyNever
		case "SUCCESS":
			n |= notifySuccess
		case "FAILURE":
			n |= notifyFailure
		case "DELAY":
			n |= notifyDelay
		default:
			return 0, false
		}
	}
	if n&notifyNever != 0 && n != notifyNever {
		return 0, false
	}
	return n, true
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
