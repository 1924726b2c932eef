package xsasl

import (
	"errors"
	"fmt"
	"strings"

	"github.com/postfix-go/postfix/conf"
)

// Result statuses (Result.Status).
const (
	OK   = iota // authentication succeeded; Session.Username is set
	More        // the server sends Result.Challenge and waits for the client's next response
	Fail        // authentication failed (wrong password, unknown user, bad client input)
	Temp        // temporary trouble (authentication daemon down); the client may retry later
	Form        // the client's input was malformed (Postfix's smtpd answers 535 as for Fail)
)

// Result is the outcome of one step of an authentication dialogue.
type Result struct {
	Status    int
	Challenge []byte // with More: the decoded server challenge (smtpd base64-encodes it after "334 ")
	Reason    string // with Fail/Temp/Form: the text Postfix's backend gives (goes into the reply)
}

// Params describes the SMTP session a SASL session is made for.
type Params struct {
	Service                                        string   // $smtpd_sasl_service ("smtp")
	Realm                                          string   // $smtpd_sasl_local_domain
	ClientAddr, ClientPort, ServerAddr, ServerPort string   // without brackets
	TLS                                            bool     // the session is encrypted
	SecurityOptions                                []string // the applicable *_security_options words
}

// Backend is an opened SASL server implementation (smtpd_sasl_type).
type Backend interface {
	// Session starts the server side of one SMTP session's authentication. Its errors are
	// fatal in Postfix's smtpd ("fatal: " + err.Error()): ErrNoMechanisms when the security
	// options (or mech_list) leave nothing to offer, ErrSessionInit for unknown option words.
	Session(p Params) (Session, error)
}

// Session is one SMTP session's SASL server state. It is not safe for concurrent use.
type Session interface {
	Mechanisms() []string                                      // offered mechanisms, upper case, in Postfix's order
	Start(mech string, initial []byte, hasInitial bool) Result // begin AUTH; initial is decoded
	Next(response []byte) Result                               // the client's next (decoded) response
	Username() string                                          // the user name for the log and Received; "" = "(unavailable)"
	Close()                                                    // release the session's resources
}

// New opens the SASL backend named by smtpd_sasl_type (cyrus or dovecot) with smtpd_sasl_path.
// smtpd calls it before entering its chroot jail: the cyrus backend reads smtpd.conf here; socket
// paths are used later, from inside the jail.
func New(c *conf.Config) (Backend, error) {
	typ := c.Get("smtpd_sasl_type")
	path := c.Get("smtpd_sasl_path")
	switch typ {
	case "cyrus":
		b, err := newCyrus(c, path)
		if err != nil {
			return nil, err
		}
		return b, nil
	case "dovecot":
		b, err := newDovecot(c, path)
		if err != nil {
			return nil, err
		}
		return b, nil
	}
	return nil, fmt.Errorf("unsupported SASL server implementation: %s", typ)
}

// Reply returns the full SMTP reply line Postfix's smtpd sends for a finished Result: 235 for OK,
// 454 4.7.0 for Temp, 535 5.7.8 for Fail and Form (checked against Debian's smtpd).
func Reply(r Result) string {
	switch r.Status {
	case OK:
		return "235 2.7.0 Authentication successful"
	case Temp:
		return "454 4.7.0 Temporary authentication failure: " + r.Reason
	}
	// Fail and Form: Postfix 3.7 answers malformed client data with 535 as well.
	return "535 5.7.8 Error: authentication failed: " + r.Reason
}

// SecurityOptions returns the security option words that apply to a session: those of
// smtpd_sasl_tls_security_options when tls is set, else smtpd_sasl_security_options. Words are
// case-sensitive (Postfix refuses "NOANONYMOUS").
func SecurityOptions(c *conf.Config, tls bool) []string {
	name := "smtpd_sasl_security_options"
	if tls {
		name = "smtpd_sasl_tls_security_options"
	}
	return c.List(name)
}

// ErrSessionInit is returned by Backend.Session for security options it does not know; Postfix's
// smtpd stops with "fatal: SASL per-connection initialization failed" then.
var ErrSessionInit = errors.New("SASL per-connection initialization failed")

// securityWords are the security option words Postfix knows (case matters, as in Postfix).
var securityWords = []string{"noanonymous", "noplaintext", "noactive", "nodictionary", "mutual_auth", "forward_secrecy"}

// checkSecurityOptions logs Postfix's warnings for unknown words and returns ErrSessionInit.
func checkSecurityOptions(opts []string, warn func(string, ...any)) error {
	for _, o := range opts {
		if !contains(securityWords, o) {
			warn("unknown SASL security options value \"%s\" in \"%s\"", o, strings.Join(opts, ", "))
			warn("bad per-session SASL security properties")
			return ErrSessionInit
		}
	}
	return nil
}
