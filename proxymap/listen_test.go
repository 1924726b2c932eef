package proxymap

import (
	"net"
	"testing"
)

// listen serves s on a unix socket at path (s nil: accept nothing). The
// socket file stays when the listener is closed.
func listen(t *testing.T, path string, s *Server) *net.UnixListener {
	t.Helper()
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	if s != nil {
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				go func() {
					defer c.Close()
					s.Serve(c)
				}()
			}
		}()
	}
	return ln
}
