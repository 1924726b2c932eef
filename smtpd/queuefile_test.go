package smtpd

import (
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// holdMain puts messages for postmaster on hold so that the queue file
// smtpd and cleanup wrote can be read back.
const holdMain = baseMain + "smtpd_recipient_restrictions = check_recipient_access inline:{postmaster@mx.example.test=HOLD}, permit_mynetworks, reject\n"

// heldFile waits for one file in the hold queue and returns its postcat
// listing (Debian's postcat), masked.
func heldFile(t *testing.T, s *system) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		files, _ := filepath.Glob(filepath.Join(s.Queue, "hold", "*"))
		if len(files) == 1 {
			out, err := exec.Command("/usr/sbin/postcat", "-c", s.Etc, "-v", files[0]).CombinedOutput()
			if err != nil {
				t.Fatalf("postcat: %v\n%s", err, out)
			}
			return maskQueueFile(string(out))
		}
		if time.Now().After(deadline) {
			t.Fatalf("no held message (%d files):\n%s", len(files), s.LogText())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

var qfMasks = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`(?m)^postcat: .*\n`), ""},
	{regexp.MustCompile(`/tmp/\S+/hold/\w+`), "FILE"},
	{regexp.MustCompile(`\b[0-9A-F]{10,12}\b`), "ID"},
	{regexp.MustCompile(`(?m)^(message_size:).*$`), "$1 SIZE"},
	{regexp.MustCompile(`(message_arrival_time|create_time): .*`), "$1: TIME"},
	{regexp.MustCompile(`(client_port|server_port)=\d+`), "$1=PORT"},
	{regexp.MustCompile(`\w{3}, [ \d]\d \w{3} \d{4} \d\d:\d\d:\d\d [-+]\d{4} \(\w+\)`), "DATE"},
	{regexp.MustCompile(`<\d{14}\.ID@`), "<MSGID@"},
}

func maskQueueFile(s string) string {
	for _, m := range qfMasks {
		s = m.re.ReplaceAllString(s, m.with)
	}
	return strings.TrimSpace(s)
}

// TestQueueFileMatchesPostfix receives the same message on both systems
// and compares the queue files record by record.
func TestQueueFileMatchesPostfix(t *testing.T) {
	t.Parallel()
	ours, ref := startPair(t, holdMain, "")
	steps := []step{
		{send: "EHLO client.example\r\n", replies: 1},
		{send: "MAIL FROM:<a@example.com> RET=HDRS ENVID=abc+2Bx BODY=8BITMIME SIZE=100\r\n", replies: 1},
		{send: "RCPT TO:<root@mx.example.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;x+2By@z\r\n", replies: 1},
		{send: "RCPT TO:<postmaster@mx.example.test>\r\n", replies: 1},
		{send: "DATA\r\n", replies: 1},
		{send: "Subject: hi\r\nX-Long: " + strings.Repeat("x", 3000) + "\r\n\r\nbody\r\n..\r\n.\r\n", replies: 1},
		{send: "QUIT\r\n", replies: 1},
	}
	compare(t, ours, ref, steps)
	got, want := heldFile(t, ours), heldFile(t, ref)
	if got != want {
		t.Errorf("queue files differ\n--- ours:\n%s\n--- Postfix:\n%s", got, want)
	}
}

// TestAccessActionsMatchPostfix: the message actions of access tables
// (HOLD, PREPEND, FILTER, REDIRECT, BCC) end up in the queue file as with
// Postfix's smtpd.
func TestAccessActionsMatchPostfix(t *testing.T) {
	t.Parallel()
	main := baseMain + "smtpd_recipient_restrictions = check_recipient_access inline:{{postmaster@mx.example.test=HOLD}}, " +
		"check_sender_access inline:{{a@example.com=PREPEND X-Tag: tagged}}, " +
		"check_client_access inline:{{127.0.0.1=FILTER smtp:[127.0.0.1]:10025}}, " +
		"check_helo_access inline:{{client.example=REDIRECT other@example.net}}, " +
		"check_recipient_access inline:{{root@mx.example.test=BCC copy@example.org}}, permit_mynetworks, reject\n"
	ours, ref := startPair(t, main, "")
	steps := append(cmds("EHLO client.example", "MAIL FROM:<a@example.com>", "RCPT TO:<root@mx.example.test>",
		"RCPT TO:<postmaster@mx.example.test>", "DATA"), step{send: "Subject: actions\r\n\r\nbody\r\n.\r\n", replies: 1},
		step{send: "QUIT\r\n", replies: 1})
	compare(t, ours, ref, steps)
	if got, want := heldFile(t, ours), heldFile(t, ref); got != want {
		t.Errorf("queue files differ\n--- ours:\n%s\n--- Postfix:\n%s", got, want)
	}
	waitLogs(t, ours, ref, 2)
}
