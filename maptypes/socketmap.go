package maptypes

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// socketmap:inet:HOST:PORT:NAME and socketmap:unix:PATH:NAME speak the
// Sendmail socketmap protocol: the netstring "NAME KEY" is answered by a
// netstring "OK value", "NOTFOUND ", "TEMP text", "TIMEOUT text" or
// "PERM text".

func init() {
	Register("socketmap", openSocketmap)
	registerFixed("socketmap")
}

type socketmapTable struct {
	network, addr, mapName, spec string
	flags                        OpenFlags
	conn                         net.Conn
	rd                           *bufio.Reader
}

func openSocketmap(name string, flags OpenFlags) (Table, error) {
	t := &socketmapTable{spec: "socketmap:" + name, flags: flags}
	i := strings.LastIndexByte(name, ':')
	if i < 0 {
		return nil, errors.New("socketmap requires server:socketmap argument")
	}
	server, mapName := name[:i], name[i+1:]
	switch {
	case strings.HasPrefix(server, "inet:"):
		t.network, t.addr = "tcp", server[5:]
	case strings.HasPrefix(server, "unix:"):
		t.network, t.addr = "unix", server[5:]
	default:
		return nil, fmt.Errorf("%s: unsupported socketmap server type: %s", t.spec, server)
	}
	t.mapName = mapName
	return t, nil
}

func (t *socketmapTable) Lookup(key string) (string, bool, error) {
	key = fixedFold(key, t.flags)
	for try := 0; try < 2; try++ {
		if t.conn == nil {
			c, err := net.DialTimeout(t.network, t.addr, 10*time.Second)
			if err != nil {
				Warn(fmt.Sprintf("connect to %s: %s", t.addr, netErrText(err)))
				Warn(fmt.Sprintf("table %s lookup error: %s", t.spec, netErrText(err)))
				return "", false, retryf(netErrText(err))
			}
			t.conn, t.rd = c, bufio.NewReader(c)
		}
		t.conn.SetDeadline(time.Now().Add(100 * time.Second))
		req := t.mapName + " " + key
		if _, err := fmt.Fprintf(t.conn, "%d:%s,", len(req), req); err != nil {
			t.Close()
			continue
		}
		reply, err := readNetstring(t.rd)
		if err != nil {
			t.Close()
			if try == 0 {
				continue
			}
			Warn(fmt.Sprintf("table %s: read error: %s", t.spec, netErrText(err)))
			return "", false, retryf(netErrText(err))
		}
		word, text, _ := strings.Cut(reply, " ")
		switch word {
		case "OK":
			return text, true, nil
		case "NOTFOUND":
			return "", false, nil
		case "TEMP", "TIMEOUT":
			Warn(fmt.Sprintf("%s socketmap server temporary error: %s", t.spec, Printable(text)))
			return "", false, retryf(text)
		case "PERM":
			Warn(fmt.Sprintf("%s socketmap server permanent error: %s", t.spec, Printable(text)))
			return "", false, retryf(text)
		}
		Warn(fmt.Sprintf("%s socketmap server unknown error", t.spec))
		return "", false, retryf("protocol error")
	}
	return "", false, retryf("connection lost")
}

func readNetstring(r *bufio.Reader) (string, error) {
	lenText, err := r.ReadString(':')
	if err != nil {
		return "", err
	}
	n, err := strconv.Atoi(strings.TrimSuffix(lenText, ":"))
	if err != nil || n < 0 || n > 100000 {
		return "", errors.New("netstring format error")
	}
	buf := make([]byte, n+1)
	if _, err := io.ReadFull(r, buf); err != nil {
		return "", err
	}
	if buf[n] != ',' {
		return "", errors.New("netstring format error")
	}
	return string(buf[:n]), nil
}

func (t *socketmapTable) Close() error {
	if t.conn != nil {
		t.conn.Close()
		t.conn = nil
	}
	return nil
}
