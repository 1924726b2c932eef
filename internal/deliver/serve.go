package deliver

import (
	"net"

	"github.com/postfix-go/postfix/internal/server"
)

// Serve serves one delivery request on conn for a daemon started through
// internal/server (see ServeConn). The daemon's working directory is the
// queue directory (and may be a chroot jail), so queue files are opened by
// paths relative to it.
func Serve(s *server.Service, conn net.Conn, handle func(*Request) int) error {
	l := s.Layout
	l.Dir = "."
	return ServeConn(s.Config, l, conn, handle)
}
