package check

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/postfix-go/postfix/internal/address"
	"github.com/postfix-go/postfix/internal/maillog"
	"github.com/postfix-go/postfix/internal/msg"
)

// status is the outcome of one restriction, as Postfix's smtpd_check
// counts: dunno (go on), ok (permit), reject (error text set); negative
// values are table trouble.
type status int

const (
	stDunno  status = 0
	stOK     status = 1
	stReject status = 2
	stRetry  status = -1 // temporary table failure
	stConfig status = -2 // configuration or software trouble
)

// Error classes (Postfix's notify classes), as the checks report them.
const (
	classPolicy = 1 << iota
	classProtocol
	classBounce
	classSoftware
	classResource
	classData
)

// jump unwinds a restriction evaluation, as Postfix's longjmp does.
type jump struct{ st status }

func defaultInfo(format string, args ...any)  { maillog.Info(format, args...) }
func defaultWarn(format string, args ...any)  { maillog.Warn(format, args...) }
func defaultError(format string, args ...any) { maillog.Error(format, args...) }

// eval is one evaluation of restrictions for a session.
type eval struct {
	k *Checker
	s *Session
}

func (e *eval) st() *evalState { return &e.s.st }

// whatsup logs "QUEUEID: WHAT: STAGE from name[addr]: TEXT; from=<> to=<>
// proto=P helo=<h>", as Postfix's smtpd logs reject, warn, hold ...
func (e *eval) whatsup(what, text string) {
	s := e.s
	var b strings.Builder
	id := s.QueueID
	if id == "" {
		id = "NOQUEUE"
	}
	fmt.Fprintf(&b, "%s: %s: %s from %s: %s;", id, what, s.Stage, s.namaddr(e.k.p.clientPortLog), text)
	st := e.st()
	if st.sender != nil {
		fmt.Fprintf(&b, " from=<%s>", e.logAddr(*st.sender))
	}
	if st.recipient != nil {
		fmt.Fprintf(&b, " to=<%s>", e.logAddr(*st.recipient))
	}
	if s.Protocol != "" {
		fmt.Fprintf(&b, " proto=%s", s.Protocol)
	}
	if st.helo != nil {
		fmt.Fprintf(&b, " helo=<%s>", *st.helo)
	}
	e.k.log("%s", b.String())
}

// logAddr is an address as info_log_address_format wants it in logs.
func (e *eval) logAddr(a string) string {
	if e.k.p.internalLog || a == "" {
		return a
	}
	return address.External(a)
}

// permit is smtpd_acl_permit: OK, logged when smtpd_log_access_permit_actions
// lists the action.
func (e *eval) permit(action, replyClass, replyName, extra string) status {
	if !e.st().deferIfPermit.active {
		if ok, _ := e.k.permitLog.Match(action, ""); ok {
			text := "action=" + action + " for " + replyClass + "=" + replyName + " " + extra
			e.whatsup("permit", text)
		}
	}
	return stOK
}

// reject is smtpd_check_reject: format and log the reply, honouring
// warn_if_reject, defer_if_reject and soft_bounce.
func (e *eval) reject(class, code int, dsn, format string, args ...any) status {
	st := e.st()
	warnOnly := st.warnIfReject != 0 && class != classSoftware && class != classResource
	what := "reject"
	if warnOnly {
		what = "reject_warning"
	}
	st.errClass |= class
	text := strconv.Itoa(code) + " " + dsn + " " + fmt.Sprintf(format, args...)
	if code < 400 || code > 599 {
		e.k.warn("SMTP reply code configuration error: %s", text)
		text = "450 4.7.1 Service unavailable"
	}
	if !dsnValid(text[4:]) {
		e.k.warn("DSN detail code configuration error: %s", text)
		text = "450 4.7.1 Service unavailable"
	}
	// Postfix 3.7.11 does not cut a long reply (a 2000-byte HELO name
	// comes back whole), but every byte of it that is not printable
	// (8-bit text too, unless it is UTF-8 and smtputf8_enable is on)
	// becomes a space: "<x\xe9y>" is answered as "<x y>".
	text = msg.PrintableRepl(text, e.k.p.utf8, ' ')
	if !warnOnly && st.deferIfReject.active && text[0] == '5' {
		st.warnIfReject = 0
		st.deferIfReject.active = false
		d := st.deferIfReject
		return e.reject(d.class, d.code, d.dsn, "%s", d.reason)
	}
	b := []byte(text)
	if e.k.p.softBounce && b[0] == '5' {
		b[0] = '4'
	}
	b[4] = b[0]
	text = string(b)
	e.whatsup(what, text)
	if warnOnly {
		return stDunno
	}
	st.errText = text
	return stReject
}

// deferIf records the first reason for a later defer_if_permit or
// defer_if_reject decision.
func (e *eval) deferIf(d *deferState, class, code int, dsn, format string, args ...any) status {
	if !d.active {
		*d = deferState{active: true, class: class, code: code, dsn: dsn, reason: fmt.Sprintf(format, args...)}
	}
	return stDunno
}

func (e *eval) deferIfReject(class, code int, dsn, format string, args ...any) status {
	return e.deferIf(&e.st().deferIfReject, class, code, dsn, format, args...)
}

// deferIfPermit2 is Postfix's DEFER_IF_PERMIT: a deferral that waits for a
// permit, or (tempfail action "defer", or under warn_if_reject) an
// immediate reply.
func (e *eval) deferIfPermit(act int, class, code int, dsn, format string, args ...any) status {
	if e.st().warnIfReject == 0 && act != 0 {
		return e.deferIf(&e.st().deferIfPermit, class, code, dsn, format, args...)
	}
	return e.reject(class, code, dsn, format, args...)
}

// dictRetry ends the evaluation with "451 4.3.0 <name>: Temporary lookup failure".
func (e *eval) dictRetry(name string) {
	panic(jump{e.reject(classData, 451, "4.3.0", "<%s>: Temporary lookup failure", name)})
}

// serverError ends the evaluation with "451 4.3.5 Server configuration error".
func (e *eval) serverError() {
	panic(jump{e.reject(classSoftware, 451, "4.3.5", "Server configuration error")})
}

// dsnValid reports whether s starts with an RFC 3463 status code followed
// by a space or the end.
func dsnValid(s string) bool { return dsnLen(s) > 0 }

// dsnLen returns the length of the status code at the start of s, or 0.
func dsnLen(s string) int {
	if len(s) < 5 || (s[0] != '2' && s[0] != '4' && s[0] != '5') || s[1] != '.' {
		return 0
	}
	i := 2
	n := 0
	for i < len(s) && isDigit(s[i]) {
		i++
		n++
	}
	if n == 0 || n > 3 || i >= len(s) || s[i] != '.' {
		return 0
	}
	i++
	n = 0
	for i < len(s) && isDigit(s[i]) {
		i++
		n++
	}
	if n == 0 || n > 3 {
		return 0
	}
	if i < len(s) && s[i] != ' ' && s[i] != '\t' {
		return 0
	}
	return i
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// dsnSplit splits an optional leading status code off text; def is used
// when there is none.
func dsnSplit(def, text string) (dsn, rest string) {
	t := strings.TrimLeft(text, " \t")
	if n := dsnLen(t); n > 0 {
		return t[:n], strings.TrimLeft(t[n:], " \t")
	}
	return def, t
}

// dsnFix adjusts an address status code to what is rejected (sender,
// recipient or neither), as Postfix's smtpd_dsn_fix does.
func (e *eval) dsnFix(status, replyClass string) string {
	if len(status) < 5 || !isDigit(status[0]) || status[1:4] != ".1." {
		return status
	}
	micro := status[4:]
	var result string
	switch replyClass {
	case nameSender:
		result = map[string]string{"0": "4.1.0", "1": "4.1.7", "2": "4.1.8", "3": "4.1.7", "4": "4.1.7", "5": "4.1.0",
			"6": "4.1.7", "7": "4.1.7", "8": "4.1.8"}[micro]
		if result == "" {
			result = "4.1.0"
		}
	case nameRecipient:
		result = map[string]string{"0": "4.1.0", "1": "4.1.1", "2": "4.1.2", "3": "4.1.3", "4": "4.1.4", "5": "4.1.5",
			"6": "4.1.6", "7": "4.1.3", "8": "4.1.2"}[micro]
		if result == "" {
			result = "4.1.0"
		}
	default:
		result = "4.0.0"
	}
	result = status[:1] + result[1:]
	if status != result {
		e.k.log("mapping DSN status %s into %s status %s", status, replyClass, result)
	}
	return result
}

// Reply class names, as they appear in reply texts.
const (
	nameClient    = "Client host"
	nameRevClient = "Unverified Client host"
	nameHelo      = "Helo command"
	nameSender    = "Sender address"
	nameRecipient = "Recipient address"
	nameEtrn      = "Etrn command"
	nameData      = "Data command"
	nameEOD       = "End-of-data"
	nameCCert     = "Client certificate"
	nameSASLUser  = "SASL login name"
)
