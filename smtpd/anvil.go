package smtpd

import (
	"fmt"
	"strings"

	"github.com/postfix-go/postfix/anvil"
	"github.com/postfix-go/postfix/conf"
	"github.com/postfix-go/postfix/internal/maillog"
	"github.com/postfix-go/postfix/internal/matchlist"
)

// anvilClient is the part of the anvil client smtpd uses.
type anvilClient interface {
	Connect(service, addr string) (count, rate int, err error)
	Disconnect(service, addr string) error
	Mail(service, addr string) (rate int, err error)
	Rcpt(service, addr string) (rate int, err error)
	NewTLS(service, addr string) (rate int, err error)
	Auth(service, addr string) (rate int, err error)
}

// newAnvil returns the anvil client when any client limit is set.
func newAnvil(c *conf.Config) anvilClient {
	for _, p := range []string{"smtpd_client_connection_count_limit", "smtpd_client_connection_rate_limit",
		"smtpd_client_message_rate_limit", "smtpd_client_recipient_rate_limit",
		"smtpd_client_new_tls_session_rate_limit", "smtpd_client_auth_rate_limit"} {
		if c.Int(p) > 0 {
			return anvil.NewClient(c)
		}
	}
	return nil
}

// matcher is a compiled host/address match list (nil matches nothing).
type matcher struct{ l *matchlist.List }

func newMatcher(c *conf.Config, param string) matcher {
	return newMatcherKind(c, param, matchlist.Namadr)
}

func newMatcherKind(c *conf.Config, param string, kind matchlist.Kind) matcher {
	v := c.Get(param)
	if strings.TrimSpace(v) == "" {
		return matcher{}
	}
	l, err := matchlist.Compile(c, param, v, kind)
	if err != nil {
		maillog.Warn("%s: %v", param, err)
		return matcher{}
	}
	return matcher{l: l}
}

// match reports whether the session's client is in the list.
func (m matcher) match(s *session) bool { return m.matches(s.name, s.addr) }

// matches reports whether name or addr is in the list.
func (m matcher) matches(name, addr string) bool {
	if m.l == nil {
		return false
	}
	ok, err := m.l.Match(name, addr)
	return err == nil && ok
}

// anvilExempt reports whether smtpd_client_event_limit_exceptions covers
// the client.
func (s *session) anvilExempt() bool {
	if s.standalone {
		return true
	}
	s.srv.exceptOnce.Do(func() {
		s.srv.exceptions = newMatcher(s.srv.c, "smtpd_client_event_limit_exceptions")
	})
	return s.srv.exceptions.match(s)
}

// connectLimits applies the connection count and rate limits; false means
// the session was refused.
func (s *session) connectLimits() bool {
	a := s.srv.anvil
	if a == nil || s.anvilExempt() {
		return true
	}
	count, rate, err := a.Connect(s.srv.service, s.addr)
	if err != nil {
		return true
	}
	s.anvilConnected = true
	c := s.srv.c
	if lim := c.Int("smtpd_client_connection_count_limit"); lim > 0 && count > lim {
		maillog.Warn("Connection concurrency limit exceeded: %d from %s for service %s", count, s.namaddr(), s.srv.service)
		s.reply(fmt.Sprintf("421 4.7.0 %s Error: too many connections from %s", s.p.hostname, s.addr))
		s.flush()
		return false
	}
	if lim := c.Int("smtpd_client_connection_rate_limit"); lim > 0 && rate > lim {
		maillog.Warn("Connection rate limit exceeded: %d from %s for service %s", rate, s.namaddr(), s.srv.service)
		s.reply(fmt.Sprintf("421 4.7.0 %s Error: too many connections from %s", s.p.hostname, s.addr))
		s.flush()
		return false
	}
	return true
}

// anvilDisconnect ends the session's anvil registration.
func (s *session) anvilDisconnect() {
	if s.anvilConnected {
		s.srv.anvil.Disconnect(s.srv.service, s.addr)
		s.anvilConnected = false
	}
}

// anvilMail applies smtpd_client_message_rate_limit; "" means go on.
func (s *session) anvilMail() string {
	lim := s.p.msgRateLimit
	if lim <= 0 || s.srv.anvil == nil || s.anvilExempt() {
		return ""
	}
	rate, err := s.srv.anvil.Mail(s.srv.service, s.addr)
	if err != nil || rate <= lim {
		return ""
	}
	maillog.Warn("Message delivery request rate limit exceeded: %d from %s for service %s", rate, s.namaddr(), s.srv.service)
	return "450 4.7.1 Error: too much mail from " + s.addr
}

// anvilRcpt applies smtpd_client_recipient_rate_limit; "" means go on.
func (s *session) anvilRcpt() string {
	lim := s.p.rcptRateLimit
	if lim <= 0 || s.srv.anvil == nil || s.anvilExempt() {
		return ""
	}
	rate, err := s.srv.anvil.Rcpt(s.srv.service, s.addr)
	if err != nil || rate <= lim {
		return ""
	}
	maillog.Warn("Recipient address rate limit exceeded: %d from %s for service %s", rate, s.namaddr(), s.srv.service)
	return "450 4.7.1 Error: too many recipients from " + s.addr
}

// anvilNewTLS counts a new (not resumed) TLS session for
// smtpd_client_new_tls_session_rate_limit; false means the limit is
// exceeded: smtpd has answered 421 over TLS and the session ends.
func (s *session) anvilNewTLS(resumed bool) bool {
	lim := s.p.tlsRateLimit
	if lim <= 0 || s.srv.anvil == nil || resumed || s.anvilExempt() {
		return true
	}
	rate, err := s.srv.anvil.NewTLS(s.srv.service, s.addr)
	if err != nil || rate <= lim {
		return true
	}
	maillog.Warn("New TLS session rate limit exceeded: %d from %s for service %s", rate, s.namaddr(), s.srv.service)
	s.reply(fmt.Sprintf("421 4.7.0 %s Error: too many new TLS sessions from %s", s.p.hostname, s.namaddr()))
	s.flush()
	return false
}

// localRewriteOK reports whether local_header_rewrite_clients covers the
// client (its headers are rewritten as local), as decided at MAIL
// (checkRewrite).
func (s *session) localRewriteOK() bool { return s.tx.localCtx }
