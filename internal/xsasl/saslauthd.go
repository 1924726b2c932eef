package xsasl

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

// DefaultSaslauthdPath is where Debian's saslauthd listens (its "mux" socket) when smtpd.conf
// sets no saslauthd_path.
const DefaultSaslauthdPath = "/var/run/saslauthd/mux"

// ErrSaslauthdDown reports that saslauthd could not be reached or broke the dialogue.
var ErrSaslauthdDown = errors.New("cannot talk to saslauthd")

// SaslauthdRequest is one question to saslauthd: is this password right for this user?
type SaslauthdRequest struct {
	User, Password, Service, Realm string
}

// Saslauthd asks the saslauthd listening on the UNIX socket path whether a password is right.
// The request is four counted strings (a 2-byte big-endian length, then the bytes): user,
// password, service, realm — what Debian's libsasl2 2.1.28 sends for Postfix's smtpd; the reply is one counted string, "OK..." for yes and
// "NO..." for no. It returns (true, reply) or (false, reply), or ErrSaslauthdDown wrapped.
func Saslauthd(path string, req SaslauthdRequest, timeout time.Duration) (bool, string, error) {
	conn, err := net.DialTimeout("unix", path, timeout)
	if err != nil {
		return false, "", fmt.Errorf("%w: %w", ErrSaslauthdDown, &dialError{err})
	}
	defer conn.Close()
	if timeout > 0 {
		_ = conn.SetDeadline(time.Now().Add(timeout))
	}
	msg := EncodeSaslauthd(req)
	if _, err := conn.Write(msg); err != nil {
		return false, "", fmt.Errorf("%w: %v", ErrSaslauthdDown, err)
	}
	reply, err := readCounted(bufio.NewReader(conn))
	if err != nil {
		return false, "", fmt.Errorf("%w: %v", ErrSaslauthdDown, err)
	}
	return len(reply) >= 2 && reply[:2] == "OK", reply, nil
}

// EncodeSaslauthd returns the bytes of a saslauthd request.
func EncodeSaslauthd(req SaslauthdRequest) []byte {
	var b []byte
	for _, s := range []string{req.User, req.Password, req.Service, req.Realm} {
		if len(s) > 0xffff {
			s = s[:0xffff]
		}
		b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
		b = append(b, s...)
	}
	return b
}

// DecodeSaslauthd reads one saslauthd request (as saslauthd itself does); for tests and fakes.
func DecodeSaslauthd(r io.Reader) (SaslauthdRequest, error) {
	br := bufio.NewReader(r)
	var f [4]string
	for i := range f {
		s, err := readCounted(br)
		if err != nil {
			return SaslauthdRequest{}, err
		}
		f[i] = s
	}
	return SaslauthdRequest{User: f[0], Password: f[1], Service: f[2], Realm: f[3]}, nil
}

// readCounted reads one counted string.
func readCounted(r io.Reader) (string, error) {
	var n [2]byte
	if _, err := io.ReadFull(r, n[:]); err != nil {
		return "", err
	}
	b := make([]byte, binary.BigEndian.Uint16(n[:]))
	if _, err := io.ReadFull(r, b); err != nil {
		return "", err
	}
	return string(b), nil
}

// dialError marks a failure to connect (as opposed to a broken dialogue).
type dialError struct{ err error }

func (e *dialError) Error() string { return e.err.Error() }
func (e *dialError) Unwrap() error { return e.err }
