package cleanup

import (
	"strconv"
	"strings"
	"time"

	"github.com/postfix-go/postfix/internal/record"
	"github.com/postfix-go/postfix/internal/submit"
)

// Extra flags a client may send in an f record (hold, discard).
const flagMaskExtra = submit.FlagHold | submit.FlagDiscard

// envelopeTypes are the record types allowed in the envelope section.
const envelopeTypes = "CTcFILSDROW/A>fMVm<in"

// SMTPUTF8 bits of the size record (Postfix's SMTPUTF8_FLAG_*).
const (
	utf8Requested = 1 << 0 // the client requested SMTPUTF8, or it was detected
	utf8Header    = 1 << 1 // a header has non-ASCII text
	utf8Sender    = 1 << 2 // the envelope sender is non-ASCII
	utf8Recipient = 1 << 3 // an envelope recipient is non-ASCII
)

// DSN notify bits (RFC 3461), as Postfix numbers them.
const (
	notifyNever   = 1
	notifySuccess = 2
	notifyDelay   = 4
	notifyFailure = 8
)

// envelope handles one record of the envelope section.
func (st *state) envelope(t record.Type, buf string) {
	if t == record.Flags {
		n, _ := strconv.Atoi(buf)
		if n&^flagMaskExtra != 0 {
			st.d.Warn("%s: ignoring bad extra flags: 0x%x", st.id, n)
		} else {
			st.flags |= n
		}
		return
	}
	if t == record.MiltCount {
		return // no Milter support: the count is accepted and ignored
	}
	mapped := t
	name, value := "", ""
	if t == record.Attr {
		var ok bool
		name, value, ok = strings.Cut(buf, "=")
		name = strings.TrimSpace(name)
		if !ok || name == "" {
			text := "missing '=' after attribute name"
			if ok {
				text = "missing attribute name"
			}
			st.d.Warn("%s: message rejected: malformed attribute: %s: %.100s", st.id, text, buf)
			st.errs |= submit.StatBad
			return
		}
		switch name {
		case "dsn_orig_rcpt":
			mapped = record.DSNORcpt
		case "notify_flags":
			mapped = record.DSNNotify
		case "envelope_id":
			mapped = record.DSNEnvID
		case "ret_flags":
			mapped = record.DSNRet
		case "create_time":
			mapped = record.CTime
		}
		buf2 := value
		if mapped != record.Attr {
			buf = buf2
		}
	}
	if !strings.ContainsRune(envelopeTypes, rune(t)) {
		st.d.Warn("%s: message rejected: unexpected record type %d in envelope", st.id, t)
		st.errs |= submit.StatBad
		return
	}
	if !st.inRcpt && (t == record.Rcpt || t == record.Done || t == record.DRcpt || t == record.ORcpt ||
		mapped == record.DSNORcpt || mapped == record.DSNNotify) {
		if st.sender == nil {
			st.d.Warn("%s: message rejected: missing sender envelope record", st.id)
			st.errs |= submit.StatBad
			return
		}
		if !st.timeSeen {
			st.d.Warn("%s: message rejected: missing time envelope record", st.id)
			st.errs |= submit.StatBad
			return
		}
		if !st.warnSeen && *st.sender != "" {
			if dw := st.d.cfg.Time("delay_warning_time", 'h'); dw > 0 {
				st.putf(record.Warn, "%15d", st.arrival.Add(dw).Unix())
			}
		}
		st.inRcpt = true
	}
	switch {
	case t == record.Rcpt:
		orig := buf
		if st.origRcpt != nil {
			orig = *st.origRcpt
		}
		st.addRecipient(buf, orig)
		st.origRcpt, st.dsnOrcpt, st.dsnNotify = nil, nil, 0
		return
	case t == record.Done || t == record.DRcpt:
		st.origRcpt, st.dsnOrcpt, st.dsnNotify = nil, nil, 0
		return
	case mapped == record.DSNORcpt:
		if st.dsnOrcpt != nil {
			st.d.Warn("%s: ignoring out-of-order DSN original recipient record <%.200s>", st.id, *st.dsnOrcpt)
		}
		v := buf
		st.dsnOrcpt = &v
		return
	case mapped == record.DSNNotify:
		if st.dsnNotify != 0 {
			st.d.Warn("%s: ignoring out-of-order DSN notify record <%d>", st.id, st.dsnNotify)
			st.dsnNotify = 0
		}
		n, err := strconv.Atoi(buf)
		if err != nil || !allDigits(buf) || n == 0 || n&^(notifyNever|notifySuccess|notifyDelay|notifyFailure) != 0 ||
			(n&notifyNever != 0 && n != notifyNever) {
			st.d.Warn("%s: ignoring malformed DSN notify record <%.200s>", st.id, buf)
		} else {
			st.dsnNotify = n
			st.qmgrOpts |= n << 1
		}
		return
	case t == record.ORcpt:
		if st.origRcpt != nil {
			st.d.Warn("%s: ignoring out-of-order original recipient record <%.200s>", st.id, *st.origRcpt)
		}
		v := buf
		st.origRcpt = &v
		return
	case t == record.Mesg:
		st.put(record.Mesg, "")
		st.sec = secContent
		st.dataOffset = st.offset()
		st.inRcpt = false
		st.msg = newMessage(st)
		return
	}
	if st.inRcpt {
		// Tell qmgr that recipient records are mixed with other records.
		st.qmgrOpts |= 1
	}
	switch {
	case t == record.Size, mapped == record.CTime:
		return // cleanup writes its own
	case t == record.Time:
		if !st.timeSeen {
			st.timeSeen = true
			st.arrival = parseTime(buf)
			st.put(t, buf)
		}
		st.put(record.Attr, "create_time="+strconv.FormatInt(time.Now().Unix(), 10))
	case t == record.FullName:
		if st.fullname == nil {
			v := buf
			st.fullname = &v
			st.put(t, buf)
		}
	case t == record.From:
		if st.sender != nil {
			st.d.Warn("%s: message rejected: multiple envelope sender records", st.id)
			st.errs |= submit.StatBad
			return
		}
		st.addSender(buf)
	case mapped == record.DSNEnvID:
		if st.envidSeen {
			st.d.Warn("%s: message rejected: multiple DSN envelope ID records", st.id)
			st.errs |= submit.StatBad
			return
		}
		if !allPrint(buf) {
			st.d.Warn("%s: message rejected: bad DSN envelope ID record", st.id)
			st.errs |= submit.StatBad
			return
		}
		st.envidSeen = true
		st.put(record.Attr, name+"="+buf)
	case mapped == record.DSNRet:
		n, err := strconv.Atoi(buf)
		if st.retSeen {
			st.d.Warn("%s: message rejected: multiple DSN RET records", st.id)
			st.errs |= submit.StatBad
			return
		}
		if err != nil || !allDigits(buf) || (n != 1 && n != 2) {
			st.d.Warn("%s: message rejected: bad DSN RET record <%.200s>", st.id, buf)
			st.errs |= submit.StatBad
			return
		}
		st.retSeen = true
		st.put(record.Attr, name+"="+buf)
	case t == record.Warn:
		if !st.warnSeen {
			st.warnSeen = true
			st.put(t, buf)
		}
	case t == record.Attr:
		if len(st.attrs) >= st.d.cfg.Int("queue_file_attribute_count_limit") {
			st.d.Warn("%s: message rejected: attribute count exceeds limit %d", st.id, st.d.cfg.Int("queue_file_attribute_count_limit"))
			st.errs |= submit.StatBad
			return
		}
		if name == "rewrite_context" {
			switch value {
			case "local":
				st.hdrCtx = "local"
			case "remote":
				st.hdrCtx = ""
				if st.d.remoteRwr != "" {
					st.hdrCtx = "remote"
				}
			default:
				st.d.Warn("%s: message rejected: bad rewriting context: %.100s", st.id, value)
				st.errs |= submit.StatBad
				return
			}
		}
		if value != "" {
			st.attrs[name] = value
		}
		st.put(t, buf)
	default:
		st.put(t, buf)
	}
}

// extracted handles one record after the X record.
func (st *state) extracted(t record.Type, buf string) {
	switch t {
	case record.Rcpt:
		orig := buf
		if st.origRcpt != nil {
			orig = *st.origRcpt
		}
		st.addRecipient(buf, orig)
		st.origRcpt, st.dsnOrcpt, st.dsnNotify = nil, nil, 0
	case record.ORcpt:
		v := buf
		st.origRcpt = &v
	case record.Attr:
		name, value, _ := strings.Cut(buf, "=")
		switch name {
		case "dsn_orig_rcpt":
			st.dsnOrcpt = &value
		case "notify_flags":
			n, err := strconv.Atoi(value)
			if err == nil && n > 0 {
				st.dsnNotify = n
				st.qmgrOpts |= n << 1
			}
		default:
			st.put(t, buf)
		}
	case record.End:
		st.endExtracted()
	case record.Done, record.DRcpt:
		st.origRcpt, st.dsnOrcpt, st.dsnNotify = nil, nil, 0
	default:
		// Return-receipt and errors-to records are no longer kept.
		if t == record.RRTo || t == record.ErrTo {
			return
		}
		st.put(t, buf)
	}
}

// endExtracted adds always_bcc, then the end record.
func (st *state) endExtracted() {
	if st.filter != "" {
		st.put(record.Filter, st.filter)
	}
	if st.redirect != "" {
		st.put(record.Redirect, st.redirect)
	}
	for _, b := range st.bccs {
		st.addBCC(b)
	}
	if st.flags&submit.FlagBCCOK != 0 && st.d.alwaysBcc != "" && st.recipSeen {
		st.addBCC(st.d.alwaysBcc)
	}
	st.put(record.End, "")
	st.endWritten = true
}

func parseTime(s string) time.Time {
	f := strings.Fields(s)
	if len(f) == 0 {
		return time.Time{}
	}
	sec, _ := strconv.ParseInt(f[0], 10, 64)
	usec := int64(0)
	if len(f) > 1 {
		usec, _ = strconv.ParseInt(f[1], 10, 64)
	}
	return time.Unix(sec, usec*1000)
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func allPrint(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
