package tlsutil

import (
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/postfix-go/postfix/conf"
	"github.com/postfix-go/postfix/internal/flowtest"
	"github.com/postfix-go/postfix/internal/tlsutil/tlstest"
)

// TestReferenceProtocols offers each TLS version in turn (openssl
// s_client -tls1 … -tls1_3, at security level 0 so that the client itself
// refuses nothing) to Debian's smtpd and to a server from ServerConfig
// with the same protocol and cipher settings, and compares which version
// each side agrees to, or that both refuse.
func TestReferenceProtocols(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	cert, key := tlstest.Cert(t, dir, "mx.example.test")
	settings := [][]string{
		{},
		{"smtpd_tls_protocols=>=TLSv1.2"},
		{"smtpd_tls_protocols=!SSLv2, !SSLv3, !TLSv1, !TLSv1.1"},
		{"smtpd_tls_protocols=<=TLSv1.2"},
		{"smtpd_tls_protocols=TLSv1.2"},
		{"smtpd_tls_protocols=TLSv1.1:TLSv1.3"},
		{"smtpd_tls_protocols=!TLSv1.2"},
		{"smtpd_tls_protocols=!TLSv1.3"},
		{"smtpd_tls_protocols=>=TLSv1.1 <=TLSv1.2"},
		{"smtpd_tls_protocols=>=0x0303"},
		{"smtpd_tls_protocols=<=0305"},
		{"smtpd_tls_protocols=>=TLSv1.3, <=TLSv1.2"},
		{"smtpd_tls_ciphers=null"},
		{"smtpd_tls_ciphers=high", "smtpd_tls_exclude_ciphers=AESGCM, CHACHA20"},
		{"smtpd_tls_mandatory_protocols=TLSv1", "smtpd_tls_security_level=encrypt"},
		{"smtpd_tls_protocols=TLSv1.2", "smtpd_tls_mandatory_protocols=TLSv1.1", "smtpd_tls_wrappermode=yes"},
	}
	versions := []string{"-tls1", "-tls1_1", "-tls1_2", "-tls1_3"}

	main := fmt.Sprintf("smtpd_tls_cert_file = %s\nsmtpd_tls_key_file = %s\nsmtpd_tls_security_level = may\n", cert, key)
	master := refMaster
	ports := make([]int, len(settings))
	ours := make([]*ourServer, len(settings))
	wrap := make([]bool, len(settings))
	for i, opts := range settings {
		ports[i] = flowtest.FreePort(t)
		master += fmt.Sprintf("127.0.0.1:%d inet n - n - - smtpd\n", ports[i])
		cf := conf.New(t.TempDir(), nil)
		cf.Set("smtpd_tls_cert_file", cert)
		cf.Set("smtpd_tls_key_file", key)
		mandatory, wrapper := false, false
		for _, o := range opts {
			n, v, _ := strings.Cut(o, "=")
			master += fmt.Sprintf("  -o {%s=%s}\n", n, v)
			cf.Set(n, v)
			mandatory = mandatory || o == "smtpd_tls_security_level=encrypt"
			wrapper = wrapper || o == "smtpd_tls_wrappermode=yes"
		}
		cfg, err := ServerConfig(cf, "smtpd", mandatory)
		if err != nil {
			t.Fatalf("%v: %v", opts, err)
		}
		ours[i] = startOurs(t, cfg)
		ours[i].starttls = !wrapper
		wrap[i] = wrapper
	}
	ref := flowtest.NewReferenceWithMaster(t, main, master)
	ref.Start()

	proto := regexp.MustCompile(`(?m)^New, (\S+), Cipher is (\S+)`)
	probe := func(addr, v string, wrapper bool) string {
		args := []string{"s_client", "-connect", addr, v, "-cipher", "DEFAULT@SECLEVEL=0"}
		if !wrapper {
			args = append(args, "-starttls", "smtp")
		}
		cmd := exec.Command("openssl", args...)
		cmd.Stdin = strings.NewReader("QUIT\r\n")
		out, _ := cmd.CombinedOutput()
		m := proto.FindStringSubmatch(string(out))
		if m == nil || m[2] == "(NONE)" {
			return "refused"
		}
		return m[1]
	}
	results := make([][2]string, len(settings))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for i := range settings {
		flowtest.WaitPort(t, ports[i], 10*time.Second)
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			var got, want []string
			for _, v := range versions {
				want = append(want, v+"="+probe("127.0.0.1:"+strconv.Itoa(ports[i]), v, wrap[i]))
				got = append(got, v+"="+probe(ours[i].ln.Addr().String(), v, wrap[i]))
			}
			results[i] = [2]string{strings.Join(want, " "), strings.Join(got, " ")}
		}()
	}
	wg.Wait()
	for i, opts := range settings {
		if results[i][0] != results[i][1] {
			t.Errorf("%v:\nPostfix: %s\nours:    %s", opts, results[i][0], results[i][1])
		} else {
			t.Logf("%v: %s", opts, results[i][1])
		}
	}
}
