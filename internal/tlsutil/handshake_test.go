package tlsutil

import (
	"crypto/tls"
	"net"
	"strings"
	"testing"

	"github.com/postfix-go/postfix/conf"
	"github.com/postfix-go/postfix/internal/tlsutil/tlstest"
)

// testConf is main.cf with the given settings over the defaults.
func testConf(t *testing.T, kv ...string) *conf.Config {
	t.Helper()
	c := conf.New(t.TempDir(), nil)
	for i := 0; i+1 < len(kv); i += 2 {
		c.Set(kv[i], kv[i+1])
	}
	return c
}

// handshake runs a real TLS handshake over loopback TCP between a server
// with cfg and a crypto/tls client with ccfg, and returns both states.
func handshake(t *testing.T, cfg, ccfg *tls.Config) (server, client tls.ConnectionState, err error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	type result struct {
		cs  tls.ConnectionState
		err error
	}
	done := make(chan result, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- result{err: err}
			return
		}
		defer c.Close()
		tc := tls.Server(c, cfg)
		err = tc.Handshake()
		if err == nil {
			// Let the client read its session ticket.
			_, err = tc.Write([]byte("ok"))
		}
		done <- result{tc.ConnectionState(), err}
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if ccfg.ServerName == "" {
		ccfg.InsecureSkipVerify = true
	}
	tc := tls.Client(c, ccfg)
	cerr := tc.Handshake()
	if cerr == nil {
		buf := make([]byte, 2)
		_, cerr = tc.Read(buf)
	}
	r := <-done
	if r.err != nil {
		return r.cs, tc.ConnectionState(), r.err
	}
	return r.cs, tc.ConnectionState(), cerr
}

func TestHandshakeRSA(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cert, key := tlstest.Cert(t, dir, "mail.example.test")
	c := testConf(t, "smtpd_tls_cert_file", cert, "smtpd_tls_key_file", key)
	cfg, err := ServerConfig(c, "smtpd", false)
	if err != nil {
		t.Fatal(err)
	}
	s, _, err := handshake(t, cfg, &tls.Config{})
	if err != nil {
		t.Fatal(err)
	}
	got := DescribeConfig(s, cfg).LogLine("client.example", "127.0.0.1")
	want := "Anonymous TLS connection established from client.example[127.0.0.1]: TLSv1.3 with cipher TLS_AES_128_GCM_SHA256 (128/128 bits) key-exchange X25519 server-signature RSA-PSS (2048 bits) server-digest SHA256"
	if got != want {
		t.Errorf("log line\n got %s\nwant %s", got, want)
	}
}

func TestHandshakeTLS12(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cert, key := tlstest.Cert(t, dir, "mail.example.test")
	c := testConf(t, "smtpd_tls_cert_file", cert, "smtpd_tls_key_file", key)
	cfg, err := ServerConfig(c, "smtpd", false)
	if err != nil {
		t.Fatal(err)
	}
	s, _, err := handshake(t, cfg, &tls.Config{MaxVersion: tls.VersionTLS12,
		CipherSuites: []uint16{tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384}})
	if err != nil {
		t.Fatal(err)
	}
	got := DescribeConfig(s, cfg).LogText()
	want := "TLSv1.2 with cipher ECDHE-RSA-AES256-GCM-SHA384 (256/256 bits)"
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if !strings.HasPrefix(DescribeConfig(s, cfg).Received()[0], "(using TLSv1.2") {
		t.Errorf("Received %q", DescribeConfig(s, cfg).Received())
	}
}
