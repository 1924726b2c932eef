package flowtest

import (
	"bufio"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

// Conn is a raw SMTP client for scripted dialogues: it writes exactly the
// bytes a test gives (several commands in one write for pipelining,
// NUL bytes, bare line feeds) and reads whole replies back. Every line
// both ways is kept in Transcript ("C: …", "S: …"), so two servers can be
// compared on the same dialogue.
type Conn struct {
	t          testing.TB
	c          net.Conn
	br         *bufio.Reader
	closed     bool
	Transcript []string
	// Timeout bounds the wait for each reply (default 10s).
	Timeout time.Duration
}

// Dial connects to addr and reads the greeting.
func Dial(t testing.TB, addr string) *Conn {
	t.Helper()
	return DialFrom(t, "", addr)
}

// DialNoGreeting connects to addr without waiting for the greeting (read
// it with Reply or Rest), for servers that should not greet yet.
func DialNoGreeting(t testing.TB, addr string) *Conn {
	t.Helper()
	return dial(t, "", addr, false)
}

// DialFrom is Dial from the local address from ("127.0.0.2"; "" for any),
// for tests that need a client address other than 127.0.0.1.
func DialFrom(t testing.TB, from, addr string) *Conn {
	t.Helper()
	return dial(t, from, addr, true)
}

func dial(t testing.TB, from, addr string, greet bool) *Conn {
	t.Helper()
	d := net.Dialer{Timeout: 10 * time.Second}
	if from != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(from)}
	}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("connect to %s: %v", addr, err)
	}
	k := &Conn{t: t, c: c, br: bufio.NewReader(c), Timeout: 10 * time.Second}
	t.Cleanup(func() { k.c.Close() })
	if greet {
		k.Reply()
	}
	return k
}

// Closed reports whether the server closed the connection.
func (k *Conn) Closed() bool { return k.closed }

// Write sends text as one write without reading anything.
func (k *Conn) Write(text string) {
	k.t.Helper()
	for _, l := range strings.SplitAfter(text, "\n") {
		if l != "" {
			k.Transcript = append(k.Transcript, "C: "+strings.TrimRight(l, "\r\n"))
		}
	}
	if k.closed {
		return
	}
	// A write after the server hung up may fail or not, depending on
	// timing; the next read says <EOF> either way.
	_ = k.c.SetWriteDeadline(time.Now().Add(k.Timeout))
	_, _ = k.c.Write([]byte(text))
}

// Reply reads one whole reply (every line of a multi-line reply) and
// returns its lines without line ends; after the server closed the
// connection it returns nil and the transcript says <EOF>.
func (k *Conn) Reply() []string {
	k.t.Helper()
	var lines []string
	for !k.closed {
		_ = k.c.SetReadDeadline(time.Now().Add(k.Timeout))
		l, err := k.br.ReadString('\n')
		if err != nil {
			if l != "" {
				k.Transcript = append(k.Transcript, "S: "+l+" <no line end>")
			}
			if errors.Is(err, os.ErrDeadlineExceeded) {
				k.t.Fatalf("no reply within %v; transcript:\n%s", k.Timeout, strings.Join(k.Transcript, "\n"))
			}
			k.closed = true
			k.Transcript = append(k.Transcript, "S: <EOF>")
			break
		}
		l = strings.TrimRight(l, "\r\n")
		lines = append(lines, l)
		k.Transcript = append(k.Transcript, "S: "+l)
		if len(l) < 4 || l[3] != '-' {
			break
		}
	}
	return lines
}

// Send writes text in one write and reads n replies; it returns their
// lines.
func (k *Conn) Send(text string, n int) []string {
	k.t.Helper()
	k.Write(text)
	var lines []string
	for i := 0; i < n && !k.closed; i++ {
		lines = append(lines, k.Reply()...)
	}
	return lines
}

// Cmd sends one command line (CRLF added unless it ends in a line feed)
// and returns its reply lines.
func (k *Conn) Cmd(line string) []string {
	k.t.Helper()
	if !strings.HasSuffix(line, "\n") {
		line += "\r\n"
	}
	return k.Send(line, 1)
}

// Rest reads whatever the server still sends within wait, until it
// closes the connection; a server that answers an injected command is
// caught here.
func (k *Conn) Rest(wait time.Duration) []string {
	k.t.Helper()
	var lines []string
	for !k.closed {
		_ = k.c.SetReadDeadline(time.Now().Add(wait))
		l, err := k.br.ReadString('\n')
		if l != "" {
			l = strings.TrimRight(l, "\r\n")
			lines = append(lines, l)
			k.Transcript = append(k.Transcript, "S: "+l)
		}
		if err != nil {
			if errors.Is(err, io.EOF) || !errors.Is(err, os.ErrDeadlineExceeded) {
				k.closed = true
				k.Transcript = append(k.Transcript, "S: <EOF>")
			}
			break
		}
	}
	return lines
}

// StartTLS does the TLS handshake on the connection (after the server's
// 220 to STARTTLS, or at once for wrapper mode) without verifying the
// server's certificate, and drops anything buffered in plaintext.
func (k *Conn) StartTLS() {
	k.t.Helper()
	tc := tls.Client(k.c, &tls.Config{InsecureSkipVerify: true, ServerName: "localhost"}) // test servers have self-signed certificates
	_ = tc.SetDeadline(time.Now().Add(k.Timeout))
	if err := tc.Handshake(); err != nil {
		k.t.Fatalf("TLS handshake: %v; transcript:\n%s", err, strings.Join(k.Transcript, "\n"))
	}
	k.Transcript = append(k.Transcript, "C: <TLS handshake>")
	k.c = tc
	k.br = bufio.NewReader(tc)
}

// Close closes the connection.
func (k *Conn) Close() { k.c.Close() }
