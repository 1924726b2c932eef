package smtpd

import (
	"regexp"
	"testing"
)

// TestStandaloneMatchesPostfix runs "sendmail -bs" (smtpd -S on a pipe)
// on both systems as root and compares the dialogue and the log.
func TestStandaloneMatchesPostfix(t *testing.T) {
	t.Parallel()
	ours, ref := startPair(t, baseMain, "")
	in := "EHLO client.example\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<root@mx.example.test>\r\nDATA\r\nSubject: bs\r\n\r\nhi\r\n.\r\nQUIT\r\n"
	r1 := ref.Command("sendmail", in, "-bs")
	r2 := ours.Command("sendmail", in, "-bs")
	re := regexp.MustCompile(`queued as \w+`)
	if got, want := re.ReplaceAllString(r2.Stdout, "queued as ID"), re.ReplaceAllString(r1.Stdout, "queued as ID"); got != want {
		t.Errorf("sendmail -bs output differs\n--- ours:\n%s\n--- Postfix:\n%s", got, want)
	}
	t.Logf("ref: %+v\nours: %+v", r1, r2)
	ref.WaitLog(`postfix/qmgr.*removed`, 10e9)
	ours.WaitLog(`postfix/qmgr.*removed`, 10e9)
	if got, want := smtpdLog(ours), smtpdLog(ref); got != want {
		t.Errorf("log differs\n--- ours:\n%s\n--- Postfix:\n%s", got, want)
	}
	if got, want := mailbox(t, ours, "root"), mailbox(t, ref, "root"); got != want {
		t.Errorf("delivered message differs\n--- ours:\n%s\n--- Postfix:\n%s", got, want)
	}
}
