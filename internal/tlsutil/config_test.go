package tlsutil

import (
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/postfix-go/postfix/internal/tlsutil/tlstest"
)

func mustConfig(t *testing.T, kv ...string) *tls.Config {
	t.Helper()
	cfg, err := ServerConfig(testConf(t, kv...), "smtpd", false)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// chainFile writes key then certificate into one file, as
// smtpd_tls_chain_files wants them.
func chainFile(t *testing.T, dir, name, cert, key string) string {
	t.Helper()
	kb, err := os.ReadFile(key)
	if err != nil {
		t.Fatal(err)
	}
	cb, _ := os.ReadFile(cert)
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, append(kb, cb...), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestChainFilesRSAAndEC(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	rc, rk := tlstest.Cert(t, dir, "mx.example.test")
	ec, ek := tlstest.ECCert(t, dir, "mx.example.test")
	both := chainFile(t, dir, "rsa.pem", rc, rk) + ", " + chainFile(t, dir, "ec.pem", ec, ek)
	cfg := mustConfig(t, "smtpd_tls_chain_files", both)
	if len(Certificates(cfg)) != 2 {
		t.Fatalf("%d certificates", len(Certificates(cfg)))
	}
	// A client that only does ECDSA gets the EC certificate; one that
	// only does RSA gets the RSA one.
	for _, k := range []struct {
		suite uint16
		ec    bool
	}{{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, true}, {tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, false}} {
		s, c, err := handshake(t, cfg, &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{k.suite}})
		if err != nil {
			t.Fatal(err)
		}
		_, isEC := c.PeerCertificates[0].PublicKey.(*ecdsa.PublicKey)
		if isEC != k.ec || s.CipherSuite != k.suite {
			t.Errorf("suite %s: EC certificate %v", CipherName(k.suite), isEC)
		}
	}
}

func TestLegacyCertAndECCert(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	rc, rk := tlstest.Cert(t, dir, "mx.example.test")
	ec, ek := tlstest.ECCert(t, dir, "mx.example.test")
	combined := chainFile(t, dir, "combined.pem", rc, rk)
	cfg := mustConfig(t, "smtpd_tls_cert_file", combined, "smtpd_tls_eccert_file", ec, "smtpd_tls_eckey_file", ek)
	if len(Certificates(cfg)) != 2 {
		t.Fatalf("%d certificates", len(Certificates(cfg)))
	}
	if _, ok := Certificates(cfg)[0].PrivateKey.(*rsa.PrivateKey); !ok {
		t.Error("first certificate is not the RSA one")
	}
	s, _, err := handshake(t, cfg, &tls.Config{})
	if err != nil {
		t.Fatal(err)
	}
	// TLS 1.3: Go prefers the first certificate the client can use.
	if got := DescribeConfig(s, cfg).ServerSig; got != "RSA-PSS (2048 bits)" {
		t.Errorf("server signature %q", got)
	}
}

func TestClientCertificates(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ca, caKey := tlstest.Cert(t, dir, "ca.example.test")
	cc, ck := tlstest.ClientCert(t, dir, "client.example.org", ca, caKey)
	sc, sk := tlstest.Cert(t, dir, "stranger.example.org")
	cert, key := tlstest.Cert(t, dir, "mx.example.test")
	cfg := mustConfig(t, "smtpd_tls_cert_file", cert, "smtpd_tls_key_file", key,
		"smtpd_tls_ask_ccert", "yes", "smtpd_tls_CAfile", ca)
	load := func(c, k string) []tls.Certificate {
		p, err := tls.LoadX509KeyPair(c, k)
		if err != nil {
			t.Fatal(err)
		}
		return []tls.Certificate{p}
	}
	for _, k := range []struct {
		certs    []tls.Certificate
		line     string
		received string
	}{
		{nil, "Anonymous TLS connection established from h[a]: ", "(Client did not present a certificate)"},
		{load(cc, ck), "Trusted TLS connection established from h[a]: ", `(Client CN "client.example.org", Issuer "ca.example.test" (verified OK))`},
		{load(sc, sk), "Untrusted TLS connection established from h[a]: ", `(Client CN "stranger.example.org", Issuer "stranger.example.org" (not verified))`},
	} {
		certs := k.certs
		// Send the certificate even when its issuer is not among the CAs
		// the server names, as OpenSSL clients do.
		s, _, err := handshake(t, cfg, &tls.Config{GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			if certs == nil {
				return &tls.Certificate{}, nil
			}
			return &certs[0], nil
		}})
		if err != nil {
			t.Fatal(err)
		}
		i := DescribeConfig(s, cfg)
		if l := i.LogLine("h", "a"); !strings.HasPrefix(l, k.line) {
			t.Errorf("log line %q, want prefix %q", l, k.line)
		}
		r := i.Received()
		if r[len(r)-1] != k.received {
			t.Errorf("Received %q, want last %q", r, k.received)
		}
		if k.certs != nil && (i.ClientSig != "RSA-PSS (2048 bits)" || i.ClientDigest != "SHA256") {
			t.Errorf("client signature %q %q", i.ClientSig, i.ClientDigest)
		}
	}
}

func TestSessionTickets(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cert, key := tlstest.Cert(t, dir, "mx.example.test")
	for _, k := range []struct {
		timeout string
		wait    time.Duration
		resumed bool
	}{{"3600s", 0, true}, {"0", 0, false}, {"1s", 2100 * time.Millisecond, false}} {
		cfg := mustConfig(t, "smtpd_tls_cert_file", cert, "smtpd_tls_key_file", key,
			"smtpd_tls_session_cache_timeout", k.timeout)
		cache := tls.NewLRUClientSessionCache(4)
		cc := &tls.Config{ServerName: "mx.example.test", ClientSessionCache: cache, InsecureSkipVerify: true}
		if _, _, err := handshake(t, cfg, cc); err != nil {
			t.Fatal(err)
		}
		time.Sleep(k.wait)
		s, _, err := handshake(t, cfg, cc)
		if err != nil {
			t.Fatal(err)
		}
		if s.DidResume != k.resumed {
			t.Errorf("timeout %s after %v: resumed %v, want %v", k.timeout, k.wait, s.DidResume, k.resumed)
		}
	}
}

func TestSNIMaps(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cert, key := tlstest.Cert(t, dir, "mx.example.test")
	oc, ok := tlstest.Cert(t, dir, "mail.example.net")
	chain := chainFile(t, dir, "net.pem", oc, ok)
	data, _ := os.ReadFile(chain)
	b64 := base64.StdEncoding.EncodeToString(data)
	cfg := mustConfig(t, "smtpd_tls_cert_file", cert, "smtpd_tls_key_file", key,
		"tls_server_sni_maps", "inline:{ .example.net="+chain+", example.org="+b64+" }")
	for _, k := range []struct{ sni, cn string }{
		{"", "mx.example.test"},
		{"mail.example.net", "mail.example.net"},
		{"deep.mail.example.net", "mail.example.net"},
		{"example.net", "mx.example.test"},
		{"example.org", "mail.example.net"},
		{"other.test", "mx.example.test"},
	} {
		_, c, err := handshake(t, cfg, &tls.Config{ServerName: k.sni, InsecureSkipVerify: true})
		if err != nil {
			t.Fatal(err)
		}
		if cn := c.PeerCertificates[0].Subject.CommonName; cn != k.cn {
			t.Errorf("SNI %q: certificate %q, want %q", k.sni, cn, k.cn)
		}
	}
}

func TestVersionHoles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cert, key := tlstest.Cert(t, dir, "mx.example.test")
	cfg := mustConfig(t, "smtpd_tls_cert_file", cert, "smtpd_tls_key_file", key, "smtpd_tls_protocols", "!TLSv1.2")
	for _, k := range []struct{ clientMax, want uint16 }{
		{tls.VersionTLS13, tls.VersionTLS13}, {tls.VersionTLS12, tls.VersionTLS11}, {tls.VersionTLS11, tls.VersionTLS11},
	} {
		s, _, err := handshake(t, cfg, &tls.Config{MinVersion: tls.VersionTLS10, MaxVersion: k.clientMax})
		if err != nil {
			t.Fatalf("client max %s: %v", VersionName(k.clientMax), err)
		}
		if s.Version != k.want {
			t.Errorf("client max %s: got %s, want %s", VersionName(k.clientMax), VersionName(s.Version), VersionName(k.want))
		}
	}
}

func TestCipherPreference(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl(1) is not installed")
	}
	dir := t.TempDir()
	cert, key := tlstest.Cert(t, dir, "mx.example.test")
	// Go's client orders its suites itself; openssl sends them as told.
	for _, k := range []struct {
		preempt string
		want    string
	}{{"no", "ECDHE-RSA-AES128-SHA"}, {"yes", "ECDHE-RSA-AES256-GCM-SHA384"}} {
		cfg := mustConfig(t, "smtpd_tls_cert_file", cert, "smtpd_tls_key_file", key, "tls_preempt_cipherlist", k.preempt)
		s := startOurs(t, cfg)
		cmd := exec.Command("openssl", "s_client", "-connect", s.ln.Addr().String(), "-tls1_2",
			"-cipher", "ECDHE-RSA-AES128-SHA:ECDHE-RSA-AES256-GCM-SHA384")
		cmd.Stdin = strings.NewReader("QUIT\r\n")
		cmd.CombinedOutput()
		if got := s.last(t).Cipher; got != k.want {
			t.Errorf("preempt %s: %s, want %s", k.preempt, got, k.want)
		}
	}
	// Excluded suites are refused.
	client := []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA}
	cfg := mustConfig(t, "smtpd_tls_cert_file", cert, "smtpd_tls_key_file", key, "smtpd_tls_exclude_ciphers", "SHA1")
	if _, _, err := handshake(t, cfg, &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: client}); err == nil {
		t.Error("excluded SHA1 suite accepted")
	}
}

func TestLoadKeyPairForms(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cert, key := tlstest.Cert(t, dir, "mx.example.test")
	// PKCS#1 RSA key and SEC 1 EC key, as older tools write them.
	kb, _ := os.ReadFile(key)
	blk, _ := pem.Decode(kb)
	k, _ := x509.ParsePKCS8PrivateKey(blk.Bytes)
	pk1 := filepath.Join(dir, "pkcs1.key")
	os.WriteFile(pk1, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k.(*rsa.PrivateKey))}), 0o600)
	if _, err := LoadKeyPair(cert, pk1); err != nil {
		t.Errorf("PKCS#1 key: %v", err)
	}
	ec, ek := tlstest.ECCert(t, dir, "mx.example.test")
	eb, _ := os.ReadFile(ek)
	blk, _ = pem.Decode(eb)
	e, _ := x509.ParsePKCS8PrivateKey(blk.Bytes)
	der, _ := x509.MarshalECPrivateKey(e.(*ecdsa.PrivateKey))
	sec1 := filepath.Join(dir, "sec1.key")
	os.WriteFile(sec1, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), 0o600)
	if _, err := LoadKeyPair(ec, sec1); err != nil {
		t.Errorf("SEC 1 key: %v", err)
	}
}

func TestTLS13Group(t *testing.T) {
	t.Parallel()
	auto := []tls.CurveID{tls.X25519, tls.CurveP256, tls.CurveP521, tls.CurveP384}
	for _, k := range []struct {
		client, server []tls.CurveID
		want           tls.CurveID
	}{
		{[]tls.CurveID{tls.X25519, tls.CurveP256}, auto, tls.X25519},
		{[]tls.CurveID{tls.X25519MLKEM768, tls.X25519, tls.CurveP256}, auto, tls.X25519},
		{[]tls.CurveID{tls.X25519, tls.CurveP256, tls.CurveP384}, []tls.CurveID{tls.CurveP384, tls.CurveP256}, tls.CurveP384},
		{[]tls.CurveID{tls.CurveP256, tls.CurveP384}, []tls.CurveID{tls.CurveP384, tls.CurveP256}, tls.CurveP256},
		{[]tls.CurveID{tls.CurveP521}, []tls.CurveID{tls.X25519}, 0},
	} {
		if got := tls13Group(k.client, k.server); got != k.want {
			t.Errorf("client %v server %v: %v, want %v", k.client, k.server, got, k.want)
		}
	}
}
