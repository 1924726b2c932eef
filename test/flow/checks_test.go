package flow

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/postfix-go/postfix/internal/flowtest"
)

// Every header_checks and body_checks action on messages from sendmail,
// compared with Postfix: what lands in the mailbox (bounces included), what
// the log says, what is held, and Debian's postcat reading the held file.
func TestHeaderChecks(t *testing.T) {
	t.Parallel()
	p := newPair(t, "header_checks = regexp:$config_directory/header_checks\n"+
		"body_checks = regexp:$config_directory/body_checks\n", func(s *flowtest.System) {
		s.WriteFile("header_checks", strings.Join([]string{
			"/^Subject: replace me/ REPLACE Subject: replaced",
			"/^Subject: prepend me/ PREPEND X-Prepended: yes",
			"/^Subject: hold me/ HOLD held for review",
			"/^Subject: discard me/ DISCARD dropped",
			"/^Subject: reject me/ REJECT not wanted here",
			"/^Subject: warn me/ WARN just a warning",
			"/^X-Drop: / IGNORE",
			"/^Subject: redirect me/ REDIRECT postmaster@mx.example.test",
			"/^Subject: bcc me/ BCC postmaster",
			"/^Subject: dunno me/ DUNNO",
			"/^Subject: ok me/ OK",
			"/^Subject: filter me/ FILTER error:filtered away",
		}, "\n")+"\n")
		s.WriteFile("body_checks", "/^secret body/ REJECT body not allowed\n/^warn body/ WARN body warning\n")
	})
	p.start()
	subjects := []string{"replace me", "prepend me", "hold me", "discard me", "reject me", "warn me",
		"redirect me", "bcc me", "dunno me", "ok me", "filter me", "plain"}
	p.each(func(s *flowtest.System) {
		for i, subj := range subjects {
			send(t, s, fmt.Sprintf("Subject: %s\nX-Drop: gone\nMessage-ID: <m%d@example.org>\n\nbody %d\n", subj, i, i), "root")
		}
		send(t, s, "Subject: body one\nMessage-ID: <b1@example.org>\n\nfirst\nsecret body here\n", "root")
		send(t, s, "Subject: body two\nMessage-ID: <b2@example.org>\n\nwarn body here\n", "root")
	})
	// Everything but the held message is done when every queue ID that
	// cleanup logged has been removed or held, and the bounces are in.
	p.each(func(s *flowtest.System) {
		s.WaitLog(`: message-id=<m9@example.org>`, wait)
		waitQuiet(t, s)
	})
	sameText(t, "mailbox", messages(readFile(t, filepath.Join(p.ref.Spool, "root"))),
		messages(readFile(t, filepath.Join(p.our.Spool, "root"))))
	sameText(t, "log", lineSet(logEvents(p.ref)), lineSet(logEvents(p.our)))
	// Debian's postcat reads the held file in our queue as in Postfix's.
	var cat [2]string
	for i, s := range []*flowtest.System{p.ref, p.our} {
		line := s.WaitLog(`: hold: header Subject: hold me`, wait)
		id := regexp.MustCompile(`\]: ([0-9A-Za-z]+): hold:`).FindStringSubmatch(line)[1]
		r := s.Command("postqueue", "", "-p")
		if !strings.Contains(r.Stdout, id+"!") {
			t.Errorf("%s: mailq does not show %s as held:\n%s", name(s), id, r.Stdout)
		}
		r = runRef(t, "/usr/sbin/postcat", "-c", s.Etc, "-q", id)
		if r.Exit != 0 {
			t.Errorf("%s: Debian's postcat -q %s: exit %d: %s", name(s), id, r.Exit, r.Stderr)
		}
		cat[i] = r.Stdout
	}
	sameText(t, "postcat of the held message", cat[0], cat[1])
}
