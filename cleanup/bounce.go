package cleanup

import (
	"errors"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/postfix-go/postfix/internal/bouncelog"
	"github.com/postfix-go/postfix/internal/deliver"
	"github.com/postfix-go/postfix/internal/dsn"
	"github.com/postfix-go/postfix/internal/queue"
	"github.com/postfix-go/postfix/internal/record"
	"github.com/postfix-go/postfix/internal/submit"
)

// canBounce says whether cleanup itself must return a refused message to
// its sender (the client asked for it with the bounce flag, as pickup
// does, and the message is complete enough to be returned).
func (st *state) canBounce() bool {
	return st.errs&submit.StatMaskCantBounce == 0 && st.sender != nil && st.flags&submit.FlagBounce != 0
}

// bounce returns the refused message to its sender, as Postfix's cleanup
// does. The queue file is left as far as it was written (mode 0600, so
// the queue manager leaves it alone): complete after a content REJECT,
// cut at message_size_limit bytes (and without a size record) for a
// message that was too big. cleanup then reads the file back: each
// recipient it finds goes to the bounce service's log (and to the mail
// log as "status=bounced"), and the bounce service is asked to send the
// notice, with only the headers of a rejected or over-size message. On
// success the client is told that all went well. The queue file is
// removed in any case.
func (st *state) bounce(f *queue.File) int {
	f.ReadyMode = queue.ModeWriting
	st.hold = false // the file stays in incoming/
	var err error
	if st.errs&submit.StatSize != 0 {
		err = st.writeCut(f)
	} else {
		err = st.write(f)
	}
	if err != nil {
		st.d.Warn("%s: bounce message failure", st.id)
		return submit.StatWrite
	}
	defer os.Remove(f.Path())
	code, text := st.bounceStatus()
	ok := true
	found := false
	err = st.readRecipients(f.Path(), func(r dsn.Recipient) bool {
		found = true
		if !st.bounceAppend(r, code, text) {
			ok = false
		}
		return ok
	})
	if err != nil {
		st.d.Warn("%s: %v", st.id, err)
		ok = false
	}
	if ok && !found {
		// No recipients: the notice still goes out.
		ok = st.bounceAppend(dsn.Recipient{Address: "unknown"}, code, text)
	}
	if ok {
		ret, _ := strconv.Atoi(st.attrs["ret_flags"])
		if st.errs&(submit.StatCont|submit.StatSize) != 0 {
			// Unfiltered or over-size content is not sent back.
			ret = dsn.RetHdrs
		}
		err := bouncelog.Flush(st.d.cfg, bouncelog.FlagClean, f.Queue, st.id,
			st.attrs["encoding"], st.smtputf8, *st.sender, st.attrs["envelope_id"], ret)
		if err != nil {
			st.d.Warn("%s: bounce message failure", st.id)
			ok = false
		}
	}
	if ok {
		return 0
	}
	// The client keeps the message and tries again later.
	return submit.StatWrite
}

// bounceAppend asks the bounce service to log recipient r as failed
// (Postfix's bounce_append) and logs the "status=bounced" line.
func (st *state) bounceAppend(r dsn.Recipient, code, text string) bool {
	if st.d.cfg.Bool("soft_bounce") {
		// Pretending that mail cannot bounce, Postfix keeps no log for
		// a message it would remove: the client keeps it instead.
		return false
	}
	status := dsn.Status{Code: code, Action: "failed", Reason: text}
	e := bouncelog.Entry{Rcpt: r, Status: status, When: time.Now()}
	if err := bouncelog.AppendService(st.d.cfg, st.d.cfg.Get("bounce_service_name"), bouncelog.FlagClean, st.id, e); err != nil {
		// A refusal by the service is silent; a connection problem is
		// reported as Postfix's IPC layer does.
		if !errors.Is(err, bouncelog.ErrFailed) {
			st.d.Warn("%v", err)
		}
		return false
	}
	req := deliver.Request{QueueID: st.id, Arrival: st.arrival, Config: st.d.cfg}
	st.d.Info("%s", req.LogLine(&r, "none", status, "bounced", time.Now()))
	return true
}

// bounceStatus is the DSN code and text of the refusal: from the reason
// ("5.7.1 go away", or a text without a code: 5.0.0) or from the status
// table.
func (st *state) bounceStatus() (code, text string) {
	if st.reason != "" {
		c, t, _ := strings.Cut(st.reason, " ")
		if dsn.Valid(c) {
			return c, strings.TrimLeft(t, " \t")
		}
		return "5.0.0", st.reason
	}
	_, enh, _ := submit.Detail(st.errs)
	return enh, submit.StatusText(st.errs)
}

// writeCut writes what Postfix leaves of a message that outgrew
// message_size_limit: the records in the order written, with the size
// record still zero, cut at exactly message_size_limit bytes (the file
// size limit stopped the writes there).
func (st *state) writeCut(f *queue.File) error {
	if err := st.w.Flush(); err != nil {
		return err
	}
	rw := record.NewWriter(f)
	rw.PutString(record.Size, queue.Size{}.String())
	if err := rw.Flush(); err != nil {
		return err
	}
	const sizeLen = 6*15 + 5
	hdr := int64(1 + record.LengthSize(sizeLen) + sizeLen)
	data := st.out.Bytes()
	if room := st.d.sizeLimit - hdr; room >= 0 && int64(len(data)) > room {
		data = data[:room]
	}
	if _, err := f.Write(data); err != nil {
		return err
	}
	return f.Commit()
}

// readRecipients reads the queue file at path from its start, as Postfix's
// cleanup does before a bounce, and calls fn for each recipient (with its
// original address, DSN details and record offset) until fn returns false,
// the end record, or a record that cannot be read (logged as Postfix's
// record reader does; the recipients before it still count).
func (st *state) readRecipients(path string, fn func(dsn.Recipient) bool) error {
	fh, err := os.Open(path)
	if err != nil {
		return err
	}
	defer fh.Close()
	r := record.NewReader(fh, 0)
	name := queue.Incoming + "/" + st.id
	var cur dsn.Recipient
	for {
		off := r.Offset()
		t, data, err := r.Next()
		if err != nil {
			var rerr *record.Error
			if errors.As(err, &rerr) {
				st.d.Warn("%s: %s", name, rerr)
			} else if !errors.Is(err, io.EOF) {
				return err
			}
			return nil
		}
		v := string(data)
		if t == record.Attr {
			n, val, _ := strings.Cut(v, "=")
			if val == "" {
				continue
			}
			switch n {
			case "dsn_orig_rcpt":
				t, v = record.DSNORcpt, val
			case "notify_flags":
				t, v = record.DSNNotify, val
			}
		}
		switch t {
		case record.End:
			return nil
		case record.DSNORcpt:
			cur.DSNOrig = v
		case record.DSNNotify:
			cur.Notify, _ = strconv.Atoi(v)
			if !allDigits(v) || cur.Notify <= 0 || !bouncelog.NotifyOK(cur.Notify) {
				cur.Notify = 0
			}
		case record.ORcpt:
			cur.Orig = v
		case record.Rcpt:
			cur.Address = v
			cur.Offset = off
			if cur.Orig == "" {
				cur.Orig = v
			}
			if !fn(cur) {
				return nil
			}
			cur = dsn.Recipient{}
		case record.Done, record.DRcpt:
			cur = dsn.Recipient{}
		}
	}
}
