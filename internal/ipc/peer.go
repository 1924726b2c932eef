package ipc

import (
	"net"
	"syscall"
)

// PeerDone reports whether the peer closed c, wrote to it unasked, or
// broke it, without waiting: a request sent on such a connection would
// fail. A connection that cannot be polled counts as usable.
func PeerDone(c net.Conn) bool {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return false
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return true
	}
	done := false
	err = raw.Read(func(fd uintptr) bool {
		var b [1]byte
		n, _, rerr := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		done = n > 0 || (n == 0 && rerr == nil) || (rerr != nil && rerr != syscall.EAGAIN && rerr != syscall.EINTR)
		return true
	})
	return done || err != nil
}
