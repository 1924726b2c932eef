package qmgr

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"syscall"
	"time"

	"github.com/postfix-go/postfix/internal/bouncelog"
	"github.com/postfix-go/postfix/internal/ipc"
	"github.com/postfix-go/postfix/internal/queue"
)

// queueFiles lists the ready files of a queue (mode 0700, a valid queue
// file name), oldest modification time first, with their times.
func (m *Manager) queueFiles(name string) []queuedFile {
	root := filepath.Join(m.layout.Dir, name)
	var out []queuedFile
	_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() {
			// Hashed subdirectories are one character long.
			if p != root && len(d.Name()) != 1 {
				return fs.SkipDir
			}
			return nil
		}
		if !queue.ValidName(d.Name()) || !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil || info.Mode().Perm()&0o700 != queue.ModeReady {
			return nil // still being written
		}
		out = append(out, queuedFile{id: d.Name(), mtime: info.ModTime()})
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].mtime.Before(out[j].mtime) })
	return out
}

type queuedFile struct {
	id    string
	mtime time.Time
}

// scan moves the ready files of queue name (incoming or deferred) into
// the active queue and starts their deliveries. Without all, deferred
// files whose retry time (their modification time) is still ahead are
// left alone, as are files of the incoming queue with a future time (put
// back after a restart).
//
// scan reports false when it stopped early because the active queue is
// full (qmgr_message_active_limit); the caller asks again later.
func (m *Manager) scan(name string, all bool) bool {
	now := m.now()
	for _, f := range m.queueFiles(name) {
		if !all && f.mtime.After(now.Add(time.Second)) {
			continue
		}
		m.mu.Lock()
		full := m.activeLimit > 0 && len(m.msgs) >= m.activeLimit
		_, busy := m.msgs[f.id]
		m.mu.Unlock()
		if full {
			return false
		}
		if busy {
			continue
		}
		m.feed(name, f.id)
	}
	return true
}

// rename moves a queue file between queues, creating hashed directories.
func (m *Manager) rename(id, from, to string) error {
	dst := m.layout.Path(to, id)
	err := os.Rename(m.layout.Path(from, id), dst)
	if errors.Is(err, fs.ErrNotExist) {
		if mkErr := os.MkdirAll(filepath.Dir(dst), 0o700); mkErr == nil {
			err = os.Rename(m.layout.Path(from, id), dst)
		}
	}
	return err
}

// feed brings one file into the active queue: rename, lock, read,
// resolve its recipients and queue its deliveries.
func (m *Manager) feed(from, id string) {
	if err := m.rename(id, from, queue.Active); err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			logWarn("qmgr_active_feed: %s: rename from %s to %s: %s", id, from, queue.Active, ipc.ErrnoText(err))
		}
		return
	}
	path := m.layout.Path(queue.Active, id)
	f, err := openLocked(path)
	if err != nil {
		if errors.Is(err, errLocked) {
			logInfo("%s: skipped, still being delivered", id)
			m.deferFile(id, queue.Incoming, 60*time.Second)
			return
		}
		logWarn("open %s %s: %s", queue.Active, id, ipc.ErrnoText(err))
		if !errors.Is(err, fs.ErrNotExist) {
			// Not ours to leave in the active queue, where no one would
			// look at it until a restart: try again in a minute.
			m.deferFile(id, from, 60*time.Second)
		}
		return
	}
	msg, err := readChunk(f, id, m.layout.RelPath(queue.Active, id), 0, m.chunkLimit())
	if err == nil && !msg.more {
		// Every recipient record of the file is in msg.rcpts: finish
		// checks just those offsets afterwards.
		msg.rcptOffs = make([]int64, len(msg.rcpts))
		for i := range msg.rcpts {
			msg.rcptOffs[i] = msg.rcpts[i].Offset
		}
	}
	if msg.haveSender {
		logInfo("%s: from=<%s>, size=%d, nrcpt=%d (queue %s)", id, logAddr(msg.sender),
			msg.size.ContLength, msg.size.RcptCount, queue.Active)
	}
	if err != nil {
		f.Close()
		var ce *corruptError
		if errors.As(err, &ce) {
			for _, l := range ce.lines {
				logWarn("%s", l)
			}
		} else {
			logWarn("%s: %v", id, err)
		}
		m.corrupt(id)
		return
	}
	if w := msg.checkVerp(m.verpFilter); w != "" {
		logWarn("%s", w)
	}
	msg.activeAt = m.now()
	// A defer log from an earlier attempt describes recipients that are
	// tried again now; it is started afresh, as Postfix does.
	// (One unlink: a defer log that is not there, the usual case, needs
	// no second try as a directory.)
	if err := syscall.Unlink(m.layout.Path(queue.Defer, id)); err != nil && err != syscall.ENOENT {
		if err := bouncelog.Remove(m.layout, queue.Defer, id); err != nil && !errors.Is(err, fs.ErrNotExist) {
			logWarn("%s: remove %s %s: %s", id, queue.Defer, id, ipc.ErrnoText(err))
		}
	}
	m.mu.Lock()
	m.msgs[id] = msg
	m.inMemory += len(msg.rcpts)
	m.mu.Unlock()
	entries := m.assign(msg)
	m.deferDirect(msg)
	f.Close() // releases the lock: agents take shared locks
	m.mu.Lock()
	m.enqueue(msg, entries)
	m.mu.Unlock()
	if len(entries) == 0 {
		m.finish(msg)
	}
}

// corrupt moves an unusable file out of the active queue.
func (m *Manager) corrupt(id string) {
	if err := m.rename(id, queue.Active, queue.Corrupt); err != nil {
		logWarn("qmgr_active_corrupt: save corrupt file queue %s id %s: %s", queue.Active, id, ipc.ErrnoText(err))
		return
	}
	logWarn("saving corrupt file \"%s\" from queue \"%s\" to queue \"%s\"", id, queue.Active, queue.Corrupt)
}

// deferFile moves a file from the active queue to queue to, with its
// modification time delay ahead: the time of the next attempt.
func (m *Manager) deferFile(id, to string, delay time.Duration) {
	path := m.layout.Path(queue.Active, id)
	t := m.now().Add(delay)
	if err := os.Chtimes(path, t, t); err != nil && !errors.Is(err, fs.ErrNotExist) {
		logWarn("qmgr_active_defer: update %s time stamps: %s", path, ipc.ErrnoText(err))
	}
	if err := m.rename(id, queue.Active, to); err != nil {
		logWarn("qmgr_active_defer: rename %s from %s to %s: %s", id, queue.Active, to, ipc.ErrnoText(err))
	}
}

// requeueActive moves every file of the active queue back to incoming,
// stamped with the current time (Postfix's qmgr does this at start-up:
// the files were in delivery when the previous queue manager stopped).
func (m *Manager) requeueActive() {
	now := m.now()
	for _, f := range m.queueFilesAny(queue.Active) {
		p := m.layout.Path(queue.Active, f)
		_ = os.Chtimes(p, now, now)
		if err := m.rename(f, queue.Active, queue.Incoming); err != nil {
			logWarn("qmgr_move: rename %s from %s to %s: %s", f, queue.Active, queue.Incoming, ipc.ErrnoText(err))
		}
	}
}

// queueFilesAny lists every file with a valid queue file name in a queue.
func (m *Manager) queueFilesAny(name string) []string {
	root := filepath.Join(m.layout.Dir, name)
	var out []string
	_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() {
			if p != root && len(d.Name()) != 1 {
				return fs.SkipDir
			}
			return nil
		}
		if queue.ValidName(d.Name()) {
			out = append(out, d.Name())
		}
		return nil
	})
	return out
}
