package tlsutil

import (
	"crypto/tls"
	"slices"
	"strings"
)

// perHello adjusts each handshake to OpenSSL's ways. The version: Go
// only knows a range of versions, OpenSSL's server any set; for a set
// with holes ("TLSv1.1:TLSv1.3", "!TLSv1.2") the handshake gets exactly
// the highest version both sides allow. The TLS 1.2 suite: OpenSSL's
// choice rather than Go's:
// Go picks by its own order whatever CipherSuites says, while OpenSSL (and
// so Postfix) takes the client's first acceptable suite, or with
// tls_preempt_cipherlist = yes the first of the server's list that the
// client offers. A per-handshake config offers Go just that one suite.
// TLS 1.3 suites cannot be steered in Go (see the package comment). The
// TLS 1.3 key exchange group: OpenSSL's choice (tls13Group).
func perHello(cfg *tls.Config, certs []tls.Certificate, pr Protocols, serverOrder bool) {
	allowed := cfg.CipherSuites
	haveRSA, haveEC := false, false
	for i := range certs {
		if isEC(&certs[i]) {
			haveEC = true
		} else {
			haveRSA = true
		}
	}
	prefs := cfg.CurvePreferences
	cfg.GetConfigForClient = func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
		vers := negotiatedVersion(hello, pr)
		var c *tls.Config
		if !pr.contiguous() && vers != 0 {
			c = cfg.Clone()
			c.GetConfigForClient = nil
			c.MinVersion, c.MaxVersion = vers, vers
		}
		if vers >= tls.VersionTLS13 {
			if g := tls13Group(hello.SupportedCurves, prefs); g != 0 {
				if c == nil {
					c = cfg.Clone()
					c.GetConfigForClient = nil
				}
				c.CurvePreferences = []tls.CurveID{g}
			}
			return c, nil
		}
		if vers == 0 {
			return c, nil
		}
		usable := func(id uint16) bool {
			s := suiteByID(id)
			if s == nil || !slices.Contains(allowed, id) {
				return false
			}
			if vers < tls.VersionTLS12 && s.hasAlias("TLSv1.2") {
				return false
			}
			ec := strings.Contains(s.name, "ECDSA")
			if ec && !haveEC || !ec && !haveRSA {
				return false
			}
			if strings.HasPrefix(s.name, "ECDHE") && len(prefs) > 0 && len(hello.SupportedCurves) > 0 {
				ok := false
				for _, c := range hello.SupportedCurves {
					ok = ok || slices.Contains(prefs, c)
				}
				if !ok {
					return false
				}
			}
			return true
		}
		first, second := hello.CipherSuites, allowed
		if serverOrder {
			first, second = allowed, hello.CipherSuites
		}
		for _, id := range first {
			if usable(id) && slices.Contains(second, id) {
				if c == nil {
					c = cfg.Clone()
					c.GetConfigForClient = nil
				}
				c.CipherSuites = []uint16{id}
				return c, nil
			}
		}
		return c, nil
	}
}

// tls13Group is the key exchange group OpenSSL's server picks in TLS
// 1.3: the group of the client's key share when the server allows it,
// else (after a HelloRetryRequest) the server's first group the client
// supports. Go does not show the key shares; clients send one for their
// first group (Go's post-quantum hybrid comes with an X25519 share, so a
// hybrid the server lacks is passed over), which is what is assumed.
// Go itself would prefer its own order of the allowed groups.
func tls13Group(client, server []tls.CurveID) tls.CurveID {
	if len(server) == 0 {
		return 0
	}
	for _, g := range client {
		if slices.Contains(server, g) {
			return g
		}
		if g == tls.X25519MLKEM768 {
			continue // its X25519 share comes next
		}
		break
	}
	for _, g := range server {
		if slices.Contains(client, g) {
			return g
		}
	}
	return 0
}

// negotiatedVersion is the highest version that both the client and pr
// allow (0: none).
func negotiatedVersion(hello *tls.ClientHelloInfo, pr Protocols) uint16 {
	best := uint16(0)
	for _, v := range hello.SupportedVersions {
		if pr.Allows(v) && v > best {
			best = v
		}
	}
	return best
}
