package tlsutil

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/postfix-go/postfix/conf"
	"github.com/postfix-go/postfix/internal/flowtest"
	"github.com/postfix-go/postfix/internal/tlsutil/tlstest"
)

// TestReferenceWarnings gives Debian's smtpd and ServerConfig the same
// broken (or unusual) TLS settings, one smtpd service each, and compares
// what Postfix logs (at start-up, or at STARTTLS for cipher settings)
// with the lines of our *Error. OpenSSL's own "TLS library problem" lines
// are left out: they name OpenSSL's source files.
func TestReferenceWarnings(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	cert, key := tlstest.Cert(t, dir, "mx.example.test")
	ecCert, ecKey := tlstest.ECCert(t, dir, "other")
	kb, _ := os.ReadFile(key)
	cb, _ := os.ReadFile(cert)
	eb, _ := os.ReadFile(ecKey)
	write := func(name string, parts ...[]byte) string {
		var b []byte
		for _, p := range parts {
			b = append(b, p...)
		}
		if err := os.WriteFile(dir+"/"+name, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return dir + "/" + name
	}
	garbage := write("garbage.pem", []byte("hello\n"))
	certFirst := write("certfirst.pem", cb, kb)
	keyFirst := write("keyfirst.pem", kb, cb)
	keyOnly := write("keyonly.pem", kb)
	mismatch := write("mismatch.pem", eb, cb)
	twoKeys := write("twokeys.pem", kb, cb, eb)

	cases := [][]string{
		{"smtpd_tls_key_file=/nonexistent/key.pem"},
		{"smtpd_tls_cert_file=/nonexistent/cert.pem"},
		{"smtpd_tls_key_file=" + cert},
		{"smtpd_tls_cert_file=" + garbage},
		{"smtpd_tls_key_file=" + garbage},
		{"smtpd_tls_key_file=" + keyOnly},
		{"smtpd_tls_key_file=" + ecKey},
		{"smtpd_tls_cert_file=" + ecCert, "smtpd_tls_key_file=" + ecKey},
		{"smtpd_tls_cert_file=" + certFirst, "smtpd_tls_key_file=$smtpd_tls_cert_file"},
		{"smtpd_tls_cert_file=" + garbage, "smtpd_tls_key_file=$smtpd_tls_cert_file"},
		{"smtpd_tls_cert_file=" + keyOnly, "smtpd_tls_key_file=$smtpd_tls_cert_file"},
		{"smtpd_tls_eccert_file=" + garbage},
		{"smtpd_tls_eccert_file=" + ecCert, "smtpd_tls_eckey_file=" + garbage},
		{"smtpd_tls_cert_file=", "smtpd_tls_chain_files=" + certFirst},
		{"smtpd_tls_cert_file=", "smtpd_tls_chain_files=" + keyFirst},
		{"smtpd_tls_cert_file=", "smtpd_tls_chain_files=" + keyOnly},
		{"smtpd_tls_cert_file=", "smtpd_tls_chain_files=" + garbage},
		{"smtpd_tls_cert_file=", "smtpd_tls_chain_files=" + mismatch},
		{"smtpd_tls_cert_file=", "smtpd_tls_chain_files=" + twoKeys},
		{"smtpd_tls_chain_files=" + keyFirst},
		{"smtpd_tls_cert_file=", "smtpd_tls_key_file="},
		{"smtpd_tls_cert_file=", "smtpd_tls_key_file=", "smtpd_tls_ask_ccert=yes"},
		{"smtpd_tls_protocols=!SSLv2,TLSv9"},
		{"smtpd_tls_protocols=>=TLSv1.4"},
		{"smtpd_tls_protocols=<=0305"},
		{"smtpd_tls_protocols=!TLSv1.2,!TLSv1.3"},
		{"smtpd_tls_ciphers=bogus"},
		{"smtpd_tls_ciphers=null"},
		{"smtpd_tls_exclude_ciphers=!RC4"},
		{"smtpd_tls_exclude_ciphers=FOO,HIGH"},
		{"smtpd_tls_ask_ccert=yes", "smtpd_tls_CAfile=/nonexistent/ca.pem"},
		{"smtpd_tls_ask_ccert=yes", "smtpd_tls_CAfile=" + garbage},
		{"smtpd_tls_ask_ccert=yes", "smtpd_tls_CApath=/nonexistent"},
	}
	main := fmt.Sprintf("smtpd_tls_cert_file = %s\nsmtpd_tls_key_file = %s\nsmtpd_tls_security_level = may\n", cert, key)
	master := refMaster
	ports := make([]int, len(cases))
	for i, opts := range cases {
		ports[i] = flowtest.FreePort(t)
		master += fmt.Sprintf("127.0.0.1:%d inet n - n - 1 smtpd\n  -o syslog_name=postfix/c%d\n", ports[i], i)
		for _, o := range opts {
			master += "  -o " + o + "\n"
		}
	}
	ref := flowtest.NewReferenceWithMaster(t, main, master)
	ref.Start()

	for i, opts := range cases {
		flowtest.WaitPort(t, ports[i], 10*time.Second)
		c := flowtest.Dial(t, "127.0.0.1:"+strconv.Itoa(ports[i]))
		c.Cmd("EHLO client.example.org")
		c.Cmd("STARTTLS")
		c.Close()

		// Ours.
		cf := conf.New(t.TempDir(), nil)
		for _, kv := range [][2]string{{"smtpd_tls_cert_file", cert}, {"smtpd_tls_key_file", key}, {"smtpd_tls_security_level", "may"}} {
			cf.Set(kv[0], kv[1])
		}
		for _, o := range opts {
			n, v, _ := strings.Cut(o, "=")
			cf.Set(n, v)
		}
		var ours []string
		warned := []string{}
		old := Warn
		Warn = func(s string) { warned = append(warned, "warning: "+s) }
		_, err := ServerConfig(cf, "smtpd", false)
		Warn = old
		ours = append(ours, warned...)
		if err != nil {
			e, ok := err.(*Error)
			if !ok {
				t.Errorf("case %d %v: error is %T, not *Error: %v", i, opts, err, err)
				continue
			}
			for _, l := range e.Lines {
				prefix := ""
				if l.Warning {
					prefix = "warning: "
				}
				if e.Session {
					prefix += "localhost[127.0.0.1]: "
				}
				ours = append(ours, prefix+l.Text)
			}
		}
		want := refLines(t, ref, i)
		t.Logf("case %d: %q", i, want)
		if strings.Join(want, "\n") != strings.Join(ours, "\n") {
			t.Errorf("case %d %v:\nPostfix:\n\t%s\nours:\n\t%s", i, opts, strings.Join(want, "\n\t"), strings.Join(ours, "\n\t"))
		}
	}
}

// refLines returns the distinct lines (in order) that the smtpd of case i
// logged, less OpenSSL's and the per-session bookkeeping.
func refLines(t *testing.T, ref *flowtest.System, i int) []string {
	t.Helper()
	re := regexp.MustCompile(`postfix/c` + strconv.Itoa(i) + `/smtpd\[\d+\]: (.*)`)
	time.Sleep(100 * time.Millisecond)
	deadline := time.Now().Add(5 * time.Second)
	for {
		var out []string
		seen := map[string]bool{}
		done := false
		for _, l := range strings.Split(ref.LogText(), "\n") {
			m := re.FindStringSubmatch(l)
			if m == nil {
				continue
			}
			text := m[1]
			if strings.HasPrefix(text, "disconnect from") {
				done = true
			}
			if strings.HasPrefix(text, "connect from") || strings.HasPrefix(text, "disconnect from") ||
				strings.HasPrefix(text, "lost connection") || strings.Contains(text, "TLS library problem") ||
				strings.HasPrefix(text, "SSL_accept error") || strings.HasPrefix(text, "improper command pipelining") {
				continue
			}
			if !seen[text] {
				seen[text] = true
				out = append(out, text)
			}
		}
		if done || time.Now().After(deadline) {
			return out
		}
		time.Sleep(50 * time.Millisecond)
	}
}
