package postmap_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/postfix-go/postfix/internal/testutil"
)

// tcpTableServer answers Postfix's tcp_table(5) protocol on loopback from
// a fixed map: "get KEY" → "200 VALUE", "500 ..." when absent, and
// "400 ..." for the key "tempfail". Values are %-encoded as the protocol
// asks.
func tcpTableServer(t *testing.T, entries map[string]string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				rd := bufio.NewReader(c)
				for {
					line, err := rd.ReadString('\n')
					if err != nil {
						return
					}
					key, _ := url.PathUnescape(strings.TrimPrefix(strings.TrimRight(line, "\r\n"), "get "))
					switch v, ok := entries[key]; {
					case key == "tempfail":
						io.WriteString(c, "400 try%20again\n")
					case ok:
						io.WriteString(c, "200 "+strings.ReplaceAll(url.PathEscape(v), "%40", "@")+"\n")
					default:
						io.WriteString(c, "500 not%20found\n")
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// socketmapServer answers the socketmap protocol (netstrings of "name
// key", replies "OK value", "NOTFOUND ", "TEMP reason") on loopback.
func socketmapServer(t *testing.T, entries map[string]string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	netstring := func(s string) string { return strconv.Itoa(len(s)) + ":" + s + "," }
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				rd := bufio.NewReader(c)
				for {
					lenText, err := rd.ReadString(':')
					if err != nil {
						return
					}
					n, err := strconv.Atoi(strings.TrimSuffix(lenText, ":"))
					if err != nil || n > 10000 {
						return
					}
					buf := make([]byte, n+1)
					if _, err := io.ReadFull(rd, buf); err != nil {
						return
					}
					_, key, _ := strings.Cut(string(buf[:n]), " ")
					switch v, ok := entries[key]; {
					case key == "tempfail":
						io.WriteString(c, netstring("TEMP busy"))
					case key == "permfail":
						io.WriteString(c, netstring("PERM no such map"))
					case key == "garbage":
						io.WriteString(c, netstring("WHAT?"))
					case ok:
						io.WriteString(c, netstring("OK "+v))
					default:
						io.WriteString(c, netstring("NOTFOUND "))
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// TestDiffNetworkTables compares tcp: and socketmap: lookups of both
// programs against the same loopback servers, and environ: lookups in the
// same environment.
func TestDiffNetworkTables(t *testing.T) {
	entries := map[string]string{"user@example.com": "relay:[mx.example.net]", "a b": "with space", "x": "y"}
	tcp := tcpTableServer(t, entries)
	sm := socketmapServer(t, entries)
	keys := "user@example.com\nabsent@example.com\nx\na b\n"
	files := map[string]string{"main.cf": "myhostname = test.example\n"}
	runBoth(t, files, []step{
		{args: []string{"-q", "user@example.com", "tcp:" + tcp}},
		{args: []string{"-q", "absent", "tcp:" + tcp}},
		{args: []string{"-q", "-", "tcp:" + tcp}, stdin: keys},
		{args: []string{"-q", "x", "socketmap:inet:" + sm + ":virtual"}},
		{args: []string{"-q", "absent", "socketmap:inet:" + sm + ":virtual"}},
		{args: []string{"-q", "-", "socketmap:inet:" + sm + ":virtual"}, stdin: keys},
		{args: []string{"-q", "PATH", "environ:"}},
		{args: []string{"-q", "NO_SUCH_VARIABLE_HERE", "environ:"}},
		{args: []string{"-q", "-", "environ:"}, stdin: "LANG\nTZ\nnope\n"},
	})
	// Temporary failures end postmap with a fatal error (and Postfix's
	// one-second pause), so they run one per copy, in parallel.
	runEach(t, files, nil, []step{
		{args: []string{"-q", "tempfail", "tcp:" + tcp}, queryError: true},
		{args: []string{"-q", "tempfail", "socketmap:inet:" + sm + ":virtual"}, queryError: true},
		{args: []string{"-q", "permfail", "socketmap:inet:" + sm + ":virtual"}, queryError: true},
		{args: []string{"-q", "garbage", "socketmap:inet:" + sm + ":virtual"}, queryError: true},
		{args: []string{"-q", "x", fmt.Sprintf("tcp:127.0.0.1:%d", closedPort(t))}},
	})
}

// closedPort returns a loopback port with nothing listening on it.
func closedPort(t *testing.T) int {
	t.Helper()
	return testutil.FreePort(t)
}
