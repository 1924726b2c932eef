package smtpd

import (
	"bufio"
	"crypto/tls"
	"errors"
	"io"
	"strings"
	"syscall"
	"time"

	"github.com/postfix-go/postfix/conf"
	"github.com/postfix-go/postfix/internal/maillog"
	"github.com/postfix-go/postfix/internal/smtpread"
	"github.com/postfix-go/postfix/internal/tlsutil"
)

// tlsState is the process's TLS configuration.
type tlsState struct {
	level    string // none, may, encrypt
	enforce  bool   // encrypt: refuse most commands before STARTTLS
	wrapper  bool   // smtpd_tls_wrappermode: TLS from the first byte
	authOnly bool   // smtpd_tls_auth_only
	logLevel int
	config   *tls.Config // nil: no TLS available (level none, or keys missing)
}

// tlsInfoText is an established TLS session as logged and recorded.
type tlsInfoText struct {
	info     tlsutil.Info
	received []string // Received: comment lines, with their leading tab
}

// newTLSState reads the TLS settings and loads keys (before the jail).
func newTLSState(c *conf.Config) *tlsState {
	t := &tlsState{level: c.Get("smtpd_tls_security_level"), wrapper: c.Bool("smtpd_tls_wrappermode"),
		authOnly: c.Bool("smtpd_tls_auth_only"), logLevel: c.Int("smtpd_tls_loglevel")}
	if t.level == "" {
		switch {
		case c.Bool("smtpd_enforce_tls"):
			t.level = "encrypt"
		case c.Bool("smtpd_use_tls"):
			t.level = "may"
		default:
			t.level = "none"
		}
	}
	if t.wrapper && t.level == "none" {
		t.level = "may"
	}
	if t.level == "none" {
		return t
	}
	if t.level == "encrypt" {
		t.enforce = true
		t.authOnly = true
	}
	cfg, err := tlsutil.ServerConfig(c, "smtpd", t.level == "encrypt")
	if err != nil {
		maillog.Warn("%v", err)
		maillog.Warn("TLS library problem: disabling TLS support")
		return t
	}
	t.config = cfg
	return t
}

// offer reports whether EHLO lists STARTTLS for the session.
func (t *tlsState) offer(s *session) bool {
	return t.level != "none" && !t.wrapper && !s.tlsActive && t.config != nil
}

func (s *session) starttlsCmd(arg string) int {
	t := s.srv.tls
	if arg != "" {
		s.reply("501 5.5.4 Syntax: STARTTLS")
		return cmdError
	}
	if s.tlsActive {
		s.reply("554 5.5.1 Error: TLS already active")
		return cmdError
	}
	if t.level == "none" || t.wrapper {
		s.reply("502 5.5.1 Error: command not implemented")
		return cmdError
	}
	if t.config == nil {
		s.reply("454 4.7.0 TLS not available due to local problem")
		return cmdError
	}
	s.reply("220 2.0.0 Ready to start TLS")
	if err := s.flush(); err != nil {
		s.readError(err, "STARTTLS")
		return cmdHangup
	}
	if !s.handshake() {
		return cmdHangup
	}
	// RFC 3207: forget everything learned before; HELO/EHLO again.
	s.heloReset()
	s.protocol = "SMTP"
	s.ehlo = false
	return cmdOK
}

// handshake runs the TLS handshake on the connection and replaces the
// session's reader and writer. Whatever the client sent before the
// handshake and smtpd has not read yet is discarded (CVE-2011-0411).
func (s *session) handshake() bool {
	tc := tls.Server(s.conn, s.srv.tls.config)
	tc.SetDeadline(time.Now().Add(s.p.timeout))
	if err := tc.Handshake(); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) {
			maillog.Info("SSL_accept error from %s: lost connection", s.namaddr())
		} else {
			maillog.Warn("TLS library problem: %s", handshakeErrText(err))
			maillog.Info("SSL_accept error from %s: -1", s.namaddr())
		}
		maillog.Info("lost connection after %s from %s", s.where, s.namaddr())
		return false
	}
	tc.SetDeadline(time.Time{})
	s.conn = tc
	s.in = &countReader{r: tc}
	s.br = bufio.NewReaderSize(s.in, readBufSize)
	s.bw = bufio.NewWriterSize(tc, 512)
	s.rd = smtpread.NewReader(s.br, s.readerOptions())
	s.tlsActive = true
	info := tlsutil.DescribeConfig(tc.ConnectionState(), s.srv.tls.config)
	s.tlsInfo = &tlsInfoText{info: info}
	for _, l := range info.Received() {
		s.tlsInfo.received = append(s.tlsInfo.received, "\t"+l)
	}
	if s.srv.tls.logLevel >= 1 {
		maillog.Info("%s", info.LogLine(s.name, s.addr))
	}
	return s.anvilNewTLS(tc.ConnectionState().DidResume)
}

// wrapperTLS starts TLS at connect time (smtps).
func (s *session) wrapperTLS() bool {
	if s.srv.tls.config == nil {
		return false
	}
	return s.handshake()
}

func handshakeErrText(err error) string {
	t := err.Error()
	t = strings.TrimPrefix(t, "tls: ")
	return t
}
