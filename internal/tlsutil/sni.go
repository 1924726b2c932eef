package tlsutil

import (
	"crypto/tls"
	"encoding/base64"
	"strings"
	"sync"

	"github.com/postfix-go/postfix/conf"
	"github.com/postfix-go/postfix/maptypes"
)

// setSNI makes the server choose its certificate by the client's SNI name
// through tls_server_sni_maps: the name is looked up, then its parent
// domains as ".parent.domain". The value is what "postmap -F" stores (the
// base64 of the chain files' contents) or, in tables built without -F, a
// list of chain files; either way in the smtpd_tls_chain_files format.
// It returns the certificates for a name, none when the name has no entry
// (the caller then uses the default ones).
func setSNI(cfg *tls.Config, spec string) (func(name string) ([]tls.Certificate, error), error) {
	var tables []maptypes.Table
	for _, s := range conf.SplitList(spec) {
		t, err := maptypes.Open(s, maptypes.Default)
		if err != nil {
			return nil, warnErr("%v", err)
		}
		tables = append(tables, t)
	}
	var cache sync.Map // value → []tls.Certificate
	return func(name string) ([]tls.Certificate, error) {
		name = strings.ToLower(strings.TrimSuffix(name, "."))
		if name == "" {
			return nil, nil
		}
		for _, key := range sniKeys(name) {
			for _, t := range tables {
				v, ok, err := t.Lookup(key)
				if err != nil {
					return nil, err
				}
				if !ok {
					continue
				}
				if c, ok := cache.Load(v); ok {
					return c.([]tls.Certificate), nil
				}
				certs, err := sniCerts(key, v)
				if err != nil {
					return nil, err
				}
				cache.Store(v, certs)
				return certs, nil
			}
		}
		return nil, nil
	}, nil
}

func isListSep(r rune) bool { return r == ' ' || r == ',' || r == '\t' || r == '\n' }

// sniCerts turns an SNI table value into certificates.
func sniCerts(key, v string) ([]tls.Certificate, error) {
	if data, err := base64.StdEncoding.DecodeString(strings.TrimSpace(v)); err == nil && strings.Contains(string(data), "-----BEGIN") {
		objs, perr := parsePEM("SNI entry "+key, data)
		if perr != nil {
			return nil, perr
		}
		return chainCerts("SNI entry "+key, objs)
	}
	var certs []tls.Certificate
	for _, f := range strings.FieldsFunc(v, isListSep) {
		cs, err := LoadChainFile(f)
		if err != nil {
			return nil, err
		}
		certs = append(certs, cs...)
	}
	return certs, nil
}

// sniKeys lists the lookup keys for a name: the name itself, then each
// parent domain with a leading dot ("a.b.c" → "a.b.c", ".b.c", ".c").
func sniKeys(name string) []string {
	keys := []string{name}
	for i := 0; i < len(name); i++ {
		if name[i] == '.' && i+1 < len(name) {
			keys = append(keys, name[i:])
		}
	}
	return keys
}

// pickCert chooses the first certificate the client can use.
func pickCert(hello *tls.ClientHelloInfo, certs []tls.Certificate) *tls.Certificate {
	for i := range certs {
		if hello.SupportsCertificate(&certs[i]) == nil {
			return &certs[i]
		}
	}
	if len(certs) > 0 {
		return &certs[0]
	}
	return nil
}
