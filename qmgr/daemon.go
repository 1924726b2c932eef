package qmgr

import (
	"github.com/postfix-go/postfix/internal/rewrite"
	"github.com/postfix-go/postfix/internal/server"
)

// Run is the qmgr daemon: a trigger server on the qmgr socket (master.cf
// "qmgr unix n - n 300 1 qmgr"). It reads master.cf while still
// privileged (for the transports' process limits), then starts the
// manager; each trigger request is handed to Manager.Trigger.
func Run() {
	var mgr *Manager
	server.Run("qmgr", server.Options{
		Mode: server.Trigger,
		PreJail: func(s *server.Service) error {
			l := s.Layout
			l.Dir = "." // the working directory is the queue directory (maybe a jail)
			mgr = New(s.Config, l, rewrite.NewClient(s.Config))
			return nil
		},
		PostJail: func(s *server.Service) error {
			mgr.Start()
			return nil
		},
		Trigger: func(s *server.Service, data []byte) { mgr.Trigger(data) },
	})
}

// The daemon's resolver also rewrites redirect targets and resolves
// address probes.
var (
	_ Rewriter = (*rewrite.Client)(nil)
	_ Verifier = (*rewrite.Client)(nil)
)
