package tlsutil

import "crypto/tls"

// suite describes one of Go's cipher suites in OpenSSL's terms: the name
// OpenSSL (and so Postfix's log) gives it, its strength bits and the
// OpenSSL cipher-string aliases it belongs to.
type suite struct {
	id      uint16
	name    string // OpenSSL name
	bits    int    // strength bits (SSL_CIPHER_get_bits)
	algBits int    // algorithm bits
	v13     bool   // a TLS 1.3 suite (not configurable in Go)
	phantom bool   // OpenSSL has it, Go does not (id 0)
	// aliases are the OpenSSL cipher-string words that select the suite,
	// besides its own name.
	aliases []string
}

// Words shared by suites; see ciphers(1ssl). They follow what Debian's
// OpenSSL 3 does rather than its manual where the two differ: "RSA" is
// RSA key exchange only; "SHA256"/"SHA384" name the MAC, so AEAD suites
// have neither; "SSLv3", "TLSv1"/"TLSv1.0" and "TLSv1.2" name the lowest
// protocol version of a suite.
var (
	ecdheRSA   = []string{"kECDHE", "kEECDH", "ECDHE", "EECDH", "aRSA"}
	ecdheECDSA = []string{"kECDHE", "kEECDH", "ECDHE", "EECDH", "aECDSA", "ECDSA"}
	plainRSA   = []string{"kRSA", "aRSA", "RSA"}
	aes128GCM  = []string{"AES128", "AES", "AESGCM", "HIGH", "TLSv1.2"}
	aes256GCM  = []string{"AES256", "AES", "AESGCM", "HIGH", "TLSv1.2"}
	chacha     = []string{"CHACHA20", "HIGH", "TLSv1.2"}
	aes128SHA  = []string{"AES128", "AES", "HIGH", "SHA1", "SHA"}
	aes256SHA  = []string{"AES256", "AES", "HIGH", "SHA1", "SHA"}
	aes128S256 = []string{"AES128", "AES", "HIGH", "SHA256", "TLSv1.2"}
	ssl3       = []string{"SSLv3"}
	tls1       = []string{"TLSv1", "TLSv1.0"}
	rc4        = []string{"RC4", "MEDIUM", "SHA1", "SHA"}
	des3       = []string{"3DES", "MEDIUM", "SHA1", "SHA"}
	dheRSA     = []string{"kDHE", "kEDH", "DHE", "EDH", "aRSA"}
	adh        = []string{"kDHE", "kEDH", "ADH", "aNULL"}
	aecdh      = []string{"kECDHE", "kEECDH", "AECDH", "aNULL"}
)

func join(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

// suites is every suite Go implements, in OpenSSL's default order (the
// order in which a word like HIGH adds them). RC4 and 3DES are listed so
// that their names can be logged, but no cipher list selects them:
// Debian's OpenSSL 3 (the library Postfix 3.7 runs with) offers neither.
var suites = []suite{
	{tls.TLS_AES_128_GCM_SHA256, "TLS_AES_128_GCM_SHA256", 128, 128, true, false, nil},
	{tls.TLS_AES_256_GCM_SHA384, "TLS_AES_256_GCM_SHA384", 256, 256, true, false, nil},
	{tls.TLS_CHACHA20_POLY1305_SHA256, "TLS_CHACHA20_POLY1305_SHA256", 256, 256, true, false, nil},

	{tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, "ECDHE-ECDSA-AES256-GCM-SHA384", 256, 256, false, false, join(ecdheECDSA, aes256GCM)},
	{tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, "ECDHE-RSA-AES256-GCM-SHA384", 256, 256, false, false, join(ecdheRSA, aes256GCM)},
	{tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, "ECDHE-ECDSA-CHACHA20-POLY1305", 256, 256, false, false, join(ecdheECDSA, chacha)},
	{tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, "ECDHE-RSA-CHACHA20-POLY1305", 256, 256, false, false, join(ecdheRSA, chacha)},
	{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, "ECDHE-ECDSA-AES128-GCM-SHA256", 128, 128, false, false, join(ecdheECDSA, aes128GCM)},
	{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, "ECDHE-RSA-AES128-GCM-SHA256", 128, 128, false, false, join(ecdheRSA, aes128GCM)},
	{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256, "ECDHE-ECDSA-AES128-SHA256", 128, 128, false, false, join(ecdheECDSA, aes128S256)},
	{tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256, "ECDHE-RSA-AES128-SHA256", 128, 128, false, false, join(ecdheRSA, aes128S256)},
	{tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA, "ECDHE-ECDSA-AES256-SHA", 256, 256, false, false, join(ecdheECDSA, aes256SHA, tls1)},
	{tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA, "ECDHE-RSA-AES256-SHA", 256, 256, false, false, join(ecdheRSA, aes256SHA, tls1)},
	{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, "ECDHE-ECDSA-AES128-SHA", 128, 128, false, false, join(ecdheECDSA, aes128SHA, tls1)},
	{tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, "ECDHE-RSA-AES128-SHA", 128, 128, false, false, join(ecdheRSA, aes128SHA, tls1)},
	{tls.TLS_RSA_WITH_AES_256_GCM_SHA384, "AES256-GCM-SHA384", 256, 256, false, false, join(plainRSA, aes256GCM)},
	{tls.TLS_RSA_WITH_AES_128_GCM_SHA256, "AES128-GCM-SHA256", 128, 128, false, false, join(plainRSA, aes128GCM)},
	{tls.TLS_RSA_WITH_AES_128_CBC_SHA256, "AES128-SHA256", 128, 128, false, false, join(plainRSA, aes128S256)},
	{tls.TLS_RSA_WITH_AES_256_CBC_SHA, "AES256-SHA", 256, 256, false, false, join(plainRSA, aes256SHA, ssl3)},
	{tls.TLS_RSA_WITH_AES_128_CBC_SHA, "AES128-SHA", 128, 128, false, false, join(plainRSA, aes128SHA, ssl3)},

	{tls.TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA, "ECDHE-RSA-DES-CBC3-SHA", 112, 168, false, false, join(ecdheRSA, des3, tls1)},
	{tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA, "DES-CBC3-SHA", 112, 168, false, false, join(plainRSA, des3, ssl3)},
	{tls.TLS_ECDHE_ECDSA_WITH_RC4_128_SHA, "ECDHE-ECDSA-RC4-SHA", 128, 128, false, false, join(ecdheECDSA, rc4, tls1)},
	{tls.TLS_ECDHE_RSA_WITH_RC4_128_SHA, "ECDHE-RSA-RC4-SHA", 128, 128, false, false, join(ecdheRSA, rc4, tls1)},
	{tls.TLS_RSA_WITH_RC4_128_SHA, "RC4-SHA", 128, 128, false, false, join(plainRSA, rc4, ssl3)},

	// Stand-ins for the suites OpenSSL has and Go lacks, one of each kind,
	// so that a list selecting only such suites is told apart from an
	// empty one (OpenSSL refuses the latter; the former leaves TLS 1.3).
	{0, "DHE-RSA-AES256-GCM-SHA384", 256, 256, false, true, join(dheRSA, aes256GCM)},
	{0, "ADH-AES256-GCM-SHA384", 256, 256, false, true, join(adh, aes256GCM)},
	{0, "AECDH-AES256-SHA", 256, 256, false, true, join(aecdh, aes256SHA, tls1)},
	{0, "CAMELLIA256-SHA", 256, 256, false, true, join(plainRSA, []string{"CAMELLIA256", "CAMELLIA", "HIGH", "SHA1", "SHA"}, ssl3)},
	{0, "AES256-CCM", 256, 256, false, true, join(plainRSA, []string{"AES256", "AES", "AESCCM", "HIGH", "TLSv1.2"})},
	{0, "PSK-AES256-GCM-SHA384", 256, 256, false, true, join([]string{"kPSK", "aPSK", "PSK"}, aes256GCM)},
	{0, "ECDHE-RSA-NULL-SHA", 0, 0, false, true, join(ecdheRSA, []string{"eNULL", "NULL", "SHA1", "SHA"}, tls1)},
	{0, "NULL-SHA256", 0, 0, false, true, join(plainRSA, []string{"eNULL", "NULL", "SHA256", "TLSv1.2"})},
}

// unavailable reports whether OpenSSL 3 at Debian's default security
// level leaves the suite out of every cipher list (RC4, 3DES).
func (s *suite) unavailable() bool {
	for _, a := range s.aliases {
		if a == "RC4" || a == "3DES" {
			return true
		}
	}
	return false
}

func suiteByID(id uint16) *suite {
	for i := range suites {
		if suites[i].id == id && !suites[i].phantom {
			return &suites[i]
		}
	}
	return nil
}

// CipherName returns OpenSSL's name for a Go cipher suite ID, as Postfix
// logs it; for a suite Go knows but OpenSSL names differently it falls
// back to Go's name.
func CipherName(id uint16) string {
	if s := suiteByID(id); s != nil {
		return s.name
	}
	return tls.CipherSuiteName(id)
}
