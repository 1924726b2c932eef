// Package ipc connects our processes to each other's local services, as
// Postfix's mail_connect and mail_trigger do.
//
// A service named NAME of class "public" or "private" listens on the
// socket (or fifo) $queue_directory/CLASS/NAME; master(8) creates it. A
// daemon runs with queue_directory as its working directory (possibly
// chrooted there), so inside a daemon the path is the relative
// "CLASS/NAME"; the daemon skeleton calls SetInQueueDir to say so. Elsewhere
// (commands such as postqueue and sendmail) the path is absolute.
//
// Triggers are Postfix's one-shot wake-up requests: the client connects,
// writes a few bytes and closes without waiting for an answer. For a unix
// socket this is a stream connection; for a fifo the file is opened
// O_WRONLY|O_NONBLOCK (so a fifo that nobody reads fails at once instead of
// blocking), written and closed. The request bytes Postfix uses are listed
// with the constants below.
//
// Clients that keep a connection to a service between requests (anvil,
// policy servers) ask PeerDone before reusing it, so that a request never
// goes out on a connection the server has already closed.
//
// Parameters read: queue_directory.
package ipc

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/postfix-go/postfix/conf"
)

// Trigger request bytes understood by qmgr(8) and pickup(8).
const (
	ScanIncoming = 'I' // qmgr: scan the incoming queue
	ScanDeferred = 'D' // qmgr: scan the deferred queue
	ScanAll      = 'A' // qmgr: scan everything, ignoring deferred files' time stamps
	FlushDead    = 'F' // qmgr: forget which destinations were unreachable
	Wakeup       = 'W' // qmgr, pickup: periodic wake-up
)

// FlushDeferred is what "postqueue -f", "sendmail -q" and "postfix flush"
// write to public/$queue_service_name (Postfix's mail_flush_deferred).
var FlushDeferred = []byte{FlushDead, ScanAll, ScanDeferred, ScanIncoming}

// TriggerTimeout bounds the connect and write of Trigger.
const TriggerTimeout = 10 * time.Second

var inQueueDir atomic.Bool

// SetInQueueDir says that the working directory is queue_directory (or the
// chroot jail rooted there): Path returns relative paths from then on.
func SetInQueueDir() { inQueueDir.Store(true) }

// InQueueDir reports whether SetInQueueDir was called (the process is a
// daemon).
func InQueueDir() bool { return inQueueDir.Load() }

// Path returns the socket (or fifo) of service name in class "public" or
// "private".
func Path(c *conf.Config, class, name string) string {
	if inQueueDir.Load() {
		return class + "/" + name
	}
	return filepath.Join(c.Get("queue_directory"), class, name)
}

// Dial connects to the unix-domain stream service name of class within
// timeout (0: no limit).
func Dial(c *conf.Config, class, name string, timeout time.Duration) (net.Conn, error) {
	path := Path(c, class, name)
	var d net.Dialer
	d.Timeout = timeout
	conn, err := d.Dial("unix", path)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", path, underlying(err))
	}
	return conn, nil
}

// Trigger writes data to the trigger service name of class and closes the
// connection, as Postfix's mail_trigger does. A fifo is opened
// O_WRONLY|O_NONBLOCK; anything else is taken to be a unix socket. Errors
// are returned, never fatal.
func Trigger(c *conf.Config, class, name string, data []byte) error {
	return TriggerPath(Path(c, class, name), data)
}

// TriggerPath is Trigger for an explicit socket or fifo path.
func TriggerPath(path string, data []byte) error {
	if st, err := os.Stat(path); err == nil && st.Mode()&os.ModeNamedPipe != 0 {
		fd, err := syscall.Open(path, syscall.O_WRONLY|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("open %s: %w", path, err)
		}
		f := os.NewFile(uintptr(fd), path)
		_, err = f.Write(data)
		cerr := f.Close()
		if err != nil {
			return fmt.Errorf("write %s: %w", path, underlying(err))
		}
		return cerr
	}
	conn, err := net.DialTimeout("unix", path, TriggerTimeout)
	if err != nil {
		return fmt.Errorf("connect to %s: %w", path, underlying(err))
	}
	defer conn.Close()
	conn.SetWriteDeadline(time.Now().Add(TriggerTimeout))
	if _, err := conn.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", path, underlying(err))
	}
	return nil
}

// underlying strips the net and os wrappers so messages read like
// Postfix's ("connect to private/rewrite: No such file or directory").
func underlying(err error) error {
	var en syscall.Errno
	if errors.As(err, &en) {
		return Errno{en}
	}
	return err
}

// Errno is a system error whose text is capitalised as glibc's strerror
// prints it ("No such file or directory"); errors.Is sees the errno.
type Errno struct{ Errno syscall.Errno }

func (e Errno) Error() string {
	s := e.Errno.Error()
	if s != "" && s[0] >= 'a' && s[0] <= 'z' {
		s = string(s[0]-'a'+'A') + s[1:]
	}
	return s
}

// Unwrap returns the errno.
func (e Errno) Unwrap() error { return e.Errno }

// ErrnoText returns the text of err as Postfix prints it with %m:
// the errno's words when there is one, capitalised.
func ErrnoText(err error) string {
	var en syscall.Errno
	if errors.As(err, &en) {
		return Errno{en}.Error()
	}
	return err.Error()
}
