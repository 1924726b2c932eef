package smtpd

import (
	"strings"
	"testing"
	"time"
)

// limitsMain sets small limits so that each can be reached quickly.
const limitsMain = baseMain + `smtpd_helo_required = yes
disable_vrfy_command = yes
message_size_limit = 2000
smtpd_recipient_limit = 2
smtpd_soft_error_limit = 2
smtpd_hard_error_limit = 4
smtpd_error_sleep_time = 0
smtpd_timeout = 2s
smtpd_discard_ehlo_keywords = chunking, dsn
smtpd_reject_footer = Contact postmaster@$myhostname ($client_address)
smtpd_recipient_restrictions = check_recipient_access inline:{bad@mx.example.test=REJECT}, permit_mynetworks, reject
`

// TestLimitsMatchPostfix compares the replies and the log lines for the
// session limits.
func TestLimitsMatchPostfix(t *testing.T) {
	t.Parallel()
	ours, ref := startPair(t, limitsMain, "")
	body := strings.Repeat("0123456789012345678901234567890123456789\r\n", 60)
	dialogues := []struct {
		name  string
		steps []step
	}{
		{"helo-required", cmds("MAIL FROM:<a@example.com>", "VRFY root", "EHLO c", "QUIT")},
		{"recipients", cmds("HELO c", "MAIL FROM:<a@example.com>", "RCPT TO:<root@mx.example.test>",
			"RCPT TO:<bad@mx.example.test>", "RCPT TO:<postmaster@mx.example.test>", "RCPT TO:<x@mx.example.test>", "QUIT")},
		{"size", append(cmds("HELO c", "MAIL FROM:<a@example.com> SIZE=2001", "MAIL FROM:<a@example.com>",
			"RCPT TO:<root@mx.example.test>", "DATA"),
			step{send: "Subject: big\r\n\r\n" + body + ".\r\n", replies: 1},
			step{send: "QUIT\r\n", replies: 1})},
		{"content-size", append(cmds("HELO c", "MAIL FROM:<a@example.com>", "RCPT TO:<root@mx.example.test>", "DATA"),
			step{send: "Subject: big\r\n\r\n" + body + ".\r\n", replies: 1},
			step{send: "QUIT\r\n", replies: 1})},
		{"errors", cmds("HELO c", "FOO", "BAR", "RCPT TO:<a@b>", "BAZ", "NOOP", "NOOP")},
		{"longline", cmds("HELO c", "NOOP "+strings.Repeat("x", 3000), "QUIT")},
		{"timeout", []step{{send: "HELO c\r\n", replies: 1}, {send: "MAIL FROM:<a@example.com>\r\n", replies: 2, timeout: 4 * time.Second}}},
		{"data-timeout", []step{{send: "HELO c\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<root@mx.example.test>\r\nDATA\r\n", replies: 4},
			{send: "Subject: x\r\n\r\npartial", replies: 1, timeout: 4 * time.Second}}},
		{"data-lost", []step{{send: "HELO c\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<root@mx.example.test>\r\nDATA\r\n", replies: 4},
			{send: "Subject: x\r\n\r\npartial\r\n", replies: 0}}},
		{"pipelining-helo", []step{{send: "HELO c\r\n", replies: 1},
			{send: "MAIL FROM:<a@example.com>\r\nRCPT TO:<root@mx.example.test>\r\nRSET\r\n", replies: 3},
			{send: "QUIT\r\n", replies: 1}}},
		{"pipelining", []step{{send: "HELO c\r\nNOOP\r\n", replies: 2}, {send: "QUIT\r\n", replies: 1}}},
		{"pipelined-data", []step{{send: "EHLO c\r\n", replies: 1},
			{send: "MAIL FROM:<a@example.com>\r\nRCPT TO:<root@mx.example.test>\r\nDATA\r\nSubject: x\r\n\r\n.\r\n", replies: 4},
			{send: "QUIT\r\n", replies: 1}}},
	}
	for _, d := range dialogues {
		t.Run(d.name, func(t *testing.T) { compare(t, ours, ref, d.steps) })
	}
	waitLogs(t, ours, ref, len(dialogues)+1)
}

// waitLogs waits until both systems logged n disconnects and compares
// their smtpd log lines.
func waitLogs(t *testing.T, ours, ref *system, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if len(ours.LogLines(`smtpd\[.*disconnect from`)) >= n && len(ref.LogLines(`smtpd\[.*disconnect from`)) >= n {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got, want := smtpdLog(ours), smtpdLog(ref); got != want {
		t.Errorf("smtpd log lines differ\n--- ours:\n%s\n--- Postfix:\n%s", got, want)
	}
}

// TestImmediateRejectMatchesPostfix: without smtpd_delay_reject the
// client restrictions answer at once, instead of the greeting.
func TestImmediateRejectMatchesPostfix(t *testing.T) {
	t.Parallel()
	ours, ref := startPair(t, baseMain+"smtpd_delay_reject = no\nsmtpd_client_restrictions = check_client_access inline:{{127.0.0.1=REJECT go away}}\n", "")
	compare(t, ours, ref, cmds("EHLO c", "MAIL FROM:<a@example.com>", "NOOP", "QUIT"))
	waitLogs(t, ours, ref, 2)
}
