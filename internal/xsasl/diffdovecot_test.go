package xsasl

import (
	"bufio"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/postfix-go/postfix/internal/flowtest"
	"github.com/postfix-go/postfix/internal/tlsutil/tlstest"
	"github.com/postfix-go/postfix/internal/xsasl/sasltest"
)

// recordingProxy passes a Dovecot auth connection through and records the client's lines.
type recordingProxy struct {
	Socket string
	mu     sync.Mutex
	lines  []string
}

func startRecordingProxy(t *testing.T, upstream string) *recordingProxy {
	t.Helper()
	dir, err := os.MkdirTemp("", "rp")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := &recordingProxy{Socket: filepath.Join(dir, "auth")}
	l, err := net.Listen("unix", p.Socket)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p.Socket, 0o777); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("unix", upstream)
			if err != nil {
				c.Close()
				continue
			}
			go func() {
				br := bufio.NewReader(c)
				for {
					line, err := br.ReadString('\n')
					if line != "" {
						p.mu.Lock()
						p.lines = append(p.lines, line)
						p.mu.Unlock()
						if _, err := up.Write([]byte(line)); err != nil {
							break
						}
					}
					if err != nil {
						break
					}
				}
				up.Close()
			}()
			go func() {
				buf := make([]byte, 4096)
				for {
					n, err := up.Read(buf)
					if n > 0 {
						if _, err := c.Write(buf[:n]); err != nil {
							break
						}
					}
					if err != nil {
						break
					}
				}
				c.Close()
			}()
		}
	}()
	return p
}

var (
	dovecotIDRE   = regexp.MustCompile(`^(AUTH|CONT)\t\d+\t`)
	dovecotCPIDRE = regexp.MustCompile(`^CPID\t\d+\n$`)
)

// requests returns the recorded request lines with IDs and process IDs masked, and forgets them.
func (p *recordingProxy) requests() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, l := range p.lines {
		l = dovecotIDRE.ReplaceAllString(l, "$1\tID\t")
		l = dovecotCPIDRE.ReplaceAllString(l, "CPID\tPID\n")
		out = append(out, strings.TrimSuffix(l, "\n"))
	}
	p.lines = nil
	return out
}

func TestDiffDovecot(t *testing.T) {
	t.Parallel()
	d := sasltest.StartDovecot(t, map[string]string{"alice": "wonder", "bob@dom.example": "pw"}, "")
	refProxy := startRecordingProxy(t, d.Socket)
	ourProxy := startRecordingProxy(t, d.Socket)
	ref, addr := refSMTPD(t, "smtpd_sasl_type = dovecot\nsmtpd_sasl_path = "+refProxy.Socket+"\n", nil)
	cap := &logCapture{}
	b, err := newDovecot(nil, ourProxy.Socket)
	if err != nil {
		t.Fatal(err)
	}
	b.warn = cap.warn
	ours := func() Session {
		s, err := b.Session(Params{Service: "smtp", ClientAddr: "127.0.0.1", ServerAddr: "127.0.0.1"})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	dialogues := [][]string{
		{"AUTH PLAIN " + b64("\x00alice\x00wonder")},
		{"AUTH PLAIN " + b64("\x00alice\x00bad")},
		{"AUTH PLAIN " + b64("\x00nobody\x00bad")},
		{"AUTH PLAIN " + b64("\x00bob@dom.example\x00pw")},
		{"AUTH PLAIN", b64("\x00alice\x00wonder")},
		{"AUTH PLAIN", "*"},
		{"AUTH PLAIN ="},
		{"AUTH PLAIN !!!"},
		{"AUTH PLAIN", "!!!!"},
		{"AUTH PLAIN " + b64("garbage")},
		{"AUTH PLAIN " + b64("other\x00alice\x00wonder")},
		{"auth plain " + b64("\x00alice\x00wonder")},
		{"AUTH LOGIN", b64("alice"), b64("wonder")},
		{"AUTH LOGIN " + b64("alice"), b64("bad")},
		{"AUTH LOGIN", "*"},
		{"AUTH LOGIN", b64("alice"), "*"},
		{"AUTH LOGIN =", b64("alice"), b64("wonder")},
		{"AUTH LOGIN", "AUTH LOGIN"},
		{"AUTH FOO"},
		{"AUTH CRAM-MD5 " + b64("x")},
		// The inputs Cyrus's decoder treats specially; Postfix checks the alphabet first here.
		{"AUTH PLAIN a*b"},
		{"AUTH PLAIN <a b>"},
		{"AUTH PLAIN abcd!!"},
		{"AUTH PLAIN ab=c"},
		{"AUTH PLAIN ab==cd"},
		{"AUTH PLAIN \rabcd"},
		{"AUTH LOGIN", "a*b"},
		{"AUTH LOGIN", "<a b>"},
		{"AUTH LOGIN", "ab==ab=="},
		{"AUTH LOGIN", "ab\rcd"},
		{"AUTH LOGIN", "\rabc"},
		{"AUTH LOGIN", b64("alice"), "a*b"},
		{"AUTH LOGIN", "YR==", b64("wonder")},
		{"AUTH LOGIN", "="},
		{"AUTH LOGIN", "YWxpY2U", b64("wonder")},
		// Several AUTH commands in one session: what user name each failure reports.
		{"AUTH PLAIN " + b64("\x00alice\x00bad"), "AUTH PLAIN !!!", "AUTH PLAIN =", "AUTH LOGIN " + b64("bob"), "!!", "AUTH FOO"},
	}
	// The handshake happens on the first session on both sides; compare it, then each dialogue.
	refDialogue(t, addr, nil)
	ours().Close()
	if got, want := handshakeOf(ourProxy), handshakeOf(refProxy); got != want {
		t.Errorf("handshake:\n ours    %q\n Postfix %q", got, want)
	}
	for i, dl := range dialogues {
		// Both sides at once: Dovecot holds every failure back for up to half a second.
		var refReplies []string
		done := make(chan bool)
		go func() {
			_, refReplies = refDialogue(t, addr, dl)
			close(done)
		}()
		sess := ours()
		replies := dialogue(sess, dl, cap)
		<-done
		if strings.Join(replies, "|") != strings.Join(refReplies, "|") {
			t.Errorf("dialogue %d %q:\n ours    %q\n Postfix %q", i, dl, replies, refReplies)
		}
		if got, want := strings.Join(noHandshake(ourProxy.requests()), "|"), strings.Join(noHandshake(refProxy.requests()), "|"); got != want {
			t.Errorf("dialogue %d %q: requests to Dovecot:\n ours    %q\n Postfix %q", i, dl, got, want)
		}
	}
	ourLogs := cap.take()
	compareLogs(t, ourLogs, refSASLLog(ref, len(ourLogs)))
}

// handshakeOf waits for a handshake through p and returns its distinct lines (each smtpd process
// of Postfix makes its own).
func handshakeOf(p *recordingProxy) string {
	deadline := time.Now().Add(5 * time.Second)
	var lines []string
	for {
		lines = append(lines, p.requests()...)
		if len(lines) >= 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	var out []string
	for _, l := range lines {
		if !contains(out, l) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "|")
}

// noHandshake drops handshake lines: Postfix's smtpd processes each make their own connection.
func noHandshake(lines []string) []string {
	var out []string
	for _, l := range lines {
		if !strings.HasPrefix(l, "VERSION\t") && !strings.HasPrefix(l, "CPID\t") {
			out = append(out, l)
		}
	}
	return out
}

// TestDiffDovecotTLS: after STARTTLS, Postfix's requests carry "secured"; ours with Params.TLS too.
func TestDiffDovecotTLS(t *testing.T) {
	t.Parallel()
	d := sasltest.StartDovecot(t, map[string]string{"alice": "wonder"}, "")
	refProxy := startRecordingProxy(t, d.Socket)
	ourProxy := startRecordingProxy(t, d.Socket)
	ref, addr := refSMTPD(t, "smtpd_sasl_type = dovecot\nsmtpd_sasl_path = "+refProxy.Socket+
		"\nsmtpd_tls_security_level = may\nsmtpd_tls_cert_file = $config_directory/mx.example.test.crt"+
		"\nsmtpd_tls_key_file = $config_directory/mx.example.test.key\n", func(s *flowtest.System) {
		tlstest.Cert(t, s.Etc, "mx.example.test")
	})
	k := flowtest.Dial(t, addr)
	defer k.Close()
	defer func() {
		if t.Failed() {
			t.Log(ref.LogText())
		}
	}()
	k.Cmd("EHLO client.example")
	k.Cmd("STARTTLS")
	k.StartTLS()
	k.Cmd("EHLO client.example")
	refReply := strings.Join(k.Cmd("AUTH PLAIN "+b64("\x00alice\x00wonder")), "|")
	b, err := newDovecot(nil, ourProxy.Socket)
	if err != nil {
		t.Fatal(err)
	}
	s, err := b.Session(Params{Service: "smtp", ClientAddr: "127.0.0.1", ServerAddr: "127.0.0.1", TLS: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := Reply(s.Start("PLAIN", []byte("\x00alice\x00wonder"), true)); got != refReply {
		t.Errorf("ours %q, Postfix %q", got, refReply)
	}
	if got, want := strings.Join(noHandshake(ourProxy.requests()), "|"), strings.Join(noHandshake(refProxy.requests()), "|"); got != want || !strings.Contains(got, "\tsecured\t") {
		t.Errorf("requests:\n ours    %q\n Postfix %q", got, want)
	}
}
