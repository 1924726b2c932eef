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

func TestExpandVars(t *testing.T) {
	t.Parallel()
	var unknown []string
	got := expandVars("a $client_address ${client_port} $(server_name) $nope $", map[string]string{
		"client_address": "192.0.2.1", "client_port": "25", "server_name": "mx"}, func(n string) { unknown = append(unknown, n) })
	if want := "a 192.0.2.1 25 mx  $"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if len(unknown) != 1 || unknown[0] != "nope" {
		t.Errorf("unknown macros: %q", unknown)
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

func TestMaxProcValue(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]int{"-": 100, "": 100, "0": 0, "5": 5, "x": 100} {
		if got := maxProcValue(in, 100); got != want {
			t.Errorf("maxProcValue(%q) = %d, want %d", in, got, want)
		}
	}
}
