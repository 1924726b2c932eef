package xsasl

import (
	"bytes"
	"strings"

	gosasl "github.com/emersion/go-sasl"
)

// Challenges of the LOGIN mechanism, as Cyrus's LOGIN plugin sends them (base64 on the wire:
// "VXNlcm5hbWU6" and "UGFzc3dvcmQ6").
const (
	LoginUserChallenge = "Username:"
	LoginPassChallenge = "Password:"
)

// Creds are the identities and password a password mechanism (PLAIN, LOGIN) collected.
type Creds struct {
	Authzid  string // the authorization identity; "" when the client gave none (always for LOGIN)
	User     string // the authentication identity
	Password string
}

// mechStep is what one step of a password mechanism produced: a challenge to send (More), the
// finished credentials (Done), or a failure with Cyrus's status and the detail its plugin logs.
type mechStep struct {
	More      bool
	Challenge []byte
	Done      bool
	Creds     Creds
	Fail      *Result // Status Fail or Temp with Cyrus's reason
	Detail    string  // the plugin's error detail, logged as "SASL authentication failure: DETAIL"
}

// credMech is the server side of a password mechanism: it turns client responses into Creds.
type credMech interface {
	step(resp []byte, has bool) mechStep
}

// newCredMech returns our server for a mechanism name (upper case), or nil when we have none.
func newCredMech(name string) credMech {
	switch name {
	case "PLAIN":
		return &plainMech{}
	case "LOGIN":
		return &loginMech{}
	}
	return nil
}

// plainMech is PLAIN (RFC 4616): "authzid NUL authcid NUL password" in one response, with an
// empty challenge first when the client sent no initial response.
type plainMech struct {
	srv   gosasl.Server
	creds Creds
}

func (m *plainMech) step(resp []byte, has bool) mechStep {
	if m.srv == nil {
		m.srv = gosasl.NewPlainServer(func(id, user, pass string) error {
			m.creds = Creds{Authzid: id, User: user, Password: pass}
			return nil
		})
	}
	if !has {
		resp = nil
	} else if resp == nil {
		resp = []byte{}
	}
	ch, done, err := m.srv.Next(resp)
	if err != nil {
		return mechStep{Fail: &Result{Status: Fail, Reason: ReasonBadProt}, Detail: plainFailDetail(resp)}
	}
	if !done {
		return mechStep{More: true, Challenge: ch}
	}
	if m.creds.User == "" {
		return mechStep{Fail: &Result{Status: Temp, Reason: ReasonFail}, Detail: "All-whitespace username."}
	}
	return mechStep{Done: true, Creds: m.creds}
}

// plainFailDetail tells why a PLAIN response is malformed, in the words of Cyrus's PLAIN plugin.
func plainFailDetail(resp []byte) string {
	switch bytes.Count(resp, []byte{0}) {
	case 0:
		return "Can only find author (no password)"
	case 1:
		return "Can only find author/en (no password)"
	}
	return "Got more data than we were expecting in the PLAIN plugin?"
}

// loginMech is LOGIN: a "Username:" challenge, then "Password:". A non-empty initial response
// is taken as the user name.
type loginMech struct {
	state int // 0 start, 1 waiting for the user name, 2 waiting for the password, 3 done
	user  string
}

func (m *loginMech) step(resp []byte, has bool) mechStep {
	switch m.state {
	case 0:
		if has && len(resp) > 0 {
			m.user = string(resp)
			m.state = 2
			return mechStep{More: true, Challenge: []byte(LoginPassChallenge)}
		}
		m.state = 1
		return mechStep{More: true, Challenge: []byte(LoginUserChallenge)}
	case 1:
		m.user = string(resp)
		m.state = 2
		return mechStep{More: true, Challenge: []byte(LoginPassChallenge)}
	case 2:
		m.state = 3
		if m.user == "" {
			return mechStep{Fail: &Result{Status: Temp, Reason: ReasonFail}, Detail: "All-whitespace username."}
		}
		return mechStep{Done: true, Creds: Creds{User: m.user, Password: string(resp)}}
	}
	return mechStep{Fail: &Result{Status: Fail, Reason: ReasonBadProt}}
}

// isCSpace is C's isspace in the "C" locale, which Cyrus uses to trim user names.
func isCSpace(r rune) bool {
	return r == ' ' || r == '\t' || r == '\n' || r == '\v' || r == '\f' || r == '\r'
}

// CanonUser returns the user name as Cyrus SASL canonicalizes it: white space trimmed at both
// ends and, when realm is not empty and the name holds no '@', "@realm" appended.
func CanonUser(user, realm string) string {
	u := strings.TrimFunc(user, isCSpace)
	if realm != "" && !strings.Contains(u, "@") {
		u += "@" + realm
	}
	return u
}

// SplitRealm splits a canonical user name at its last '@' into the user and realm that
// saslauthd is asked about ("a@b@c" → "a@b", "c"; "a" → "a", "").
func SplitRealm(canon string) (user, realm string) {
	if i := strings.LastIndexByte(canon, '@'); i >= 0 {
		return canon[:i], canon[i+1:]
	}
	return canon, ""
}
