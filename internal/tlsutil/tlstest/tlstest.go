// Package tlstest makes throw-away certificates for tests of TLS servers and
// clients: self-signed, written with Go's crypto packages into a test's
// directory as PEM files that Postfix's daemons (running as the postfix
// user) and ours can read.
//
// Cert writes an RSA 2048 certificate, ECCert a P-256 one; both are valid
// from an hour ago for a day, name host as the subject CN and the DNS
// subject alternative name (or the IP address SAN when host is an
// address), and may sign other certificates (ClientCert issues a client
// certificate from one). Certificates are mode 0644, keys 0644 so that a
// daemon that dropped privileges can still read them in a test directory.
package tlstest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Cert writes a self-signed RSA 2048 certificate for host into dir and
// returns the certificate and key file names (host.crt, host.key).
func Cert(t testing.TB, dir, host string) (certFile, keyFile string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return write(t, dir, host, "", key, nil, nil)
}

// ECCert writes a self-signed ECDSA P-256 certificate for host into dir
// and returns the certificate and key file names (host-ec.crt, host-ec.key).
func ECCert(t testing.TB, dir, host string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return write(t, dir, host, "-ec", key, nil, nil)
}

// Option changes a certificate ClientCertOpts makes.
type Option func(*x509.Certificate)

// Expired makes a certificate that expired an hour ago.
func Expired(c *x509.Certificate) {
	c.NotBefore = time.Now().Add(-48 * time.Hour)
	c.NotAfter = time.Now().Add(-time.Hour)
}

// ClientCertOpts is ClientCert with options applied to the certificate.
func ClientCertOpts(t testing.TB, dir, cn, caCert, caKey string, opts ...Option) (certFile, keyFile string) {
	t.Helper()
	pair, err := loadPair(caCert, caKey)
	if err != nil {
		t.Fatal(err)
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return write(t, dir, cn, "-client", key, pair.cert, pair.key, opts...)
}

// ClientCert writes an RSA 2048 client certificate with subject CN cn,
// issued by the CA in caCert/caKey (files from Cert or ECCert), and
// returns its certificate and key file names (cn-client.crt, .key).
func ClientCert(t testing.TB, dir, cn, caCert, caKey string) (certFile, keyFile string) {
	t.Helper()
	pair, err := loadPair(caCert, caKey)
	if err != nil {
		t.Fatal(err)
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return write(t, dir, cn, "-client", key, pair.cert, pair.key)
}

type caPair struct {
	cert *x509.Certificate
	key  crypto.Signer
}

func loadPair(certFile, keyFile string) (*caPair, error) {
	cb, err := os.ReadFile(certFile)
	if err != nil {
		return nil, err
	}
	kb, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, err
	}
	cblk, _ := pem.Decode(cb)
	kblk, _ := pem.Decode(kb)
	if cblk == nil || kblk == nil {
		return nil, os.ErrInvalid
	}
	cert, err := x509.ParseCertificate(cblk.Bytes)
	if err != nil {
		return nil, err
	}
	k, err := x509.ParsePKCS8PrivateKey(kblk.Bytes)
	if err != nil {
		return nil, err
	}
	return &caPair{cert, k.(crypto.Signer)}, nil
}

func write(t testing.TB, dir, host, suffix string, key crypto.Signer, parent *x509.Certificate, parentKey crypto.Signer, opts ...Option) (string, string) {
	t.Helper()
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: host, Organization: []string{"postfix-go test"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		IsCA:                  parent == nil,
	}
	if ip := net.ParseIP(host); ip != nil {
		tmpl.IPAddresses = []net.IP{ip}
	} else {
		tmpl.DNSNames = []string{host}
	}
	for _, o := range opts {
		o(tmpl)
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), parentKey)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile := filepath.Join(dir, host+suffix+".crt")
	keyFile := filepath.Join(dir, host+suffix+".key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o644); err != nil {
		t.Fatal(err)
	}
	// WriteFile honours the umask; make the modes what the comment says.
	for _, f := range []string{certFile, keyFile} {
		if err := os.Chmod(f, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return certFile, keyFile
}
