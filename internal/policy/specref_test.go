package policy

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/postfix-go/postfix/internal/testutil"
)

// TestSpecMatchesPostfix gives every operand of testdata/spec.in to
// Debian's smtpd (run stand-alone with -S, its log lines collected from
// public/postlog) and checks that it refuses exactly what ParseSpec
// refuses, with the same fatal text.
func TestSpecMatchesPostfix(t *testing.T) {
	smtpd := testutil.Reference(t, "/usr/lib/postfix/sbin/smtpd")
	if os.Geteuid() != 0 {
		if os.Getenv("PFGO_NO_REFERENCE") != "" {
			t.Skip("Postfix's smtpd needs root here and PFGO_NO_REFERENCE is set")
		}
		t.Fatal("running Postfix's smtpd needs root (tests run as root in CI); set PFGO_NO_REFERENCE to skip")
	}
	t.Parallel()
	c := defaultConfig(t)
	specs := specCases(t)
	got := make([]string, len(specs))
	var wg sync.WaitGroup
	// All at once: Postfix sleeps a second before a fatal exit.
	for i, spec := range specs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i] = postfixFatal(t, smtpd, spec)
		}()
	}
	wg.Wait()
	for i, spec := range specs {
		want := ""
		if _, err := ParseSpec(c, spec); err != nil {
			want = "fatal: " + err.Error()
		}
		if got[i] != want {
			t.Errorf("%s\nPostfix: %q\nours:    %q", spec, got[i], want)
		}
	}
}

// postfixFatal runs Debian's smtpd -S with spec in
// smtpd_recipient_restrictions and returns its fatal or panic log text,
// or "" when it started.
func postfixFatal(t *testing.T, smtpd, spec string) string {
	dir := t.TempDir()
	for _, d := range []string{"etc", "queue/public", "queue/maildrop", "data"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Error(err)
			return "<setup error>"
		}
	}
	mainCF := "compatibility_level = 3.6\nqueue_directory = " + dir + "/queue\ndata_directory = " + dir + "/data\n" +
		"myhostname = host.example.com\ninet_interfaces = loopback-only\nlocal_recipient_maps =\n" +
		"maillog_file = " + dir + "/maillog\nmaillog_file_prefixes = " + dir + "\n" +
		"smtpd_recipient_restrictions = check_policy_service " + spec + ", reject\n"
	old := time.Now().Add(-time.Hour)
	for f, text := range map[string]string{"main.cf": mainCF, "master.cf": ""} {
		p := filepath.Join(dir, "etc", f)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Error(err)
			return "<setup error>"
		}
		_ = os.Chtimes(p, old, old)
	}
	ls, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: filepath.Join(dir, "queue", "public", "postlog"), Net: "unixgram"})
	if err != nil {
		t.Error(err)
		return "<setup error>"
	}
	defer ls.Close()
	var mu sync.Mutex
	var logs []string
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 65536)
		for {
			n, _, err := ls.ReadFrom(buf)
			if err != nil {
				return
			}
			mu.Lock()
			logs = append(logs, strings.TrimRight(string(buf[:n]), "\n"))
			mu.Unlock()
		}
	}()
	cmd := exec.Command(smtpd, "-S", "-n", "smtp", "-t", "inet")
	cmd.Dir = dir
	cmd.Env = []string{"MAIL_CONFIG=" + filepath.Join(dir, "etc"), "PATH=/usr/bin:/bin"}
	cmd.Stdin = strings.NewReader("QUIT\r\n")
	_ = cmd.Run() // a fatal error exits non-zero, a panic aborts
	time.Sleep(50 * time.Millisecond)
	ls.Close()
	<-done
	for _, l := range logs {
		_, text, _ := strings.Cut(l, "]: ")
		if strings.HasPrefix(text, "fatal: ") {
			return text
		}
		if strings.HasPrefix(text, "panic: ") {
			return "fatal: " + strings.TrimPrefix(text, "panic: ")
		}
	}
	return ""
}
