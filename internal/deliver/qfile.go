package deliver

import (
	"fmt"
	"io"
	"os"
	"syscall"

	"github.com/postfix-go/postfix/internal/record"
)

// queueFile is the queue file of the request being served, open for
// reading and writing with the agent's shared lock. It is a bare
// descriptor: queue files are regular files, which Go's poller cannot
// wait for anyway, and an *os.File would try to register every one of
// them (four system calls per request in a busy agent).
type queueFile struct {
	fd int // -1 once closed
}

// openQueueFile opens path for reading and writing, close-on-exec.
func openQueueFile(path string) (int, error) {
	for {
		fd, err := syscall.Open(path, syscall.O_RDWR|syscall.O_CLOEXEC, 0)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return -1, &os.PathError{Op: "open", Path: path, Err: err}
		}
		return fd, nil
	}
}

// close releases the descriptor (and with it the lock); it may be called
// more than once.
func (q *queueFile) close() {
	if q.fd >= 0 {
		syscall.Close(q.fd)
		q.fd = -1
	}
}

// markDone changes the recipient record at offset of the open file from
// R to D; see MarkDone. path names the file in errors.
func (q *queueFile) markDone(path string, offset int64) error {
	return markDoneFD(q.fd, path, offset)
}

// markDoneFD is MarkDone on an open descriptor: one read and, for a
// record still to deliver, one write of its type byte.
func markDoneFD(fd int, path string, offset int64) error {
	var b [1]byte
	n, err := pread(fd, b[:], offset)
	if err != nil {
		return fmt.Errorf("%s: read record at offset %d: %w", path, offset, &os.PathError{Op: "read", Path: path, Err: err})
	}
	if n == 0 {
		return fmt.Errorf("%s: read record at offset %d: %w", path, offset, io.EOF)
	}
	switch record.Type(b[0]) {
	case record.Done:
		return nil
	case record.Rcpt:
	default:
		return fmt.Errorf("%s: offset %d: expected recipient record, found type %d", path, offset, b[0])
	}
	b[0] = byte(record.Done)
	for {
		_, err := syscall.Pwrite(fd, b[:], offset)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("%s: update recipient record at offset %d: %w", path, offset, &os.PathError{Op: "write", Path: path, Err: err})
		}
		return nil
	}
}

// pread reads into b at offset, retrying when interrupted.
func pread(fd int, b []byte, offset int64) (int, error) {
	for {
		n, err := syscall.Pread(fd, b, offset)
		if err == syscall.EINTR {
			continue
		}
		return n, err
	}
}
