package smtpd

import (
	"sort"
	"strings"
	"testing"
)

// baseMain is what main.cf both systems get beyond devconf's: nothing;
// recipients are checked with the default local_recipient_maps.
const baseMain = ""

// TestDialogueMatchesPostfix sends the same dialogues to our smtpd and to
// Debian's and compares every reply line.
func TestDialogueMatchesPostfix(t *testing.T) {
	t.Parallel()
	ours, ref := startPair(t, baseMain+"smtpd_soft_error_limit = 100\n", "")
	dialogues := map[string][]step{
		"ehlo": cmds("EHLO client.example", "HELO", "EHLO", "HELO client.example", "QUIT"),
		"sequence": cmds("RCPT TO:<root@mx.example.test>", "DATA", "MAIL FROM:<a@example.com>",
			"MAIL FROM:<a@example.com>", "DATA", "RSET", "RSET x", "NOOP x", "BDAT 0 LAST", "QUIT"),
		"unknown": cmds("EHLO c", "FOO", "HELP", "", "   ", "QUIT"),
		"mailsyntax": cmds("EHLO c", "MAIL FROM:a@example.com", "RSET", "MAIL FROM:<a@example.com", "MAIL TO:<a@b>",
			"MAIL FROM:<a@example.com> FOO=bar", "MAIL FROM:<a@example.com> SIZE=x", "MAIL FROM:<a@example.com> BODY=x",
			"MAIL FROM:<a@example.com> RET=x", "MAIL FROM:<a@example.com> ENVID=a+b", "MAIL FROM:<a@example.com> SIZE=99999999999",
			"MAIL FROM:<a@example.com>", "QUIT"),
		"rcptsyntax": cmds("EHLO c", "MAIL FROM:<>", "RCPT TO:root@mx.example.test", "RCPT TO:<root@mx.example.test> FOO=1",
			"RCPT TO:<root@mx.example.test> NOTIFY=BAD", "RCPT TO:<root@mx.example.test> NOTIFY=NEVER,SUCCESS",
			"RCPT TO:<root@mx.example.test> ORCPT=x", "RCPT TO:<root@mx.example.test> NOTIFY=SUCCESS ORCPT=rfc822;a+2Bb@c",
			"RCPT TO:<nobody-here@mx.example.test>", "RCPT TO:<x@elsewhere.example>", "RCPT TO:<>", "QUIT"),
		"http":           cmds("GET / HTTP/1.0", "QUIT"),
		"lowercase":      cmds("EHLO c", "ehlo c", "foo", "9foo", "QUIT"),
		"header":         cmds("EHLO c", "Subject: x", "QUIT"),
		"xclient-denied": cmds("EHLO c", "XCLIENT NAME=x", "XFORWARD NAME=x", "QUIT"),
		"vrfy":           cmds("VRFY", "VRFY root", "VRFY <root@mx.example.test>", "ETRN", "EHLO c", "ETRN", "ETRN example.com", "QUIT"),
		"message": append(cmds("EHLO c", "MAIL FROM:<a@example.com> BODY=8BITMIME", "RCPT TO:<root@mx.example.test>", "DATA"),
			step{send: "Subject: test\r\n\r\nhello\r\n..dot\r\n.\r\n", replies: 1},
			step{send: "QUIT\r\n", replies: 1}),
		"pipelined": {
			{send: "EHLO c\r\n", replies: 1},
			{send: "MAIL FROM:<a@example.com>\r\nRCPT TO:<root@mx.example.test>\r\nRCPT TO:<postmaster@mx.example.test>\r\nDATA\r\n", replies: 4},
			{send: "Subject: x\r\n\r\nbody\r\n.\r\nQUIT\r\n", replies: 2},
		},
		"bdat": {
			{send: "EHLO c\r\n", replies: 1},
			{send: "MAIL FROM:<a@example.com>\r\nRCPT TO:<root@mx.example.test>\r\n", replies: 2},
			{send: "BDAT 12\r\nSubject: x\r\n", replies: 1},
			{send: "BDAT 8 LAST\r\n\r\nbody\r\n", replies: 1},
			{send: "MAIL FROM:<a@example.com>\r\nRCPT TO:<root@mx.example.test>\r\nBDAT 3\r\nabc", replies: 3},
			{send: "DATA\r\n", replies: 1},
			{send: "BDAT 4\r\nef\r\n", replies: 1},
			{send: "BDAT 2 LAST\r\nd\n", replies: 1},
			{send: "RCPT TO:<root@mx.example.test>\r\nBDAT 1 LAST\r\nx", replies: 2},
			{send: "BDAT x\r\n", replies: 1},
		},
	}
	names := make([]string, 0, len(dialogues))
	for name := range dialogues {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			compare(t, ours, ref, dialogues[name])
		})
	}
	waitLogs(t, ours, ref, len(dialogues)+1)
	if t.Failed() {
		t.Logf("our log:\n%s\nPostfix's log:\n%s", smtpdLog(ours), smtpdLog(ref))
	}
	_ = strings.TrimSpace
}
