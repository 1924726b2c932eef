package check

import (
	"strings"

	"github.com/postfix-go/postfix/internal/rewrite"
)

// The stage functions return nil to go on, or the reply to send. Each
// logs Postfix's "reject:" line (and warn, hold, discard, reject_warning
// lines) itself.

// begin prepares an evaluation: the values under test come from the
// session.
func (k *Checker) begin(s *Session) *eval {
	st := &s.st
	st.helo, st.sender, st.recipient, st.etrn = nil, nil, nil, nil
	if s.HELO != "" {
		h := s.HELO
		st.helo = &h
	}
	if s.senderSet() {
		x := s.Sender
		st.sender = &x
	}
	if s.Recipient != "" {
		r := s.Recipient
		st.recipient = &r
	}
	return &eval{k: k, s: s}
}

func (st *evalState) reset() {
	st.recursion = 0
	st.warnIfReject = 0
	st.deferIfReject.active = false
}

func (e *eval) reply(st status) *Reply {
	if st == stReject {
		return parseReply(e.st().errText)
	}
	return nil
}

// client is smtpd_check_client.
func (e *eval) client() *Reply {
	s, st := e.s, e.st()
	if s.Addr == "" {
		return nil
	}
	st.deferIfPermit.active = false
	st.reset()
	r := e.run(e.k.lists["smtpd_client_restrictions"], s.namaddr(e.k.p.clientPortLog), nameClient, aclClient)
	st.dipClient = st.deferIfPermit.active
	return e.reply(r)
}

// helo is smtpd_check_helo.
func (e *eval) helo() *Reply {
	st := e.st()
	if st.helo == nil {
		return nil
	}
	st.deferIfPermit.active = st.dipClient
	st.reset()
	r := e.run(e.k.lists["smtpd_helo_restrictions"], *st.helo, nameHelo, aclHelo)
	st.dipHelo = st.deferIfPermit.active
	return e.reply(r)
}

// mail is smtpd_check_mail.
func (e *eval) mail() *Reply {
	s, st := e.s, e.st()
	if st.sender == nil {
		return nil
	}
	sender := *st.sender
	st.deferIfPermit.active = st.dipClient || st.dipHelo
	st.senderMapsChk = false
	st.reset()
	r := e.run(e.k.lists["smtpd_sender_restrictions"], sender, nameSender, aclSender)
	st.dipSender = st.deferIfPermit.active
	if e.k.p.rejUnlFrom && r != stReject && !st.senderMapsChk && !s.Discard && sender != "" {
		r = e.catch(func() status { return e.senderRcptMaps(sender) })
	}
	return e.reply(r)
}

// catch runs f, turning an early exit into its status.
func (e *eval) catch(f func() status) (st status) {
	defer func() {
		if r := recover(); r != nil {
			j, ok := r.(jump)
			if !ok {
				panic(r)
			}
			st = j.st
		}
	}()
	return f()
}

// rcpt is smtpd_check_rcpt (for RCPT and VRFY).
func (e *eval) rcpt(recipient string) *Reply {
	k, s, st := e.k, e.s, e.st()
	if equalFold(recipient, "postmaster") {
		return nil
	}
	st.recipient = &recipient
	st.rcptMapsChk = false
	if k.p.delayReject {
		if r := e.client(); r != nil {
			return r
		}
		if r := e.helo(); r != nil {
			return r
		}
		if r := e.mail(); r != nil {
			return r
		}
	}
	st.deferIfPermit.active = st.dipSender
	st.reset()
	var r status
	for _, p := range []string{"smtpd_relay_restrictions", "smtpd_recipient_restrictions"} {
		r = e.run(k.lists[p], recipient, nameRecipient, aclRecipient)
		if r == stReject {
			break
		}
	}
	if r != stReject && st.deferIfPermit.active {
		d := st.deferIfPermit
		r = e.reject(d.class, d.code, d.dsn, "%s", d.reason)
	}
	if k.p.rejUnlRcpt && r != stReject && !st.rcptMapsChk && !s.Discard {
		r = e.catch(func() status { return e.recipientRcptMaps(recipient) })
	}
	return e.reply(r)
}

// Connect applies smtpd_client_restrictions when the client connects
// (only with smtpd_delay_reject = no; otherwise they wait for RCPT).
func (k *Checker) Connect(s *Session) *Reply {
	if k.p.delayReject {
		return nil
	}
	return k.begin(s).client()
}

// Helo applies smtpd_helo_restrictions to s.HELO (set it to the new
// argument first, and restore the old value if a reply comes back); with
// smtpd_delay_reject they wait for RCPT.
func (k *Checker) Helo(s *Session) *Reply {
	if k.p.delayReject {
		return nil
	}
	return k.begin(s).helo()
}

// Mail applies smtpd_sender_restrictions to s.Sender (and the implicit
// reject_unlisted_sender); with smtpd_delay_reject the restriction list
// waits for RCPT.
func (k *Checker) Mail(s *Session) *Reply {
	if k.p.delayReject {
		return nil
	}
	return k.begin(s).mail()
}

// Rcpt checks s.Recipient: with smtpd_delay_reject the client, helo and
// sender lists first, then smtpd_relay_restrictions and
// smtpd_recipient_restrictions, then the implicit reject_unlisted_recipient.
func (k *Checker) Rcpt(s *Session) *Reply {
	e := k.begin(s)
	return e.rcpt(s.Recipient)
}

// Vrfy checks s.VRFYAddr as Rcpt checks a recipient.
func (k *Checker) Vrfy(s *Session) *Reply {
	e := k.begin(s)
	return e.rcpt(s.VRFYAddr)
}

// Etrn applies smtpd_etrn_restrictions to s.ETRNDomain (after the client
// and helo lists with smtpd_delay_reject).
func (k *Checker) Etrn(s *Session) *Reply {
	e := k.begin(s)
	st := e.st()
	d := s.ETRNDomain
	st.etrn = &d
	if k.p.delayReject {
		if r := e.client(); r != nil {
			return r
		}
		if r := e.helo(); r != nil {
			return r
		}
	}
	st.deferIfPermit.active = st.dipClient || st.dipHelo
	st.reset()
	r := e.run(k.lists["smtpd_etrn_restrictions"], d, nameEtrn, aclEtrn)
	if r != stReject && st.deferIfPermit.active {
		dd := st.deferIfPermit
		r = e.reject(dd.class, dd.code, dd.dsn, "%s", dd.reason)
	}
	return e.reply(r)
}

// Data applies smtpd_data_restrictions.
func (k *Checker) Data(s *Session) *Reply {
	return k.dataStage(s, "smtpd_data_restrictions", "DATA", nameData)
}

// EndOfData applies smtpd_end_of_data_restrictions.
func (k *Checker) EndOfData(s *Session) *Reply {
	return k.dataStage(s, "smtpd_end_of_data_restrictions", "END-OF-MESSAGE", nameEOD)
}

func (k *Checker) dataStage(s *Session, param, replyName, replyClass string) *Reply {
	e := k.begin(s)
	st := e.st()
	if s.RcptCount > 1 {
		st.recipient = nil
	}
	st.deferIfPermit.active = false
	st.reset()
	r := e.run(k.lists[param], replyName, replyClass, noDefaultACL)
	if r != stReject && st.deferIfPermit.active {
		d := st.deferIfPermit
		r = e.reject(d.class, d.code, d.dsn, "%s", d.reason)
	}
	return e.reply(r)
}

// BadAddress reports whether trivial-rewrite finds addr malformed
// (Postfix's smtpd_check_addr), for the "501 5.1.7 Bad sender address
// syntax" and "501 5.1.3 Bad recipient address syntax" replies.
func (k *Checker) BadAddress(s *Session, addr string) bool {
	if addr == "" || k.deps.Rewrite == nil {
		return false
	}
	sender := ""
	if s.senderSet() {
		sender = s.Sender
	}
	full, err := k.deps.Rewrite.Rewrite(rewrite.RuleLocal, addr)
	if err != nil {
		return false
	}
	res, err := k.deps.Rewrite.Resolve(sender, full)
	return err == nil && res.Flags&flagError != 0
}

// DelayReject reports smtpd_delay_reject.
func (k *Checker) DelayReject() bool { return k.p.delayReject }

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// RewriteContext is Postfix's smtpd_check_rewrite: it decides, from
// local_header_rewrite_clients, whether the headers of the client's mail
// are rewritten in the "local" or the "remote" context. Besides the
// context it may return a reply: a table lookup failed ("451 4.3.0
// Temporary lookup error", "451 4.3.5 Server configuration error"; the
// reject line is logged). Postfix's smtpd asks at MAIL, once the sender
// restrictions have accepted the sender but before it records the
// sender, so the reject line has no "from=<...>"; the MAIL command then
// gets the reply.
func (k *Checker) RewriteContext(s *Session) (string, *Reply) {
	e := k.begin(s)
	e.st().sender = nil
	for _, w := range k.rewriteClients {
		st := stDunno
		switch name := strings.ToLower(w); {
		case strings.IndexByte(w, ':') >= 0:
			t, _ := k.tableFor(w)
			_, ok, err := t.Lookup(s.Addr)
			switch {
			case ok:
				st = stOK
			case err != nil:
				st = errStatus(err)
			}
		case name == "permit_inet_interfaces":
			if k.ownAddr(s.peerAddr()) {
				st = stOK
			}
		case name == "permit_mynetworks":
			ok, err := k.mynetworks.Match(s.Name, s.Addr)
			if err != nil {
				st = errStatus(err)
			} else if ok {
				st = stOK
			}
		case name == "permit_sasl_authenticated":
			if (k.p.saslEnable || s.SASLEnabled) && s.SASLUser != "" {
				st = stOK
			}
		case name == "permit_tls_clientcerts" || name == "permit_tls_all_clientcerts":
			st = e.tlsClientCerts(name == "permit_tls_all_clientcerts")
		default:
			k.warn("parameter %s: invalid request: %s", "local_header_rewrite_clients", w)
			continue
		}
		if st < 0 {
			text := "451 4.3.5 Server configuration error"
			if st == stRetry {
				text = "451 4.3.0 Temporary lookup error"
			}
			e.whatsup("reject", text)
			return "remote", parseReply(text)
		}
		if st == stOK {
			return "local", nil
		}
	}
	return "remote", nil
}
