package tlsutil

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/postfix-go/postfix/conf"
)

// ServerConfig builds the *tls.Config for a TLS server from the Postfix
// parameters with the given prefix ("smtpd"): certificates and keys from
// PREFIX_tls_chain_files, or else PREFIX_tls_cert_file/_key_file and
// PREFIX_tls_eccert_file/_eckey_file; client certificates
// (PREFIX_tls_ask_ccert, _req_ccert, _CAfile, _CApath); protocol and
// cipher settings (the _mandatory_ ones when mandatory is set, i.e. at
// security level encrypt, or with PREFIX_tls_wrappermode = yes); session tickets lasting
// PREFIX_tls_session_cache_timeout; tls_server_sni_maps.
//
// The error names the file that could not be used, in the words Postfix
// logs as a warning; smtpd then offers no STARTTLS, as Postfix does.
func ServerConfig(c *conf.Config, prefix string, mandatory bool) (*tls.Config, error) {
	p := func(name string) string { return c.Get(prefix + "_tls_" + name) }
	// Wrapper mode (smtps) uses the mandatory settings, as Postfix does.
	mandatory = mandatory || c.Bool(prefix+"_tls_wrappermode")
	cfg := &tls.Config{}

	certs, err := serverCerts(prefix, p)
	if err != nil {
		return nil, err
	}
	if len(certs) == 0 {
		e := &Error{}
		if c.Bool(prefix+"_tls_ask_ccert") || c.Bool(prefix+"_tls_req_ccert") {
			e.with("Need a server cert to request client certs")
		}
		return nil, e.with("No server certs available. TLS won't be enabled")
	}
	cfg.Certificates = certs

	// Protocols.
	protoParam := "protocols"
	if mandatory {
		protoParam = "mandatory_protocols"
	}
	pr, err := ParseProtocols(p(protoParam))
	if err != nil {
		return nil, err
	}
	cfg.MinVersion, cfg.MaxVersion = pr.Min(), pr.Max()
	if len(pr.Versions) == 0 {
		// Postfix says nothing and every handshake fails; so here.
		cfg.MinVersion, cfg.MaxVersion = tls.VersionTLS13, tls.VersionTLS12
	}

	// Ciphers.
	gradeParam := "ciphers"
	exclude := conf.SplitList(p("exclude_ciphers"))
	if mandatory {
		gradeParam = "mandatory_ciphers"
		exclude = append(exclude, conf.SplitList(p("mandatory_exclude_ciphers"))...)
	}
	ids, err := SelectCiphers(p(gradeParam), c.Get, exclude)
	if err != nil {
		return nil, err
	}
	// An empty (non-nil) list leaves only TLS 1.3, as with OpenSSL.
	cfg.CipherSuites = ids
	cfg.CurvePreferences = curves(c)

	// Client certificates.
	ask := c.Bool(prefix+"_tls_ask_ccert") || (mandatory && c.Bool(prefix+"_tls_req_ccert"))
	if ask {
		pool, err := caPool(p("CAfile"), p("CApath"))
		if err != nil {
			return nil, err
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.RequestClientCert
		depth := c.Int(prefix + "_tls_ccert_verifydepth")
		cfg.VerifyConnection = func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) > 0 {
				rememberTrust(cs.PeerCertificates, verifyClient(pool, cs.PeerCertificates, depth))
			}
			return nil
		}
	}

	// Session tickets stand in for Postfix's session cache.
	setTickets(cfg, c.Time(prefix+"_tls_session_cache_timeout", 's'))

	var sni func(string) ([]tls.Certificate, error)
	if maps := c.Get("tls_server_sni_maps"); maps != "" && prefix == "smtpd" {
		if sni, err = setSNI(cfg, maps); err != nil {
			return nil, err
		}
	}
	// Go consults GetCertificate only when Certificates is empty or the
	// client sent SNI; the choice must always be ours (chooseCert).
	defaults := cfg.Certificates
	cfg.Certificates = nil
	serverCertsOf.Store(cfg, defaults)
	cfg.GetCertificate = func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
		certs := defaults
		if sni != nil {
			named, err := sni(hello.ServerName)
			if err != nil {
				return nil, err
			}
			if len(named) > 0 {
				certs = named
			}
		}
		ch := chooseCert(hello, certs, negotiatedVersion(hello, pr))
		remember(hello.Conn, ch)
		return ch.cert, nil
	}
	perHello(cfg, defaults, pr, c.Bool("tls_preempt_cipherlist"))
	return cfg, nil
}

// caPool reads the trusted CA certificates of _CAfile and _CApath.
func caPool(file, dir string) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil || !pool.AppendCertsFromPEM(b) {
			// Postfix logs this one without "warning:".
			return nil, &Error{Lines: []Line{{false, fmt.Sprintf("cannot load Certification Authority data, CAfile=\"%s\": disabling TLS support", file)}}}
		}
	}
	if dir != "" {
		// OpenSSL looks into CApath only when it verifies, and a missing
		// directory makes Postfix log nothing.
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			if b, err := os.ReadFile(filepath.Join(dir, e.Name())); err == nil {
				pool.AppendCertsFromPEM(b)
			}
		}
	}
	return pool, nil
}

// curves maps tls_eecdh_auto_curves to Go's curve IDs; names Go does
// not implement (X448, brainpool) are skipped. Like Postfix 3.7 with
// OpenSSL 3 (checked), PREFIX_tls_eecdh_grade does not narrow the list.
func curves(c *conf.Config) []tls.CurveID {
	var out []tls.CurveID
	for _, n := range c.List("tls_eecdh_auto_curves") {
		if id, ok := curveByName[n]; ok {
			out = append(out, id)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

var curveByName = map[string]tls.CurveID{
	"X25519": tls.X25519, "prime256v1": tls.CurveP256, "P-256": tls.CurveP256,
	"secp384r1": tls.CurveP384, "P-384": tls.CurveP384, "secp521r1": tls.CurveP521, "P-521": tls.CurveP521,
}

// setTickets makes session tickets expire after timeout (0 disables
// session resumption, as an empty Postfix session cache does).
func setTickets(cfg *tls.Config, timeout time.Duration) {
	if timeout <= 0 {
		cfg.SessionTicketsDisabled = true
		return
	}
	cfg.WrapSession = func(cs tls.ConnectionState, ss *tls.SessionState) ([]byte, error) {
		stamp := make([]byte, 8)
		putUint64(stamp, uint64(time.Now().Unix()))
		ss.Extra = append(ss.Extra, append([]byte("pfgo-ticket-time:"), stamp...))
		return cfg.EncryptTicket(cs, ss)
	}
	cfg.UnwrapSession = func(identity []byte, cs tls.ConnectionState) (*tls.SessionState, error) {
		ss, err := cfg.DecryptTicket(identity, cs)
		if err != nil || ss == nil {
			return nil, err
		}
		for _, e := range ss.Extra {
			if t, ok := strings.CutPrefix(string(e), "pfgo-ticket-time:"); ok && len(t) == 8 {
				born := time.Unix(int64(getUint64([]byte(t))), 0)
				if time.Since(born) <= timeout {
					return ss, nil
				}
			}
		}
		return nil, nil // expired or foreign: a full handshake
	}
}

func putUint64(b []byte, v uint64) {
	for i := 7; i >= 0; i-- {
		b[i] = byte(v)
		v >>= 8
	}
}

func getUint64(b []byte) uint64 {
	var v uint64
	for _, x := range b {
		v = v<<8 | uint64(x)
	}
	return v
}

// serverCertsOf keeps the default certificates of each configuration
// ServerConfig made (its Certificates field is left empty so that Go
// always asks GetCertificate).
var serverCertsOf sync.Map // *tls.Config → []tls.Certificate

// Certificates returns the default server certificates of a
// configuration made by ServerConfig.
func Certificates(cfg *tls.Config) []tls.Certificate {
	if v, ok := serverCertsOf.Load(cfg); ok {
		return v.([]tls.Certificate)
	}
	return cfg.Certificates
}
