package qmgr

import (
	"errors"
	"io"
	"os"
	"syscall"
)

// errLocked is a queue file whose exclusive lock someone else holds (a
// delivery agent of an earlier queue manager).
var errLocked = errors.New("queue file is locked")

// headSize is how much of a queue file lockedFile reads at once: the
// whole file for the usual message, the envelope and the start of the
// content of a big one.
const headSize = 64 * 1024

// lockedFile is a queue file in the active queue, open for reading and
// writing under the queue manager's exclusive lock. It reads the file's
// first headSize bytes with one system call and answers the record
// reader from them, instead of a read per buffer refill (and without
// an *os.File, whose poller registration costs four more system calls
// per file).
type lockedFile struct {
	fd    int
	path  string
	head  []byte
	whole bool // head holds the entire file
}

// openLocked opens path and takes its exclusive lock (errLocked when
// another process holds a lock). Open errors are *os.PathError, as
// os.OpenFile's.
func openLocked(path string) (*lockedFile, error) {
	fd, err := openFD(path, syscall.O_RDWR)
	if err != nil {
		return nil, err
	}
	for {
		err = syscall.Flock(fd, syscall.LOCK_EX|syscall.LOCK_NB)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		syscall.Close(fd)
		return nil, errLocked
	}
	f := &lockedFile{fd: fd, path: path}
	var st syscall.Stat_t
	if syscall.Fstat(fd, &st) == nil && st.Size >= 0 {
		n := st.Size
		if n > headSize {
			n = headSize
		}
		buf := make([]byte, n+1) // one byte more sees a file that grew
		got, err := f.pread(buf, 0)
		if err == nil || err == io.EOF {
			f.head = buf[:got]
			f.whole = got <= int(n) && st.Size <= headSize
		}
	}
	return f, nil
}

// openFD opens path with mode (O_RDONLY, O_RDWR), close-on-exec, as a
// bare descriptor; errors are *os.PathError, as os.OpenFile's.
func openFD(path string, mode int) (int, error) {
	for {
		fd, err := syscall.Open(path, mode|syscall.O_CLOEXEC, 0)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return -1, &os.PathError{Op: "open", Path: path, Err: err}
		}
		return fd, nil
	}
}

// ReadAt reads as os.File's ReadAt does: a short read ends with io.EOF.
func (f *lockedFile) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, &os.PathError{Op: "readat", Path: f.path, Err: errors.New("negative offset")}
	}
	if f.whole || off+int64(len(p)) <= int64(len(f.head)) {
		if off >= int64(len(f.head)) {
			return 0, io.EOF
		}
		n := copy(p, f.head[off:])
		if n < len(p) {
			return n, io.EOF
		}
		return n, nil
	}
	return f.pread(p, off)
}

// pread fills p from off, as os.File's ReadAt does.
func (f *lockedFile) pread(p []byte, off int64) (int, error) {
	n := 0
	for n < len(p) {
		m, err := syscall.Pread(f.fd, p[n:], off+int64(n))
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return n, &os.PathError{Op: "read", Path: f.path, Err: err}
		}
		if m == 0 {
			return n, io.EOF
		}
		n += m
	}
	return n, nil
}

// Close releases the lock and the descriptor.
func (f *lockedFile) Close() error {
	if f.fd < 0 {
		return nil
	}
	err := syscall.Close(f.fd)
	f.fd = -1
	return err
}
