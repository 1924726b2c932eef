package master

import (
	"context"
	"fmt"
	"net"
	"os"
	"syscall"

	"github.com/postfix-go/postfix/internal/ipc"
	"golang.org/x/sys/unix"
)

// owner is who owns the sockets master creates; uid -1 means "leave as
// created" (unprivileged mode).
type owner struct{ uid, gid int }

// listen creates the listeners of s, as descriptors that stay open across
// fork (they are close-on-exec in master and dup'ed into place in children).
func listen(s *service, own owner) error {
	for _, addr := range s.addrs {
		fd, err := listenOne(s.typ, addr, s.maxProc, own)
		if err != nil {
			closeAll(s.fds)
			s.fds = nil
			return err
		}
		s.fds = append(s.fds, fd)
	}
	return nil
}

func closeAll(fds []int) {
	for _, fd := range fds {
		syscall.Close(fd)
	}
}

// backlog is the listen queue length.
const backlog = 512

func listenOne(typ, addr string, maxProc int, own owner) (int, error) {
	switch typ {
	case "fifo":
		os.Remove(addr)
		if err := syscall.Mkfifo(addr, 0622); err != nil {
			return -1, fmt.Errorf("create fifo %s: %s", addr, errText(err))
		}
		syscall.Chmod(addr, 0622) // not subject to umask
		chown(addr, own)
		fd, err := syscall.Open(addr, syscall.O_RDWR|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
		if err != nil {
			return -1, fmt.Errorf("open fifo %s: %s", addr, errText(err))
		}
		return fd, nil
	case "unix", "unix-dgram":
		os.Remove(addr)
		st := syscall.SOCK_STREAM
		if typ == "unix-dgram" {
			st = syscall.SOCK_DGRAM
		}
		fd, err := syscall.Socket(syscall.AF_UNIX, st|syscall.SOCK_CLOEXEC|syscall.SOCK_NONBLOCK, 0)
		if err != nil {
			return -1, fmt.Errorf("socket: %s", errText(err))
		}
		if err := syscall.Bind(fd, &syscall.SockaddrUnix{Name: addr}); err != nil {
			syscall.Close(fd)
			return -1, fmt.Errorf("bind: %s: %s", addr, errText(err))
		}
		syscall.Chmod(addr, 0666)
		chown(addr, own)
		if st == syscall.SOCK_STREAM {
			if err := syscall.Listen(fd, backlog); err != nil {
				syscall.Close(fd)
				return -1, fmt.Errorf("listen: %s", errText(err))
			}
		}
		return fd, nil
	default: // inet
		var lc net.ListenConfig
		ln, err := lc.Listen(context.Background(), "tcp", addr)
		if err != nil {
			host, port, _ := net.SplitHostPort(addr)
			if host == "" {
				host = "0.0.0.0"
			}
			return -1, fmt.Errorf("bind %s port %s: %s", host, port, errText(err))
		}
		defer ln.Close()
		rc, err := ln.(*net.TCPListener).SyscallConn()
		if err != nil {
			return -1, err
		}
		nfd := -1
		var derr error
		rc.Control(func(fd uintptr) {
			nfd, derr = unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 3)
		})
		if derr != nil {
			return -1, derr
		}
		return nfd, nil
	}
}

func chown(path string, own owner) {
	if own.uid >= 0 {
		os.Lchown(path, own.uid, own.gid)
	}
}

// errText returns the system error text of err, capitalised as glibc's.
func errText(err error) string { return ipc.ErrnoText(err) }
