package attr

import (
	"fmt"
	"sort"
)

// Format selects one of the three wire encodings.
type Format int

// The wire encodings.
const (
	// Zero is the "0" form: name NUL value NUL, NUL ends a record.
	Zero Format = iota
	// Plain is the name=value LF form, an empty line ends a record.
	Plain
	// Base64 is the base64(name):base64(value) LF form.
	Base64
)

// String names the format as Postfix's source does ("0", "plain", "64").
func (f Format) String() string {
	switch f {
	case Zero:
		return "0"
	case Plain:
		return "plain"
	case Base64:
		return "64"
	}
	return fmt.Sprintf("Format(%d)", int(f))
}

// Type is the type of one attribute value.
type Type int

// Attribute value types.
const (
	// TypeStr is a text string.
	TypeStr Type = iota + 1
	// TypeInt is an unsigned 32-bit number.
	TypeInt
	// TypeLong is an unsigned 64-bit number.
	TypeLong
	// TypeData is an arbitrary byte string, base64-encoded on the wire.
	TypeData
	// TypeHash is a table of string attributes sent one per entry.
	TypeHash
)

// ProtocolAttr is the name of the attribute in which a server announces its
// protocol.
const ProtocolAttr = "protocol"

// Default limits used by a Decoder whose limits are zero.
const (
	// DefaultMaxLen bounds one name or value in bytes.
	DefaultMaxLen = 1 << 20
	// DefaultMaxHash bounds the entries read into one hash table, as
	// Postfix's own limit does.
	DefaultMaxHash = 1024
)

// Attr is one typed attribute to send.
type Attr struct {
	// Type says which of the value fields is used.
	Type Type
	// Name is the attribute name (unused for TypeHash).
	Name string
	// S is the TypeStr value.
	S string
	// N is the TypeInt or TypeLong value.
	N uint64
	// B is the TypeData value.
	B []byte
	// H is the TypeHash value; entries are sent in key order.
	H map[string]string
}

// Str returns a string attribute.
func Str(name, v string) Attr { return Attr{Type: TypeStr, Name: name, S: v} }

// Int returns an int (unsigned 32-bit) attribute.
func Int(name string, v uint32) Attr { return Attr{Type: TypeInt, Name: name, N: uint64(v)} }

// Long returns a long (unsigned 64-bit) attribute.
func Long(name string, v uint64) Attr { return Attr{Type: TypeLong, Name: name, N: v} }

// Data returns a data attribute (any bytes).
func Data(name string, v []byte) Attr { return Attr{Type: TypeData, Name: name, B: v} }

// Hash returns a hash-table attribute: one string attribute per entry.
func Hash(h map[string]string) Attr { return Attr{Type: TypeHash, H: h} }

// sortedKeys returns the keys of h in byte order.
func sortedKeys(h map[string]string) []string {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Error is malformed or unexpected input, worded like Postfix's warning.
type Error struct {
	// Msg is the warning text without the "warning: " prefix.
	Msg string
	// Err is the underlying cause (io.EOF, io.ErrUnexpectedEOF, a timeout
	// or read error), or nil when the input itself was bad.
	Err error
}

// Error returns the Postfix-style text.
func (e *Error) Error() string { return e.Msg }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }
