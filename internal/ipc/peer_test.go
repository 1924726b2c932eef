package ipc

import (
	"net"
	"path/filepath"
	"testing"
	"time"
)

func TestPeerDone(t *testing.T) {
	ln, err := net.Listen("unix", filepath.Join(t.TempDir(), "s"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	dial := func() (client, server net.Conn) {
		c, err := net.Dial("unix", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		s, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		return c, s
	}
	wait := func(c net.Conn) bool {
		for i := 0; i < 100; i++ {
			if PeerDone(c) {
				return true
			}
			time.Sleep(10 * time.Millisecond)
		}
		return false
	}
	c, s := dial()
	if PeerDone(c) {
		t.Error("an idle connection counts as done")
	}
	s.Close()
	if !wait(c) {
		t.Error("a connection the peer closed does not count as done")
	}
	c.Close()

	c, s = dial()
	defer c.Close()
	defer s.Close()
	if _, err := s.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	if !wait(c) {
		t.Error("a connection with unasked data does not count as done")
	}
	// The peeked byte is still there to read.
	b := make([]byte, 1)
	if n, err := c.Read(b); n != 1 || b[0] != 'x' {
		t.Errorf("read after PeerDone: %q, %v", b[:n], err)
	}
	if PeerDone(pipeConn{}) {
		t.Error("a connection that cannot be polled counts as done")
	}
}

// pipeConn is a net.Conn without a descriptor.
type pipeConn struct{ net.Conn }
