package tlsutil

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"strings"
)

// Info describes an established TLS connection the way Postfix's log
// lines and Received header do.
type Info struct {
	Protocol     string // "TLSv1.3"
	Cipher       string // OpenSSL name: "TLS_AES_256_GCM_SHA384", "ECDHE-RSA-AES256-GCM-SHA384"
	Bits         int    // cipher strength bits
	AlgBits      int    // cipher algorithm bits
	KeyExchange  string // "X25519", "ECDHE (prime256v1)"; "" when not logged
	ServerSig    string // "RSA-PSS (2048 bits)", "ECDSA (prime256v1)"; "" when not logged
	ServerDigest string // "SHA256"; "" when not logged
	ClientSig    string // the client certificate's signature, like ServerSig
	ClientDigest string // its digest, like ServerDigest
	// PeerCert is the client's certificate, nil when it sent none.
	PeerCert *x509.Certificate
	// PeerTrusted reports whether PeerCert verified against the CAs of
	// _CAfile/_CApath.
	PeerTrusted bool
	// CertRequested reports whether the server asked for a client
	// certificate (_ask_ccert/_req_ccert).
	CertRequested bool
	// VerifyError is OpenSSL's reason why PeerCert did not verify
	// ("self-signed certificate"), "" when it did or was not checked.
	VerifyError string
	// PeerCN and IssuerCN are the client certificate's subject and issuer
	// common names ("" when none).
	PeerCN, IssuerCN string
}

// Describe gathers the Info of a finished server handshake; serverCert
// is the certificate the server presented (nil: the first of the
// handshake's config is unknown, so no signature is reported).
// CertRequested is left for the caller (who knows the configuration);
// DescribeConfig fills it in.
func Describe(cs tls.ConnectionState, serverCert *tls.Certificate) Info {
	i := Info{Protocol: VersionName(cs.Version), Cipher: CipherName(cs.CipherSuite)}
	if s := suiteByID(cs.CipherSuite); s != nil {
		i.Bits, i.AlgBits = s.bits, s.algBits
	}
	// Postfix 3.7 with OpenSSL 3 logs the key exchange and the
	// signatures for TLS 1.3 only; for TLS 1.2 the server side of
	// OpenSSL 3.0 does not report them.
	tls13 := cs.Version >= tls.VersionTLS13
	if tls13 {
		i.KeyExchange = kexName(cs.CurveID)
		if serverCert != nil {
			i.ServerSig, i.ServerDigest = sigParams(serverCert.PrivateKey)
		}
		if cs.DidResume {
			// Nothing was signed: OpenSSL reports the key, no digest.
			i.ServerDigest = ""
		}
	}
	if len(cs.PeerCertificates) > 0 {
		leaf := cs.PeerCertificates[0]
		if tls13 {
			i.ClientSig, i.ClientDigest = sigParams(leaf.PublicKey)
		}
		i.PeerCert = leaf
		ok, why := trusted(leaf)
		i.PeerTrusted = len(cs.VerifiedChains) > 0 || ok
		if !i.PeerTrusted {
			i.VerifyError = why
		}
		i.PeerCN = leaf.Subject.CommonName
		i.IssuerCN = leaf.Issuer.CommonName
	}
	return i
}

// DescribeConfig is Describe for a connection made with cfg (from
// ServerConfig): it picks the server certificate that matches the
// negotiated suite and records whether a client certificate was asked for.
func DescribeConfig(cs tls.ConnectionState, cfg *tls.Config) Info {
	var cert *tls.Certificate
	var certs []tls.Certificate
	if cfg != nil {
		certs = Certificates(cfg)
	}
	if len(certs) > 0 {
		cert = &certs[0]
		wantEC := strings.Contains(CipherName(cs.CipherSuite), "ECDSA")
		for k := range certs {
			c := &certs[k]
			if isEC(c) == wantEC && cs.Version < tls.VersionTLS13 {
				cert = c
				break
			}
		}
	}
	i := Describe(cs, cert)
	i.CertRequested = cfg != nil && cfg.ClientAuth != tls.NoClientCert
	return i
}

// kexName names the key exchange group as Postfix logs it.
func kexName(id tls.CurveID) string {
	switch id {
	case 0:
		return ""
	case tls.X25519:
		return "X25519"
	}
	if n := curveSN(id); n != "" {
		return "ECDHE (" + n + ")"
	}
	return id.String()
}

// curveSN is OpenSSL's short name of a curve, which Postfix logs.
func curveSN(id tls.CurveID) string {
	switch id {
	case tls.CurveP256:
		return "prime256v1"
	case tls.CurveP384:
		return "secp384r1"
	case tls.CurveP521:
		return "secp521r1"
	}
	return ""
}

// sigParams names a TLS 1.3 signature made with key (a private or public
// key) and its digest. Go does not report the signature scheme it used;
// TLS 1.3 allows only RSA-PSS for RSA keys and binds the digest of ECDSA
// to the curve, and every common client lists SHA-256 first among the
// RSA-PSS schemes, so the result is what OpenSSL reports.
func sigParams(key any) (sig, digest string) {
	switch k := key.(type) {
	case *rsa.PrivateKey:
		return fmt.Sprintf("RSA-PSS (%d bits)", k.N.BitLen()), "SHA256"
	case *rsa.PublicKey:
		return fmt.Sprintf("RSA-PSS (%d bits)", k.N.BitLen()), "SHA256"
	case *ecdsa.PrivateKey:
		return ecdsaSig(k.Curve.Params().Name)
	case *ecdsa.PublicKey:
		return ecdsaSig(k.Curve.Params().Name)
	case ed25519.PrivateKey, ed25519.PublicKey:
		return "ED25519", ""
	}
	return "", ""
}

func ecdsaSig(curve string) (string, string) {
	switch curve {
	case "P-256":
		return "ECDSA (prime256v1)", "SHA256"
	case "P-384":
		return "ECDSA (secp384r1)", "SHA384"
	case "P-521":
		return "ECDSA (secp521r1)", "SHA512"
	}
	return "ECDSA (" + curve + ")", ""
}

// LogText is the description Postfix logs after "TLS connection
// established from …: ": protocol, cipher, bits, key exchange and
// server signature.
func (i Info) LogText() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s with cipher %s (%d/%d bits)", i.Protocol, i.Cipher, i.Bits, i.AlgBits)
	if i.KeyExchange != "" {
		b.WriteString(" key-exchange " + i.KeyExchange)
	}
	if i.ServerSig != "" {
		b.WriteString(" server-signature " + i.ServerSig)
		if i.ServerDigest != "" {
			b.WriteString(" server-digest " + i.ServerDigest)
		}
	}
	if i.ClientSig != "" {
		b.WriteString(" client-signature " + i.ClientSig)
		if i.ClientDigest != "" {
			b.WriteString(" client-digest " + i.ClientDigest)
		}
	}
	return b.String()
}

// Trust is the word Postfix puts before "TLS connection established":
// "Anonymous" without a client certificate, "Untrusted" or "Trusted".
func (i Info) Trust() string {
	switch {
	case i.PeerCert == nil:
		return "Anonymous"
	case i.PeerTrusted:
		return "Trusted"
	}
	return "Untrusted"
}

// LogLine is the whole line smtpd logs (at smtpd_tls_loglevel 1) once a
// handshake with client host[addr] is done.
func (i Info) LogLine(host, addr string) string {
	return fmt.Sprintf("%s TLS connection established from %s[%s]: %s", i.Trust(), host, addr, i.LogText())
}

// Received returns the comment lines smtpd_tls_received_header adds to
// the Received header after "from …" and before "by …": each is written
// as a continuation line, a tab followed by the returned text (which for
// the key exchange line starts with one more space, as Postfix's does).
func (i Info) Received() []string {
	lines := []string{fmt.Sprintf("(using %s with cipher %s (%d/%d bits)", i.Protocol, i.Cipher, i.Bits, i.AlgBits)}
	var server []string
	if i.KeyExchange != "" {
		server = append(server, "key-exchange "+i.KeyExchange)
	}
	if i.ServerSig != "" {
		server = append(server, "server-signature "+i.ServerSig)
		if i.ServerDigest != "" {
			server = append(server, "server-digest "+i.ServerDigest)
		}
	}
	if len(server) > 0 {
		lines = append(lines, " "+strings.Join(server, " "))
	}
	if i.ClientSig != "" {
		l := " client-signature " + i.ClientSig
		if i.ClientDigest != "" {
			l += " client-digest " + i.ClientDigest
		}
		lines = append(lines, l)
	}
	lines[len(lines)-1] += ")"
	switch {
	case !i.CertRequested && i.PeerCert == nil:
		lines = append(lines, "(No client certificate requested)")
	case i.PeerCert == nil:
		lines = append(lines, "(Client did not present a certificate)")
	default:
		v := "not verified"
		if i.PeerTrusted {
			v = "verified OK"
		}
		lines = append(lines, fmt.Sprintf("(Client CN \"%s\", Issuer \"%s\" (%s))", i.PeerCN, i.IssuerCN, v))
	}
	return lines
}
