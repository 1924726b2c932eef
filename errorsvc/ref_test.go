package errorsvc

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/postfix-go/postfix/internal/bouncelog"
	"github.com/postfix-go/postfix/internal/deliver"
	"github.com/postfix-go/postfix/internal/dsn"
	"github.com/postfix-go/postfix/internal/queue"
	"github.com/postfix-go/postfix/internal/record"
	"github.com/postfix-go/postfix/internal/testutil"
)

// refSys is a private mail system in which the test plays master for
// agent binaries (descriptors 3-4 flow pipe with tokens, 5 status
// socketpair, 6 listener) and collects Postfix's log lines from
// public/postlog.
type refSys struct {
	dir, queue string
	mu         sync.Mutex
	logs       []string
}

func newRefSys(t *testing.T) *refSys {
	t.Helper()
	dir := t.TempDir()
	s := &refSys{dir: dir, queue: filepath.Join(dir, "queue")}
	for _, d := range []string{"etc", "queue/public", "queue/private", "queue/pid", "pid", "data"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	mainCF := "compatibility_level = 3.6\nqueue_directory = " + s.queue + "\ndata_directory = " + dir + "/data\n" +
		"myhostname = host.example.com\nmydomain = example.com\ninet_interfaces = loopback-only\n" +
		"maillog_file = " + dir + "/maillog\nmaillog_file_prefixes = " + dir + "\n"
	old := time.Now().Add(-time.Hour)
	for f, text := range map[string]string{"main.cf": mainCF, "master.cf": ""} {
		p := filepath.Join(dir, "etc", f)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		_ = os.Chtimes(p, old, old)
	}
	ls, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: filepath.Join(s.queue, "public", "postlog"), Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ls.Close() })
	go func() {
		buf := make([]byte, 65536)
		for {
			n, _, err := ls.ReadFrom(buf)
			if err != nil {
				return
			}
			s.mu.Lock()
			s.logs = append(s.logs, strings.TrimRight(string(buf[:n]), "\n"))
			s.mu.Unlock()
		}
	}()
	return s
}

// start runs path as service svc listening on sock.
func (s *refSys) start(t *testing.T, path, svc, sock string, flags ...string) {
	t.Helper()
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	lnFile, _ := ln.File()
	flowR, flowW, _ := os.Pipe()
	_, _ = flowW.Write(bytes.Repeat([]byte{'x'}, 4096))
	pair, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	statusR, statusW := os.NewFile(uintptr(pair[0]), "status"), os.NewFile(uintptr(pair[1]), "status")
	cmd := exec.Command(path, append(flags, "-n", svc, "-t", "unix")...)
	cmd.Args[0] = filepath.Base(path)
	cmd.Dir = s.dir
	cmd.Env = []string{"MAIL_CONFIG=" + filepath.Join(s.dir, "etc"), "PATH=/usr/bin:/bin"}
	cmd.ExtraFiles = []*os.File{flowR, flowW, statusW, lnFile}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for _, f := range []*os.File{flowR, flowW, statusW, lnFile} {
		f.Close()
	}
	ln.Close()
	t.Cleanup(func() {
		statusR.Close()
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
}

// lines returns the log texts that contain sub, from Postfix's socket
// and from maillog_file.
func (s *refSys) lines(sub string) []string {
	s.mu.Lock()
	all := append([]string(nil), s.logs...)
	s.mu.Unlock()
	if b, err := os.ReadFile(filepath.Join(s.dir, "maillog")); err == nil {
		all = append(all, strings.Split(string(b), "\n")...)
	}
	var out []string
	for _, l := range all {
		if _, text, ok := strings.Cut(l, "]: "); ok && strings.Contains(text, sub) {
			out = append(out, text)
		}
	}
	return out
}

// TestReferenceErrorRetry runs Debian's error daemon and ours as the
// "error" and "retry" services on the same requests (plain text, a text
// with an enhanced status code, a 4.X.Y code given to error) and compares
// the log lines, the recipient records and the bounce and defer logs.
func TestReferenceErrorRetry(t *testing.T) {
	ref := testutil.Reference(t, "/usr/lib/postfix/sbin/error")
	if os.Geteuid() != 0 {
		t.Skip("running the daemons as master does needs root (tests run as root in CI)")
	}
	t.Parallel()
	ours := testutil.Bin(t, "error")
	bounce := testutil.Reference(t, "/usr/lib/postfix/sbin/bounce")
	cases := []struct{ svc, nexthop string }{
		{"error", "mail for example.com loops back to myself"},
		{"error", "5.1.1 user moved away"},
		{"error", "4.7.1 not now"},
		{"retry", "try again later"},
		{"retry", "4.4.1 host unreachable"},
		{"retry", "5.1.1 permanent given to retry"},
	}
	run := func(bin string) []string {
		s := newRefSys(t)
		s.start(t, bounce, "bounce", filepath.Join(s.queue, "private", "bounce"), "-z")
		s.start(t, bounce, "defer", filepath.Join(s.queue, "private", "defer"), "-z")
		s.start(t, bin, "error", filepath.Join(s.dir, "error.sock"), "-l")
		s.start(t, bin, "retry", filepath.Join(s.dir, "retry.sock"), "-l")
		l := queue.Layout{Dir: s.queue, Hashed: []string{"deferred", "defer"}, Depth: 1}
		if err := l.MakeDirs(); err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, c := range cases {
			m := &queue.Message{Arrival: time.Now(), Sender: "s@example.org", Content: []byte("Subject: x\n\nx\n"),
				Recipients: []queue.Recipient{{Address: "a@example.com", Orig: "A@example.com"}, {Address: "b@example.com", Orig: "alias@example.com"}}}
			id, err := l.WriteMessage(queue.Active, m)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := os.ReadFile(l.Path(queue.Active, id))
			rr := record.NewReader(bytes.NewReader(b), 0)
			var offs []int64
			var size queue.Size
			f, _ := os.Open(l.Path(queue.Active, id))
			_, size, _ = queue.Decode(f, 0)
			f.Close()
			for {
				off := rr.Offset()
				typ, _, err := rr.Next()
				if err != nil || typ == record.Mesg {
					break
				}
				if typ == record.Rcpt {
					offs = append(offs, off)
				}
			}
			r := &deliver.Request{Flags: deliver.FlagDefault, QueueName: queue.Active, QueueID: id, Nexthop: c.nexthop,
				DataOffset: size.DataOffset, DataSize: size.ContLength, Sender: "s@example.org", Arrival: m.Arrival,
				ActiveAt: time.Now(), LogIdent: id}
			for k, rc := range m.Recipients {
				r.Recipients = append(r.Recipients, dsn.Recipient{Address: rc.Address, Orig: rc.Orig, Offset: offs[k]})
			}
			nc, err := net.Dial("unix", filepath.Join(s.dir, c.svc+".sock"))
			if err != nil {
				t.Fatal(err)
			}
			conn, err := deliver.NewConn(nc, "private/"+c.svc, 10*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			st, err := conn.Deliver(r)
			conn.Close()
			if err != nil {
				t.Fatalf("%s %s: %v", bin, c.svc, err)
			}
			b, _ = os.ReadFile(l.Path(queue.Active, id))
			marks := string([]byte{b[offs[0]], b[offs[1]]})
			norm := func(x string) string { return strings.ReplaceAll(x, id, "QUEUEID") }
			out = append(out, c.svc+" "+c.nexthop+": status "+map[bool]string{true: "0", false: "non-zero"}[st == 0]+" marks "+marks)
			deadline := time.Now().Add(5 * time.Second)
			for time.Now().Before(deadline) && len(s.lines(id+": to=<")) < 2 {
				time.Sleep(20 * time.Millisecond)
			}
			var lines []string
			for _, line := range s.lines(id) {
				lines = append(lines, norm(delayRE.ReplaceAllString(line, "DELAYS")))
			}
			sort.Strings(lines)
			out = append(out, lines...)
			// Warnings come with the first recipient's line or just after.
			for time.Now().Before(deadline) && (strings.HasPrefix(c.nexthop, "4.") && c.svc == "error" || strings.HasPrefix(c.nexthop, "5.") && c.svc == "retry") && len(s.lines(c.nexthop[:5]+"\"")) < 2 {
				time.Sleep(20 * time.Millisecond)
			}
			for _, log := range []string{queue.Bounce, queue.Defer} {
				ents, _ := bouncelog.Read(l, log, id)
				for _, e := range ents {
					out = append(out, log+": "+e.Rcpt.Address+" orig="+e.Rcpt.Orig+" "+e.Status.Code+" "+e.Status.Action+" "+e.Status.Reason)
				}
			}
		}
		warnings := s.lines("warning: ")
		sort.Strings(warnings)
		return append(out, warnings...)
	}
	want := run(ref)
	got := run(ours)
	if g, w := strings.Join(got, "\n"), strings.Join(want, "\n"); g != w {
		t.Errorf("differs from Postfix's error daemon:\n--- ours\n%s\n--- Postfix\n%s", g, w)
	}
}
