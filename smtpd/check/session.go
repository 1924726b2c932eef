package check

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"fmt"
	"hash"
	"strconv"
	"strings"

	"github.com/postfix-go/postfix/internal/tlsutil"
)

// Session is the state of one SMTP session that the checks read. smtpd
// fills the exported fields as the dialogue goes on; the unexported part is
// check's own bookkeeping (defer_if_permit / defer_if_reject state, which
// recipient-table checks already ran, a resolver cache). Addresses are in
// internal (unquoted) form.
type Session struct {
	// Name is the verified client host name, "unknown" when there is none;
	// ReverseName the name from the PTR lookup alone; Addr the client
	// address without brackets; Port the client port.
	Name, ReverseName, Addr, Port string
	// NameStatus and ReverseNameStatus are Postfix's lookup codes: 2 ok,
	// 4 temporary failure, 5 permanent failure.
	NameStatus, ReverseNameStatus int
	// PeerAddr is the address the connection itself comes from, which
	// XCLIENT does not change: permit_inet_interfaces judges it, as
	// Postfix's does. "" means the same as Addr; "unknown" a client
	// that is not on an Internet socket (sendmail -bs), never one of
	// this host's addresses.
	PeerAddr string
	// ServerAddr and ServerPort are the local end of the connection.
	ServerAddr, ServerPort string
	// HELO is the HELO/EHLO argument, "" when none was given.
	HELO string
	// Protocol is "SMTP" or "ESMTP" (logged as proto=).
	Protocol string
	// Sender is the MAIL FROM address ("" for the null sender once
	// SenderSet or a transaction stage says MAIL was given).
	Sender string
	// SenderSet says that MAIL FROM was accepted and Sender is meaningful.
	// It is implied for the stages MAIL, RCPT, DATA and END-OF-MESSAGE.
	SenderSet bool
	// Recipient is the RCPT TO or VRFY address being checked; at DATA and
	// END-OF-MESSAGE the first accepted recipient (logged only when there
	// is exactly one).
	Recipient string
	// ETRNDomain is the ETRN argument; VRFYAddr the VRFY argument.
	ETRNDomain, VRFYAddr string
	// SASLMethod, SASLUser and SASLSender describe a SASL login ("" when
	// none).
	SASLMethod, SASLUser, SASLSender string
	// SASLEnabled turns SASL restrictions on for this session even when
	// the Checker's smtpd_sasl_auth_enable is off (the Checker's setting
	// already covers the normal case).
	SASLEnabled bool
	// TLS describes the encryption of the session, nil when plaintext.
	TLS *tlsutil.Info
	// RcptCount is the number of recipients accepted so far.
	RcptCount int
	// Size is the MAIL SIZE= value (the policy "size" attribute).
	Size int64
	// QueueID is the queue file's ID, "" before it exists ("NOQUEUE").
	QueueID string
	// Pipelined is set by smtpd when the client sent more input before
	// it was allowed to (reject_unauth_pipelining).
	Pipelined bool
	// InstanceID identifies the mail transaction to policy servers.
	InstanceID string
	// Stage is the command being checked: "CONNECT", "EHLO", "HELO",
	// "MAIL", "RCPT", "DATA", "END-OF-MESSAGE", "VRFY", "ETRN", and
	// "XCLIENT" when an XCLIENT command re-runs the client restrictions.
	Stage string

	// Results of access-table actions, applied by smtpd to the message.
	Hold, Discard             bool
	HoldReason, DiscardReason string
	Filter, Redirect          string
	BCC                       []string
	Prepend                   []string

	st evalState
}

// deferState is one of Postfix's defer_if_permit / defer_if_reject memos.
type deferState struct {
	active bool
	class  int
	code   int
	dsn    string
	reason string
}

// evalState is the bookkeeping Postfix keeps in SMTPD_STATE for the checks.
type evalState struct {
	recursion     int
	warnIfReject  int
	deferIfPermit deferState
	deferIfReject deferState
	dipClient     bool
	dipHelo       bool
	dipSender     bool
	senderMapsChk bool
	rcptMapsChk   bool
	errText       string
	errClass      int
	// the values currently under test (Postfix pushes them into the state)
	helo      *string
	sender    *string
	recipient *string
	etrn      *string
	resolved  map[string]resolved
}

// ResetTransaction forgets what belongs to one mail transaction: after
// RSET, a rejected MAIL or the end of a message.
func (s *Session) ResetTransaction() {
	s.Sender, s.SenderSet, s.Recipient = "", false, ""
	s.RcptCount, s.Size, s.QueueID, s.InstanceID = 0, 0, "", ""
	s.Hold, s.Discard, s.HoldReason, s.DiscardReason = false, false, "", ""
	s.Filter, s.Redirect, s.BCC, s.Prepend = "", "", nil, nil
	s.st.dipSender = false
	s.st.senderMapsChk, s.st.rcptMapsChk = false, false
}

// namaddr is "name[addr]" (with ":port" under smtpd_client_port_log).
func (s *Session) namaddr(port bool) string {
	name := s.Name
	if name == "" {
		name = "unknown"
	}
	if port && s.Port != "" {
		return name + "[" + s.Addr + "]:" + s.Port
	}
	return name + "[" + s.Addr + "]"
}

// peerAddr is the address permit_inet_interfaces judges.
func (s *Session) peerAddr() string {
	if s.PeerAddr == "" {
		return s.Addr
	}
	return s.PeerAddr
}

func (s *Session) senderSet() bool {
	switch s.Stage {
	case "MAIL", "RCPT", "DATA", "END-OF-MESSAGE":
		return true
	}
	return s.SenderSet
}

// Reply is an SMTP reply chosen by the checks.
type Reply struct {
	Code   int    // 450, 554, ...
	DSN    string // enhanced status code, "5.7.1"
	Text   string // the rest of the line
	Hangup bool   // smtpd should disconnect after sending it
}

// String returns the reply line without line end: "554 5.7.1 <x@y>: Relay
// access denied".
func (r *Reply) String() string {
	return strconv.Itoa(r.Code) + " " + r.DSN + " " + r.Text
}

// parseReply turns "554 5.7.1 text" into a Reply.
func parseReply(line string) *Reply {
	r := &Reply{}
	if len(line) >= 3 {
		r.Code, _ = strconv.Atoi(line[:3])
	}
	rest := strings.TrimPrefix(line[min(3, len(line)):], " ")
	dsn, text, _ := strings.Cut(rest, " ")
	r.DSN, r.Text = dsn, text
	return r
}

// tlsFacts are the client-certificate facts the checks use.
type tlsFacts struct {
	certFP, pkeyFP, peerCN, issuerCN string
	trusted                          bool
}

// certFacts computes the fingerprints with smtpd_tls_fingerprint_digest,
// as colon-separated upper-case hex.
func (k *Checker) certFacts(t *tlsutil.Info) tlsFacts {
	f := tlsFacts{peerCN: t.PeerCN, issuerCN: t.IssuerCN, trusted: t.PeerTrusted}
	if t.PeerCert == nil {
		return f
	}
	var h func() hash.Hash
	switch strings.ToLower(k.c.Get("smtpd_tls_fingerprint_digest")) {
	case "md5":
		h = md5.New
	case "sha1":
		h = sha1.New
	case "sha512":
		h = sha512.New
	default:
		h = sha256.New
	}
	f.certFP = fingerprint(h, t.PeerCert.Raw)
	f.pkeyFP = fingerprint(h, t.PeerCert.RawSubjectPublicKeyInfo)
	return f
}

func fingerprint(newHash func() hash.Hash, data []byte) string {
	d := newHash()
	d.Write(data)
	sum := d.Sum(nil)
	parts := make([]string, len(sum))
	for i, b := range sum {
		parts[i] = fmt.Sprintf("%02X", b)
	}
	return strings.Join(parts, ":")
}
