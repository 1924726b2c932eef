package tlstest

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"testing"
)

func TestCertFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, mk := range []func(testing.TB, string, string) (string, string){Cert, ECCert} {
		c, k := mk(t, dir, "mx.example.test")
		for _, f := range []string{c, k} {
			st, err := os.Stat(f)
			if err != nil {
				t.Fatal(err)
			}
			if st.Mode().Perm() != 0o644 {
				t.Errorf("%s: mode %v", f, st.Mode())
			}
		}
		pair, err := tls.LoadX509KeyPair(c, k)
		if err != nil {
			t.Fatal(err)
		}
		if err := pair.Leaf.VerifyHostname("mx.example.test"); err != nil {
			t.Error(err)
		}
	}
	ca, caKey := Cert(t, dir, "ca.example.test")
	cc, ck := ClientCert(t, dir, "client.example.org", ca, caKey)
	pair, err := tls.LoadX509KeyPair(cc, ck)
	if err != nil {
		t.Fatal(err)
	}
	caPair, _ := tls.LoadX509KeyPair(ca, caKey)
	roots := x509.NewCertPool()
	roots.AddCert(caPair.Leaf)
	if _, err := pair.Leaf.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("client certificate does not verify: %v", err)
	}
}
