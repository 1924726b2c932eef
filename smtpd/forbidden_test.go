package smtpd

import (
	"bytes"
	"strings"
	"testing"

	"github.com/postfix-go/postfix/internal/msg"
)

// TestForbiddenCommands checks smtpd_forbidden_commands with words and
// inline regexp and pcre tables opened by maptypes, including Postfix
// 3.7's default value. The command is folded to lower case before a
// table lookup, as Postfix's string lists do: "/^x-/i" matches "X-y".
func TestForbiddenCommands(t *testing.T) {
	t.Parallel()
	f := compileForbidden(nil, "CONNECT GET POST regexp:{{/^[^A-Z]/ Bogus}, {/^x-/i Other}}, pcre:{{/^ZZ\\d/ z}}")
	for tok, want := range map[string]bool{"get": true, "POST": true, "foo": false, "9foo": true,
		"X-y": true, "x-y": true, "EHLO": false, "zz9": true, "ZZ": false, "": false} {
		if got := f.match(tok); got != want {
			t.Errorf("match(%q) = %v, want %v", tok, got, want)
		}
	}
	def := compileForbidden(nil, "CONNECT GET POST regexp:{{/^[^A-Z]/ Bogus}}")
	for tok, want := range map[string]bool{"connect": true, "1x": true, "{": true, "MAIL": false, "mail": false} {
		if got := def.match(tok); got != want {
			t.Errorf("default: match(%q) = %v, want %v", tok, got, want)
		}
	}
}

// TestForbiddenBadTable checks that an inline table that does not open is
// reported and matches nothing while the words still apply.
func TestForbiddenBadTable(t *testing.T) {
	var buf bytes.Buffer
	old := msg.SetOutput(&buf)
	defer msg.SetOutput(old)
	f := compileForbidden(nil, "GET regexp:{/x/ y}")
	if !f.match("GET") || f.match("x") {
		t.Errorf("GET %v, x %v", f.match("GET"), f.match("x"))
	}
	if !strings.Contains(buf.String(), "regexp map: no '{' at start of text in \"/x/\"") {
		t.Errorf("warnings: %q", buf.String())
	}
}

// TestForbiddenMatchesPostfix sends commands to our smtpd and Debian's
// with inline regexp and pcre tables in smtpd_forbidden_commands and
// compares the replies and log lines (a forbidden command ends the
// session, so each is its own dialogue).
func TestForbiddenMatchesPostfix(t *testing.T) {
	t.Parallel()
	ours, ref := startPair(t, baseMain+"smtpd_forbidden_commands = CONNECT regexp:{{/^x-/i Other}, {/\\r/ never}}, pcre:{ {/^zz\\d/ z} }\n", "")
	words := []string{"X-y", "x-y", "Zz9", "zz", "GET", "1foo", "r", "R", "connect"}
	for _, w := range words {
		t.Run(w, func(t *testing.T) {
			compare(t, ours, ref, cmds("EHLO c", w+" x", "QUIT"))
		})
	}
	waitLogs(t, ours, ref, len(words))
}
