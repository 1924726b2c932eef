package record

import (
	"bufio"
	"fmt"
	"io"
)

// MaxLength is the largest record length the format can carry: the length
// is a signed 32-bit number on Postfix's side.
const MaxLength = 1<<31 - 1

// Writer writes records to an underlying stream through a buffer and keeps
// track of the file offset of the next record.
type Writer struct {
	w      *bufio.Writer
	offset int64
	err    error
}

// NewWriter returns a Writer that starts at offset 0 of w.
func NewWriter(w io.Writer) *Writer {
	return &Writer{w: bufio.NewWriterSize(w, 8192)}
}

// AppendLength appends the Postfix encoding of n to buf: 7-bit groups, least
// significant first, with the high bit set on every byte but the last.
func AppendLength(buf []byte, n int) []byte {
	u := uint32(n)
	for {
		b := byte(u & 0x7f)
		u >>= 7
		if u == 0 {
			return append(buf, b)
		}
		buf = append(buf, b|0x80)
	}
}

// LengthSize returns how many bytes AppendLength uses for n.
func LengthSize(n int) int {
	s := 1
	for u := uint32(n) >> 7; u != 0; u >>= 7 {
		s++
	}
	return s
}

// Put writes one record. Errors are sticky: after a failure every later call
// returns the same error.
func (w *Writer) Put(t Type, data []byte) error {
	if w.err != nil {
		return w.err
	}
	if len(data) > MaxLength {
		w.err = fmt.Errorf("record type %d: length %d exceeds the record format limit", t, len(data))
		return w.err
	}
	var hdr [6]byte
	h := AppendLength(append(hdr[:0], byte(t)), len(data))
	if _, err := w.w.Write(h); err != nil {
		w.err = err
		return err
	}
	if _, err := w.w.Write(data); err != nil {
		w.err = err
		return err
	}
	w.offset += int64(len(h) + len(data))
	return nil
}

// PutString writes one record whose data is s.
func (w *Writer) PutString(t Type, s string) error {
	return w.Put(t, []byte(s))
}

// Putf writes one record whose data is formatted as by fmt.Sprintf.
func (w *Writer) Putf(t Type, format string, args ...any) error {
	return w.Put(t, fmt.Appendf(nil, format, args...))
}

// PutAttr writes an A record "name=value".
func (w *Writer) PutAttr(name, value string) error {
	return w.PutString(Attr, name+"="+value)
}

// PutText writes one line of message content: chunks of at most limit
// bytes as Cont (L) records, the remainder as a Norm (N) record. A limit of
// zero or less writes the line as one N record.
func (w *Writer) PutText(line []byte, limit int) error {
	for limit > 0 && len(line) > limit {
		if err := w.Put(Cont, line[:limit]); err != nil {
			return err
		}
		line = line[limit:]
	}
	return w.Put(Norm, line)
}

// Offset returns the file offset at which the next record will start.
func (w *Writer) Offset() int64 { return w.offset }

// Flush writes buffered records to the underlying stream.
func (w *Writer) Flush() error {
	if w.err != nil {
		return w.err
	}
	w.err = w.w.Flush()
	return w.err
}
