package smtpd

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/postfix-go/postfix/conf"
	"github.com/postfix-go/postfix/internal/record"
	"github.com/postfix-go/postfix/internal/rewrite"
	"github.com/postfix-go/postfix/internal/submit"
	"github.com/postfix-go/postfix/smtpd/check"
)

// checker is the restriction engine (smtpd/check).
type checker interface {
	Connect(s *check.Session) *check.Reply
	Helo(s *check.Session) *check.Reply
	Mail(s *check.Session) *check.Reply
	Rcpt(s *check.Session) *check.Reply
	Data(s *check.Session) *check.Reply
	EndOfData(s *check.Session) *check.Reply
	Etrn(s *check.Session) *check.Reply
	Vrfy(s *check.Session) *check.Reply
	RewriteContext(s *check.Session) (string, *check.Reply)
}

// checkSession is the check state of one session.
type checkSession = check.Session

// newChecker opens the restriction lists; a configuration error is fatal,
// as in Postfix's smtpd. trivial-rewrite's answers are cached for a few
// seconds across sessions (rewrite.Cache), as Postfix's smtpd keeps its
// resolve answers: the sender and recipients of one message after another
// are mostly the same few addresses.
func newChecker(c *conf.Config, s *Server) (checker, error) {
	k, err := check.New(c, check.Deps{Resolver: s.res, Rewrite: rewrite.NewCache(rewrite.NewClient(c))})
	if err != nil {
		return nil, err
	}
	return k, nil
}

// cs returns the session's check state, filled from the session.
func (s *session) cs(stage string) *check.Session {
	if s.check == nil {
		s.check = &check.Session{PeerAddr: s.peerAddr()}
	}
	k := s.check
	f := s
	k.Name, k.ReverseName, k.Addr, k.Port = f.name, f.reverseName, f.addr, f.port
	k.NameStatus, k.ReverseNameStatus = f.nameStatus, f.reverseStatus
	k.ServerAddr, k.ServerPort = f.serverAddr, f.serverPort
	k.HELO = f.helo
	k.Protocol = f.protocol
	k.SASLMethod, k.SASLUser, k.SASLSender = f.auth.method, f.auth.username, f.auth.sender
	k.SASLEnabled = s.srv.sasl.enabled
	k.TLS = nil
	if f.tlsInfo != nil {
		k.TLS = &f.tlsInfo.info
	}
	k.RcptCount = len(f.tx.rcpts)
	k.Size = f.tx.size
	k.QueueID = f.tx.queueID
	k.Pipelined = f.illegalPipelining
	k.Stage = stage
	return k
}

// peerAddr is the address the connection itself comes from, whatever
// XCLIENT announced; "unknown" when it is not an Internet socket.
func (s *session) peerAddr() string {
	ra, ok := s.conn.RemoteAddr().(*net.TCPAddr)
	if !ok {
		return "unknown"
	}
	ip, _ := netip.AddrFromSlice(ra.IP)
	return ip.Unmap().String()
}

// verdict is the reply text of a check result ("" to go on).
func (s *session) verdict(r *check.Reply) string {
	if r == nil {
		return ""
	}
	if r.Hangup {
		s.hangup = true
	}
	return r.String()
}

func (s *session) checkConnect() string { return s.checkClient("CONNECT") }

// checkClient runs smtpd_client_restrictions (when not delayed) at stage
// CONNECT, or XCLIENT for the client that XCLIENT announced.
func (s *session) checkClient(stage string) string {
	if s.srv.checks == nil || s.standalone {
		return ""
	}
	return s.verdict(s.srv.checks.Connect(s.cs(stage)))
}

func (s *session) checkHelo() string {
	if s.srv.checks == nil || s.standalone {
		return ""
	}
	stage := "HELO"
	if s.ehlo {
		stage = "EHLO"
	}
	return s.verdict(s.srv.checks.Helo(s.cs(stage)))
}

func (s *session) checkMail(sender string) string {
	s.mailAuthSender()
	if s.srv.checks == nil {
		return s.noChecks()
	}
	if s.standalone {
		return ""
	}
	k := s.cs("MAIL")
	k.Sender, k.SenderSet = sender, false
	if k.InstanceID == "" {
		// The policy "instance" attribute, as Postfix makes it: pid,
		// time and a per-session sequence number, in hex.
		now := time.Now()
		s.seqno++
		k.InstanceID = fmt.Sprintf("%x.%x.%x.%x", os.Getpid(), now.Unix(), now.Nanosecond()/1000, s.seqno-1)
	}
	r := s.verdict(s.srv.checks.Mail(k))
	if r != "" {
		k.ResetTransaction()
	} else {
		k.SenderSet = true
	}
	return r
}

func (s *session) checkRcpt(addr string) string {
	if s.srv.checks == nil {
		return s.noChecks()
	}
	if s.standalone {
		return ""
	}
	k := s.cs("RCPT")
	k.Sender, k.SenderSet = s.tx.sender, true
	k.Recipient = addr
	return s.verdict(s.srv.checks.Rcpt(k))
}

func (s *session) checkData() string {
	if s.srv.checks == nil || s.standalone {
		return ""
	}
	k := s.cs("DATA")
	k.Recipient = s.tx.rcpts[0].addr
	return s.verdict(s.srv.checks.Data(k))
}

func (s *session) checkEndOfData(size int64) string {
	if s.srv.checks == nil || s.standalone {
		return ""
	}
	k := s.cs("END-OF-MESSAGE")
	k.Recipient = s.tx.rcpts[0].addr
	return s.verdict(s.srv.checks.EndOfData(k))
}

func (s *session) checkVrfy(addr string) string {
	if s.srv.checks == nil {
		return s.noChecks()
	}
	k := s.cs("VRFY")
	k.VRFYAddr = addr
	return s.verdict(s.srv.checks.Vrfy(k))
}

func (s *session) checkEtrn(dom string) string {
	if s.srv.checks == nil {
		return s.noChecks()
	}
	k := s.cs("ETRN")
	k.ETRNDomain = dom
	return s.verdict(s.srv.checks.Etrn(k))
}

// noChecks is the reply while the restrictions cannot be used (a
// configuration error): try again later.
func (s *session) noChecks() string {
	if s.standalone {
		return ""
	}
	return "451 4.3.5 Server configuration error"
}

// checkReset forgets the transaction's check state.
func (s *session) checkReset() {
	if s.check != nil {
		s.check.ResetTransaction()
	}
}

// checkQueueID tells the checks the queue ID (for their log lines).
func (s *session) checkQueueID(id string) {
	if s.check != nil {
		s.check.QueueID = id
	}
}

// checkPrepend returns the headers PREPEND actions asked for.
func (s *session) checkPrepend() []string {
	if s.check == nil {
		return nil
	}
	return s.check.Prepend
}

// writeFlags writes the HOLD and DISCARD actions of the restrictions as
// a cleanup flags record before the content.
func (s *session) writeFlags() {
	k, st := s.check, s.tx.stream
	if k == nil || st == nil {
		return
	}
	flags := 0
	if k.Hold {
		flags |= submit.FlagHold
	}
	if k.Discard {
		flags |= submit.FlagDiscard
	}
	if flags != 0 {
		st.PutString(record.Flags, strconv.Itoa(flags))
	}
}

// writeActions writes the FILTER, REDIRECT and BCC actions of the
// restrictions after the content, where Postfix's smtpd writes them.
func (s *session) writeActions() {
	k, st := s.check, s.tx.stream
	if k == nil || st == nil {
		return
	}
	if k.Filter != "" {
		st.PutString(record.Filter, k.Filter)
	}
	if k.Redirect != "" {
		st.PutString(record.Redirect, k.Redirect)
	}
	for _, b := range k.BCC {
		b = strings.TrimSpace(b)
		st.PutAttr("dsn_orig_rcpt", "rfc822;"+b)
		st.PutString(record.Rcpt, b)
	}
}

// mailAuthSender takes MAIL's AUTH= address for this transaction: the
// sasl_sender of the log line, the queue file and the policy request. As
// in Postfix it counts only for a client that has logged in, "<>" means
// none, and it is kept as the client wrote it (xtext).
func (s *session) mailAuthSender() {
	s.auth.sender = ""
	if v := s.tx.authSender; s.auth.username != "" && v != "" && v != "<>" {
		s.auth.sender = v
	}
	s.tx.authSender = ""
}
