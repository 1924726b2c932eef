package devconf

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"testing"
)

func TestSelfSigned(t *testing.T) {
	dir := t.TempDir()
	cf, kf, err := SelfSigned(dir, "mx.example.test")
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.LoadX509KeyPair(cf, kf)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := cert.VerifyHostname("mx.example.test"); err != nil {
		t.Error(err)
	}
	if fi, _ := os.Stat(kf); fi.Mode().Perm() != 0o600 {
		t.Errorf("key mode %v, want 0600", fi.Mode().Perm())
	}
	// A second call keeps the existing pair.
	before, _ := os.ReadFile(cf)
	if _, _, err := SelfSigned(dir, "mx.example.test"); err != nil {
		t.Fatal(err)
	}
	if after, _ := os.ReadFile(cf); string(after) != string(before) {
		t.Error("SelfSigned replaced an existing certificate")
	}
}
