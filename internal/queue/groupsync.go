package queue

import (
	"os"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// GroupSync lets concurrent writers of queue files share the cost of
// making them durable (group commit), as one process with many clients
// (cleanup) commits many files at the same moment. Each file still
// reaches the disk before its Sync returns; what is shared is the work.
//
// A committer goroutine, started when a first file is waiting, syncs a
// lone file with fsync(2); the files whose callers arrived while a sync
// ran are served together by one syncfs(2) of their file system. syncfs
// writes every modified file's data and every metadata change of that
// file system (inodes and directory entries alike) and flushes the
// device cache once; since Linux 5.8 it reports a write-back error that
// happened since the descriptor it is given was opened, and the error
// goes to every file of the batch; each file is then fsynced on its own as
// well (its data is clean by then, so this costs little) so that a
// write-back error of that very file is never missed. Files of a batch that are not all on
// one file system are synced one by one with fsync(2).
//
// The zero GroupSync is ready to use.
type GroupSync struct {
	mu      sync.Mutex
	pending []*syncReq
	running bool
}

type syncReq struct {
	f    *os.File
	dev  uint64
	err  error
	done chan struct{}
}

// Sync makes f's data and metadata durable, possibly together with
// other files passed to Sync at the same time. It returns the error of
// the sync that covered f.
func (g *GroupSync) Sync(f *os.File) error {
	r := &syncReq{f: f, done: make(chan struct{})}
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
		return err
	}
	r.dev = st.Dev
	g.mu.Lock()
	g.pending = append(g.pending, r)
	if !g.running {
		g.running = true
		go g.commit()
	}
	g.mu.Unlock()
	<-r.done
	return r.err
}

// commit is the committer: it syncs what is pending, batch after batch,
// and ends when nothing is left.
func (g *GroupSync) commit() {
	g.mu.Lock()
	for len(g.pending) > 0 {
		batch := g.pending
		g.pending = nil
		g.mu.Unlock()
		syncBatch(batch)
		g.mu.Lock()
	}
	g.running = false
	g.mu.Unlock()
}

// syncBatch syncs the files of one batch and releases their callers.
func syncBatch(batch []*syncReq) {
	oneFS := len(batch) > 1
	for _, r := range batch[1:] {
		if r.dev != batch[0].dev {
			oneFS = false
		}
	}
	if oneFS {
		err := syncfs(batch[0].f)
		for _, r := range batch {
			r.err = err
			// syncfs reports write-back errors seen since batch[0]'s
			// descriptor was opened; an fsync of each file, cheap now that
			// nothing of it is dirty, reports that file's own.
			if r.err == nil {
				r.err = r.f.Sync()
			}
			close(r.done)
		}
		return
	}
	for _, r := range batch {
		r.err = r.f.Sync()
		close(r.done)
	}
}

// syncfs calls syncfs(2) on the file system of f.
func syncfs(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		for {
			e := unix.Syncfs(int(fd))
			if e != unix.EINTR {
				if e != nil {
					serr = &os.PathError{Op: "syncfs", Path: f.Name(), Err: e}
				}
				return
			}
		}
	}); err != nil {
		return err
	}
	return serr
}
