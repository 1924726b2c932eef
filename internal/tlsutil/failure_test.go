package tlsutil

import (
	"crypto/tls"
	"net"
	"testing"
	"time"

	"github.com/postfix-go/postfix/internal/tlsutil/tlstest"
)

// TestHandshakeFailure provokes real handshake failures over loopback and
// checks the lines Postfix would log (the texts come from Debian's smtpd,
// see the HandshakeFailure comment).
func TestHandshakeFailure(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cert, key := tlstest.Cert(t, dir, "mx.example.test")
	cfg := mustConfig(t, "smtpd_tls_cert_file", cert, "smtpd_tls_key_file", key, "smtpd_tls_protocols", "TLSv1.2")
	for _, k := range []struct {
		name   string
		client func(c net.Conn)
		want   []string
	}{
		{"version", func(c net.Conn) {
			tls.Client(c, &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS13}).Handshake()
		}, []string{"SSL_accept error from h[a]: -1", "warning: " + sslUnsupportedProtocol}},
		{"cipher", func(c net.Conn) {
			tls.Client(c, &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS12,
				CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA}}).Handshake()
		}, []string{"SSL_accept error from h[a]: -1", "warning: " + sslNoSharedCipher}},
		{"garbage", func(c net.Conn) {
			c.Write([]byte("HELLO THIS IS NOT TLS\r\n"))
			time.Sleep(100 * time.Millisecond)
		}, []string{"SSL_accept error from h[a]: -1", "warning: " + sslWrongVersion}},
		{"hangup", func(c net.Conn) {
			c.Write([]byte{0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00})
		}, []string{"SSL_accept error from h[a]: lost connection"}},
	} {
		a, b := net.Pipe()
		done := make(chan error, 1)
		go func() {
			done <- tls.Server(a, cfg).Handshake()
			a.Close()
		}()
		go func() {
			k.client(b)
			b.Close()
		}()
		err := <-done
		if err == nil {
			t.Fatalf("%s: handshake succeeded", k.name)
		}
		var got []string
		for _, l := range HandshakeFailure(err, "h[a]") {
			p := ""
			if l.Warning {
				p = "warning: "
			}
			got = append(got, p+l.Text)
		}
		if len(got) != len(k.want) || got[0] != k.want[0] || len(got) > 1 && got[1] != k.want[1] {
			t.Errorf("%s (%v):\n got %q\nwant %q", k.name, err, got, k.want)
		}
	}
}
