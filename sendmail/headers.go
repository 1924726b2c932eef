package sendmail

import (
	"errors"
	"strings"

	"github.com/postfix-go/postfix/internal/address"
	"github.com/postfix-go/postfix/internal/record"
)

// errHeaderTooLong is Postfix's text for a header beyond header_size_limit.
var errHeaderTooLong = errors.New("message header length exceeds safety limit")

// Recipient headers that sendmail -t reads, and whether each is a
// Resent- header.
var rcptHeaders = map[string]bool{
	"to": false, "cc": false, "bcc": false,
	"resent-to": true, "resent-cc": true, "resent-bcc": true,
}

// headerScan collects the primary message header for sendmail -t, the way
// Postfix's MIME state machine does with MIME processing off: it joins
// folded and split lines into one header, takes the recipients from it and
// writes the header back out unchanged.
type headerScan struct {
	w         *record.Writer
	lineLimit int
	sizeLimit int
	inBody    bool
	buf       []byte // the header being collected, lines joined by '\n'
	prev      record.Type
	truncated bool

	rcpts, resentRcpts []string
	resent             bool
}

// update takes one input record (N or L).
func (h *headerScan) update(t record.Type, text []byte) error {
	defer func() { h.prev = t }()
	if h.inBody {
		return h.w.Put(t, text)
	}
	if h.prev == record.Cont || (len(h.buf) > 0 && len(text) > 0 && (text[0] == ' ' || text[0] == '\t')) {
		if h.prev != record.Cont {
			h.add([]byte{'\n'})
		}
		h.add(text)
		if h.truncated {
			return errHeaderTooLong
		}
		return nil
	}
	if len(h.buf) > 0 {
		if err := h.flush(); err != nil {
			return err
		}
	}
	if isHeader(text) {
		h.add(text)
		if h.truncated {
			return errHeaderTooLong
		}
		return nil
	}
	h.inBody = true
	// A body that starts without an empty line gets one, so that the
	// header ends where Postfix's MIME processor says it does.
	if len(text) > 0 || t == record.Cont {
		if err := h.w.Put(record.Norm, nil); err != nil {
			return err
		}
	}
	return h.w.Put(t, text)
}

// finish writes a header that the input ended in, and ends a partial last
// body line with an empty line record, as Postfix's MIME processor does.
func (h *headerScan) finish() error {
	if h.inBody && h.prev == record.Cont {
		return h.w.Put(record.Norm, nil)
	}
	if len(h.buf) > 0 {
		return h.flush()
	}
	return nil
}

func (h *headerScan) add(b []byte) {
	if h.sizeLimit > 0 && len(h.buf)+len(b) > h.sizeLimit {
		b = b[:max(0, h.sizeLimit-len(h.buf))]
		h.truncated = true
	}
	h.buf = append(h.buf, b...)
}

// flush takes the recipients from the collected header and writes it.
func (h *headerScan) flush() error {
	text := string(h.buf)
	h.buf = h.buf[:0]
	if i := strings.IndexByte(text, ':'); i > 0 {
		name := strings.ToLower(strings.TrimRight(text[:i], " \t"))
		if isResent, ok := rcptHeaders[name]; ok && (!h.resent || isResent) {
			list := &h.rcpts
			if isResent {
				list = &h.resentRcpts
				h.resent = true
			}
			for _, a := range address.ParseList(text[len(name)+1:]) {
				*list = append(*list, a.Addr)
			}
		}
	}
	for _, line := range strings.Split(text, "\n") {
		if err := h.w.PutText([]byte(line), h.lineLimit); err != nil {
			return err
		}
	}
	return nil
}

// isHeader reports whether text starts a header: a name of printable
// characters other than ':', optional blanks, then ':'.
func isHeader(text []byte) bool {
	i := 0
	for i < len(text) && text[i] > ' ' && text[i] < 0x7f && text[i] != ':' {
		i++
	}
	if i == 0 {
		return false
	}
	for i < len(text) && (text[i] == ' ' || text[i] == '\t') {
		i++
	}
	return i < len(text) && text[i] == ':'
}
