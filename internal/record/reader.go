package record

import (
	"bufio"
	"errors"
	"fmt"
	"io"
)

// ErrTruncated reports input that ends inside a record. The *Error returned
// by Reader.Next wraps it when the end came in the length or the data.
var ErrTruncated = errors.New("truncated record")

// ErrCorrupt reports a length that cannot be valid. The *Error returned by
// Reader.Next wraps it for too many length bytes and illegal lengths.
var ErrCorrupt = errors.New("corrupt record")

// Error describes a bad record. Its text is worded as Postfix's warning for
// the same problem (for example "unexpected EOF in data, record type 65
// length 38"), so "FILE: " plus Error() reads as Postfix's diagnostic.
type Error struct {
	Type   Type  // type byte of the bad record
	Offset int64 // offset of the record's type byte
	Length int64 // decoded length, when known
	text   string
	kind   error
}

func (e *Error) Error() string { return e.text }

// Unwrap returns ErrTruncated or ErrCorrupt.
func (e *Error) Unwrap() error { return e.kind }

// Reader reads records from a stream.
type Reader struct {
	r      *bufio.Reader
	offset int64
	max    int
	buf    []byte
}

// NewReader returns a Reader positioned at offset 0 of r. A maxLen above
// zero rejects longer records, as Postfix's servers do with
// line_length_limit; zero accepts any length the format allows.
func NewReader(r io.Reader, maxLen int) *Reader {
	return &Reader{r: bufio.NewReaderSize(r, 8192), max: maxLen}
}

// Offset returns the offset of the next record to be read.
func (r *Reader) Offset() int64 { return r.offset }

// Next reads one record. It returns io.EOF at a clean end of input (no byte
// of a new record read) and an *Error for a bad record. The data slice is
// valid until the next call. After an error other than an illegal length
// (whose data is skipped, as Postfix does) the stream position is undefined.
func (r *Reader) Next() (Type, []byte, error) {
	start := r.offset
	c, err := r.r.ReadByte()
	if err != nil {
		if err == io.EOF {
			return 0, nil, io.EOF
		}
		return 0, nil, err
	}
	r.offset++
	t := Type(c)
	var n uint32
	for shift := 0; ; shift += 7 {
		if shift >= 32 {
			return t, nil, r.fail(t, start, 0, ErrCorrupt, "too many length bits, record type %d", c)
		}
		b, err := r.r.ReadByte()
		if err != nil {
			if err == io.EOF {
				return t, nil, r.fail(t, start, 0, ErrTruncated, "unexpected EOF reading length, record type %d", c)
			}
			return t, nil, err
		}
		r.offset++
		n |= uint32(b&0x7f) << shift
		if b&0x80 == 0 {
			break
		}
	}
	length := int64(int32(n))
	if length < 0 || (r.max > 0 && length > int64(r.max)) {
		skipped, _ := io.CopyN(io.Discard, r.r, max(length, 0))
		r.offset += skipped
		return t, nil, r.fail(t, start, length, ErrCorrupt, "illegal length %d, record type %d", length, c)
	}
	if int64(cap(r.buf)) < length {
		// Grow gradually so that a huge claimed length in a short
		// (corrupt) file does not allocate gigabytes up front.
		r.buf = make([]byte, 0, min(length, 1<<20))
	}
	r.buf = r.buf[:0]
	for int64(len(r.buf)) < length {
		chunk := min(length-int64(len(r.buf)), 1<<20)
		if int64(cap(r.buf)-len(r.buf)) < chunk {
			r.buf = append(r.buf, make([]byte, chunk)...)[:len(r.buf)]
		}
		got, err := io.ReadFull(r.r, r.buf[len(r.buf):len(r.buf)+int(chunk)])
		r.buf = r.buf[:len(r.buf)+got]
		r.offset += int64(got)
		if err != nil {
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				return t, nil, r.fail(t, start, length, ErrTruncated, "unexpected EOF in data, record type %d length %d", c, length)
			}
			return t, nil, err
		}
	}
	return t, r.buf, nil
}

func (r *Reader) fail(t Type, off, length int64, kind error, format string, args ...any) error {
	return &Error{Type: t, Offset: off, Length: length, text: fmt.Sprintf(format, args...), kind: kind}
}
