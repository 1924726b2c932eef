package proxymap

import (
	"bytes"
	"io"
	"testing"
)

// FuzzServe feeds arbitrary bytes to the request decoder: the server
// must neither panic nor loop, whatever a client sends.
func FuzzServe(f *testing.F) {
	f.Add([]byte("request\x00lookup\x00table\x00inline:{a=1}\x00flags\x000\x00key\x00a\x00\x00"))
	f.Add([]byte("request\x00open\x00table\x00inline:{a=1}\x00flags\x004\x00\x00"))
	f.Add([]byte("request\x00sequence\x00table\x00inline:{a=1}\x00flags\x000\x00function\x000\x00\x00"))
	f.Add([]byte("request\x00bogus\x00x\x00y\x00\x00request\x00lookup\x00\x00"))
	f.Add([]byte("table\x00x\x00\x00"))
	f.Add([]byte("request\x00update\x00table\x00fail:x\x00flags\x0099999999999\x00key\x00k\x00value\x00v\x00\x00"))
	f.Fuzz(func(t *testing.T, in []byte) {
		s, err := New("proxymap", testConfig("proxy:inline:{a=1} proxy:fail:x proxy:static:s", ""),
			Logger{Warn: func(string, ...any) {}, Info: func(string, ...any) {}, Error: func(string, ...any) {}})
		if err != nil {
			t.Fatal(err)
		}
		s.Serve(rw{bytes.NewReader(in), io.Discard})
	})
}
