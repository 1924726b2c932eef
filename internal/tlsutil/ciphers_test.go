package tlsutil

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/postfix-go/postfix/conf"
)

// TestCipherListsOpenSSL evaluates cipher strings, built as Postfix builds
// them (grade list, then ":!word" per exclusion), both with our evaluator
// and with Debian's `openssl ciphers`, and compares the suites Go has, in
// order.
func TestCipherListsOpenSSL(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl(1) is not installed")
	}
	known := map[string]bool{}
	for _, s := range suites {
		if !s.phantom && !s.v13 {
			known[s.name] = true
		}
	}
	c := conf.New(t.TempDir(), nil)
	var lists []string
	for _, g := range []string{"export", "low", "medium", "high"} {
		lists = append(lists, c.Get(CipherGrades[g]))
	}
	med := c.Get("tls_medium_cipherlist")
	for _, ex := range []string{"aNULL", "kRSA", "SHA1", "AESGCM:!CHACHA20", "ECDHE", "aECDSA", "AES256",
		"ECDHE+AES128", "ECDHE-RSA-AES128-SHA:!AES128-SHA", "SHA256", "SHA384", "RSA", "ECDSA", "AES",
		"kECDHE", "EECDH", "TLSv1.2", "SSLv3", "TLSv1", "TLSv1.0", "CHACHA20", "AEAD", "aRSA", "SHA", "MD5", "3DES", "CAMELLIA", "AESGCM+AES128", "HIGH+kRSA"} {
		lists = append(lists, med+":!"+ex)
	}
	lists = append(lists, "ECDHE:+AES128:@STRENGTH", "kRSA:ECDHE+AESGCM", "HIGH:-AES256:AES256",
		"AES128-SHA:ECDHE-RSA-AES256-SHA", "ALL:!ECDHE", "HIGH:+kRSA", "DEFAULT", "ALL:@STRENGTH",
		"aNULL:-aNULL:HIGH:!kRSA:+AES128:@STRENGTH")
	for _, l := range lists {
		out, err := exec.Command("openssl", "ciphers", l).Output()
		if err != nil {
			t.Errorf("openssl ciphers %q: %v", l, err)
			continue
		}
		var want []string
		for _, n := range strings.Split(strings.TrimSpace(string(out)), ":") {
			if known[n] {
				want = append(want, n)
			}
		}
		got := CipherNames(l)
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("%s:\nopenssl: %s\nours:    %s", l, strings.Join(want, " "), strings.Join(got, " "))
		}
	}
}
