package smtpd

import "testing"

// TestRcptParamsMatchPostfix: the DSN records smtpd writes for each
// recipient (notify_flags, dsn_orig_rcpt made up from the address as
// the client wrote it, or the client's ORCPT with its type as spelled)
// match Postfix's in the queue file.
func TestRcptParamsMatchPostfix(t *testing.T) {
	t.Parallel()
	ours, ref := startPair(t, holdMain, "")
	steps := append(cmds("EHLO client.example", "MAIL FROM:<a@example.com> RET=full ENVID=x+2B",
		"RCPT TO:<@route.example:root@mx.example.test> NOTIFY=delay,success",
		"RCPT TO:<\"root\"@mx.example.test> NOTIFY=FAILURE,,SUCCESS",
		"RCPT TO:postmaster@mx.example.test",
		"RCPT TO:<root@mx.example.test> ORCPT=RFC822;o+2Bx@y NOTIFY=NEVER",
		"RCPT TO:<root(c)@mx.example.test> ORCPT=utf-8;u@v",
		"DATA"), step{send: "Subject: dsn\r\n\r\nbody\r\n.\r\n", replies: 1}, step{send: "QUIT\r\n", replies: 1})
	compare(t, ours, ref, steps)
	if got, want := heldFile(t, ours), heldFile(t, ref); got != want {
		t.Errorf("queue files differ\n--- ours:\n%s\n--- Postfix:\n%s", got, want)
	}
}

// TestMailSizeStaysMatchesPostfix: a SIZE= over message_size_limit stays
// in force for the next MAIL without SIZE=, also when a later parameter
// failed the command, until RSET (a quirk of Postfix's smtpd).
func TestMailSizeStaysMatchesPostfix(t *testing.T) {
	t.Parallel()
	ours, ref := startPair(t, baseMain+"smtpd_soft_error_limit = 100\n", "")
	compare(t, ours, ref, cmds("EHLO c", "MAIL FROM:<a@example.com> SIZE=99999999999 FOO", "MAIL FROM:<a@example.com>",
		"RSET", "MAIL FROM:<a@example.com>", "RSET", "MAIL FROM:<a@example.com> SIZE=99999999999 SIZE=0",
		"MAIL FROM:<a@example.com> SIZE=0 SIZE=99999999999", "MAIL FROM:<a@ex ample.com> SIZE=99999999999",
		"MAIL FROM:<a@example.com>", "QUIT"))
}
