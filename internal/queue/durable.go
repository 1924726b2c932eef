package queue

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"
)

// Mode bits of queue files: a file being written is 0600; a finished one
// is 0700 (the owner execute bit tells the queue manager it is complete).
const (
	ModeWriting fs.FileMode = 0600
	ModeReady   fs.FileMode = 0700
)

// MakeDirs creates the queue directory and every queue in Names (mode
// 0700) if they are missing. Hashed subdirectories are made on demand.
func (l Layout) MakeDirs() error {
	for _, q := range Names {
		if err := os.MkdirAll(filepath.Join(l.Dir, q), 0700); err != nil {
			return err
		}
	}
	return nil
}

// File is a queue file being written. Create opens it under a temporary
// name; Commit makes it durable under its queue ID; Abort throws it away.
type File struct {
	*bufio.Writer
	ID    string // queue ID, fixed when the file is created
	Queue string // queue the file is committed to
	// ReadyMode is the mode Commit gives the file; zero means ModeReady.
	// postdrop uses 0744 so that pickup, running as mail_owner, can read
	// a maildrop file that the submitting user owns.
	ReadyMode fs.FileMode
	f         *os.File // the open file
	tmp       string   // temporary path
	final     string   // final path
	l         Layout
	done      bool
}

var tmpSeq atomic.Uint64

// Create opens a new, empty file for queue and assigns its queue ID from
// the current time and the file's inode number.
func (l Layout) Create(queue string) (*File, error) {
	dir := filepath.Join(l.Dir, queue)
	// A name with a '.' is never taken for a queue file by Postfix.
	tmp := filepath.Join(dir, "tmp."+strconv.Itoa(os.Getpid())+"."+strconv.FormatUint(tmpSeq.Add(1), 10))
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL, ModeWriting)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	st, err := f.Stat()
	if err != nil {
		f.Close()
		os.Remove(tmp)
		return nil, err
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		f.Close()
		os.Remove(tmp)
		return nil, errors.New("queue: file system gives no inode numbers")
	}
	id := NewID(now, sys.Ino, l.Long)
	return &File{
		Writer: bufio.NewWriterSize(f, 64<<10),
		ID:     id, Queue: queue,
		f: f, tmp: tmp, final: l.Path(queue, id), l: l,
	}, nil
}

// Path returns the path the file has after Commit.
func (q *File) Path() string { return q.final }

// SetQueue changes the queue the file will be committed to (cleanup puts
// a message on hold this way); it must be called before Commit. The
// temporary file stays where it is: both queues are on one file system.
func (q *File) SetQueue(queue string) {
	q.Queue = queue
	q.final = q.l.Path(queue, q.ID)
}

// Commit flushes the file, syncs it to disk, marks it ready (mode 0700),
// gives it its final name (creating hashed subdirectories) and syncs the
// directory, so that the file survives a crash once Commit returns nil.
// On error the file is removed.
func (q *File) Commit() (err error) {
	if q.done {
		return errors.New("queue: file already committed or aborted")
	}
	defer func() {
		if err != nil {
			q.Abort()
		}
	}()
	if err := q.Flush(); err != nil {
		return err
	}
	if err := q.f.Sync(); err != nil {
		return err
	}
	mode := q.ReadyMode
	if mode == 0 {
		mode = ModeReady
	}
	if err := q.f.Chmod(mode); err != nil {
		return err
	}
	if err := q.f.Close(); err != nil {
		return err
	}
	dir := filepath.Dir(q.final)
	if err := mkdirSync(dir); err != nil {
		return err
	}
	if err := os.Link(q.tmp, q.final); err != nil {
		return fmt.Errorf("queue: %w", err)
	}
	q.done = true
	if err := syncDir(dir); err != nil {
		return err
	}
	os.Remove(q.tmp)
	return nil
}

// Abort closes and removes an uncommitted file. It does nothing after
// Commit succeeded.
func (q *File) Abort() {
	if q.done {
		return
	}
	q.done = true
	q.f.Close()
	os.Remove(q.tmp)
}

// mkdirSync creates dir and missing parents, syncing each parent whose
// entries changed.
func mkdirSync(dir string) error {
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	parent := filepath.Dir(dir)
	if parent != dir {
		if err := mkdirSync(parent); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, 0700); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return syncDir(parent)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// WriteMessage writes m as a new queue file in queue and commits it. It
// returns the queue ID once the file is safely on disk.
func (l Layout) WriteMessage(queue string, m *Message) (string, error) {
	f, err := l.Create(queue)
	if err != nil {
		return "", err
	}
	if _, err := m.Encode(f, l.LineLimit); err != nil {
		f.Abort()
		return "", err
	}
	if err := f.Commit(); err != nil {
		return "", err
	}
	return f.ID, nil
}
