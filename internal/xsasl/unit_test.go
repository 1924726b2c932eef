package xsasl

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/postfix-go/postfix/conf"
)

func TestReply(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		r    Result
		want string
	}{
		{Result{Status: OK}, "235 2.7.0 Authentication successful"},
		{Result{Status: Fail, Reason: "authentication failure"}, "535 5.7.8 Error: authentication failed: authentication failure"},
		{Result{Status: Form, Reason: ReasonDovecotBadInitial}, "535 5.7.8 Error: authentication failed: Invalid base64 data in initial response"},
		{Result{Status: Temp, Reason: "generic failure"}, "454 4.7.0 Temporary authentication failure: generic failure"},
	} {
		if got := Reply(tc.r); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.r, got, tc.want)
		}
	}
}

func TestDecode(t *testing.T) {
	t.Parallel()
	cy := &cyrusSession{}
	dv := &dovecotSession{}
	for _, tc := range []struct {
		s       Session
		text    string
		initial bool
		want    string // decoded text, or the reply
	}{
		{cy, "AGFsaWNlAHdvbmRlcg==", true, "\x00alice\x00wonder"},
		{cy, "", false, ""},
		{cy, "=", true, "535 5.7.8 Error: authentication failed: another step is needed in authentication"},
		{cy, "YWJjZA", true, "535 5.7.8 Error: authentication failed: another step is needed in authentication"},
		{cy, "!!!", false, "535 5.7.8 Error: authentication failed: another step is needed in authentication"},
		{cy, "!!!!", false, "535 5.7.8 Error: authentication failed: bad protocol / cancel"},
		{cy, "YW=j", false, "535 5.7.8 Error: authentication failed: bad protocol / cancel"},
		{cy, "YWJ\rjZA=", false, "535 5.7.8 Error: authentication failed: bad protocol / cancel"},
		{nil, "YWJj", false, "abc"},
		// Whole groups are checked before the leftover length.
		{cy, "a*b", true, "535 5.7.8 Error: authentication failed: another step is needed in authentication"},
		{cy, "YWJjZA!", false, "535 5.7.8 Error: authentication failed: another step is needed in authentication"},
		{cy, "<a b>", true, "535 5.7.8 Error: authentication failed: bad protocol / cancel"},
		{cy, "YQ==YQ", false, "535 5.7.8 Error: authentication failed: bad protocol / cancel"},
		{cy, "YQ==YWJj", false, "535 5.7.8 Error: authentication failed: bad protocol / cancel"},
		{cy, "a===", false, "535 5.7.8 Error: authentication failed: bad protocol / cancel"},
		{cy, "\rYWJj", false, "535 5.7.8 Error: authentication failed: generic failure"},
		{cy, "YR==", false, "a"},
		{cy, "YWJd", false, "ab]"},
		{cy, "YWI=", false, "ab"},
		{dv, "=", true, ""},
		{dv, "YWJjZA", true, "abcd"},
		{dv, "YWJjZA==", false, "abcd"},
		{dv, "!!!", true, "535 5.7.8 Error: authentication failed: Invalid base64 data in initial response"},
		{dv, "AUTH LOGIN", false, "535 5.7.8 Error: authentication failed: Invalid base64 data in continued response"},
	} {
		b, bad := Decode(tc.s, tc.text, tc.initial)
		got := string(b)
		if bad != nil {
			got = Reply(*bad)
		}
		if got != tc.want {
			t.Errorf("%T %q: %q, want %q", tc.s, tc.text, got, tc.want)
		}
	}
}

func TestCanonUser(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ user, realm, canon, u, r string }{
		{"alice", "", "alice", "alice", ""},
		{" alice\t", "", "alice", "alice", ""},
		{"alice", "realm.example", "alice@realm.example", "alice", "realm.example"},
		{"a@b", "realm.example", "a@b", "a", "b"},
		{"a@b@c", "", "a@b@c", "a@b", "c"},
		{"a@", "", "a@", "a", ""},
		{" ", "realm.example", "@realm.example", "", "realm.example"},
	} {
		c := CanonUser(tc.user, tc.realm)
		u, r := SplitRealm(c)
		if c != tc.canon || u != tc.u || r != tc.r {
			t.Errorf("%q %q: %q → %q %q; want %q → %q %q", tc.user, tc.realm, c, u, r, tc.canon, tc.u, tc.r)
		}
	}
}

// TestMechanisms: PLAIN and LOGIN step by step, without a password check.
func TestMechanisms(t *testing.T) {
	t.Parallel()
	p := newCredMech("PLAIN")
	if st := p.step(nil, false); !st.More || len(st.Challenge) != 0 {
		t.Errorf("PLAIN without initial response: %+v", st)
	}
	if st := p.step([]byte("az\x00alice\x00pw\x00"), true); st.Fail == nil || st.Detail != "Got more data than we were expecting in the PLAIN plugin?" {
		t.Errorf("PLAIN with 3 NULs: %+v", st)
	}
	if st := newCredMech("PLAIN").step([]byte("az\x00alice\x00p w"), true); !st.Done || st.Creds != (Creds{"az", "alice", "p w"}) {
		t.Errorf("PLAIN: %+v", st)
	}
	if st := newCredMech("PLAIN").step([]byte("\x00\x00pw"), true); st.Fail == nil || st.Fail.Status != Temp {
		t.Errorf("PLAIN empty user: %+v", st)
	}
	l := newCredMech("LOGIN")
	if st := l.step(nil, false); string(st.Challenge) != "Username:" {
		t.Errorf("LOGIN 1: %+v", st)
	}
	if st := l.step([]byte("alice"), true); string(st.Challenge) != "Password:" {
		t.Errorf("LOGIN 2: %+v", st)
	}
	if st := l.step([]byte("pw"), true); !st.Done || st.Creds != (Creds{"", "alice", "pw"}) {
		t.Errorf("LOGIN 3: %+v", st)
	}
	if st := newCredMech("LOGIN").step([]byte("bob"), true); string(st.Challenge) != "Password:" {
		t.Errorf("LOGIN with initial response: %+v", st)
	}
	if newCredMech("CRAM-MD5") != nil {
		t.Error("CRAM-MD5 is not ours")
	}
}

func TestSecurityOptions(t *testing.T) {
	t.Parallel()
	cy := &cyrus{mechs: []string{"PLAIN", "LOGIN"}, warn: func(string, ...any) {}}
	for _, tc := range []struct {
		opts string
		want string
	}{
		{"noanonymous", "PLAIN LOGIN"},
		{"", "PLAIN LOGIN"},
		{"noanonymous noplaintext", ""},
		{"nodictionary", ""},
		{"mutual_auth", ""},
	} {
		s, err := cy.Session(Params{SecurityOptions: strings.Fields(tc.opts)})
		got := ""
		if err == nil {
			got = strings.Join(s.Mechanisms(), " ")
		} else if err != ErrNoMechanisms {
			t.Fatal(err)
		}
		if got != tc.want {
			t.Errorf("cyrus %q: %q, want %q", tc.opts, got, tc.want)
		}
	}
	mechs := []DovecotMech{{"PLAIN", []string{"plaintext"}}, {"LOGIN", []string{"plaintext"}},
		{"CRAM-MD5", []string{"dictionary", "active"}}, {"ANONYMOUS", []string{"anonymous"}},
		{"SCRAM-SHA-1", []string{"mutual-auth", "dictionary"}}, {"X", []string{"private"}}}
	for _, tc := range []struct{ opts, want string }{
		{"noanonymous", "PLAIN LOGIN CRAM-MD5 SCRAM-SHA-1"},
		{"noanonymous noplaintext", "CRAM-MD5 SCRAM-SHA-1"},
		{"nodictionary", "PLAIN LOGIN ANONYMOUS"},
		{"noactive", "PLAIN LOGIN ANONYMOUS SCRAM-SHA-1"},
		{"mutual_auth", "SCRAM-SHA-1"},
		{"forward_secrecy", ""},
	} {
		var got []string
		for _, m := range mechs {
			if dovecotAllowed(m, strings.Fields(tc.opts)) {
				got = append(got, m.Name)
			}
		}
		if strings.Join(got, " ") != tc.want {
			t.Errorf("dovecot %q: %q, want %q", tc.opts, got, tc.want)
		}
	}
}

// TestCyrusFakeSaslauthd runs the cyrus session against an in-process saslauthd (no root needed)
// and checks what saslauthd is asked, with and without a realm.
func TestCyrusFakeSaslauthd(t *testing.T) {
	t.Parallel()
	f := startFakeSaslauthd(t, "good")
	cap := &logCapture{}
	b, err := newCyrusFromApp(ParseAppConf("smtpd.conf", []byte("saslauthd_path: "+f.Socket+"\n")), cap.warn)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := b.Session(Params{Service: "smtp", Realm: "realm.example"})
	if r := s.Start("plain", []byte("\x00 alice \x00good"), true); r.Status != OK || s.Username() != "alice@realm.example" {
		t.Errorf("%+v %q", r, s.Username())
	}
	if got := f.requests(); strings.Join(got, " ") != `"alice"|"good"|"smtp"|"realm.example"` {
		t.Errorf("asked %q", got)
	}
	s, _ = b.Session(Params{Service: "submission"})
	r := s.Start("LOGIN", nil, false)
	r = s.Next([]byte("bob@dom.example"))
	if r = s.Next([]byte("bad")); r.Status != Fail || r.Reason != ReasonBadAuth || s.Username() != "bob@dom.example" {
		t.Errorf("%+v %q", r, s.Username())
	}
	if got := f.requests(); strings.Join(got, " ") != `"bob"|"bad"|"submission"|"dom.example"` {
		t.Errorf("asked %q", got)
	}
	if got := cap.take(); len(got) != 0 {
		t.Errorf("LOGIN logs no library warning, got %q", got)
	}
}

func TestSecurityOptionsConf(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.cf"), []byte("smtpd_sasl_security_options = noanonymous, noplaintext\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := conf.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(SecurityOptions(c, false), " "); got != "noanonymous noplaintext" {
		t.Errorf("plaintext: %q", got)
	}
	if got := strings.Join(SecurityOptions(c, true), " "); got != "noanonymous noplaintext" {
		t.Errorf("TLS (default $smtpd_sasl_security_options): %q", got)
	}
	c.Set("smtpd_sasl_tls_security_options", "noanonymous")
	if got := strings.Join(SecurityOptions(c, true), " "); got != "noanonymous" {
		t.Errorf("TLS: %q", got)
	}
	cap := &logCapture{}
	cy := &cyrus{mechs: []string{"PLAIN"}, warn: cap.warn}
	if _, err := cy.Session(Params{SecurityOptions: []string{"NOANONYMOUS"}}); err != ErrSessionInit {
		t.Errorf("NOANONYMOUS: %v", err)
	}
	want := "warning: unknown SASL security options value \"NOANONYMOUS\" in \"NOANONYMOUS\"\nwarning: bad per-session SASL security properties"
	if got := strings.Join(cap.take(), "\n"); got != want {
		t.Errorf("warnings %q", got)
	}
	if _, err := cy.Session(Params{SecurityOptions: []string{"noplaintext"}}); err != ErrNoMechanisms {
		t.Errorf("noplaintext: %v", err)
	}
	if got := cap.take(); len(got) != 1 || got[0] != "warning: xsasl_cyrus_server_get_mechanism_list: no applicable SASL mechanisms" {
		t.Errorf("noplaintext warnings %q", got)
	}
}
