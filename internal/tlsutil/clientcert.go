package tlsutil

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"time"
	"weak"
)

// verifyClient checks a client's chain against the trusted CAs and
// returns "" when it verifies, else OpenSSL's reason, which Postfix logs
// ("self-signed certificate", "untrusted issuer /O=…/CN=…",
// "certificate has expired", …).
func verifyClient(pool *x509.CertPool, chain []*x509.Certificate, depth int) string {
	leaf := chain[0]
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	now := time.Now()
	chains, err := leaf.Verify(x509.VerifyOptions{Roots: pool, Intermediates: inter, CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	if err == nil {
		for _, ch := range chains {
			if depth <= 0 || len(ch)-1 <= depth {
				return ""
			}
		}
		return "certificate chain too long"
	}
	var inv x509.CertificateInvalidError
	if errors.As(err, &inv) {
		switch inv.Reason {
		case x509.Expired:
			if now.Before(inv.Cert.NotBefore) {
				return "certificate is not yet valid"
			}
			return "certificate has expired"
		case x509.IncompatibleUsage:
			return "unsupported certificate purpose"
		}
		return "certificate verify failed"
	}
	var ua x509.UnknownAuthorityError
	if errors.As(err, &ua) {
		if selfSigned(leaf) {
			return "self-signed certificate"
		}
		if last := chain[len(chain)-1]; len(chain) > 1 && selfSigned(last) {
			return "self-signed certificate in certificate chain"
		}
		// Postfix's own words for OpenSSL's "unable to get local issuer
		// certificate".
		return "untrusted issuer " + onelineDN(leaf.RawIssuer)
	}
	return "certificate verify failed"
}

// dnShort are OpenSSL's short names of name attributes.
var dnShort = map[string]string{
	"2.5.4.3": "CN", "2.5.4.6": "C", "2.5.4.7": "L", "2.5.4.8": "ST", "2.5.4.9": "street",
	"2.5.4.10": "O", "2.5.4.11": "OU", "2.5.4.5": "serialNumber", "2.5.4.17": "postalCode",
	"2.5.4.4": "SN", "2.5.4.42": "GN", "2.5.4.12": "title", "2.5.4.46": "dnQualifier",
	"1.2.840.113549.1.9.1": "emailAddress", "0.9.2342.19200300.100.1.25": "DC",
	"0.9.2342.19200300.100.1.1": "UID",
}

// onelineDN formats a DER name as OpenSSL's X509_NAME_oneline does:
// "/O=Example/CN=Example CA", in the certificate's order.
func onelineDN(der []byte) string {
	var rdns pkix.RDNSequence
	if _, err := asn1.Unmarshal(der, &rdns); err != nil {
		return "/"
	}
	var b strings.Builder
	for _, rdn := range rdns {
		for _, atv := range rdn {
			name, ok := dnShort[atv.Type.String()]
			if !ok {
				name = atv.Type.String()
			}
			fmt.Fprintf(&b, "/%s=%v", name, atv.Value)
		}
	}
	return b.String()
}

func selfSigned(c *x509.Certificate) bool {
	return string(c.RawIssuer) == string(c.RawSubject) && c.CheckSignatureFrom(c) == nil
}

// trust remembers, per client leaf certificate, the verification result
// ("" = trusted); the entry goes when the certificate is collected.
var trust sync.Map // weak.Pointer[x509.Certificate] → string

func rememberTrust(chain []*x509.Certificate, reason string) {
	leaf := chain[0]
	key := weak.Make(leaf)
	if _, loaded := trust.Swap(key, reason); !loaded {
		runtime.AddCleanup(leaf, func(k weak.Pointer[x509.Certificate]) { trust.Delete(k) }, key)
	}
}

// trusted returns whether leaf verified and, if not, why ("" when it was
// never checked: no CAs asked for).
func trusted(leaf *x509.Certificate) (bool, string) {
	v, ok := trust.Load(weak.Make(leaf))
	if !ok {
		return false, ""
	}
	r := v.(string)
	return r == "", r
}

// VerifyLine is the line Postfix logs when smtpd_tls_req_ccert applies
// and a client certificate fails verification (before "Untrusted TLS
// connection established …"; with ask_ccert alone Postfix logs nothing):
// "certificate verification failed for host[addr]: self-signed
// certificate"; "" when there is nothing to log.
func (i Info) VerifyLine(client string) string {
	if i.PeerCert == nil || i.PeerTrusted || i.VerifyError == "" {
		return ""
	}
	return fmt.Sprintf("certificate verification failed for %s: %s", client, i.VerifyError)
}

// RequireTrusted applies smtpd_tls_req_ccert (security level encrypt)
// after the handshake: ok when the client presented a trusted
// certificate; else Postfix's log text ("NOQUEUE: abort: TLS from
// host[addr]: No client certificate presented" or "…: Client certificate
// not trusted") and its reply ("421 4.7.1 myhostname Error: …"), after
// which smtpd hangs up.
func (i Info) RequireTrusted(client, myhostname string) (ok bool, logText, reply string) {
	var why string
	switch {
	case i.PeerCert == nil:
		why = "No client certificate presented"
	case !i.PeerTrusted:
		why = "Client certificate not trusted"
	default:
		return true, "", ""
	}
	return false, fmt.Sprintf("NOQUEUE: abort: TLS from %s: %s", client, why),
		fmt.Sprintf("421 4.7.1 %s Error: %s", myhostname, why)
}
