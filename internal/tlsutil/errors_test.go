package tlsutil

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/postfix-go/postfix/internal/tlsutil/tlstest"
)

// TestErrorTexts checks the warnings for broken certificate settings
// without Debian's Postfix (TestReferenceWarnings compares the same kind
// of cases with it); the texts are the ones Postfix 3.7 logs.
func TestErrorTexts(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cert, key := tlstest.Cert(t, dir, "mx.example.test")
	_, ecKey := tlstest.ECCert(t, dir, "other")
	kb, _ := os.ReadFile(key)
	cb, _ := os.ReadFile(cert)
	certFirst := filepath.Join(dir, "certfirst.pem")
	os.WriteFile(certFirst, append(append([]byte{}, cb...), kb...), 0o644)
	garbage := filepath.Join(dir, "garbage.pem")
	os.WriteFile(garbage, []byte("hello\n"), 0o644)
	for _, k := range []struct {
		kv   []string
		want string
	}{
		{[]string{"smtpd_tls_key_file", "/nonexistent/k"}, `warning: cannot get RSA private key from file "/nonexistent/k": disabling TLS support`},
		{[]string{"smtpd_tls_cert_file", garbage}, `warning: cannot get RSA certificate from file "` + garbage + `": disabling TLS support`},
		{[]string{"smtpd_tls_key_file", ecKey}, "warning: RSA private key in " + ecKey + " does not match public key in " + cert + ": disabling TLS support"},
		{[]string{"smtpd_tls_key_file", cert}, "warning: No private key found in " + cert + "\nwarning: error loading private keys and certificates from: " + cert + ": disabling TLS support"},
		{[]string{"smtpd_tls_cert_file", "", "smtpd_tls_chain_files", certFirst}, "warning: error loading chain from " + certFirst + ": key not first\nwarning: error loading private keys and certificates from: " + certFirst + ": disabling TLS support"},
		{[]string{"smtpd_tls_cert_file", ""}, "warning: No server certs available. TLS won't be enabled"},
		{[]string{"smtpd_tls_protocols", "TLSv1.4"}, `warning: Invalid TLS protocol list "TLSv1.4": disabling TLS support`},
		{[]string{"smtpd_tls_ciphers", "best"}, `warning: HOST[ADDR]: invalid cipher grade: "best"`},
		{[]string{"smtpd_tls_ask_ccert", "yes", "smtpd_tls_CAfile", garbage}, `cannot load Certification Authority data, CAfile="` + garbage + `": disabling TLS support`},
		{[]string{"smtpd_tls_cert_file", certFirst, "smtpd_tls_key_file", "$smtpd_tls_cert_file"}, ""},
	} {
		kv := append([]string{"smtpd_tls_cert_file", cert, "smtpd_tls_key_file", key}, k.kv...)
		_, err := ServerConfig(testConf(t, kv...), "smtpd", false)
		got := ""
		if err != nil {
			got = errText(err)
		}
		if got != strings.ReplaceAll(k.want, "\n", "\n\t") {
			t.Errorf("%v:\n got %s\nwant %s", k.kv, got, k.want)
		}
	}
}
