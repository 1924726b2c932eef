package cleanup

import (
	"bytes"
	"errors"
	"io"
	"time"

	"github.com/postfix-go/postfix/internal/queue"
	"github.com/postfix-go/postfix/internal/record"
	"github.com/postfix-go/postfix/internal/submit"
)

// section is where in the input stream a record is.
type section int

const (
	secEnvelope section = iota
	secContent
	secExtracted
	secDone
)

// state is one message being processed.
type state struct {
	d     *Daemon
	id    string
	flags int
	errs  int
	// reason is the text of the reply (and of bounce logs) for errs; it
	// holds an enhanced status code and text ("5.7.1 go away").
	reason string

	out *bytes.Buffer  // queue file records after the size record
	w   *record.Writer // writes to out

	sec        section
	dataOffset int64 // offset, after the size record, of the first content record
	xtraOffset int64 // offset, after the size record, of the X record
	rcptCount  int
	qmgrOpts   int
	smtputf8   int

	arrival    time.Time
	timeSeen   bool
	fullname   *string
	sender     *string // envelope sender after rewriting
	recip      string  // last envelope recipient, for logging
	recipSeen  bool
	origRcpt   *string
	dsnOrcpt   *string
	dsnNotify  int
	inRcpt     bool
	warnSeen   bool
	envidSeen  bool
	retSeen    bool
	attrs      map[string]string
	hdrCtx     string // header rewriting context: "local", "remote" or "" (none)
	dups       map[string]bool
	endSeen    bool
	endWritten bool

	msg *message // content processing state

	// actions from header/body checks
	hold     bool
	discard  bool
	redirect string
	filter   string
	bccs     []string // BCC actions, added with the extracted records
}

func newState(d *Daemon, id string) *state {
	// Postfix starts with the origin "local"; smtpd and qmqpd send
	// theirs ("name[addr]").
	st := &state{d: d, id: id, out: bytes.NewBuffer(make([]byte, 0, 8192)), attrs: map[string]string{"log_message_origin": "local"},
		hdrCtx: "local", dups: map[string]bool{}}
	st.w = record.NewWriter(st.out)
	return st
}

// outOK says whether records are still being processed (Postfix's
// CLEANUP_OUT_OK): a discarded message is not; with the bounce flag only
// incompleteness stops it.
func (st *state) outOK() bool {
	if st.discard {
		return false
	}
	if st.flags&submit.FlagBounce != 0 {
		return st.errs&submit.StatMaskIncomplete == 0
	}
	return st.errs == 0
}

// put writes one record to the queue file being built.
func (st *state) put(t record.Type, data string) {
	st.w.PutString(t, data)
}

func (st *state) putf(t record.Type, format string, args ...any) {
	st.w.Putf(t, format, args...)
}

// offset returns the current output offset (after the size record):
// what the record writer has taken, buffered or not (writes to the
// in-memory buffer cannot fail).
func (st *state) offset() int64 {
	return st.w.Offset()
}

// setReason records a reply text unless one is already set.
func (st *state) setReason(text string) {
	if st.reason == "" {
		st.reason = text
	}
}

// readAll reads the client's records until E, an error, or a fatal
// problem; after a problem it keeps reading up to E so that the client
// gets its reply.
func (st *state) readAll(sess *submit.Session) {
	for {
		t, data, err := sess.Next()
		if err != nil {
			var rerr *record.Error
			if errors.As(err, &rerr) {
				st.d.Warn("%s: %s", st.id, err)
			} else if !errors.Is(err, io.EOF) && !isTimeout(err) {
				st.d.Warn("%s: read %s: %v", st.id, "public/cleanup", err)
			} else if isTimeout(err) {
				st.d.Warn("%s: read timeout on public/cleanup", st.id)
			}
			st.errs |= submit.StatBad
			return
		}
		if t == record.End {
			if st.outOK() {
				st.record(t, data)
			}
			st.endSeen = true
			return
		}
		if !st.outOK() {
			continue
		}
		st.record(t, data)
	}
}

func isTimeout(err error) bool {
	var ne interface{ Timeout() bool }
	return errors.As(err, &ne) && ne.Timeout()
}

// record dispatches one record by section.
func (st *state) record(t record.Type, data []byte) {
	switch st.sec {
	case secEnvelope:
		st.envelope(t, string(data))
	case secContent:
		st.content(t, data)
	case secExtracted:
		st.extracted(t, string(data))
	default:
		st.d.Warn("%s: message rejected: unexpected record type %d after end of message", st.id, t)
		st.errs |= submit.StatBad
	}
}

// finish writes and commits the queue file, or throws it away, logs, and
// returns the status for the client.
func (st *state) finish(f *queue.File) int {
	if st.outOK() && st.d.sizeLimit > 0 && st.fileSize() > st.d.sizeLimit {
		// The last write, at the end of the message, failed.
		st.tooBig()
	}
	if st.outOK() {
		if st.rcptCount == 0 && !st.recipSeen {
			st.errs |= submit.StatRcpt
		}
		if !st.endSeen {
			st.errs |= submit.StatBad
		}
	}
	if st.flags&submit.FlagHold != 0 {
		st.hold = true
	}
	if st.flags&submit.FlagDiscard != 0 {
		st.discard = true
	}
	if st.errs == 0 && st.discard {
		// The client is told that all went well; nothing is queued.
		return 0
	}
	if st.errs != 0 {
		if st.canBounce() {
			return st.bounce(f)
		}
		if st.errs&submit.StatSize != 0 {
			// Postfix reports closing the file it could not finish.
			st.d.Warn("mail_stream_cleanup: close error")
		}
		return st.errs
	}
	if err := st.write(f); err != nil {
		st.d.Warn("%s: write queue file: %v", st.id, err)
		st.errs |= submit.StatWrite
		st.reason = "4.3.0 queue file write error"
		return st.errs
	}
	if !st.hold {
		st.d.trigger()
	}
	return 0
}

// write puts the size record and the records built in memory into the
// queue file and commits it (fsync) to incoming/ or hold/.
func (st *state) write(f *queue.File) error {
	if err := st.w.Flush(); err != nil {
		return err
	}
	utf8 := st.smtputf8
	if st.flags&submit.FlagSMTPUTF8 != 0 {
		utf8 |= utf8Requested
	}
	if st.flags&submit.FlagAutoUTF8 != 0 && utf8 != 0 {
		utf8 |= utf8Requested
	}
	const sizeLen = 6*15 + 5
	hdr := int64(1 + record.LengthSize(sizeLen) + sizeLen)
	size := queue.Size{
		DataSize:   st.xtraOffset - st.dataOffset,
		DataOffset: hdr + st.dataOffset,
		RcptCount:  int64(st.rcptCount),
		QmgrOpts:   int64(st.qmgrOpts),
		ContLength: st.xtraOffset - st.dataOffset,
		SMTPUTF8:   int64(utf8),
	}
	rw := record.NewWriter(f)
	rw.PutString(record.Size, size.String())
	if err := rw.Flush(); err != nil {
		return err
	}
	if _, err := f.Write(st.out.Bytes()); err != nil {
		return err
	}
	if st.hold {
		f.SetQueue(queue.Hold)
	}
	return f.Commit()
}
