package maptypes

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"time"
)

// tcp:host:port speaks Postfix's tcp_table(5) protocol: "get KEY\n" with
// KEY %-encoded, answered by "200 VALUE", "500 text" (not found) or
// "400 text" (try again).

func init() {
	Register("tcp", openTCP)
	registerFixed("tcp")
}

// Warn receives the diagnostics of network tables; commands point it at
// msg.Warn.
var Warn = func(text string) {}

// A lookup tries the server this many times, tcpRetryPause apart, before
// it reports a temporary failure, as Postfix's tcp client does.
const tcpMaxTry = 10

var tcpRetryPause = time.Second

type tcpTable struct {
	addr  string
	flags OpenFlags
	conn  net.Conn
	rd    *bufio.Reader
}

func openTCP(name string, flags OpenFlags) (Table, error) {
	return &tcpTable{addr: name, flags: flags}, nil
}

func tcpEncode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || c == '%' {
			fmt.Fprintf(&b, "%%%02X", c)
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}

func tcpDecode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s)+0 && i+2 <= len(s)-1 {
			var v byte
			if _, err := fmt.Sscanf(s[i+1:i+3], "%02X", &v); err == nil {
				b.WriteByte(v)
				i += 2
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func (t *tcpTable) connect() error {
	c, err := net.DialTimeout("tcp", t.addr, 10*time.Second)
	if err != nil {
		return err
	}
	t.conn, t.rd = c, bufio.NewReader(c)
	return nil
}

func (t *tcpTable) Lookup(key string) (string, bool, error) {
	key = fixedFold(key, t.flags)
	var last error
	for try := 0; try < tcpMaxTry; try++ {
		if try > 0 {
			// Postfix pauses a second between attempts.
			time.Sleep(tcpRetryPause)
		}
		if t.conn == nil {
			if err := t.connect(); err != nil {
				Warn(fmt.Sprintf("connect to TCP map %s: %s", t.addr, netErrText(err)))
				last = err
				continue
			}
		}
		t.conn.SetDeadline(time.Now().Add(100 * time.Second))
		_, err := fmt.Fprintf(t.conn, "get %s\n", tcpEncode(key))
		var line string
		if err == nil {
			line, err = t.rd.ReadString('\n')
		}
		if err != nil {
			Warn(fmt.Sprintf("read TCP map reply from %s: unexpected EOF (%s)", t.addr, netErrText(err)))
			t.Close()
			last = err
			continue
		}
		line = strings.TrimRight(line, "\r\n")
		if len(line) < 4 || line[3] != ' ' {
			Warn(fmt.Sprintf("read TCP map reply from %s: text \"%s\" is not a valid reply", t.addr, Printable(line)))
			t.Close()
			last = fmt.Errorf("invalid reply")
			continue
		}
		text := tcpDecode(line[4:])
		switch line[0] {
		case '2':
			return text, true, nil
		case '5':
			return "", false, nil
		case '4':
			return "", false, retryf(text)
		}
		Warn(fmt.Sprintf("read TCP map reply from %s: text \"%s\" is not a valid reply", t.addr, Printable(line)))
		return "", false, retryf("invalid reply")
	}
	return "", false, retryf(netErrText(last))
}

func (t *tcpTable) Close() error {
	if t.conn != nil {
		t.conn.Close()
		t.conn = nil
	}
	return nil
}

// netErrText returns the strerror-like text of a network error.
func netErrText(err error) string {
	if err == nil {
		return "unknown error"
	}
	return errText(err)
}
