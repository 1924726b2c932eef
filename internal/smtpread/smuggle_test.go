package smtpread

import (
	"bufio"
	"net"
	"strings"
	"testing"
)

// TestSmuggling plays a server over a loopback TCP connection: the client
// sends one message whose content hides a second transaction behind each
// non-standard end-of-data sequence. Whatever the bare-newline setting,
// the reader must end the content only at <CR><LF>.<CR><LF>, deliver the
// smuggled commands as content of the one message, and then read QUIT as
// the next command.
func TestSmuggling(t *testing.T) {
	t.Parallel()
	const second = "MAIL FROM:<ceo@bank.test>\r\nRCPT TO:<victim@x.test>\r\nDATA\r\nSubject: forged\r\n\r\nsend money\r\n"
	seqs := []string{"\n.\n", "\r.\r", "\n.\r\n", "\r\n.\n", "\r.\n", "\n.\r", "\r\n.\r", "\r.\r\n", "\n..\n"}
	for _, mode := range []string{"no", "normalize", "yes", "reject"} {
		for _, seq := range seqs {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			payload := "Subject: hi\r\n\r\nhello" + seq + second + ".\r\nQUIT\r\n"
			go func() {
				c, err := net.Dial("tcp", l.Addr().String())
				if err != nil {
					return
				}
				defer c.Close()
				_, _ = c.Write([]byte(payload))
				_, _ = c.Read(make([]byte, 1)) // wait for the server to finish
			}()
			c, err := l.Accept()
			l.Close()
			if err != nil {
				t.Fatal(err)
			}
			r := NewReader(bufio.NewReader(c), Options{BareNewline: mode, Hostname: "mx.test"})
			var lines []string
			res, err := r.ReadData(func(line []byte, partial bool) error {
				lines = append(lines, string(line))
				return nil
			})
			content := strings.Join(lines, "\n")
			if mode == "reject" && strings.Contains(strings.ReplaceAll(seq, "\r\n", ""), "\n") {
				if e, ok := err.(*Error); !ok || !strings.HasPrefix(e.Reply, "550 5.5.2 mx.test Error: bare <LF>") {
					t.Errorf("%s %q: error %v, want the bare <LF> reply", mode, seq, err)
				}
			} else if err != nil {
				t.Errorf("%s %q: %v", mode, seq, err)
			}
			if !strings.Contains(content, "MAIL FROM:<ceo@bank.test>\nRCPT TO:<victim@x.test>\nDATA\nSubject: forged") ||
				!strings.HasSuffix(content, "send money") || !strings.HasPrefix(content, "Subject: hi\n\nhello") {
				t.Errorf("%s %q: the smuggled transaction is not content of the one message:\n%q", mode, seq, content)
			}
			if res.Lines != len(lines) {
				t.Errorf("%s %q: Lines %d, sink saw %d", mode, seq, res.Lines, len(lines))
			}
			cmd, err := r.ReadCommand()
			if err != nil || cmd != "QUIT" {
				t.Errorf("%s %q: next command %q, %v; want QUIT", mode, seq, cmd, err)
			}
			c.Close()
		}
	}
}
