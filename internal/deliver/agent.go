package deliver

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/postfix-go/postfix/conf"
	"github.com/postfix-go/postfix/internal/attr"
	"github.com/postfix-go/postfix/internal/ipc"
	"github.com/postfix-go/postfix/internal/queue"
)

// knownQueues are the queue names a request may refer to (Postfix's
// mail_queue_name_ok accepts any name of letters and digits, but delivery
// requests only ever name these).
var knownQueues = map[string]bool{
	queue.Incoming: true, queue.Active: true, queue.Deferred: true,
	queue.Hold: true, queue.Maildrop: true, queue.Corrupt: true, queue.Saved: true,
}

// ServeConn serves one delivery request on conn, as a Postfix delivery
// agent does: it announces the protocol, waits for the queue manager's
// request (a peer that hangs up first is not an error), opens the queue
// file with a shared lock, calls handle, and sends handle's status (with
// the request's HopStatus) back; a handler that deferred some recipient
// with Defer answers StatDefer even when it returns StatFinal, as
// Postfix's agents do. Config and layout describe the queue the
// request refers to. A request that cannot be read or whose queue file is
// missing is answered with StatDefer and reported as an error.
func ServeConn(c *conf.Config, layout queue.Layout, conn net.Conn, handle func(*Request) int) error {
	timeout := ipcTimeout(c)
	// The buffers of the attribute encoder and decoder are reused from
	// one request to the next (attr's NewEncoder and NewDecoder keep a
	// bufio writer or reader of their size as it is); nothing of them
	// outlives this call.
	bw := writers.Get().(*bufio.Writer)
	bw.Reset(conn)
	br := readers.Get().(*bufio.Reader)
	defer func() {
		bw.Reset(nil)
		br.Reset(nil)
		writers.Put(bw)
		readers.Put(br)
	}()
	enc := attr.NewEncoder(bw, attr.Zero)
	if err := enc.WriteProtocol(Protocol); err != nil {
		return err
	}
	if err := enc.Flush(); err != nil {
		return err
	}
	// Wait without a time limit: the queue manager may change its mind and
	// close the connection instead of sending a request.
	pc := &peekConn{Conn: conn}
	if _, err := pc.peek(); err != nil {
		return nil
	}
	br.Reset(pc)
	dec := attr.NewDecoder(br, attr.Zero)
	dec.Path = "unknown_stream"
	_ = conn.SetDeadline(time.Now().Add(timeout))
	r, err := ReadRequest(dec)
	if err != nil {
		logWarn("%v", err)
		_ = writeReply(enc, nil, StatDefer)
		return err
	}
	r.Config, r.layout = c, layout
	if r.AgentAt.IsZero() {
		r.AgentAt = time.Now()
	}
	if !knownQueues[r.QueueName] || !queue.ValidName(r.QueueID) {
		err := fmt.Errorf("mail_open_ok: bad queue file name: %s/%s", r.QueueName, r.QueueID)
		logWarn("%v", err)
		_ = writeReply(enc, nil, StatDefer)
		return err
	}
	// A plain descriptor, not an *os.File: a regular file gains nothing
	// from Go's poller, and registering it costs four system calls.
	fd, err := openQueueFile(layout.Path(r.QueueName, r.QueueID))
	if err != nil {
		err = fmt.Errorf("open %s %s: %s", r.QueueName, r.QueueID, ipc.ErrnoText(err))
		logWarn("%v", err)
		_ = writeReply(enc, nil, StatDefer)
		return err
	}
	qf := &queueFile{fd: fd}
	defer qf.close()
	if err := syscall.Flock(fd, syscall.LOCK_SH|syscall.LOCK_NB); err != nil {
		err = fmt.Errorf("shared lock %s: %s", layout.RelPath(r.QueueName, r.QueueID), ipc.ErrnoText(err))
		logWarn("%v", err)
		_ = writeReply(enc, nil, StatDefer)
		return err
	}
	_ = conn.SetDeadline(time.Time{})
	// Recipients are marked done through the descriptor that holds the
	// lock, as Postfix's agents do, instead of opening the file again.
	r.qf = qf
	status := handle(r)
	r.qf = nil
	if status == StatFinal && r.deferred {
		// Postfix's agents answer "defer" when any recipient was
		// deferred, so that the queue manager keeps the message.
		status = StatDefer
	}
	// Release the shared lock before answering, so that the queue manager
	// can take the file back at once.
	qf.close()
	_ = conn.SetDeadline(time.Now().Add(timeout))
	if err := writeReply(enc, r.HopStatus, status); err != nil {
		return err
	}
	// Wait for the queue manager to hang up, so that the reply is not lost
	// on systems that drop data written just before a close.
	var b [1]byte
	_, _ = pc.Read(b[:])
	return nil
}

// Pools of the 4096-byte buffers ServeConn's encoder and decoder use.
var (
	writers = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 4096) }}
	readers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 4096) }}
)

// ipcTimeout returns $ipc_timeout (default 3600s).
func ipcTimeout(c *conf.Config) time.Duration {
	if c != nil {
		if d := c.Time("ipc_timeout", 's'); d > 0 {
			return d
		}
	}
	return time.Hour
}

// peekConn lets ServeConn wait for the first byte of a request and then
// hand it to the decoder.
type peekConn struct {
	net.Conn
	first []byte
}

func (p *peekConn) peek() (byte, error) {
	var b [1]byte
	n, err := io.ReadFull(p.Conn, b[:])
	if n == 1 {
		p.first = b[:1]
		return b[0], nil
	}
	return 0, err
}

func (p *peekConn) Read(b []byte) (int, error) {
	if len(p.first) > 0 && len(b) > 0 {
		b[0] = p.first[0]
		p.first = nil
		return 1, nil
	}
	return p.Conn.Read(b)
}
