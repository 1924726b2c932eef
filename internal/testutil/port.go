package testutil

import (
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// FreePort returns a TCP port on 127.0.0.1 that nothing listens on, for a
// server a test starts in another process. Two things could otherwise take
// the port between this call and that server's bind:
//   - the kernel, which hands out ports of the ephemeral range to every
//     outgoing connection and to every bind to port 0 — so the port is
//     chosen below that range;
//   - another test, in this process or another — so the port is reserved
//     with a lock file under $TMPDIR/pfgo-ports, held until the test ends.
func FreePort(t testing.TB) int {
	t.Helper()
	lo, hi := 10000, ephemeralLow()
	if hi-lo < 1000 {
		t.Fatalf("ephemeral port range starts at %d: no room below it for test ports", hi)
	}
	dir := filepath.Join(os.TempDir(), "pfgo-ports")
	if err := os.MkdirAll(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	for range 500 {
		p := lo + rand.IntN(hi-lo)
		f, err := os.OpenFile(filepath.Join(dir, strconv.Itoa(p)), os.O_CREATE|os.O_RDWR, 0o666)
		if err != nil {
			t.Fatal(err)
		}
		if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil {
			f.Close()
			continue
		}
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			f.Close()
			continue
		}
		l.Close()
		t.Cleanup(func() { f.Close() })
		return p
	}
	t.Fatal("no free loopback port")
	return 0
}

// ephemeralLow returns the first port of the kernel's ephemeral range.
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 32768
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 32768
	}
	n, err := strconv.Atoi(f[0])
	if err != nil {
		return 32768
	}
	return n
}
