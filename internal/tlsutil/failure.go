package tlsutil

import (
	"errors"
	"io"
	"net"
	"strings"
	"syscall"
)

// OpenSSL's error lines that Postfix logs after a failed handshake, as
// Debian's OpenSSL 3.0 words them (source file and line included).
const (
	sslUnsupportedProtocol = "TLS library problem: error:0A000102:SSL routines::unsupported protocol:../ssl/statem/statem_srvr.c:1664:"
	sslNoSharedCipher      = "TLS library problem: error:0A0000C1:SSL routines::no shared cipher:../ssl/statem/statem_srvr.c:2226:"
	sslWrongVersion        = "TLS library problem: error:0A00010B:SSL routines::wrong version number:../ssl/record/ssl3_record.c:350:"
)

// HandshakeFailure returns the lines Postfix's smtpd logs when the TLS
// handshake with client ("host[addr]") fails with err (from
// tls.Conn.Handshake): "SSL_accept error from host[addr]: lost connection"
// when the client went away, else "SSL_accept error from host[addr]: -1"
// followed, for the common causes (no common protocol version, no common
// cipher, not TLS at all), by OpenSSL's error as Postfix logs it. Checked
// against Debian's smtpd with openssl s_client.
func HandshakeFailure(err error, client string) []Line {
	if lostConnection(err) {
		return []Line{{false, "SSL_accept error from " + client + ": lost connection"}}
	}
	lines := []Line{{false, "SSL_accept error from " + client + ": -1"}}
	t := err.Error()
	switch {
	case strings.Contains(t, "unsupported versions"), strings.Contains(t, "no supported versions"),
		strings.Contains(t, "protocol version not supported"):
		lines = append(lines, Line{true, sslUnsupportedProtocol})
	case strings.Contains(t, "no cipher suite supported by both"):
		lines = append(lines, Line{true, sslNoSharedCipher})
	case strings.Contains(t, "does not look like a TLS handshake"), strings.Contains(t, "unsupported SSLv2 handshake"),
		strings.Contains(t, "oversized record"):
		lines = append(lines, Line{true, sslWrongVersion})
	}
	return lines
}

// lostConnection reports whether err means the client closed or reset
// the connection.
func lostConnection(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}
