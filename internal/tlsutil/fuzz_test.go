package tlsutil

import (
	"crypto/tls"
	"strings"
	"testing"
)

// FuzzParseProtocols: any protocol list gives either Postfix's warning or
// an ascending set of versions Go knows.
func FuzzParseProtocols(f *testing.F) {
	for _, s := range []string{">=TLSv1", "!SSLv2, !SSLv3", ">=TLSv1.2, <=TLSv1.3", "TLSv1.1:TLSv1.3", ">=0x0303", "!TLSv9", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, list string) {
		p, err := ParseProtocols(list)
		if err != nil {
			e, ok := err.(*Error)
			if !ok || len(e.Lines) != 1 || !strings.Contains(e.Lines[0].Text, list) {
				t.Fatalf("%q: bad error %v", list, err)
			}
			return
		}
		for i, v := range p.Versions {
			if v < tls.VersionTLS10 || v > tls.VersionTLS13 || i > 0 && v <= p.Versions[i-1] {
				t.Fatalf("%q: bad versions %v", list, p.Versions)
			}
		}
	})
}

// FuzzCipherList: any cipher string and exclusion list evaluates without
// panic to distinct suites Go implements (never RC4 or 3DES), or to one
// of Postfix's warnings.
func FuzzCipherList(f *testing.F) {
	for _, s := range [][2]string{
		{"aNULL:-aNULL:HIGH:MEDIUM:+RC4:@STRENGTH", ""},
		{"aNULL:-aNULL:HIGH:@STRENGTH", "aNULL, kRSA"},
		{"eNULL:!aNULL", ""},
		{"ECDHE+AESGCM:kRSA:+AES128", "SHA1"},
		{"ALL:@SECLEVEL=0", "!RC4"},
		{"HIGH:-AES256:AES256", "HIGH"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, list, exclude string) {
		ids, err := SelectCiphers("high", func(string) string { return list }, strings.FieldsFunc(exclude, isCipherSep))
		if err != nil {
			if e, ok := err.(*Error); !ok || !e.Session {
				t.Fatalf("%q %q: bad error %v", list, exclude, err)
			}
			return
		}
		seen := map[uint16]bool{}
		for _, id := range ids {
			s := suiteByID(id)
			if s == nil || s.v13 || s.unavailable() || seen[id] {
				t.Fatalf("%q %q: bad suite list %v", list, exclude, ids)
			}
			seen[id] = true
		}
	})
}

// FuzzChainData: any file content given as smtpd_tls_chain_files (or as
// a combined certificate and key file) loads or yields Postfix's
// warnings, never a panic.
func FuzzChainData(f *testing.F) {
	f.Add([]byte("hello\n"))
	f.Add([]byte("-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIF0=\n-----END PRIVATE KEY-----\n"))
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		objs, perr := parsePEM("F", data)
		if perr != nil {
			if len(perr.Lines) == 0 {
				t.Fatal("error without lines")
			}
			return
		}
		if _, err := chainCerts("F", objs); err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error %T", err)
			}
		}
	})
}
