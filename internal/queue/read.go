package queue

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/postfix-go/postfix/internal/record"
)

// Section is a part of a queue file.
type Section int

// The three sections of a queue file, in file order.
const (
	Envelope  Section = iota // from the start up to the M record
	Content                  // from M up to X: the message text
	Extracted                // from X up to E
)

// ErrNoEnd reports a queue file that ends without an E record.
var ErrNoEnd = errors.New("queue file ends before its end record")

// ErrNotQueueFile reports input whose first record is not a size record.
var ErrNotQueueFile = errors.New("input is not a valid queue file")

// Walk reads a queue file record by record and calls fn with the section
// each record belongs to. The section markers M and X are passed with the
// section they open; E is passed last and ends the walk. Walk returns the
// first error of the record layer (a *record.Error for bad input), of fn,
// ErrNotQueueFile when the first record is not C, or ErrNoEnd when the
// input stops before E. maxLen limits record lengths as record.NewReader.
func Walk(r io.Reader, maxLen int, fn func(sec Section, t record.Type, data []byte) error) error {
	rr := record.NewReader(r, maxLen)
	sec := Envelope
	for first := true; ; first = false {
		t, data, err := rr.Next()
		if err == io.EOF {
			if first {
				return ErrNotQueueFile
			}
			return ErrNoEnd
		}
		if err != nil {
			return err
		}
		if first && t != record.Size {
			return ErrNotQueueFile
		}
		switch {
		case t == record.Mesg && sec == Envelope:
			sec = Content
		case t == record.Xtra && sec == Content:
			sec = Extracted
		}
		if err := fn(sec, t, data); err != nil {
			return err
		}
		if t == record.End && sec != Content {
			return nil
		}
	}
}

// ParseSize decodes the data of a C record. Postfix has written three to
// six fields over the years; missing trailing fields are zero.
func ParseSize(data string) (Size, error) {
	f := strings.Fields(data)
	if len(f) < 3 || len(f) > 6 {
		return Size{}, fmt.Errorf("invalid size record: %s", data)
	}
	var v [6]int64
	for i, s := range f {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			return Size{}, fmt.Errorf("invalid size record: %s", data)
		}
		v[i] = n
	}
	return Size{v[0], v[1], v[2], v[3], v[4], v[5]}, nil
}

// Decode reads a whole queue file written by Encode or by Postfix's cleanup
// and returns its message and size record. Records Message has no field
// for (for example W, V or P) are skipped; attributes other than the ones
// with their own fields are kept in Attrs or ExtractedAttrs.
func Decode(r io.Reader, maxLen int) (*Message, Size, error) {
	m := &Message{}
	var size Size
	var pend Recipient
	var partial []byte
	content := make([]byte, 0, 4096)
	err := Walk(r, maxLen, func(sec Section, t record.Type, data []byte) error {
		if sec == Content {
			switch t {
			case record.Norm:
				content = append(append(append(content, partial...), data...), '\n')
				partial = partial[:0]
			case record.Cont:
				partial = append(partial, data...)
			}
			return nil
		}
		s := string(data)
		rcpts, attrs := &m.Recipients, &m.Attrs
		if sec == Extracted {
			rcpts, attrs = &m.Extracted, &m.ExtractedAttrs
		}
		switch t {
		case record.Xtra:
			content = append(content, partial...)
		case record.Size:
			sz, err := ParseSize(s)
			if err != nil {
				return err
			}
			size = sz
			m.QmgrOpts, m.SMTPUTF8 = int(sz.QmgrOpts), int(sz.SMTPUTF8)
			m.ContLength = sz.ContLength
		case record.Time:
			f := strings.Fields(s)
			if len(f) == 0 {
				return fmt.Errorf("bad time record: %q", s)
			}
			sec, err1 := strconv.ParseInt(f[0], 10, 64)
			var usec int64
			var err2 error
			if len(f) > 1 {
				usec, err2 = strconv.ParseInt(f[1], 10, 64)
			}
			if err1 != nil || err2 != nil {
				return fmt.Errorf("bad time record: %q", s)
			}
			m.Arrival = time.Unix(sec, usec*1000)
		case record.FullName:
			m.FullName = s
		case record.From:
			m.Sender = s
		case record.ORcpt:
			pend.Orig = s
		case record.Rcpt, record.Done:
			pend.Address, pend.Done = s, t == record.Done
			*rcpts = append(*rcpts, pend)
			pend = Recipient{}
		case record.Attr:
			name, value, ok := strings.Cut(s, "=")
			if !ok {
				return fmt.Errorf("malformed attribute: missing '=' after attribute name: %s", s)
			}
			switch {
			case name == record.AttrNotifyFlags:
				pend.Notify, _ = strconv.Atoi(value)
			case name == record.AttrDSNOrigRcpt:
				pend.DSNOrig = value
			case sec == Envelope && name == record.AttrCreateTime:
				n, err := strconv.ParseInt(value, 10, 64)
				if err != nil {
					return fmt.Errorf("bad create_time attribute: %q", value)
				}
				m.Created = time.Unix(n, 0)
			case sec == Envelope && name == record.AttrEnvID:
				m.EnvID = value
			case sec == Envelope && name == record.AttrRetFlags:
				m.RetFlags, _ = strconv.Atoi(value)
			case sec == Envelope && name == record.AttrRewriteContext:
				m.RewriteContext = value
			default:
				*attrs = append(*attrs, Attr{name, value})
			}
		}
		return nil
	})
	if err != nil {
		return nil, Size{}, err
	}
	if m.ContLength == size.DataSize {
		m.ContLength = 0
	}
	m.Content = content
	return m, size, nil
}
