package attr

import (
	"strconv"
)

// Flags control how strictly Scan matches a record against its wants.
type Flags int

// Scan flags.
const (
	// Missing makes an absent wanted attribute an error.
	Missing Flags = 1 << iota
	// Extra makes an unwanted attribute an error instead of skipping it.
	Extra
	// More leaves the record open after the last want: the end marker is
	// not read, so another Scan can continue the same record.
	More
	// Strict is Missing|Extra, what Postfix's servers and clients use.
	Strict = Missing | Extra
)

// Want is one attribute that Scan should store.
type Want struct {
	typ  Type
	name string
	s    *string
	n32  *uint32
	n64  *uint64
	b    *[]byte
	h    map[string]string
}

// WantStr stores the string attribute name in p.
func WantStr(name string, p *string) Want { return Want{typ: TypeStr, name: name, s: p} }

// WantInt stores the int attribute name in p.
func WantInt(name string, p *uint32) Want { return Want{typ: TypeInt, name: name, n32: p} }

// WantLong stores the long attribute name in p.
func WantLong(name string, p *uint64) Want { return Want{typ: TypeLong, name: name, n64: p} }

// WantData stores the data attribute name, decoded, in p.
func WantData(name string, p *[]byte) Want { return Want{typ: TypeData, name: name, b: p} }

// WantHash stores every remaining attribute of the record in h; it must be
// the last want.
func WantHash(h map[string]string) Want { return Want{typ: TypeHash, h: h} }

// Scan reads one record, storing the wanted attributes in order. It returns
// how many wants were stored (each hash entry counts). A missing attribute
// without the Missing flag only shortens the count; every other problem is
// an *Error worded like Postfix's warning, after which the stream is out of
// step and should be closed.
func (d *Decoder) Scan(flags Flags, wants ...Want) (int, error) {
	n := 0
	for i := 0; ; i++ {
		var w Want
		wanted := "(list terminator)"
		if i < len(wants) {
			w = wants[i]
			wanted = w.name
			if w.typ == TypeHash {
				wanted = "(any attribute name or list terminator)"
			}
		} else if flags&More != 0 {
			return n, nil
		}
		for {
			name, hasVal, end, err := d.readName(i == 0 && n == 0)
			if err != nil {
				return n, err
			}
			if end {
				if w.typ == 0 || w.typ == TypeHash {
					return n, nil
				}
				if flags&Missing != 0 {
					return n, d.errorf(nil, "missing attribute %s in input from %s", wanted, d.Path)
				}
				return n, nil
			}
			if w.typ == TypeHash || (w.typ != 0 && name == w.name) {
				if err := d.store(&w, name, hasVal, flags); err != nil {
					return n, err
				}
				n++
				if w.typ == TypeHash {
					continue
				}
				break
			}
			if flags&Extra != 0 {
				return n, d.errorf(nil, "unexpected attribute %s from %s (expecting: %s)", name, d.Path, wanted)
			}
			if hasVal {
				if _, err := d.readValue(); err != nil {
					return n, err
				}
			}
		}
	}
}

// store reads the value of name and converts it for w.
func (d *Decoder) store(w *Want, name string, hasVal bool, flags Flags) error {
	if !hasVal {
		kind := "string"
		switch w.typ {
		case TypeInt, TypeLong:
			kind = "number"
		case TypeData:
			kind = "data"
		}
		return d.errorf(nil, "missing value for %s attribute %s from %s", kind, name, d.Path)
	}
	v, err := d.readValue()
	if err != nil {
		return err
	}
	switch w.typ {
	case TypeStr:
		*w.s = string(v)
	case TypeInt, TypeLong:
		bits := 32
		if w.typ == TypeLong {
			bits = 64
		}
		u, perr := strconv.ParseUint(string(v), 10, bits)
		if perr != nil || len(v) == 0 || v[0] == '+' {
			return d.errorf(nil, "malformed numerical data from %s while reading %s: %s", d.Path, ctxValue, trunc(v))
		}
		if w.typ == TypeInt {
			*w.n32 = uint32(u)
		} else {
			*w.n64 = u
		}
	case TypeData:
		if d.fmt != Base64 {
			if v, err = d.unbase64(v, ctxValue); err != nil {
				return err
			}
		}
		*w.b = v
	case TypeHash:
		if _, dup := w.h[name]; dup {
			if flags&Extra != 0 {
				return d.errorf(nil, "duplicate attribute %s in input from %s", name, d.Path)
			}
			return nil
		}
		if len(w.h) >= d.maxHash() {
			return d.errorf(nil, "attribute count exceeds limit %d in input from %s", d.maxHash(), d.Path)
		}
		w.h[name] = string(v)
	}
	return nil
}

// ReadProtocol reads a server's announcement record and checks that it
// names protocol want.
func (d *Decoder) ReadProtocol(want string) error {
	var got string
	if _, err := d.Scan(Strict, WantStr(ProtocolAttr, &got)); err != nil {
		return err
	}
	if got != want {
		return d.errorf(nil, "unexpected protocol %s from %s (expecting: %s)", got, d.Path, want)
	}
	return nil
}
