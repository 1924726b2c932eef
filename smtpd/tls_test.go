package smtpd

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/postfix-go/postfix/internal/flowtest"
	"github.com/postfix-go/postfix/internal/tlsutil/tlstest"
)

// tlsMain returns main.cf lines that turn on STARTTLS with a fresh
// certificate.
func tlsMain(t *testing.T, level string) string {
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	cert, key := tlstest.Cert(t, dir, "mx.example.test")
	os.Chmod(key, 0o644)
	return fmt.Sprintf("smtpd_tls_security_level = %s\nsmtpd_tls_cert_file = %s\nsmtpd_tls_key_file = %s\nsmtpd_tls_loglevel = 1\nsmtpd_tls_received_header = yes\n", level, cert, key)
}

// starttlsDialogue runs EHLO, STARTTLS with a command pipelined behind it
// (which must be discarded), then a message over TLS.
func starttlsDialogue(t *testing.T, addr string) string {
	c := dial(t, addr)
	var b strings.Builder
	b.WriteString(c.reply(5 * time.Second))
	for _, l := range []string{"MAIL FROM:<a@example.com>\r\n", "EHLO c\r\n"} {
		c.send(l)
		b.WriteString(c.reply(5 * time.Second))
	}
	// CVE-2011-0411: RSET travels in the same packet as STARTTLS.
	c.send("STARTTLS\r\nRSET\r\n")
	b.WriteString(c.reply(5 * time.Second))
	tc := tls.Client(c.c, &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS13})
	if err := tc.Handshake(); err != nil {
		t.Fatalf("handshake with %s: %v", addr, err)
	}
	c.c = tc
	c.br = bufio.NewReader(tc)
	for _, l := range []string{"MAIL FROM:<a@example.com>\r\n", "EHLO c\r\n", "STARTTLS\r\n",
		"MAIL FROM:<a@example.com>\r\n", "RCPT TO:<root@mx.example.test>\r\n", "DATA\r\n",
		"Subject: tls\r\n\r\nhi\r\n.\r\n", "QUIT\r\n"} {
		c.send(l)
		fmt.Fprintf(&b, ">> %q\n", l)
		b.WriteString(c.reply(5 * time.Second))
	}
	return b.String()
}

// TestStartTLSMatchesPostfix checks STARTTLS against Debian's smtpd: the
// EHLO lists before and after, the discarded pipelined command, the
// replies over TLS, the log lines and the Received header.
func TestStartTLSMatchesPostfix(t *testing.T) {
	t.Parallel()
	ours, ref := startPair(t, baseMain+tlsMain(t, "may"), "")
	var got, want string
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		want = mask(starttlsDialogue(t, ref.addr))
	}()
	got = mask(starttlsDialogue(t, ours.addr))
	wg.Wait()
	if got != want {
		t.Errorf("STARTTLS dialogue differs\n--- ours:\n%s\n--- Postfix:\n%s", got, want)
	}
	waitLogs(t, ours, ref, 2)
	gotMbox, wantMbox := mailbox(t, ours, "root"), mailbox(t, ref, "root")
	if gotMbox != wantMbox {
		t.Errorf("delivered message differs\n--- ours:\n%s\n--- Postfix:\n%s", gotMbox, wantMbox)
	}
}

var mboxMasks = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`\b[0-9A-F]{10,12}\b`), "ID"},
	{regexp.MustCompile(`\w{3}, [ \d]\d \w{3} \d{4} \d\d:\d\d:\d\d [-+]\d{4} \(\w+\)`), "DATE"},
	{regexp.MustCompile(`(?m)^From (\S+) .*$`), "From $1 DATE"},
	{regexp.MustCompile(`<\d{14}\.ID@`), "<MSGID@"},
}

// mailbox waits for user's mailbox and returns it, masked.
func mailbox(t *testing.T, s *system, user string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, err := os.ReadFile(s.Spool + "/" + user)
		if err == nil && strings.Contains(string(b), "\n\n") {
			out := string(b)
			for _, m := range mboxMasks {
				out = m.re.ReplaceAllString(out, m.with)
			}
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("no mail for %s:\n%s", user, s.LogText())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// sortedMessages puts the messages of an mbox in byte order.
func sortedMessages(mbox string) string {
	msgs := strings.SplitAfter(mbox, "\n\nFrom ")
	for i := range msgs {
		msgs[i] = strings.TrimSuffix(msgs[i], "From ")
		if i > 0 {
			msgs[i] = "From " + msgs[i]
		}
	}
	sort.Strings(msgs)
	return strings.Join(msgs, "")
}

// smtpsDialogue talks to a wrapper-mode (smtps) service.
func smtpsDialogue(t *testing.T, addr string) string {
	raw := dial(t, addr)
	tc := tls.Client(raw.c, &tls.Config{InsecureSkipVerify: true})
	if err := tc.Handshake(); err != nil {
		t.Fatalf("handshake with %s: %v", addr, err)
	}
	c := &client{t: t, c: tc, br: bufio.NewReader(tc)}
	var b strings.Builder
	b.WriteString(c.reply(5 * time.Second))
	for _, l := range []string{"EHLO c", "STARTTLS", "QUIT"} {
		c.send(l + "\r\n")
		fmt.Fprintf(&b, ">> %q\n", l)
		b.WriteString(c.reply(5 * time.Second))
	}
	return b.String()
}

// TestWrapperModeMatchesPostfix compares an smtps service
// (smtpd_tls_wrappermode = yes).
func TestWrapperModeMatchesPostfix(t *testing.T) {
	t.Parallel()
	ours, ref := startPair(t, baseMain+tlsMain(t, "none"), "inet n - n - - smtpd -o smtpd_tls_wrappermode=yes", func(s *flowtest.System) {})
	var got, want string
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		want = mask(smtpsDialogue(t, ref.addr))
	}()
	got = mask(smtpsDialogue(t, ours.addr))
	wg.Wait()
	if got != want {
		t.Errorf("smtps dialogue differs\n--- ours:\n%s\n--- Postfix:\n%s", got, want)
	}
	waitLogs(t, ours, ref, 2)
}

// tlsTwice runs two sessions that each start TLS, and returns the second
// session's STARTTLS reply.
func tlsTwice(t *testing.T, addr string) string {
	var out strings.Builder
	for i := 0; i < 2; i++ {
		c := dial(t, addr)
		c.reply(5 * time.Second)
		c.send("EHLO c\r\n")
		c.reply(5 * time.Second)
		c.send("STARTTLS\r\n")
		r := c.reply(5 * time.Second)
		out.WriteString(r)
		if strings.HasPrefix(r, "220 ") {
			tc := tls.Client(c.c, &tls.Config{InsecureSkipVerify: true})
			if err := tc.Handshake(); err != nil {
				t.Fatalf("handshake: %v", err)
			}
			// A refused session gets a 421 at once; else QUIT.
			br := bufio.NewReader(tc)
			tc.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
			l, err := br.ReadString('\n')
			if err != nil {
				tc.Write([]byte("QUIT\r\n"))
				tc.SetReadDeadline(time.Now().Add(5 * time.Second))
				l, err = br.ReadString('\n')
			}
			fmt.Fprintf(&out, "after TLS: %q %v\n", l, err != nil)
		}
		c.c.Close()
	}
	return out.String()
}

// TestNewTLSRateLimitMatchesPostfix compares
// smtpd_client_new_tls_session_rate_limit.
func TestNewTLSRateLimitMatchesPostfix(t *testing.T) {
	t.Parallel()
	ours, ref := startPair(t, baseMain+tlsMain(t, "may")+"smtpd_client_event_limit_exceptions =\nsmtpd_client_new_tls_session_rate_limit = 1\nsmtpd_tls_session_cache_database =\n", "")
	var got, want string
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		want = mask(tlsTwice(t, ref.addr))
	}()
	got = mask(tlsTwice(t, ours.addr))
	wg.Wait()
	if got != want {
		t.Errorf("STARTTLS replies differ\n--- ours:\n%s\n--- Postfix:\n%s", got, want)
	}
	// The two sessions may overlap in the log.
	waitLogsUnordered(t, ours, ref, 3)
}
