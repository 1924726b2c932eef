package attr

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Encoder writes records in one format. Output is buffered until Flush.
type Encoder struct {
	w   *bufio.Writer
	fmt Format
	err error
}

// NewEncoder returns an Encoder writing format f to w.
func NewEncoder(w io.Writer, f Format) *Encoder {
	return &Encoder{w: bufio.NewWriter(w), fmt: f}
}

// Format returns the encoder's wire format.
func (e *Encoder) Format() Format { return e.fmt }

// Write writes attrs followed by the end-of-record marker. Nothing is
// written when an attribute cannot be represented in the format.
func (e *Encoder) Write(attrs ...Attr) error {
	if e.err != nil {
		return e.err
	}
	var buf []byte
	var err error
	for _, a := range attrs {
		if buf, err = e.append(buf, a); err != nil {
			return err
		}
	}
	buf = e.appendEnd(buf)
	_, e.err = e.w.Write(buf)
	return e.err
}

// Flush sends buffered output.
func (e *Encoder) Flush() error {
	if e.err != nil {
		return e.err
	}
	e.err = e.w.Flush()
	return e.err
}

// WriteProtocol writes the server's protocol announcement record.
func (e *Encoder) WriteProtocol(name string) error {
	return e.Write(Str(ProtocolAttr, name))
}

// Marshal returns the bytes of one record in format f.
func Marshal(f Format, attrs ...Attr) ([]byte, error) {
	e := &Encoder{fmt: f}
	var buf []byte
	var err error
	for _, a := range attrs {
		if buf, err = e.append(buf, a); err != nil {
			return nil, err
		}
	}
	return e.appendEnd(buf), nil
}

func (e *Encoder) appendEnd(buf []byte) []byte {
	if e.fmt == Zero {
		return append(buf, 0)
	}
	return append(buf, '\n')
}

// append adds one attribute to buf.
func (e *Encoder) append(buf []byte, a Attr) ([]byte, error) {
	switch a.Type {
	case TypeStr:
		return e.appendPair(buf, a.Name, []byte(a.S), false)
	case TypeInt:
		if a.N > 0xffffffff {
			return buf, fmt.Errorf("attribute %s: int value %d exceeds 32 bits", a.Name, a.N)
		}
		return e.appendPair(buf, a.Name, strconv.AppendUint(nil, a.N, 10), false)
	case TypeLong:
		return e.appendPair(buf, a.Name, strconv.AppendUint(nil, a.N, 10), false)
	case TypeData:
		return e.appendPair(buf, a.Name, a.B, true)
	case TypeHash:
		var err error
		for _, k := range sortedKeys(a.H) {
			if buf, err = e.appendPair(buf, k, []byte(a.H[k]), false); err != nil {
				return buf, err
			}
		}
		return buf, nil
	}
	return buf, fmt.Errorf("attribute %s: unknown type %d", a.Name, a.Type)
}

// appendPair encodes one name and value. binary values are base64-encoded
// in the 0 and plain forms; in the 64 form every value is.
func (e *Encoder) appendPair(buf []byte, name string, val []byte, binary bool) ([]byte, error) {
	if name == "" {
		return buf, fmt.Errorf("empty attribute name")
	}
	switch e.fmt {
	case Zero:
		if strings.IndexByte(name, 0) >= 0 {
			return buf, fmt.Errorf("attribute name %q contains NUL", name)
		}
		if !binary && indexByte(val, 0) >= 0 {
			return buf, fmt.Errorf("attribute %s: value contains NUL", name)
		}
		buf = append(append(buf, name...), 0)
		buf = appendValue(buf, val, binary)
		return append(buf, 0), nil
	case Plain:
		if strings.ContainsAny(name, "=\n") {
			return buf, fmt.Errorf("attribute name %q contains '=' or newline", name)
		}
		if !binary && indexByte(val, '\n') >= 0 {
			return buf, fmt.Errorf("attribute %s: value contains newline", name)
		}
		buf = append(append(buf, name...), '=')
		buf = appendValue(buf, val, binary)
		return append(buf, '\n'), nil
	case Base64:
		buf = base64.StdEncoding.AppendEncode(buf, []byte(name))
		buf = append(buf, ':')
		buf = base64.StdEncoding.AppendEncode(buf, val)
		return append(buf, '\n'), nil
	}
	return buf, fmt.Errorf("unknown attribute format %d", int(e.fmt))
}

func appendValue(buf, val []byte, binary bool) []byte {
	if binary {
		return base64.StdEncoding.AppendEncode(buf, val)
	}
	return append(buf, val...)
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}
