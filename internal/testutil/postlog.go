package testutil

import (
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

// Postlog stands in for Postfix's postlogd on the unix-dgram socket path
// (a queue's public/postlog): Debian's daemons and commands send their log
// lines there. The function returned gives the lines received since the
// last call, each ended by "\n", after the socket has been quiet for 50 ms.
func Postlog(t testing.TB, path string) func() string {
	t.Helper()
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(path, 0o666)
	t.Cleanup(func() { conn.Close() })
	lines := make(chan string, 1000)
	go func() {
		buf := make([]byte, 65536)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			lines <- string(buf[:n])
		}
	}()
	return func() string {
		var out strings.Builder
		for {
			select {
			case l := <-lines:
				out.WriteString(l + "\n")
				continue
			case <-time.After(50 * time.Millisecond):
			}
			return out.String()
		}
	}
}
