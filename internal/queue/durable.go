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
	// Group, when set, syncs the file in Commit together with other
	// files committed at the same time (cleanup's many clients).
	Group *GroupSync
	f     *os.File // the open file
	tmp   string   // temporary path (the final one after CreateNamed)
	named bool     // made by CreateNamed
	final string   // final path
	l     Layout
	done  bool
}

var tmpSeq atomic.Uint64

// Create opens a new, empty file for queue and assigns its queue ID from
// the current time and the file's inode number.
func (l Layout) Create(queue string) (*File, error) {
	return l.create(queue, 64<<10)
}

// create is Create with a write buffer of size bytes.
func (l Layout) create(queue string, size int) (*File, error) {
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
		Writer: bufio.NewWriterSize(f, size),
		ID:     id, Queue: queue,
		f: f, tmp: tmp, final: l.Path(queue, id), l: l,
	}, nil
}

// CreateNamed is Create as Postfix's cleanup does it: the new file is
// renamed to its queue ID at once, in queue, while still mode 0600 (the
// queue manager leaves a file alone until its owner execute bit is set).
// Commit then only sets the mode and syncs the file: a file created in a
// directory is reached through its entry once fsync of the file returns
// on the file systems Postfix supports, so no directory sync is needed
// (Postfix syncs none either). A message moved to another queue by
// SetQueue is renamed there by Commit, which then syncs that directory.
//
// Its write buffer is small (cleanup writes a whole message at once,
// which goes past the buffer).
func (l Layout) CreateNamed(queue string) (*File, error) {
	q, err := l.create(queue, 4096)
	if err != nil {
		return nil, err
	}
	if err := mkdirSync(filepath.Dir(q.final)); err != nil {
		q.Abort()
		return nil, err
	}
	if err := os.Rename(q.tmp, q.final); err != nil {
		q.Abort()
		return nil, fmt.Errorf("queue: %w", err)
	}
	q.tmp = q.final
	q.named = true
	return q, nil
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
	mode := q.ReadyMode
	if mode == 0 {
		mode = ModeReady
	}
	moved := ""
	if q.named && q.tmp != q.final {
		// A CreateNamed file moved to another queue (hold) goes there
		// while still unfinished, so that no queue manager takes it
		// from the queue it was created in.
		moved = filepath.Dir(q.final)
		if err := mkdirSync(moved); err != nil {
			return err
		}
		if err := os.Rename(q.tmp, q.final); err != nil {
			return fmt.Errorf("queue: %w", err)
		}
		q.tmp = q.final
	}
	// As Postfix, set the mode first so that the sync covers it.
	if err := q.f.Chmod(mode); err != nil {
		return err
	}
	if q.Group != nil {
		err = q.Group.Sync(q.f)
	} else {
		err = q.f.Sync()
	}
	if err != nil {
		return err
	}
	if err := q.f.Close(); err != nil {
		return err
	}
	if q.tmp == q.final {
		// CreateNamed: the name is already in place.
		q.done = true
		if moved != "" {
			return syncDir(moved)
		}
		return nil
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
