package smtpd

import (
	"net"
	"path/filepath"
	"sync"

	"github.com/postfix-go/postfix/conf"
	"github.com/postfix-go/postfix/internal/maillog"
	"github.com/postfix-go/postfix/internal/resolver"
	"github.com/postfix-go/postfix/internal/server"
)

// Main runs the smtpd daemon under the server skeleton.
func Main() {
	var srv *Server
	server.Run("smtpd", server.Options{
		Mode: server.Multi,
		PreJail: func(s *server.Service) error {
			var err error
			srv, err = NewServer(s.Config, s.Name)
			if err != nil {
				maillog.Fatal("%v", err)
			}
			srv.setMaxProc(s)
			return nil
		},
		Conn: func(s *server.Service, c net.Conn) {
			srv.Serve(c)
		},
	})
}

// Server is what all sessions of one smtpd process share: the
// configuration and the tables, keys and clients opened before the jail.
type Server struct {
	c                 *conf.Config
	service           string
	p                 params
	res               *resolver.Resolver
	slots             chan struct{} // nil: no bound on concurrent sessions
	checks            checker
	tls               *tlsState
	sasl              *saslState
	anvil             anvilClient
	xclient, xforward matcher
	exceptOnce        sync.Once
	exceptions        matcher
	forbidOnce        sync.Once
	forbid            *forbiddenList
	bareOnce          sync.Once
	bareExempt        matcher
	// cleanup opens a cleanup stream; tests may replace it.
	cleanup func(flags int) (cleanupStream, error)
}

// NewServer reads the configuration and opens what the sessions need;
// service is the master.cf service name.
func NewServer(c *conf.Config, service string) (*Server, error) {
	s := &Server{c: c, service: service}
	s.p = readParams(c)
	s.res = resolver.New(c)
	s.cleanup = func(flags int) (cleanupStream, error) { return openCleanup(c, flags) }
	var err error
	if s.checks, err = newChecker(c, s); err != nil {
		return nil, err
	}
	s.tls = newTLSState(c)
	s.sasl = newSASLState(c)
	s.anvil = newAnvil(c)
	s.xclient = newMatcher(c, "smtpd_authorized_xclient_hosts")
	s.xforward = newMatcher(c, "smtpd_authorized_xforward_hosts")
	return s, nil
}

// setMaxProc bounds concurrent sessions by the service's maxproc.
func (s *Server) setMaxProc(svc *server.Service) {
	n := svc.MaxProc
	if n < 0 {
		n = s.maxProcFromMaster(svc)
	}
	if n > 0 {
		s.slots = make(chan struct{}, n)
	}
}

// maxProcFromMaster reads the service's maxproc column in master.cf.
func (s *Server) maxProcFromMaster(svc *server.Service) int {
	def := s.c.Int("default_process_limit")
	mf, err := conf.ReadMaster(filepath.Join(s.c.Dir, "master.cf"))
	if err != nil {
		return def
	}
	for _, e := range mf.Entries {
		if e.Service == svc.Name && e.Type == svc.Type {
			return e.Effective(def).Maxproc
		}
	}
	return def
}

// Serve runs one SMTP session on c.
func (s *Server) Serve(c net.Conn) {
	if s.slots != nil {
		s.slots <- struct{}{}
		defer func() { <-s.slots }()
	}
	sess := newSession(s, c)
	sess.run()
}
