package tlsutil

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"syscall"

	"github.com/postfix-go/postfix/conf"
)

// serverCerts loads the server's keys and certificate chains, from
// PREFIX_tls_chain_files or else from the legacy parameters.
func serverCerts(prefix string, p func(string) string) ([]tls.Certificate, error) {
	if files := conf.SplitList(p("chain_files")); len(files) > 0 {
		if p("cert_file") != "" || p("eccert_file") != "" || p("dcert_file") != "" {
			// Postfix's text, double spaces included.
			Warn(fmt.Sprintf("Both %[1]s_tls_chain_files and one or more of the legacy  %[1]s_tls_cert_file, %[1]s_tls_eccert_file or %[1]s_tls_dcert_file are non-empty; the legacy  parameters will be ignored", prefix))
		}
		var out []tls.Certificate
		for _, f := range files {
			cs, err := LoadChainFile(f)
			if err != nil {
				return nil, err
			}
			out = append(out, cs...)
		}
		return out, nil
	}
	var out []tls.Certificate
	for _, pair := range []struct{ cert, key, alg string }{
		{p("cert_file"), p("key_file"), "RSA"},
		{p("eccert_file"), p("eckey_file"), "ECDSA"},
	} {
		if pair.cert == "" {
			continue
		}
		var cert tls.Certificate
		var err error
		if pair.key == "" || pair.key == pair.cert {
			cert, err = loadMixed(pair.cert)
		} else {
			cert, err = loadPair(pair.cert, pair.key, pair.alg)
		}
		if err != nil {
			return nil, err
		}
		out = append(out, cert)
	}
	return out, nil
}

// pemObject is one key or certificate of a PEM file, with its 1-based
// position (Postfix's "index").
type pemObject struct {
	index int
	cert  *x509.Certificate
	key   crypto.Signer
}

// readPEM reads the keys and certificates of file.
func readPEM(file string) ([]pemObject, *Error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, warnErr("error opening chain file: %s: %s", file, strerror(err))
	}
	return parsePEM(file, data)
}

// parsePEM reads the keys and certificates of PEM data from file.
func parsePEM(file string, data []byte) ([]pemObject, *Error) {
	var out []pemObject
	var err error
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		o := pemObject{index: len(out) + 1}
		switch {
		case b.Type == "CERTIFICATE" || b.Type == "TRUSTED CERTIFICATE":
			o.cert, err = x509.ParseCertificate(b.Bytes)
		case strings.HasSuffix(b.Type, "PRIVATE KEY"):
			o.key, err = parseKey(b.Bytes)
		default:
			continue
		}
		if err != nil {
			return nil, warnErr("error loading chain from %s: %v", file, err).
				with("error loading private keys and certificates from: %s: disabling TLS support", file)
		}
		out = append(out, o)
	}
	if len(out) == 0 {
		return nil, warnErr("No PEM data in %s", file).
			with("error loading private keys and certificates from: %s: disabling TLS support", file)
	}
	return out, nil
}

// parseKey reads a PKCS#8, PKCS#1 or SEC 1 private key.
func parseKey(der []byte) (crypto.Signer, error) {
	if k, err := x509.ParsePKCS8PrivateKey(der); err == nil {
		if s, ok := k.(crypto.Signer); ok {
			return s, nil
		}
		return nil, errors.New("unsupported private key type")
	}
	if k, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		return k, nil
	}
	if k, err := x509.ParseECPrivateKey(der); err == nil {
		return k, nil
	}
	return nil, errors.New("cannot parse private key")
}

func strerror(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		s := errno.Error()
		return strings.ToUpper(s[:1]) + s[1:]
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// matches reports whether key belongs to cert.
func matches(key crypto.Signer, cert *x509.Certificate) bool {
	type equaler interface{ Equal(crypto.PublicKey) bool }
	pub, ok := key.Public().(equaler)
	return ok && pub.Equal(cert.PublicKey)
}

func certOf(key crypto.Signer, chain []*x509.Certificate) tls.Certificate {
	c := tls.Certificate{PrivateKey: key, Leaf: chain[0]}
	for _, x := range chain {
		c.Certificate = append(c.Certificate, x.Raw)
	}
	return c
}

// LoadChainFile loads one file of smtpd_tls_chain_files: one or more
// private keys, each directly followed by its certificate chain, leaf
// first. Problems are reported in Postfix's words.
func LoadChainFile(file string) ([]tls.Certificate, error) {
	objs, perr := readPEM(file)
	if perr != nil {
		return nil, perr
	}
	return chainCerts(file, objs)
}

// chainCerts pairs the keys of a chain file with their chains.
func chainCerts(file string, objs []pemObject) ([]tls.Certificate, error) {
	fail := func(format string, args ...any) error {
		return warnErr(format, args...).
			with("error loading private keys and certificates from: %s: disabling TLS support", file)
	}
	if objs[0].key == nil {
		return nil, fail("error loading chain from %s: key not first", file)
	}
	var out []tls.Certificate
	for i := 0; i < len(objs); {
		k := objs[i]
		j := i + 1
		var chain []*x509.Certificate
		for ; j < len(objs) && objs[j].cert != nil; j++ {
			chain = append(chain, objs[j].cert)
		}
		if len(chain) == 0 {
			return nil, fail("No certs for key at index %d in %s", k.index, file)
		}
		if !matches(k.key, chain[0]) {
			return nil, fail("key at index %d in %s does not match next certificate", k.index, file)
		}
		out = append(out, certOf(k.key, chain))
		i = j
	}
	return out, nil
}

// loadMixed loads a legacy certificate file that also holds the key
// (PREFIX_tls_key_file equal to the certificate file): the key and the
// certificates may come in any order; the certificate that matches the
// key is the leaf, the others its chain in file order.
func loadMixed(file string) (tls.Certificate, error) {
	objs, perr := readPEM(file)
	if perr != nil {
		return tls.Certificate{}, perr
	}
	fail := func(format string, args ...any) error {
		return warnErr(format, args...).
			with("error loading private keys and certificates from: %s: disabling TLS support", file)
	}
	var key *pemObject
	var certs []*x509.Certificate
	for i := range objs {
		if objs[i].key != nil {
			if key == nil {
				key = &objs[i]
			}
		} else {
			certs = append(certs, objs[i].cert)
		}
	}
	if key == nil {
		return tls.Certificate{}, fail("No private key found in %s", file)
	}
	if len(certs) == 0 {
		return tls.Certificate{}, fail("No certs for key at index %d in %s", key.index, file)
	}
	for i, c := range certs {
		if matches(key.key, c) {
			chain := append([]*x509.Certificate{c}, append(append([]*x509.Certificate{}, certs[:i]...), certs[i+1:]...)...)
			return certOf(key.key, chain), nil
		}
	}
	return tls.Certificate{}, fail("key at index %d in %s does not match next certificate", key.index, file)
}

// loadPair loads a legacy certificate file and a separate key file; alg
// ("RSA", "ECDSA") is the slot's name in Postfix's warnings.
func loadPair(certFile, keyFile, alg string) (tls.Certificate, error) {
	var certs []*x509.Certificate
	if b, err := os.ReadFile(certFile); err == nil {
		for {
			var blk *pem.Block
			blk, b = pem.Decode(b)
			if blk == nil {
				break
			}
			if blk.Type == "CERTIFICATE" {
				if c, err := x509.ParseCertificate(blk.Bytes); err == nil {
					certs = append(certs, c)
				}
			}
		}
	}
	if len(certs) == 0 {
		return tls.Certificate{}, warnErr("cannot get %s certificate from file \"%s\": disabling TLS support", alg, certFile)
	}
	var key crypto.Signer
	if b, err := os.ReadFile(keyFile); err == nil {
		for {
			var blk *pem.Block
			blk, b = pem.Decode(b)
			if blk == nil {
				break
			}
			if strings.HasSuffix(blk.Type, "PRIVATE KEY") {
				key, _ = parseKey(blk.Bytes)
				break
			}
		}
	}
	if key == nil {
		return tls.Certificate{}, warnErr("cannot get %s private key from file \"%s\": disabling TLS support", alg, keyFile)
	}
	if !matches(key, certs[0]) {
		return tls.Certificate{}, warnErr("%s private key in %s does not match public key in %s: disabling TLS support", alg, keyFile, certFile)
	}
	return certOf(key, certs), nil
}

// LoadKeyPair loads a certificate chain and its private key from PEM
// files as the legacy PREFIX_tls_cert_file and _key_file are read (the key
// may sit in the certificate file: keyFile "" or equal to certFile).
func LoadKeyPair(certFile, keyFile string) (tls.Certificate, error) {
	if keyFile == "" || keyFile == certFile {
		return loadMixed(certFile)
	}
	return loadPair(certFile, keyFile, "RSA")
}

// isEC reports whether c has an ECDSA key.
func isEC(c *tls.Certificate) bool {
	_, ok := c.PrivateKey.(*ecdsa.PrivateKey)
	return ok
}
