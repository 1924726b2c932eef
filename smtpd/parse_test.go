package smtpd

import (
	"testing"
)

func TestXtextDecode(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"abc", "abc", true},
		{"abc+2Bx", "abc+x", true},
		{"rfc822;x+2By@z", "rfc822;x+y@z", true},
		{"a+2b", "", false}, // lower-case hex is not xtext
		{"a+2", "", false},
		{"a=b", "", false},
		{"a b", "", false},
		{"", "", true},
	} {
		got, ok := xtextDecode(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("xtextDecode(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestSplitDSN(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in, dsn, rest string
		ok            bool
	}{
		{"5.7.1 <x@y>: Relay access denied", "5.7.1", "<x@y>: Relay access denied", true},
		{"Syntax: HELO hostname", "", "Syntax: HELO hostname", false},
		{"4.4.2 host Error: timeout exceeded", "4.4.2", "host Error: timeout exceeded", true},
		{"5.5 x", "", "5.5 x", false},
		{"2.0.0", "2.0.0", "", true},
	} {
		dsn, rest, ok := splitDSN(tc.in)
		if dsn != tc.dsn || rest != tc.rest || ok != tc.ok {
			t.Errorf("splitDSN(%q) = %q, %q, %v", tc.in, dsn, rest, ok)
		}
	}
}

// TestHeloNames: the HELO argument is checked with its words joined by
// one space, and kept with Postfix's neutered characters turned into '?'
// (seen in Debian's smtpd's log lines and reject footers).
func TestHeloNames(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"c": "c", " a  b\tc ": "a b c", "x(y)": "x(y)"} {
		if got := heloName(in); got != want {
			t.Errorf("heloName(%q) = %q, want %q", in, got, want)
		}
	}
	for _, tc := range []struct {
		in, want string
		utf8     bool
	}{
		{"a b c", "a?b?c", true},
		{`a<b>c(d)e@f;g"h\i`, "a?b?c?d?e?f?g?h?i", true},
		{"x\x01y\x7f:z", "x?y?:z", true},
		{"h\u00e9llo", "h\u00e9llo", true},
		{"h\u00e9llo", "h??llo", false},
		{"h\xffllo", "h?llo", true},
	} {
		s := &session{p: &params{smtputf8: tc.utf8}}
		if got := s.keptHelo(tc.in); got != tc.want {
			t.Errorf("keptHelo(%q, utf8 %v) = %q, want %q", tc.in, tc.utf8, got, tc.want)
		}
	}
}

func TestHeaderNameCommands(t *testing.T) {
	t.Parallel()
	for tok, want := range map[string]bool{"Subject:": true, "X-Foo:": true, "MAIL": false, ":x": false, "a b:": false} {
		if got := isHeaderName(tok); got != want {
			t.Errorf("isHeaderName(%q) = %v, want %v", tok, got, want)
		}
	}
}
