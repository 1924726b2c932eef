// Package errorsvc is the error(8) delivery agent, which also serves as
// retry: it never delivers. The queue manager hands it the recipients that
// trivial-rewrite or the transport table routed to "error:TEXT" or
// "retry:TEXT" (and the recipients of an error_notice), and the agent
// fails every one of them with TEXT as the reason.
//
// The master.cf service name decides what failing means, as in Postfix:
// service "error" bounces each recipient (status=bounced, default
// enhanced status 5.0.0); service "retry" defers it (status=deferred,
// default 4.0.0). Any other service name is a fatal configuration error.
// When the next-hop text starts with an RFC 3463 enhanced status code
// ("5.1.1 no such user"), that code is used and the rest is the reason.
// Each recipient is logged as
//
//	QUEUEID: to=<a>, relay=none, delay=D, delays=a/b/c/d, dsn=5.0.0, status=bounced (TEXT)
//
// A bounced recipient is recorded in the message's bounce log and marked
// done in the queue file; a deferred one goes into the defer log. The queue
// manager then sends the non-delivery notice or schedules the retry.
//
// Protocol: one delivery request per connection (Postfix's deliver_request
// protocol, internal/deliver), served through the single-threaded daemon
// skeleton (internal/server). The agent takes no master.cf arguments.
//
// Security: the agent runs chrooted (when master.cf says so) as mail_owner;
// it opens only queue files and the bounce/defer logs.
//
// Parameters: those of the daemon skeleton and of internal/deliver
// (delay_logging_resolution_limit, soft_bounce, ipc_timeout).
package errorsvc

import (
	"net"
	"os"

	"github.com/postfix-go/postfix/internal/deliver"
	"github.com/postfix-go/postfix/internal/dsn"
	"github.com/postfix-go/postfix/internal/maillog"
	"github.com/postfix-go/postfix/internal/server"
)

// Service names that select the agent's behaviour.
const (
	ServiceError = "error" // bounce every recipient
	ServiceRetry = "retry" // defer every recipient
)

// Run starts the daemon under the single-threaded skeleton; it never returns.
func Run() {
	server.Run("error", server.Options{
		Mode: server.Single,
		PreJail: func(s *server.Service) error {
			if len(s.Args) > 0 {
				maillog.Fatal("unexpected command-line argument: %s", s.Args[0])
			}
			return nil
		},
		Conn: func(s *server.Service, c net.Conn) {
			_ = deliver.ServeConn(s.Config, s.Layout, c, func(r *deliver.Request) int {
				return Deliver(s.Name, r)
			})
		},
	})
}

// Deliver fails every recipient of r as service says (ServiceError or
// ServiceRetry) and returns the request status: 0 when every recipient
// was bounced and recorded, non-zero when any was deferred or could not be
// recorded.
func Deliver(service string, r *deliver.Request) int {
	var def string
	switch service {
	case ServiceError:
		def = "5.0.0"
	case ServiceRetry:
		def = "4.0.0"
	default:
		maillog.Fatal("bad error service name: %s", service)
		os.Exit(1)
	}
	if r.Nexthop == "" {
		maillog.Fatal("empty nexthop hostname")
		os.Exit(1)
	}
	if len(r.Recipients) == 0 {
		maillog.Fatal("recipient count: %d", len(r.Recipients))
		os.Exit(1)
	}
	code, text := SplitDSN(def, r.Nexthop)
	st := dsn.New(code, text)
	status := 0
	for i := range r.Recipients {
		rc := &r.Recipients[i]
		if service == ServiceRetry {
			_ = r.Defer(rc, "none", st)
			status = deliver.StatDefer
			continue
		}
		if err := r.Bounce(rc, "none", st); err != nil || softBounce(r) {
			status = deliver.StatDefer
		}
	}
	return status
}

// softBounce reports whether soft_bounce turned bounces into deferrals,
// so that the request status says the recipients are still pending.
func softBounce(r *deliver.Request) bool {
	return r.Config != nil && r.Config.Bool("soft_bounce")
}

// SplitDSN splits text into an optional leading RFC 3463 enhanced status
// code and the free text after it, as Postfix's dsn_split does: leading
// white space is skipped, a valid code must be followed by white space or
// the end, and def is the code when there is none.
func SplitDSN(def, text string) (code, rest string) {
	i := 0
	for i < len(text) && isSpace(text[i]) {
		i++
	}
	cp := text[i:]
	if n := validPrefix(cp); n > 0 {
		code = cp[:n]
		cp = cp[n:]
		if cp != "" {
			cp = cp[1:] // the one white-space character after the code
		}
	} else {
		code = def
	}
	j := 0
	for j < len(cp) && isSpace(cp[j]) {
		j++
	}
	return code, cp[j:]
}

// validPrefix returns the length of the enhanced status code at the start
// of s (followed by white space or the end), or 0 when there is none.
func validPrefix(s string) int {
	if len(s) < 2 || (s[0] != '2' && s[0] != '4' && s[0] != '5') || s[1] != '.' {
		return 0
	}
	i := 2
	n := digits(s[i:])
	if n < 1 || n > 3 || i+n >= len(s) || s[i+n] != '.' {
		return 0
	}
	i += n + 1
	n = digits(s[i:])
	if n < 1 || n > 3 {
		return 0
	}
	i += n
	if i < len(s) && !isSpace(s[i]) {
		return 0
	}
	return i
}

func digits(s string) int {
	n := 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	return n
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}
