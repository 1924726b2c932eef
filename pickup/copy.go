package pickup

import (
	"errors"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/postfix-go/postfix/conf"
	"github.com/postfix-go/postfix/internal/bouncelog"
	"github.com/postfix-go/postfix/internal/ipc"
	"github.com/postfix-go/postfix/internal/maillog"
	"github.com/postfix-go/postfix/internal/record"
	"github.com/postfix-go/postfix/internal/submit"
)

// Cleanup is the part of a cleanup stream pickup uses
// (internal/submit.Stream).
type Cleanup interface {
	QueueID() string
	Put(t record.Type, data []byte) error
	Close() (status int, reason string, err error)
	Abort()
}

func openSubmit(c *conf.Config, flags int) (Cleanup, error) {
	s, err := submit.Open(c, flags)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// What to do with a maildrop file after an attempt.
const (
	removeFile = 1
	keepFile   = 2
)

// Record types allowed in each section of a maildrop file; the first one
// ends the section (Postfix's REC_TYPE_ENVELOPE, _CONTENT, _EXTRACT).
const (
	envelopeTypes = "MCTcFILSDRO/WVA>K<ion"
	contentTypes  = "XLNw"
	extractTypes  = "EDRO/PreAFIL>Kon"
)

// cleanupFlags are the flags of an ordinary local submission.
func cleanupFlags(c *conf.Config) int {
	flags := submit.FlagBounce | submit.FlagMaskExternal
	for _, o := range conf.SplitList(c.Get("receive_override_options")) {
		switch o {
		case "no_address_mappings":
			flags &^= submit.FlagBCCOK | submit.FlagMapOK
		case "no_header_body_checks":
			flags &^= submit.FlagFilter
		case "no_milters":
			flags &^= submit.FlagMilter
		}
	}
	return flags
}

// autoUTF8 is the SMTPUTF8 autodetection flag for sendmail submissions.
func autoUTF8(c *conf.Config) int {
	if !c.Bool("smtputf8_enable") {
		return 0
	}
	for _, cl := range conf.SplitList(c.Get("smtputf8_autodetect_classes")) {
		if cl == "sendmail" || cl == "all" {
			return submit.FlagAutoUTF8
		}
	}
	return 0
}

// file hands one maildrop file to cleanup.
func (p *Pickup) file(path, id string, st fs.FileInfo) int {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOFOLLOW, 0)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return keepFile
		}
		maillog.Warn("open input file %s: %s", relName(id), ipc.ErrnoText(err))
		if errors.Is(err, fs.ErrPermission) {
			maillog.Warn("if this file was created by Postfix < 1.1, then you may have to chmod a+r %s/%s",
				p.c.Get("queue_directory"), relName(id))
			return keepFile
		}
		return removeFile
	}
	defer f.Close()
	// Check that we opened what we looked at.
	if fst, err := f.Stat(); err != nil || !os.SameFile(fst, st) {
		return keepFile
	}
	uid, _, _ := statInfo(st)
	requeued := uid == p.ownerUID && st.Mode().Perm()&0o004 == 0
	flags := p.flags
	if requeued {
		flags &^= submit.FlagMilter
	} else {
		flags |= autoUTF8(p.c)
	}
	cl, err := p.Dial(flags)
	if err != nil {
		return keepFile
	}
	job := &copyJob{p: p, in: newFileReader(f, p.c.Int("line_length_limit")), cl: cl,
		id: cl.QueueID(), path: relName(id), uid: uid, mtime: st.ModTime(), requeued: requeued, dropID: id}
	status := job.run()
	return status
}

// copyJob is one maildrop file being copied to cleanup.
type copyJob struct {
	p        *Pickup
	in       *fileReader
	cl       Cleanup
	id       string // cleanup's queue ID
	path     string // maildrop/ID
	dropID   string
	uid      int
	mtime    time.Time
	requeued bool
	sender   *string
}

func (j *copyJob) run() int {
	now := j.p.now()
	switch {
	case j.mtime.After(now.Add(2 * time.Hour)):
		maillog.Warn("%s: message dated %d seconds into the future", j.id, j.mtime.Unix()-now.Unix())
		j.mtime = now
	case j.mtime.Before(now.Add(-24 * time.Hour)):
		maillog.Warn("%s: message has been queued for %d days", j.id, (now.Unix()-j.mtime.Unix())/86400)
	}
	if filter := j.p.c.Get("content_filter"); filter != "" {
		j.cl.Put(record.Filter, []byte(filter))
	}
	if st := j.segment(envelopeTypes); st != 0 {
		j.cl.Abort()
		return st
	}
	if j.sender == nil {
		maillog.Warn("%s: uid=%d: no envelope sender", j.id, j.uid)
		j.cl.Abort()
		return removeFile
	}
	from := *j.sender
	if from != "" && j.p.c.Get("info_log_address_format") != "internal" {
		from = bouncelog.QuoteLocal(from)
	}
	if j.requeued {
		maillog.Info("%s: uid=%d from=<%s> orig_id=%s", j.id, j.uid, from, j.dropID)
	} else {
		maillog.Info("%s: uid=%d from=<%s>", j.id, j.uid, from)
	}
	j.cl.Put(record.Mesg, nil)
	j.cl.Put(record.Norm, []byte("Received: by "+j.p.c.Get("myhostname")+" ("+j.p.c.Get("mail_name")+", from userid "+strconv.Itoa(j.uid)+")"))
	j.cl.Put(record.Norm, []byte("\tid "+j.id+"; "+MailDate(j.mtime)))
	if st := j.segment(contentTypes); st != 0 {
		j.cl.Abort()
		return st
	}
	j.cl.Put(record.Xtra, nil)
	if st := j.segment(extractTypes); st != 0 {
		j.cl.Abort()
		return st
	}
	if err := j.cl.Put(record.End, nil); err != nil {
		j.cl.Abort()
		return j.cleanupError(submit.StatWrite, "")
	}
	status, reason, err := j.cl.Close()
	if err != nil {
		return j.cleanupError(submit.StatWrite, "")
	}
	if status != 0 {
		return j.cleanupError(status, reason)
	}
	return removeFile
}

// cleanupError reports a cleanup failure; a malformed message or one
// without recipients is removed, anything else kept for a retry.
func (j *copyJob) cleanupError(status int, reason string) int {
	if reason == "" {
		maillog.Warn("%s: error writing %s: %s", j.path, j.id, submit.StatusText(status))
	}
	if status&(submit.StatBad|submit.StatRcpt) != 0 {
		return removeFile
	}
	return keepFile
}

// segment copies records up to the one that ends a section (types[0]).
// It returns 0 when done, or what to do with the file on failure.
func (j *copyJob) segment(types string) int {
	checkFirst := types == contentTypes
	timeSeen := false
	for {
		t, data, err := j.in.next()
		if err != nil || !strings.ContainsRune(types, rune(t)) {
			code := int(t)
			if err != nil {
				code = -2
				var re *record.Error
				switch {
				case errors.Is(err, errEOF):
					code = -1
				case errors.As(err, &re):
					// rec_get's own complaint comes first.
					maillog.Warn("%s: %s", j.path, re.Error())
				}
			}
			maillog.Warn("uid=%d: unexpected or malformed record type %d", j.uid, code)
			return removeFile
		}
		if byte(t) == types[0] {
			return 0
		}
		switch t {
		case record.From:
			if j.sender == nil {
				s := string(data)
				j.sender = &s
			}
			if !timeSeen {
				j.cl.Put(record.Time, []byte(strconv.FormatInt(j.mtime.Unix(), 10)))
			}
		case record.Time:
			timeSeen = true
		}
		if types != contentTypes {
			// Left over from postsuper -r.
			if t == record.Filter || t == record.Redirect {
				continue
			}
		}
		if types == extractTypes {
			if t == record.RRTo || t == record.ErrTo {
				continue
			}
			if t == record.Attr {
				name, _, _ := strings.Cut(string(data), "=")
				if !mappedAttr(strings.TrimSpace(name)) {
					continue
				}
			}
		}
		if checkFirst && (t == record.Norm || t == record.Cont) {
			checkFirst = false
			if len(data) > 0 && (data[0] == ' ' || data[0] == '\t') {
				j.cl.Put(record.Norm, nil)
			}
		}
		if err := j.cl.Put(t, data); err != nil {
			return j.cleanupError(submit.StatWrite, "")
		}
	}
}

// mappedAttr reports whether an extracted-section attribute is one that
// Postfix's rec_attr_map knows (the DSN and SMTPUTF8 attributes).
func mappedAttr(name string) bool {
	switch name {
	case "dsn_orig_rcpt", "notify_flags", "envelope_id", "ret_flags", "create_time", "smtputf8":
		return true
	}
	return false
}

// MailDate formats t as Postfix's mail_date does for Received: headers,
// "Sat, 28 Nov 2026 13:12:43 +0000 (UTC)".
func MailDate(t time.Time) string {
	return t.Format("Mon, _2 Jan 2006 15:04:05 -0700 (MST)")
}
