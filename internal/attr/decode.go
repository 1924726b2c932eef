package attr

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
)

// Context strings used in diagnostics, as Postfix words them.
const (
	ctxName  = "input attribute name"
	ctxValue = "input attribute value"
)

// Decoder reads records in one format.
type Decoder struct {
	r   *bufio.Reader
	fmt Format
	// Path names the peer in diagnostics, for example "anvil socket" or
	// "private/rewrite"; Postfix's unnamed streams read "unknown_stream".
	Path string
	// MaxLen bounds the length of one name or value (0: DefaultMaxLen).
	MaxLen int
	// MaxHash bounds the entries of one hash table (0: DefaultMaxHash).
	MaxHash int
}

// NewDecoder returns a Decoder reading format f from r.
func NewDecoder(r io.Reader, f Format) *Decoder {
	return &Decoder{r: bufio.NewReader(r), fmt: f, Path: "unknown_stream"}
}

// Format returns the decoder's wire format.
func (d *Decoder) Format() Format { return d.fmt }

// Pair is one attribute as read from the wire, value not interpreted (data
// values in the 0 and plain forms are still base64 text).
type Pair struct {
	// Name is the attribute name.
	Name string
	// Value is the attribute value.
	Value string
}

// ReadRecord reads every attribute up to the end marker. A clean end of
// input before the record starts yields an *Error wrapping io.EOF.
func (d *Decoder) ReadRecord() ([]Pair, error) {
	var rec []Pair
	for {
		name, hasVal, end, err := d.readName(len(rec) == 0)
		if err != nil {
			return rec, err
		}
		if end {
			return rec, nil
		}
		if !hasVal {
			return rec, d.errorf(nil, "missing value for string attribute %s from %s", name, d.Path)
		}
		v, err := d.readValue()
		if err != nil {
			return rec, err
		}
		rec = append(rec, Pair{name, string(v)})
	}
}

func (d *Decoder) maxLen() int {
	if d.MaxLen > 0 {
		return d.MaxLen
	}
	return DefaultMaxLen
}

func (d *Decoder) maxHash() int {
	if d.MaxHash > 0 {
		return d.MaxHash
	}
	return DefaultMaxHash
}

func (d *Decoder) errorf(cause error, format string, args ...any) *Error {
	return &Error{Msg: fmt.Sprintf(format, args...), Err: cause}
}

// readUntil reads up to (not including) the first byte that is stop1 or
// stop2, and returns that byte. It scans what the buffer holds at once
// rather than byte by byte; what it consumes and returns, errors included,
// is what reading one byte at a time would give.
func (d *Decoder) readUntil(stop1, stop2 byte, context string, first bool) ([]byte, byte, error) {
	var buf []byte
	limit := d.maxLen()
	for {
		if d.r.Buffered() == 0 {
			if _, err := d.r.Peek(1); err != nil {
				what := "premature end-of-input"
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					what = "timeout"
				}
				cause := err
				if err == io.EOF && !(first && len(buf) == 0) {
					cause = io.ErrUnexpectedEOF
				}
				return buf, 0, d.errorf(cause, "%s on %s while reading %s", what, d.Path, context)
			}
		}
		b, _ := d.r.Peek(d.r.Buffered())
		i := bytes.IndexByte(b, stop1)
		if stop2 != stop1 {
			if j := bytes.IndexByte(b, stop2); j >= 0 && (i < 0 || j < i) {
				i = j
			}
		}
		chunk := b
		if i >= 0 {
			chunk = b[:i]
		}
		if len(buf)+len(chunk) > limit {
			// The byte after the limit is read, and not kept.
			take := limit - len(buf)
			buf = append(buf, chunk[:take]...)
			_, _ = d.r.Discard(take + 1)
			return buf, 0, d.errorf(nil, "string length > %d characters from %s while reading %s",
				limit, d.Path, context)
		}
		if i >= 0 {
			stop := b[i]
			buf = append(buf, chunk...)
			_, _ = d.r.Discard(i + 1)
			return buf, stop, nil
		}
		buf = append(buf, chunk...)
		_, _ = d.r.Discard(len(chunk))
	}
}

// readName reads the next attribute name. end reports the end-of-record
// marker; hasVal reports that a value follows.
func (d *Decoder) readName(first bool) (name string, hasVal, end bool, err error) {
	switch d.fmt {
	case Zero:
		b, _, err := d.readUntil(0, 0, ctxName, first)
		if err != nil {
			return "", false, false, err
		}
		return string(b), len(b) > 0, len(b) == 0, nil
	case Plain:
		b, c, err := d.readUntil('=', '\n', ctxName, first)
		if err != nil {
			return "", false, false, err
		}
		if c == '\n' && len(b) == 0 {
			return "", false, true, nil
		}
		return string(b), c == '=', false, nil
	default:
		b, c, err := d.readUntil(':', '\n', ctxName, first)
		if err != nil {
			return "", false, false, err
		}
		if c == '\n' && len(b) == 0 {
			return "", false, true, nil
		}
		n, err := d.unbase64(b, ctxName)
		if err != nil {
			return "", false, false, err
		}
		return string(n), c == ':', false, nil
	}
}

// readValue reads the value that follows a name, undoing the transport
// encoding of the 64 form.
func (d *Decoder) readValue() ([]byte, error) {
	switch d.fmt {
	case Zero:
		b, _, err := d.readUntil(0, 0, ctxValue, false)
		return b, err
	case Plain:
		b, _, err := d.readUntil('\n', '\n', ctxValue, false)
		return b, err
	default:
		b, _, err := d.readUntil('\n', '\n', ctxValue, false)
		if err != nil {
			return nil, err
		}
		return d.unbase64(b, ctxValue)
	}
}

// unbase64 decodes strict padded base64.
func (d *Decoder) unbase64(b []byte, context string) ([]byte, error) {
	ok := len(b)%4 == 0
	for _, c := range b {
		if !ok {
			break
		}
		ok = c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '='
	}
	var out []byte
	if ok {
		var err error
		out, err = base64.StdEncoding.Strict().AppendDecode(nil, b)
		ok = err == nil
	}
	if !ok {
		return nil, d.errorf(nil, "malformed base64 data from %s while reading %s: %s",
			d.Path, context, trunc(b))
	}
	if out == nil {
		out = []byte{}
	}
	return out, nil
}

// trunc limits quoted input in diagnostics to 100 bytes, as Postfix does.
func trunc(b []byte) string {
	if len(b) > 100 {
		b = b[:100]
	}
	return string(b)
}
