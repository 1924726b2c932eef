package bounce

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/postfix-go/postfix/internal/bouncelog"
	"github.com/postfix-go/postfix/internal/dsn"
)

func TestWrap(t *testing.T) {
	t.Parallel()
	cases := []struct{ in, want string }{
		{"short", "short"},
		{"trailing   ", "trailing"},
		// Postfix's own output for this line (see the differential test).
		{"<b@example.com>: host mx.example.com[192.0.2.1] said: 550 5.0.0 go away this is a very long line of text that needs wrapping because it is long (in reply to RCPT TO command)",
			"<b@example.com>: host mx.example.com[192.0.2.1] said: 550 5.0.0 go away this is\n" +
				"    a very long line of text that needs wrapping because it is long (in reply\n" +
				"    to RCPT TO command)"},
		// A word longer than the line is not broken.
		{strings.Repeat("x", 100) + " y", strings.Repeat("x", 100) + "\n    y"},
		{"a  " + strings.Repeat("b", 80), "a\n    " + strings.Repeat("b", 80)},
	}
	for _, c := range cases {
		n := &notice{}
		n.wrap(c.in)
		var got []string
		for _, r := range n.recs {
			got = append(got, r.data)
		}
		if g := strings.Join(got, "\n"); g != c.want {
			t.Errorf("wrap(%q):\n got %q\nwant %q", c.in, g, c.want)
		}
	}
}

func TestVerpSender(t *testing.T) {
	t.Parallel()
	e := func(addr, orig string) bouncelog.Entry {
		return bouncelog.Entry{Rcpt: dsn.Recipient{Address: addr, Orig: orig}}
	}
	cases := []struct {
		sender string
		e      bouncelog.Entry
		want   string
	}{
		{"owner@lists.example", e("user@example.com", ""), "owner+user=example.com@lists.example"},
		{"owner@lists.example", e("user@example.com", "alias@example.net"), "owner+alias=example.net@lists.example"},
		{"owner", e("user", ""), "owner+user"},
		{"owner@", e("user@", ""), "owner+user"},
	}
	for _, c := range cases {
		if got := verpSender("+=", c.sender, c.e); got != c.want {
			t.Errorf("verpSender(%q, %+v) = %q, want %q", c.sender, c.e.Rcpt, got, c.want)
		}
	}
}

func TestExpander(t *testing.T) {
	t.Parallel()
	var warnings []string
	x := &Expander{
		Lookup: func(name string) (string, bool) {
			v, ok := map[string]string{"myhostname": "host.example", "odd": "a\x01b\xc3\xa9c"}[name]
			return v, ok
		},
		Times: map[string]time.Duration{"delay_warning_time": 90 * time.Minute, "maximal_queue_lifetime": 5 * 24 * time.Hour},
		Warn:  func(f string, a ...any) { warnings = append(warnings, fmt.Sprintf(f, a...)) },
	}
	tm := &Template{Kind: "delay", Origin: "[built-in]", Text: "at $myhostname ${odd}\n$delay_warning_time_hours h, $delay_warning_time_minutes m, $delay_warning_time_seconds s\n$maximal_queue_lifetime_weeks w, $$5\n"}
	got, err := x.Expand(tm)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"at host.example a_b__c", "1 h, 90 m, 5400 s", "0 w, $5"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("Expand:\n got %q\nwant %q", got, want)
	}
	wantWarn := []string{
		`[built-in]: excessive result "5400" in delay template conversion of parameter "delay_warning_time_seconds"`,
		`please increase time unit "seconds" of "delay_warning_time_seconds" in delay template`,
		"for instructions see the bounce(5) manual",
		`[built-in]: zero result in delay template conversion of parameter "maximal_queue_lifetime_weeks"`,
		`please reduce time unit "weeks" of "maximal_queue_lifetime_weeks" in delay template`,
		"for instructions see the bounce(5) manual",
	}
	if strings.Join(warnings, "\n") != strings.Join(wantWarn, "\n") {
		t.Errorf("warnings:\n got %q\nwant %q", warnings, wantWarn)
	}
	for text, want := range map[string]string{
		"x $nosuch y\n":                    "[built-in]: undefined $name in delay template: x $nosuch y",
		"x ${myhostname\n":                 "[built-in]: bad $name syntax in delay template: x ${myhostname",
		"$delay_warning_time_fortnights\n": `[built-in]: unrecognized suffix "fortnights" in parameter "delay_warning_time_fortnights"`,
	} {
		_, err := x.Expand(&Template{Kind: "delay", Origin: "[built-in]", Text: text})
		if err == nil || err.Error() != want {
			t.Errorf("Expand(%q): %v, want %q", text, err, want)
		}
	}
}

func TestNameMask(t *testing.T) {
	t.Parallel()
	m, err := nameMask("notify_classes", "Bounce,2bounce  delay", errorClasses)
	if err != nil || m != classBounce|class2Bounce|classDelay {
		t.Errorf("nameMask: %d %v", m, err)
	}
	if _, err := nameMask("notify_classes", "bounce, nosuch", errorClasses); err == nil ||
		err.Error() != `unknown notify_classes value "nosuch" in "bounce, nosuch"` {
		t.Errorf("unknown class: %v", err)
	}
}

func TestNames(t *testing.T) {
	t.Parallel()
	for s, want := range map[string]bool{"active": true, "deferred": true, "": false, "a/b": false, "..": false, strings.Repeat("a", 101): false} {
		if queueNameOK(s) != want {
			t.Errorf("queueNameOK(%q) = %v", s, !want)
		}
	}
	for s, want := range map[string]bool{"97F04988064": true, "4jc9Bv41czz1SKrr": true, "a_b": true, "a.b": false, "../x": false, "": false} {
		if queueIDOK(s) != want {
			t.Errorf("queueIDOK(%q) = %v", s, !want)
		}
	}
}
