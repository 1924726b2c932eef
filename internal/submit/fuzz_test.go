package submit

import (
	"bytes"
	"io"
	"net"
	"testing"
	"time"

	"github.com/postfix-go/postfix/internal/attr"
	"github.com/postfix-go/postfix/internal/record"
)

// fakeConn reads from a buffer and discards writes.
type fakeConn struct {
	r io.Reader
}

func (c fakeConn) Read(p []byte) (int, error)       { return c.r.Read(p) }
func (c fakeConn) Write(p []byte) (int, error)      { return len(p), nil }
func (c fakeConn) Close() error                     { return nil }
func (c fakeConn) LocalAddr() net.Addr              { return &net.UnixAddr{Name: "fuzz", Net: "unix"} }
func (c fakeConn) RemoteAddr() net.Addr             { return &net.UnixAddr{Name: "fuzz", Net: "unix"} }
func (c fakeConn) SetDeadline(time.Time) error      { return nil }
func (c fakeConn) SetReadDeadline(time.Time) error  { return nil }
func (c fakeConn) SetWriteDeadline(time.Time) error { return nil }

// clientBytes is what a client sends for a small message.
func clientBytes(flags uint32) []byte {
	var b bytes.Buffer
	f, _ := attr.Marshal(attr.Zero, attr.Int("flags", flags))
	b.Write(f)
	w := record.NewWriter(&b)
	w.PutString(record.Time, "1700000000 1")
	w.PutString(record.From, "a@b")
	w.PutString(record.Rcpt, "c@d")
	w.Put(record.Mesg, nil)
	w.PutString(record.Norm, "Subject: x")
	w.Put(record.Xtra, nil)
	w.Put(record.End, nil)
	w.Flush()
	return b.Bytes()
}

// FuzzSession feeds arbitrary client bytes to the server side: it must
// end with an error or an E record, never panic or loop.
func FuzzSession(f *testing.F) {
	f.Add(clientBytes(0))
	f.Add(clientBytes(FlagMaskExternal))
	f.Add([]byte("flags\x00x\x00\x00"))
	f.Add([]byte("bogus\x00\x00E\x00"))
	f.Fuzz(func(t *testing.T, in []byte) {
		s, err := Accept(fakeConn{bytes.NewReader(in)}, "fuzz", "ID", 0, 1<<16)
		if err != nil {
			return
		}
		for i := 0; i <= len(in); i++ {
			typ, _, err := s.Next()
			if err != nil || typ == record.End {
				return
			}
		}
		t.Fatalf("more records than input bytes")
	})
}

func TestSessionFlags(t *testing.T) {
	t.Parallel()
	s, err := Accept(fakeConn{bytes.NewReader(clientBytes(FlagHold))}, "fuzz", "ID", 0, 0)
	if err != nil || s.FlagsErr != nil || s.Flags != FlagHold {
		t.Fatalf("flags: %v %v %d", err, s.FlagsErr, s.Flags)
	}
	// The records that follow the flags in the same read are not lost.
	typ, data, err := s.Next()
	if err != nil || typ != record.Time || string(data) != "1700000000 1" {
		t.Fatalf("first record %c %q %v", typ, data, err)
	}
	s, err = Accept(fakeConn{bytes.NewReader([]byte("flags\x00x\x00\x00"))}, "fuzz", "ID", 0, 0)
	if err != nil || s.FlagsErr == nil {
		t.Fatalf("bad flags accepted: %v", err)
	}
}
