package postqueue_test

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/postfix-go/postfix/internal/bouncelog"
	"github.com/postfix-go/postfix/internal/dsn"
	"github.com/postfix-go/postfix/internal/queue"
	"github.com/postfix-go/postfix/internal/record"
	"github.com/postfix-go/postfix/internal/testutil"
)

// world is a queue directory with two configurations: one whose
// daemon_directory is Debian's, one whose is ours.
type world struct {
	dir, queue   string
	refEtc, ours string
	bin          string
	layout       queue.Layout
}

func writeConf(t *testing.T, etc, text string) {
	t.Helper()
	if err := os.MkdirAll(etc, 0o755); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	for f, s := range map[string]string{"main.cf": text, "master.cf": ""} {
		p := filepath.Join(etc, f)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		// Postfix pauses when main.cf is younger than a second.
		os.Chtimes(p, old, old)
	}
}

func newWorld(t *testing.T, extra string) *world {
	t.Helper()
	testutil.Reference(t, "/usr/sbin/postqueue")
	testutil.Reference(t, "/usr/lib/postfix/sbin/showq")
	if os.Geteuid() != 0 {
		t.Skip("needs root: Debian's showq drops privileges to postfix and reads a postfix-owned queue")
	}
	w := &world{dir: t.TempDir()}
	os.Chmod(w.dir, 0o755)
	w.bin = filepath.Dir(testutil.Bin(t, "postqueue"))
	testutil.Bin(t, "showq")
	w.queue = filepath.Join(w.dir, "queue")
	os.MkdirAll(filepath.Join(w.dir, "data"), 0o755)
	base := "compatibility_level = 3.6\nqueue_directory = " + w.queue + "\n" +
		"data_directory = " + filepath.Join(w.dir, "data") + "\n" +
		"myhostname = host.example.com\nmydomain = example.com\n" +
		"maillog_file_prefixes = " + w.dir + "\nmaillog_file = " + filepath.Join(w.dir, "maillog") + "\n" + extra
	w.refEtc = filepath.Join(w.dir, "ref")
	w.ours = filepath.Join(w.dir, "ours")
	writeConf(t, w.refEtc, base+"daemon_directory = /usr/lib/postfix/sbin\n")
	writeConf(t, w.ours, base+"daemon_directory = "+w.bin+"\n")
	w.layout = queue.Layout{Dir: w.queue, Hashed: []string{"deferred", "defer"}, Depth: 1, LineLimit: 2048}
	if err := w.layout.MakeDirs(); err != nil {
		t.Fatal(err)
	}
	os.Chmod(w.queue, 0o755)
	for _, d := range []string{"public", "private", "pid"} {
		os.MkdirAll(filepath.Join(w.queue, d), 0o755)
	}
	return w
}

// own gives the queue to mail_owner, as a real installation has it.
func (w *world) own(t *testing.T) {
	t.Helper()
	u, err := user.Lookup("postfix")
	if err != nil {
		t.Skip("no postfix user")
	}
	uid, _ := strconv.Atoi(u.Uid)
	filepath.Walk(w.queue, func(p string, fi os.FileInfo, err error) error {
		if err == nil && p != w.queue && !(fi.Mode().IsRegular() && filepath.Base(filepath.Dir(p)) == "maildrop") {
			os.Lchown(p, uid, -1)
		}
		return nil
	})
	os.Chmod(filepath.Join(w.queue, "maildrop"), 0o1733|os.ModeSticky)
}

func (w *world) message(t *testing.T, q string, m *queue.Message) string {
	t.Helper()
	id, err := w.layout.WriteMessage(q, m)
	if err != nil {
		t.Fatal(err)
	}
	// Distinct inodes and times: the next ID must differ.
	time.Sleep(2 * time.Millisecond)
	return id
}

// fill puts one message of every kind into the queue.
func (w *world) fill(t *testing.T) {
	t.Helper()
	arr := time.Date(2026, 11, 5, 9, 7, 3, 0, time.UTC)
	plain := func(sender string, rcpts ...string) *queue.Message {
		m := &queue.Message{Arrival: arr, Sender: sender, RewriteContext: "local",
			Content: bytes.Repeat([]byte("Subject: test\n\nsome body text\n"), 50)}
		for _, r := range rcpts {
			m.Recipients = append(m.Recipients, queue.Recipient{Address: r})
		}
		return m
	}
	w.message(t, queue.Incoming, plain("alice@example.com", "bob@example.org"))
	w.message(t, queue.Active, plain("", "postmaster@example.com"))
	m := plain("odd local\x01@example.com", "a b@example.org", "c@example.org", "d@example.org")
	m.Recipients[1].Done = true
	w.message(t, queue.Active, m)
	d := w.message(t, queue.Deferred, plain("carol@example.com", "x@example.net", "y@example.net", "z@example.net", "w@example.net"))
	reason := "connect to mx.example.net[192.0.2.1]:25: Connection timed out"
	for _, r := range []string{"x@example.net", "y@example.net"} {
		if err := bouncelog.Append(w.layout, queue.Defer, d, bouncelog.Entry{
			Rcpt:   dsn.Recipient{Address: r},
			Status: dsn.New("4.4.1", reason)}); err != nil {
			t.Fatal(err)
		}
	}
	bouncelog.Append(w.layout, queue.Defer, d, bouncelog.Entry{
		Rcpt: dsn.Recipient{Address: "z@example.net"}, Status: dsn.New("4.1.1", "host said: a rather long reason text that is wider than the seventy-six columns of the layout")})
	h := w.message(t, queue.Hold, plain("dave@example.com", "e@example.org"))
	// A forced expiry (postsuper -e) sets the group execute bit.
	os.Chmod(w.layout.Path(queue.Hold, h), 0o710)
	w.message(t, queue.Deferred, plain("eve@example.com", "f\"q@example.org", "g\t@example.org"))
	// Files that must not be listed: unfinished, not a queue ID.
	os.WriteFile(filepath.Join(w.queue, "incoming", "ABCDEF12345"), []byte("x"), 0o600)
	os.WriteFile(filepath.Join(w.queue, "incoming", "not-an-id"), []byte("x"), 0o700)
	// A maildrop file as postdrop writes it.
	var buf bytes.Buffer
	rw := record.NewWriter(&buf)
	rw.PutString(record.Time, "1795872075 457574")
	rw.PutAttr("rewrite_context", "local")
	rw.PutString(record.From, "root")
	rw.PutString(record.Rcpt, "frank@example.org")
	rw.PutString(record.Mesg, "")
	rw.PutString(record.Norm, "hello")
	rw.PutString(record.Xtra, "")
	rw.PutString(record.Rcpt, "extracted@example.org")
	rw.PutString(record.End, "")
	rw.Flush()
	p := filepath.Join(w.queue, "maildrop", "6FBB898835B")
	os.WriteFile(p, buf.Bytes(), 0o744)
	os.Chmod(p, 0o744)
}

func startShowq(t *testing.T, w *world, path, etc string) {
	t.Helper()
	startDaemon(t, w, path, etc, "showq")
}

// startDaemon runs the daemon at path as master would, as service name
// on public/NAME.
func startDaemon(t *testing.T, w *world, path, etc, name string) {
	t.Helper()
	sock := filepath.Join(w.queue, "public", name)
	os.Remove(sock)
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(sock, 0o666)
	ln.SetUnlinkOnClose(false)
	lnFile, _ := ln.File()
	ln.Close()
	flowR, flowW, _ := os.Pipe()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	statusOurs := os.NewFile(uintptr(fds[0]), "status")
	statusChild := os.NewFile(uintptr(fds[1]), "status-child")
	limit := "-l"
	if name == "flush" {
		// flush insists on an unlimited process count.
		limit = "-z"
	}
	cmd := exec.Command(path, limit, "-n", name, "-t", "unix")
	cmd.Args[0] = name
	cmd.Dir = w.queue
	cmd.Env = []string{"MAIL_CONFIG=" + etc, "PATH=/usr/bin:/bin", "TZ=UTC"}
	cmd.ExtraFiles = []*os.File{flowR, flowW, statusChild, lnFile}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for _, f := range []*os.File{flowR, flowW, statusChild, lnFile} {
		f.Close()
	}
	t.Cleanup(func() {
		statusOurs.Close()
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
			t.Errorf("%s did not exit after master went away; stderr %s", path, stderr.String())
		}
		os.Remove(sock)
	})
}

func run(t *testing.T, w *world, etc, prog string, args ...string) testutil.Result {
	t.Helper()
	os.Setenv("MAIL_CONFIG", etc)
	defer os.Unsetenv("MAIL_CONFIG")
	return testutil.Run(t, w.dir, prog, "postqueue", nil, args...)
}

// TestShowqStream compares the bytes Debian's showq and ours send for the
// same queue (both stand-alone, as postqueue runs them when the mail
// system is down).
func TestShowqStream(t *testing.T) {
	w := newWorld(t, "")
	w.fill(t)
	w.own(t)
	stream := func(path, etc string) []byte {
		cmd := exec.Command(path, "-u", "-S")
		cmd.Args[0] = "showq"
		cmd.Dir = w.queue
		cmd.Env = []string{"MAIL_CONFIG=" + etc, "TZ=UTC"}
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		return out
	}
	want := stream("/usr/lib/postfix/sbin/showq", w.refEtc)
	got := stream(filepath.Join(w.bin, "showq"), w.ours)
	if !bytes.Equal(got, want) {
		t.Errorf("showq stream differs:\nours    %q\nPostfix %q", got, want)
	}
	if !bytes.Contains(want, []byte("6FBB898835B")) || !bytes.Contains(want, []byte("Connection timed out")) {
		t.Errorf("Postfix's showq listed less than expected: %q", want)
	}
}

// TestPostqueueDifferential lists the same queue with Debian's postqueue
// and ours, through Debian's showq daemon and through ours on
// public/showq, and with the mail system down.
func TestPostqueueDifferential(t *testing.T) {
	for _, long := range []bool{false, true} {
		name := "short"
		extra := ""
		if long {
			name, extra = "long", "enable_long_queue_ids = yes\n"
		}
		t.Run(name, func(t *testing.T) {
			w := newWorld(t, extra)
			w.layout.Long = long
			w.fill(t)
			w.own(t)
			ref := "/usr/sbin/postqueue"
			ours := filepath.Join(w.bin, "postqueue")
			compare := func(what string, want, got testutil.Result) {
				t.Helper()
				if got.Stdout != want.Stdout || got.Exit != want.Exit {
					t.Errorf("%s: exit %d, Postfix %d; output:\n%s\nPostfix:\n%s", what, got.Exit, want.Exit, got.Stdout, want.Stdout)
				}
				if got.Stderr != want.Stderr {
					t.Errorf("%s: stderr %q, Postfix %q", what, got.Stderr, want.Stderr)
				}
			}
			// Usage and flush requests with the mail system down.
			for _, args := range [][]string{nil, {"-x"}, {"-p", "-f"}, {"-i"}, {"-p", "extra"}, {"-f"},
				{"-s", "bad site!"}, {"-s", "example.com"}, {"-s", "[192.0.2.1]"}, {"-i", "bad/id"}, {"-i", "ABCDEF12345"}} {
				compare(strings.Join(args, " "), run(t, w, w.refEtc, ref, args...), run(t, w, w.ours, ours, args...))
			}
			// Mail system down: each runs its own showq stand-alone.
			for _, mode := range []string{"-p", "-j"} {
				compare("down "+mode, run(t, w, w.refEtc, ref, mode), run(t, w, w.ours, ours, mode))
			}
			startShowq(t, w, "/usr/lib/postfix/sbin/showq", w.refEtc)
			var wantP, wantJ testutil.Result
			for _, mode := range []string{"-p", "-j"} {
				want := run(t, w, w.refEtc, ref, mode)
				compare("Postfix's showq "+mode, want, run(t, w, w.ours, ours, mode))
				if mode == "-p" {
					wantP = want
				} else {
					wantJ = want
				}
			}
			if !bytes.Contains([]byte(wantP.Stdout), []byte("Requests.")) {
				t.Fatalf("Postfix listed no queue: %+v", wantP)
			}
			// Now our showq daemon on the same socket.
			startShowq(t, w, filepath.Join(w.bin, "showq"), w.ours)
			compare("our showq -p", wantP, run(t, w, w.ours, ours, "-p"))
			compare("our showq -j", wantJ, run(t, w, w.ours, ours, "-j"))
			compare("our showq, Postfix's postqueue", wantP, run(t, w, w.refEtc, ref, "-p"))
		})
	}
}

// TestFlushSite asks Debian's flush daemon to flush a site with Debian's
// postqueue -s and with ours, and a queue ID with -i.
func TestFlushSite(t *testing.T) {
	testutil.Reference(t, "/usr/lib/postfix/sbin/flush")
	w := newWorld(t, "fast_flush_domains = example.com\n")
	os.MkdirAll(filepath.Join(w.queue, "flush"), 0o700)
	w.own(t)
	logs := testutil.Postlog(t, filepath.Join(w.queue, "public", "postlog"))
	defer func() {
		if t.Failed() {
			t.Logf("Postfix's log:\n%s", logs())
		}
	}()
	startDaemon(t, w, "/usr/lib/postfix/sbin/flush", w.refEtc, "flush")
	ours := filepath.Join(w.bin, "postqueue")
	for _, args := range [][]string{{"-s", "example.com"}, {"-s", "sub.example.com"}, {"-s", "other.org"}, {"-i", "ABCDEF12345"}} {
		want := run(t, w, w.refEtc, "/usr/sbin/postqueue", args...)
		got := run(t, w, w.ours, ours, args...)
		if got.Exit != want.Exit || got.Stderr != want.Stderr || got.Stdout != want.Stdout {
			t.Errorf("%v: %+v, Postfix %+v", args, got, want)
		}
		if args[1] == "example.com" && want.Exit != 0 {
			t.Errorf("Postfix's flush refused %v: %+v", args, want)
		}
	}
}
