package flow

import (
	"path/filepath"
	"testing"

	"github.com/postfix-go/postfix/internal/flowtest"
)

// Canonical, virtual alias and masquerading rewrites of envelope and
// header addresses, compared with Postfix on the same tables.
func TestRewriting(t *testing.T) {
	t.Parallel()
	p := newPair(t, "sender_canonical_maps = hash:$config_directory/sender_canonical\n"+
		"recipient_canonical_maps = hash:$config_directory/recipient_canonical\n"+
		"canonical_maps = regexp:$config_directory/canonical\n"+
		"virtual_alias_domains = virt.example.test\n"+
		"virtual_alias_maps = hash:$config_directory/virtual\n"+
		"masquerade_domains = example.test\n"+
		"masquerade_exceptions = root\n", func(s *flowtest.System) {
		s.WriteFile("sender_canonical", "sender@example.org boss@sub.example.test\n")
		s.WriteFile("recipient_canonical", "alias1@mx.example.test root@mx.example.test\n")
		s.WriteFile("canonical", "/^old-(.*)@example\\.org$/ new-$1@example.org\n")
		s.WriteFile("virtual", "info@virt.example.test root, postmaster, nobody-here@virt.example.test\n"+
			"nobody-here@virt.example.test root\n"+
			"sales@virt.example.test info@virt.example.test\n")
		s.Postmap("hash:" + filepath.Join(s.Etc, "sender_canonical"))
		s.Postmap("hash:" + filepath.Join(s.Etc, "recipient_canonical"))
		s.Postmap("hash:" + filepath.Join(s.Etc, "virtual"))
	})
	p.start()
	msg := "From: Sender <sender@example.org>\nTo: sales@virt.example.test, alias1\n" +
		"Cc: old-friend@example.org, Someone <someone@deep.sub.example.test>\n" +
		"Reply-To: root@sub.example.test\nSubject: rewriting\nMessage-ID: <rw@example.org>\n\nbody\n"
	p.each(func(s *flowtest.System) {
		send(t, s, msg, "-f", "sender@example.org", "sales@virt.example.test", "alias1")
		s.WaitLog(`message-id=<rw@example.org>`, wait)
		waitQuiet(t, s)
	})
	sameText(t, "mailbox", messages(readFile(t, filepath.Join(p.ref.Spool, "root"))),
		messages(readFile(t, filepath.Join(p.our.Spool, "root"))))
	sameText(t, "log", lineSet(logEvents(p.ref)), lineSet(logEvents(p.our)))
}

// sendmail -t takes the recipients from To, Cc and Bcc and cleanup
// removes Bcc; -F sets the full name.
func TestSendmailT(t *testing.T) {
	t.Parallel()
	p := newPair(t, "", nil)
	p.start()
	msg := "To: root\nCc: postmaster\nBcc: root@localhost\nSubject: dash t\nMessage-ID: <t@example.org>\n\nbody\n"
	p.each(func(s *flowtest.System) {
		send(t, s, msg, "-t", "-F", "Test Sender", "-f", "tester@example.org")
		s.WaitLog(`message-id=<t@example.org>`, wait)
		waitQuiet(t, s)
	})
	sameText(t, "mailbox", messages(readFile(t, filepath.Join(p.ref.Spool, "root"))),
		messages(readFile(t, filepath.Join(p.our.Spool, "root"))))
	sameText(t, "log", lineSet(logEvents(p.ref)), lineSet(logEvents(p.our)))
}
