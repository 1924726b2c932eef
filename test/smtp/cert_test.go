package smtptest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// guideTLSMain is the first guide's STEP 7 and 8 in main.cf: the legacy
// smtpd_use_tls switch, the certificate made with openssl in STEP 6 under
// $config_directory/ssl, TLS logging and the Received header.
const guideTLSMain = `mynetworks = 10.0.0.0/8
smtpd_use_tls = yes
smtpd_tls_key_file = $config_directory/ssl/smtpd.key
smtpd_tls_cert_file = $config_directory/ssl/smtpd.crt
smtpd_tls_CAfile = $config_directory/ssl/cacert.pem
smtpd_tls_loglevel = 1
smtpd_tls_received_header = yes
smtpd_tls_session_cache_timeout = 3600s
tls_random_source = dev:/dev/urandom
smtpd_sasl_auth_enable = yes
smtpd_sasl_security_options = noanonymous
smtpd_sasl_local_domain = $myhostname
broken_sasl_auth_clients = yes
cyrus_sasl_config_path = $config_directory/sasl
smtpd_recipient_restrictions = permit_sasl_authenticated, permit_mynetworks, reject_unauth_destination
`

// openssl runs Debian's openssl in dir, failing the test on error.
func openssl(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("openssl", args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// guideCert makes the certificate as the first guide's STEP 6 does
// (answers given on the command line instead of typed): an encrypted RSA
// key of bits, a request, a self-signed certificate, the key decrypted,
// and a CA certificate.
func guideCert(t *testing.T, dir, bits string) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	subj := "/C=KR/O=Example/CN=mx.example.test"
	openssl(t, dir, "genrsa", "-des3", "-passout", "pass:temp-pass", "-out", "smtpd.key", bits)
	openssl(t, dir, "req", "-new", "-key", "smtpd.key", "-passin", "pass:temp-pass", "-subj", subj, "-out", "smtpd.csr")
	openssl(t, dir, "x509", "-req", "-days", "3650", "-in", "smtpd.csr", "-signkey", "smtpd.key", "-passin", "pass:temp-pass", "-out", "smtpd.crt")
	openssl(t, dir, "rsa", "-in", "smtpd.key", "-passin", "pass:temp-pass", "-out", "smtpd.key.unencrypted")
	if err := os.Rename(filepath.Join(dir, "smtpd.key.unencrypted"), filepath.Join(dir, "smtpd.key")); err != nil {
		t.Fatal(err)
	}
	openssl(t, dir, "req", "-new", "-x509", "-extensions", "v3_ca", "-keyout", "cakey.pem", "-passout", "pass:temp-pass",
		"-subj", "/C=KR/O=Example CA/CN=ca.example.test", "-out", "cacert.pem", "-days", "3650")
	for _, f := range []string{"smtpd.key", "smtpd.crt", "cacert.pem"} {
		_ = os.Chmod(filepath.Join(dir, f), 0o644)
	}
}

// The first guide's STARTTLS steps with certificates made by openssl as
// it says, with the 1024-bit key it writes and with a 2048-bit one, and
// the legacy smtpd_use_tls switch: telnet localhost 25 and ehlo show the
// same lines, mail sent over TLS gets the same replies and carries the
// same Received header, and the log has the same TLS lines.
func TestGuideCertificate(t *testing.T) {
	t.Parallel()
	for _, bits := range []string{"2048", "1024"} {
		bits := bits
		t.Run(bits, func(t *testing.T) {
			t.Parallel()
			p := newPair(t, guideTLSMain, "127.0.0.1:{smtp} inet n - n - - smtpd\n", func(s *system) {
				guideCert(t, filepath.Join(s.Etc, "ssl"), bits)
				cyrusSetup(t, "/nonexistent/mux")(s)
			})
			p.start(t)
			ref, _ := swaksBoth(t, p, "smtp", "--ehlo", "client.example.org", "--quit-after", "EHLO")
			if bits == "2048" {
				contains(t, "EHLO", ref.Stdout, "250-STARTTLS")
			}
			ref, _ = swaksBoth(t, p, "smtp", "--ehlo", "client.example.org", "--tls", "--from", "test@test.com", "--to", "root@mx.example.test",
				"--header", "Subject: over TLS")
			if strings.Contains(ref.Stdout, "queued as") {
				p.each(func(s *system) { waitMbox(t, s, "root", 1) })
				sameMessages(t, p, "root")
			} else if bits == "2048" {
				t.Errorf("no mail over TLS:\n%s", ref.Stdout)
			}
			p.each(func(s *system) { waitQuiet(t, s) })
			goCipher(t, p.our)
			re := `postfix/smtpd\[\d+\]: (warning: .*(TLS|key|cert|SSL)|.*TLS connection established)`
			same(t, "TLS log", p, logText(p.ref, p.ref.LogLines(re), true), logText(p.our, p.our.LogLines(re), true))
		})
	}
}
