package anvil

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/postfix-go/postfix/internal/flowtest"
)

// TestDownMatchesPostfix removes private/anvil from under Debian's
// running Postfix and connects to its smtpd (no limit exceptions): smtpd
// lets the client in, after the warnings its anvil client logs. Ours logs
// the same for the same failure.
func TestDownMatchesPostfix(t *testing.T) {
	t.Parallel()
	port := flowtest.FreePort(t)
	sys := flowtest.NewReferenceWithMaster(t, "smtpd_client_event_limit_exceptions =\nlocal_recipient_maps =\n",
		// max_use=1: the session must get a fresh smtpd. One that served
		// the port probe keeps its anvil connection open, and would never
		// notice the socket is gone.
		fmt.Sprintf("127.0.0.1:%d inet n - n - - smtpd -o max_use=1\n", port))
	sys.Start()
	flowtest.WaitPort(t, port, 10*time.Second)
	sock := filepath.Join(sys.Queue, "private", "anvil")
	if err := os.Remove(sock); err != nil {
		t.Fatal(err)
	}
	k := flowtest.Dial(t, fmt.Sprintf("127.0.0.1:%d", port))
	if r := k.Send("EHLO client.example\r\n", 1); !strings.HasPrefix(r[len(r)-1], "250 ") {
		t.Errorf("EHLO: %q", r)
	}
	k.Send("QUIT\r\n", 1)
	// The warnings of the smtpd process that served this session (the
	// port probe had one of its own): anvil's connect and, at the end,
	// its disconnect, each tried twice a second apart.
	end := sys.WaitLog(`postfix/smtpd\[\d+\]: disconnect from localhost\[127\.0\.0\.1\] ehlo=1 quit=1 commands=2`, 10*time.Second)
	pid := regexp.MustCompile(`smtpd\[(\d+)\]`).FindStringSubmatch(end)[1]
	rx := regexp.MustCompile(`postfix/smtpd\[` + pid + `\]: warning: (.*)$`)
	var theirs []string
	for _, l := range sys.LogLines(`postfix/smtpd\[` + pid + `\]: warning: `) {
		theirs = append(theirs, rx.FindStringSubmatch(l)[1])
	}

	w := &warnings{}
	a := newTestClient(sock, w)
	if _, _, err := a.Connect("smtp", "127.0.0.1"); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("connect without anvil: %v", err)
	}
	if err := a.Disconnect("smtp", "127.0.0.1"); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("disconnect without anvil: %v", err)
	}
	if got, want := w.text(), strings.Join(theirs, "\n"); got != want {
		t.Errorf("warnings:\n%s\nPostfix:\n%s", got, want)
	}
}
