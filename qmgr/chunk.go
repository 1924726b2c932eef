package qmgr

import (
	"errors"
	"os"

	"github.com/postfix-go/postfix/internal/ipc"
	"github.com/postfix-go/postfix/internal/queue"
)

// Messages with many recipients are read in chunks, as Postfix's queue
// manager does, so that the recipients in memory stay within
// qmgr_message_recipient_limit: a message read while others occupy the
// room gets what is left, but never less than
// qmgr_message_recipient_minimum. When every delivery of a chunk is done,
// the next chunk is read from the queue file; the message is finished
// (removed, deferred, bounced) after its last chunk.

// chunkLimit is how many recipients the next message read may keep in
// memory.
func (m *Manager) chunkLimit() int {
	total := m.rcptLimit
	floor := m.rcptMinimum
	if floor < 1 {
		floor = 1
	}
	m.mu.Lock()
	n := total - m.inMemory
	m.mu.Unlock()
	if n < floor {
		n = floor
	}
	return n
}

// nextChunk releases the current chunk of msg and, when recipients are
// left to read, reads and schedules the next chunk that has something to
// deliver. It reports whether deliveries are under way again (the message
// is not finished yet).
func (m *Manager) nextChunk(msg *message) bool {
	m.mu.Lock()
	m.inMemory -= len(msg.rcpts)
	m.mu.Unlock()
	msg.rcpts = nil
	for msg.more {
		path := m.layout.Path(queue.Active, msg.id)
		f, err := os.Open(path)
		if err != nil {
			if !errors.Is(err, os.ErrNotExist) {
				logWarn("open %s %s: %s", queue.Active, msg.id, ipc.ErrnoText(err))
			}
			msg.more = false
			m.mu.Lock()
			msg.deferred = true
			m.mu.Unlock()
			return false
		}
		next, err := readChunk(f, msg.id, m.layout.RelPath(queue.Active, msg.id), msg.resume, m.chunkLimit())
		f.Close()
		if err != nil {
			logWarn("%s: %v", msg.id, err)
			msg.more = false
			m.mu.Lock()
			msg.deferred = true
			m.mu.Unlock()
			return false
		}
		msg.rcpts, msg.more, msg.resume = next.rcpts, next.more, next.resume
		m.mu.Lock()
		m.inMemory += len(msg.rcpts)
		m.mu.Unlock()
		entries := m.assign(msg)
		m.deferDirect(msg)
		if len(entries) == 0 {
			m.mu.Lock()
			m.inMemory -= len(msg.rcpts)
			m.mu.Unlock()
			msg.rcpts = nil
			continue
		}
		m.mu.Lock()
		m.enqueue(msg, entries)
		m.mu.Unlock()
		return true
	}
	return false
}
