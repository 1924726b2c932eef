package qmgr

import (
	"errors"
	"io/fs"
	"os"
	"time"

	"github.com/postfix-go/postfix/internal/bouncelog"
	"github.com/postfix-go/postfix/internal/deliver"
	"github.com/postfix-go/postfix/internal/ipc"
	"github.com/postfix-go/postfix/internal/queue"
)

// finish decides what happens to a message once every delivery request
// for it is done, in Postfix's order:
//
//  1. a bounce log is sent to the sender as a non-delivery notice (an
//     empty one is just removed); if that fails the message is kept;
//  2. a trace log (NOTIFY=SUCCESS, sendmail -v) is sent as well;
//  3. a message with recipients left over (deferred, or undone in the
//     queue file) that has been queued longer than
//     maximal_queue_lifetime (bounce_queue_lifetime for mail from the
//     null sender) is logged "status=expired, returned to sender" and its
//     defer log sent back as a non-delivery notice; otherwise, past its
//     delay warning time, the sender gets a warning (once);
//  4. a message still with recipients left moves to the deferred queue
//     with its modification time set to the next attempt: the time it has
//     spent in the queue, within minimal_backoff_time and
//     maximal_backoff_time; otherwise the file is removed
//     ("QUEUEID: removed").
func (m *Manager) finish(msg *message) {
	if m.nextChunk(msg) {
		return
	}
	defer func() {
		m.mu.Lock()
		delete(m.msgs, msg.id)
		m.idle.Broadcast()
		m.mu.Unlock()
		m.poke() // room in the active queue: look for more work
	}()
	m.mu.Lock()
	deferred := msg.deferred
	m.mu.Unlock()
	id := msg.id
	path := m.layout.Path(queue.Active, id)

	if st, err := os.Stat(m.layout.Path(queue.Bounce, id)); err == nil {
		if st.Size() == 0 {
			_ = bouncelog.Remove(m.layout, queue.Bounce, id)
		} else if err := bouncelog.Flush(m.cfg, 0, queue.Active, id, msg.encoding, msg.smtputf8, msg.sender, msg.envID, msg.ret); err != nil {
			deferred = true
		}
	}
	if msg.traceFlag&(deliver.FlagUserVerify|deliver.FlagRecord) != 0 || msg.notifyOK {
		if bouncelog.Exists(m.layout, queue.Trace, id) {
			if err := bouncelog.Trace(m.cfg, msg.traceFlag, queue.Active, id, msg.encoding, msg.smtputf8, msg.sender, msg.envID, msg.ret); err != nil {
				deferred = true
			}
		}
	}
	if !deferred && msg.traceFlag&deliver.FlagTraceOnly == 0 {
		// An agent that answered "done" but left recipients undone must
		// not make us lose them. (An address probe whose recipient was
		// found undeliverable stays undone: its report says so, and it
		// is removed, as Postfix does.)
		// Recipients that a redirect left alone do not count. A file
		// read in one chunk has its R records at known offsets: only
		// their type bytes are read again, not the whole file.
		pending, err := map[int64]bool(nil), errSpan
		if msg.rcptOffs != nil {
			pending, err = pendingAt(path, msg.rcptOffs)
		}
		if err == errSpan {
			pending, err = pendingRecipients(path, id)
		}
		if err == nil {
			for off := range pending {
				if msg.redirect == "" || off == msg.redirOff {
					deferred = true
					break
				}
			}
		}
	}
	now := m.now()
	if deferred {
		life := m.queueLife
		if msg.sender == "" {
			life = m.bounceLife
		}
		switch {
		case !now.Before(msg.created.Add(life)):
			logInfo("%s: from=<%s>, status=expired, returned to sender", id, logAddr(msg.sender))
			deferred = bouncelog.DeferFlush(m.cfg, bouncelog.FlagDelRcpt, queue.Active, id, msg.encoding, msg.smtputf8, msg.sender, msg.envID, msg.ret) != nil
		case !msg.warnTime.IsZero() && !now.Before(msg.warnTime.Add(-time.Second)):
			if err := bouncelog.Warn(m.cfg, 0, queue.Active, id, msg.encoding, msg.smtputf8, msg.sender, msg.envID, msg.ret); err == nil && msg.warnOffset > 0 {
				if err := clearWarn(path, msg.warnOffset); err != nil {
					logWarn("%s: update queue file %s: %v", id, path, err)
				}
			}
		}
	}
	if deferred {
		delay := now.Sub(msg.created)
		if delay > m.maxBackoff {
			delay = m.maxBackoff
		}
		if delay < m.minBackoff {
			delay = m.minBackoff
		}
		m.deferFile(id, queue.Deferred, delay)
		return
	}
	if err := os.Remove(path); err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			logWarn("qmgr_active_done_3_generic: remove %s from %s: %s", id, queue.Active, ipc.ErrnoText(err))
		}
		return
	}
	logInfo("%s: removed", id)
}
