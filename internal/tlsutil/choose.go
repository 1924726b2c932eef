package tlsutil

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/tls"
	"net"
	"reflect"
	"sync"
	"sync/atomic"
	"time"
)

// choice is the certificate and TLS 1.3 signature scheme a handshake got.
type choice struct {
	cert   *tls.Certificate
	scheme tls.SignatureScheme // 0 when not known (TLS 1.2 and older)
	at     time.Time
}

// choices remembers, per connection, what chooseCert picked, until
// DescribeConn collects it; entries of handshakes that never finished are
// dropped after a few minutes.
var (
	choices    sync.Map // net.Conn → choice
	choiceAdds atomic.Uint32
)

func remember(conn net.Conn, c choice) {
	if conn == nil || !reflect.TypeOf(conn).Comparable() {
		return
	}
	choices.Store(conn, c)
	if choiceAdds.Add(1)%256 == 0 {
		old := time.Now().Add(-5 * time.Minute)
		choices.Range(func(k, v any) bool {
			if v.(choice).at.Before(old) {
				choices.Delete(k)
			}
			return true
		})
	}
}

func recall(conn net.Conn) (choice, bool) {
	if conn == nil || !reflect.TypeOf(conn).Comparable() {
		return choice{}, false
	}
	v, ok := choices.LoadAndDelete(conn)
	if !ok {
		return choice{}, false
	}
	return v.(choice), true
}

// chooseCert picks the server certificate as OpenSSL does. For TLS 1.3
// the client's signature algorithms decide, in the client's order: the
// first one some certificate can make wins (so an OpenSSL client, which
// lists ECDSA first, gets the ECDSA certificate when there is one), and
// that is also the scheme Go then signs with. Otherwise the first
// certificate the client can use.
func chooseCert(hello *tls.ClientHelloInfo, certs []tls.Certificate, vers uint16) choice {
	now := time.Now()
	if vers >= tls.VersionTLS13 {
		for _, sch := range hello.SignatureSchemes {
			for i := range certs {
				if canSign13(&certs[i], sch) {
					return choice{&certs[i], sch, now}
				}
			}
		}
	}
	return choice{pickCert(hello, certs), 0, now}
}

// canSign13 reports whether cert's key can make a TLS 1.3 signature with
// scheme.
func canSign13(cert *tls.Certificate, scheme tls.SignatureScheme) bool {
	switch k := cert.PrivateKey.(type) {
	case *rsa.PrivateKey:
		switch scheme {
		case tls.PSSWithSHA256:
			return k.Size() >= 2*32+2
		case tls.PSSWithSHA384:
			return k.Size() >= 2*48+2
		case tls.PSSWithSHA512:
			return k.Size() >= 2*64+2
		}
	case *ecdsa.PrivateKey:
		switch k.Curve.Params().Name {
		case "P-256":
			return scheme == tls.ECDSAWithP256AndSHA256
		case "P-384":
			return scheme == tls.ECDSAWithP384AndSHA384
		case "P-521":
			return scheme == tls.ECDSAWithP521AndSHA512
		}
	case ed25519.PrivateKey:
		return scheme == tls.Ed25519
	}
	return false
}

// schemeDigest names the digest of a signature scheme as OpenSSL does.
func schemeDigest(s tls.SignatureScheme) string {
	switch s {
	case tls.PSSWithSHA256, tls.PKCS1WithSHA256, tls.ECDSAWithP256AndSHA256:
		return "SHA256"
	case tls.PSSWithSHA384, tls.PKCS1WithSHA384, tls.ECDSAWithP384AndSHA384:
		return "SHA384"
	case tls.PSSWithSHA512, tls.PKCS1WithSHA512, tls.ECDSAWithP521AndSHA512:
		return "SHA512"
	}
	return ""
}

// DescribeConn is Describe for a server connection made with cfg (from
// ServerConfig) after its handshake: it knows which certificate and
// signature scheme the handshake used, so the server signature is exact
// even with several certificates or SNI. Call it once per connection.
func DescribeConn(tc *tls.Conn, cfg *tls.Config) Info {
	cs := tc.ConnectionState()
	ch, ok := recall(tc.NetConn())
	if !ok || ch.cert == nil {
		return DescribeConfig(cs, cfg)
	}
	i := Describe(cs, ch.cert)
	if d := schemeDigest(ch.scheme); d != "" && i.ServerDigest != "" && !cs.DidResume {
		i.ServerDigest = d
	}
	i.CertRequested = cfg != nil && cfg.ClientAuth != tls.NoClientCert
	return i
}
