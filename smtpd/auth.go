package smtpd

import (
	"encoding/base64"
	"strings"
	"time"

	"github.com/postfix-go/postfix/conf"
	"github.com/postfix-go/postfix/internal/maillog"
	"github.com/postfix-go/postfix/internal/smtpread"
	"github.com/postfix-go/postfix/internal/xsasl"
)

// saslState is the process's SASL configuration.
type saslState struct {
	enabled    bool
	broken     bool // broken_sasl_auth_clients: also "AUTH=" in EHLO
	backend    xsasl.Backend
	c          *conf.Config
	exceptions matcher // smtpd_sasl_exceptions_networks
	authHeader bool    // smtpd_sasl_authenticated_header
}

// authState is the SASL state of one session.
type authState struct {
	sess             xsasl.Session
	method, username string
	sender           string
}

func (a *authState) close() {
	if a.sess != nil {
		a.sess.Close()
		a.sess = nil
	}
}

// newSASLState opens the SASL backend (before the jail).
func newSASLState(c *conf.Config) *saslState {
	st := &saslState{enabled: c.Bool("smtpd_sasl_auth_enable"), broken: c.Bool("broken_sasl_auth_clients"), c: c,
		authHeader: c.Bool("smtpd_sasl_authenticated_header")}
	if !st.enabled {
		return st
	}
	st.exceptions = newMatcher(c, "smtpd_sasl_exceptions_networks")
	b, err := xsasl.New(c)
	if err != nil {
		maillog.Warn("%v", err)
		st.enabled = false
		return st
	}
	st.backend = b
	return st
}

// saslSession starts (once per session) the backend's session.
func (s *session) saslSession() xsasl.Session {
	if s.auth.sess != nil {
		return s.auth.sess
	}
	st := s.srv.sasl
	if st.backend == nil {
		return nil
	}
	c := st.c
	sess, err := st.backend.Session(xsasl.Params{
		Service: c.Get("smtpd_sasl_service"), Realm: c.Get("smtpd_sasl_local_domain"),
		ClientAddr: s.addr, ClientPort: s.port, ServerAddr: s.serverAddr, ServerPort: s.serverPort,
		TLS: s.tlsActive, SecurityOptions: xsasl.SecurityOptions(c, s.tlsActive),
	})
	if err != nil {
		maillog.Warn("SASL per-connection initialization failed: %v", err)
		return nil
	}
	s.auth.sess = sess
	return sess
}

// authAllowed reports whether the AUTH command works for this client
// now. smtpd_sasl_exceptions_networks is not consulted: as in Postfix it
// only keeps EHLO from announcing AUTH.
func (s *session) authAllowed() bool {
	st := s.srv.sasl
	if !st.enabled || st.backend == nil {
		return false
	}
	if s.srv.tls.authOnly && !s.tlsActive {
		return false
	}
	return true
}

// authMechanisms is the mechanism list EHLO announces ("" for none).
func (s *session) authMechanisms() string {
	if !s.authAllowed() || s.srv.sasl.exceptions.match(s) {
		return ""
	}
	return s.saslMechanisms()
}

// saslMechanisms is the backend's mechanism list ("" when SASL cannot
// be used).
func (s *session) saslMechanisms() string {
	sess := s.saslSession()
	if sess == nil {
		return ""
	}
	return strings.Join(sess.Mechanisms(), " ")
}

func (s *session) authCmd(arg string) int {
	if !s.authAllowed() || s.saslMechanisms() == "" {
		s.reply("503 5.5.1 Error: authentication not enabled")
		return cmdError
	}
	if s.tx.active {
		s.reply("503 5.5.1 Error: MAIL transaction in progress")
		return cmdError
	}
	if s.auth.username != "" {
		s.reply("503 5.5.1 Error: already authenticated")
		return cmdError
	}
	// Words as Postfix's tokenizer splits them (ASCII white space only).
	fields := smtpread.Fields(arg)
	if len(fields) < 1 || len(fields) > 2 {
		s.reply("501 5.5.4 Syntax: AUTH mechanism")
		return cmdError
	}
	if !s.anvilAuth() {
		return cmdError
	}
	// The mechanism as the client wrote it: Postfix logs it so
	// (sasl_method=plain).
	mech := fields[0]
	sess := s.saslSession()
	var r xsasl.Result
	hasInitial := len(fields) == 2
	if hasInitial {
		// The backend decides what undecodable data means, as in Postfix.
		initial, bad := xsasl.Decode(sess, fields[1], true)
		if bad != nil {
			r = *bad
		} else {
			r = sess.Start(mech, initial, true)
		}
	} else {
		r = sess.Start(mech, nil, false)
	}
	for r.Status == xsasl.More {
		s.reply("334 " + base64.StdEncoding.EncodeToString(r.Challenge))
		line, err := s.readCommand()
		if err != nil {
			s.readError(err, "AUTH")
			return cmdHangup
		}
		// Postfix reads the response as any other line: every CR
		// before the LF goes, so "*\r" still cancels.
		line = strings.TrimRight(line, "\r")
		if line == "*" {
			maillog.Warn("%s: SASL %s authentication aborted", s.namaddr(), mech)
			s.reply("501 5.7.0 Authentication aborted")
			return cmdError
		}
		b, bad := xsasl.Decode(sess, line, false)
		if bad != nil {
			r = *bad
			break
		}
		r = sess.Next(b)
	}
	if r.Status != xsasl.OK {
		if r.Status == xsasl.Fail || r.Status == xsasl.Temp {
			reason := r.Reason
			if reason == "" {
				reason = "authentication failure"
			}
			user := sess.Username()
			if user == "" {
				user = "(unavailable)"
			}
			maillog.Warn("%s: SASL %s authentication failed: %s, sasl_username=%s", s.namaddr(), mech, reason, user)
		}
		s.reply(xsasl.Reply(r))
		return cmdError
	}
	s.auth.method = mech
	s.auth.username = sess.Username()
	s.reply(xsasl.Reply(r))
	return cmdOK
}

// anvilAuth applies smtpd_client_auth_rate_limit.
func (s *session) anvilAuth() bool {
	lim := s.p.authRateLimit
	if lim <= 0 || s.srv.anvil == nil || s.anvilExempt() {
		return true
	}
	rate, err := s.srv.anvil.Auth(s.srv.service, s.addr)
	if err != nil || rate <= lim {
		return true
	}
	maillog.Warn("AUTH command rate limit exceeded: %d from %s for service %s", rate, s.namaddr(), s.srv.service)
	s.reply("450 4.7.1 Error: too many AUTH commands from " + s.addr)
	return false
}

var _ = time.Second
