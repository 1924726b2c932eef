package testutil

import (
	"net"
	"strconv"
	"testing"
)

// Ports handed out are below the ephemeral range, free to listen on, and
// never handed out twice while their tests run.
func TestFreePort(t *testing.T) {
	seen := map[int]bool{}
	for range 50 {
		p := FreePort(t)
		if seen[p] {
			t.Fatalf("port %d handed out twice", p)
		}
		seen[p] = true
		if p >= ephemeralLow() {
			t.Fatalf("port %d is in the ephemeral range", p)
		}
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			t.Fatal(err)
		}
		l.Close()
	}
}
