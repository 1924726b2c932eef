package xsasl

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/postfix-go/postfix/conf"
	"github.com/postfix-go/postfix/internal/ipc"
	"github.com/postfix-go/postfix/internal/maillog"
)

// Failure texts of the cyrus backend: Cyrus SASL's error strings, which Postfix puts in its
// replies and log lines.
const (
	ReasonBadAuth = "authentication failure"
	ReasonBadProt = "bad protocol / cancel"
	ReasonFail    = "generic failure"
	ReasonNoMech  = "no mechanism available"
)

// ErrNoMechanisms is returned by Backend.Session when no mechanism is left to offer; Postfix's
// smtpd stops with "fatal: no SASL authentication mechanisms" then.
var ErrNoMechanisms = errors.New("no SASL authentication mechanisms")

// cyrusMechs are the mechanisms we implement, in the order Debian's libsasl2 lists them.
var cyrusMechs = []string{"PLAIN", "LOGIN"}

// cyrus is the smtpd_sasl_type=cyrus backend: our PLAIN and LOGIN servers, with passwords
// checked by saslauthd, configured by the Cyrus application file smtpd.conf.
type cyrus struct {
	app      *AppConf
	mechs    []string // after mech_list, in mech_list's order
	sockPath string
	timeout  time.Duration
	warn     func(string, ...any) // maillog.Warn; tests capture it
}

// newCyrus reads the application configuration file named by smtpd_sasl_path ("smtpd" →
// smtpd.conf) and opens the backend. A malformed file is fatal in Postfix; here it is an error
// after one warning per bad line.
func newCyrus(c *conf.Config, path string) (*cyrus, error) {
	if path == "" {
		path = "smtpd"
	}
	app, err := FindAppConf(AppConfDirs(c.Get("cyrus_sasl_config_path"), c.Dir), path)
	if err != nil {
		return nil, fmt.Errorf("SASL per-process initialization failed: %v", err)
	}
	return newCyrusFromApp(app, maillog.Warn)
}

// newCyrusFromApp opens the cyrus backend from a parsed application file.
func newCyrusFromApp(app *AppConf, warn func(string, ...any)) (*cyrus, error) {
	if len(app.Errors) > 0 {
		for _, w := range app.Errors {
			warn("%s", w)
		}
		warn("SASL per-process initialization failed: error when parsing configuration file")
		return nil, errors.New("SASL per-process initialization failed")
	}
	b := &cyrus{app: app, sockPath: DefaultSaslauthdPath, timeout: 30 * time.Second, warn: warn}
	if v, ok := app.Get("pwcheck_method"); ok {
		for _, m := range strings.Fields(v) {
			if m != "saslauthd" {
				return nil, fmt.Errorf("%s: pwcheck_method %s is not supported (only saslauthd)", app.Path, m)
			}
		}
	}
	if v, ok := app.Get("saslauthd_path"); ok {
		b.sockPath = v
	}
	b.mechs = cyrusMechs
	if v, ok := app.Get("mech_list"); ok {
		b.mechs = nil
		for _, m := range strings.Fields(v) {
			m = strings.ToUpper(m)
			if newCredMech(m) == nil {
				warn("%s: SASL mechanism %s is not supported; ignored", app.Path, m)
				continue
			}
			if !contains(b.mechs, m) {
				b.mechs = append(b.mechs, m)
			}
		}
	}
	return b, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// libWarn logs what Cyrus's library reports through Postfix: "SASL authentication failure: TEXT"
// (whatever smtpd.conf's log_level says, as Debian's smtpd does).
func (b *cyrus) libWarn(text string) {
	if text != "" {
		b.warn("SASL authentication failure: %s", text)
	}
}

func (b *cyrus) Session(p Params) (Session, error) {
	if err := checkSecurityOptions(p.SecurityOptions, b.warn); err != nil {
		return nil, err
	}
	s := &cyrusSession{b: b, p: p}
	for _, m := range b.mechs {
		if !cyrusHides(m, p.SecurityOptions) {
			s.offered = append(s.offered, m)
		}
	}
	if len(s.offered) == 0 {
		b.warn("xsasl_cyrus_server_get_mechanism_list: no applicable SASL mechanisms")
		return nil, ErrNoMechanisms
	}
	return s, nil
}

// cyrusHides tells whether Cyrus SASL withholds a password mechanism under the security options:
// PLAIN and LOGIN promise nothing but "no anonymous login", so any other requirement hides them.
func cyrusHides(mech string, opts []string) bool {
	for _, o := range opts {
		switch o {
		case "noplaintext", "noactive", "nodictionary", "mutual_auth", "forward_secrecy":
			return true
		}
	}
	return false
}

// cyrusSession is one SMTP session's cyrus SASL state.
type cyrusSession struct {
	b       *cyrus
	p       Params
	offered []string
	mech    credMech
	user    string
}

func (s *cyrusSession) Mechanisms() []string { return s.offered }

func (s *cyrusSession) Start(mech string, initial []byte, hasInitial bool) Result {
	mech = strings.ToUpper(mech)
	s.user = ""
	s.mech = nil
	if !contains(s.offered, mech) {
		s.b.libWarn("Couldn't find mech " + mech)
		return Result{Status: Fail, Reason: ReasonNoMech}
	}
	s.mech = newCredMech(mech)
	return s.step(initial, hasInitial)
}

func (s *cyrusSession) Next(response []byte) Result {
	if s.mech == nil {
		return Result{Status: Fail, Reason: ReasonBadProt}
	}
	return s.step(response, true)
}

func (s *cyrusSession) step(resp []byte, has bool) Result {
	st := s.mech.step(resp, has)
	if st.More {
		return Result{Status: More, Challenge: st.Challenge}
	}
	_, isPlain := s.mech.(*plainMech)
	s.mech = nil
	if st.Fail != nil {
		s.b.libWarn(st.Detail)
		return *st.Fail
	}
	cr := st.Creds
	authc := CanonUser(cr.User, s.p.Realm)
	// What Cyrus reports as the user name before the authorization check: the authentication
	// identity, unless the client asked for another authorization identity.
	if cr.Authzid == "" {
		s.user = authc
	}
	user, realm := SplitRealm(authc)
	ok, _, err := Saslauthd(s.b.sockPath, SaslauthdRequest{User: user, Password: cr.Password, Service: s.p.Service, Realm: realm}, s.b.timeout)
	if err != nil {
		s.b.libWarn(saslauthdErrText(err))
		if isPlain {
			s.b.libWarn("Password verification failed")
		}
		return Result{Status: Temp, Reason: ReasonFail}
	}
	if !ok {
		if isPlain {
			s.b.libWarn("Password verification failed")
		}
		return Result{Status: Fail, Reason: ReasonBadAuth}
	}
	if cr.Authzid != "" {
		s.user = CanonUser(cr.Authzid, s.p.Realm)
		if s.user != authc {
			s.b.libWarn("Requested identity not authenticated identity")
			return Result{Status: Fail, Reason: ReasonBadAuth}
		}
	}
	return Result{Status: OK}
}

// saslauthdErrText is the detail Cyrus logs when saslauthd cannot be asked.
func saslauthdErrText(err error) string {
	var de *dialError
	if errors.As(err, &de) {
		return "cannot connect to saslauthd server: " + ipc.ErrnoText(de.err)
	}
	return "read failed"
}

// Username returns the user name Cyrus reports: after OK the authenticated (canonical) name;
// after a failure the name it had got to, or "" (Postfix logs "(unavailable)").
func (s *cyrusSession) Username() string { return s.user }

func (s *cyrusSession) Close() {}
