// Package discard is the discard(8) delivery agent: it accepts every
// recipient the queue manager hands it and throws the message away. Mail
// reaches it through a transport table entry or an access rule of the
// form "discard:TEXT", or through a master.cf service that runs it.
//
// Each recipient is logged as delivered, with the next-hop text as the
// reason:
//
//	QUEUEID: to=<a>, relay=none, delay=D, delays=a/b/c/d, dsn=2.0.0, status=sent (TEXT)
//
// and marked done in the queue file, so the queue manager removes the
// message once no recipient is left. When the text starts with an RFC 3463
// enhanced status code ("2.1.5 gone"), that code is logged instead of
// 2.0.0 and the rest is the reason. Recipients without a queue file record
// (offset -1) are skipped, as Postfix does.
//
// Protocol: one delivery request per connection (internal/deliver),
// through the single-threaded daemon skeleton (internal/server). The agent
// takes no master.cf arguments.
//
// Security: the agent runs chrooted (when master.cf says so) as mail_owner
// and opens only the queue file of the request.
//
// Parameters: those of the daemon skeleton and of internal/deliver.
package discard

import (
	"net"
	"os"

	"github.com/postfix-go/postfix/errorsvc"
	"github.com/postfix-go/postfix/internal/deliver"
	"github.com/postfix-go/postfix/internal/dsn"
	"github.com/postfix-go/postfix/internal/maillog"
	"github.com/postfix-go/postfix/internal/server"
)

// Run starts the daemon under the single-threaded skeleton; it never returns.
func Run() {
	server.Run("discard", server.Options{
		Mode: server.Single,
		PreJail: func(s *server.Service) error {
			if len(s.Args) > 0 {
				maillog.Fatal("unexpected command-line argument: %s", s.Args[0])
			}
			return nil
		},
		Conn: func(s *server.Service, c net.Conn) {
			_ = deliver.ServeConn(s.Config, s.Layout, c, Deliver)
		},
	})
}

// Deliver reports every recipient of r as sent and returns the request
// status: 0 when every outcome was recorded.
func Deliver(r *deliver.Request) int {
	if r.Nexthop == "" {
		maillog.Fatal("empty nexthop hostname")
		os.Exit(1)
	}
	if len(r.Recipients) == 0 {
		maillog.Fatal("recipient count: %d", len(r.Recipients))
		os.Exit(1)
	}
	code, text := errorsvc.SplitDSN("2.0.0", r.Nexthop)
	st := dsn.New(code, text)
	status := 0
	for i := range r.Recipients {
		rc := &r.Recipients[i]
		if rc.Offset < 0 {
			continue
		}
		if err := r.Sent(rc, "none", st); err != nil {
			status = deliver.StatDefer
		}
	}
	return status
}
