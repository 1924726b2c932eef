package rewrite

import (
	"net"
	"testing"
)

var benchAddrs = []string{"user@host.example.com", "someone@remote.example.net", "x@transport.example",
	"user+ext@remote.example.net", "\"a b\"@x.example", "user%relay@host.example.com"}

func benchConfig(b *testing.B) *sysDir {
	return newSysDir(b, "relay_domains = relay.example\ntransport_maps = inline:{transport.example=smtp:[mx.example]}\n", nil)
}

// BenchmarkEngineResolve is the resolver alone, in process.
func BenchmarkEngineResolve(b *testing.B) {
	e := NewEngine(benchConfig(b).config(b), func(string, ...any) {})
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		e.Resolve("", benchAddrs[i%len(benchAddrs)])
	}
}

// BenchmarkRoundTrip compares one resolve request over the socket to our
// Engine and to Debian's trivial-rewrite.
func BenchmarkRoundTrip(b *testing.B) {
	for _, side := range []string{"ours", "postfix"} {
		b.Run(side, func(b *testing.B) {
			s := benchConfig(b)
			var sock string
			if side == "ours" {
				sock, _ = startOurs(b, s)
			} else {
				sock = startReference(b, s)
			}
			cl := NewClientDial("private/rewrite", func() (net.Conn, error) { return net.Dial("unix", sock) })
			defer cl.Close()
			for i := 0; b.Loop(); i++ {
				if _, err := cl.Resolve("", benchAddrs[i%len(benchAddrs)]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
