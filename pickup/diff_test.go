package pickup_test

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/postfix-go/postfix/internal/record"
	"github.com/postfix-go/postfix/internal/submit"
	"github.com/postfix-go/postfix/internal/testutil"
)

// capture is what a fake cleanup service received on one connection.
type capture struct {
	flags   int
	records []string // "T data" per record, in order
	ended   bool     // the E record arrived
}

func (c capture) String() string {
	return fmt.Sprintf("flags=%d ended=%v\n%s", c.flags, c.ended, strings.Join(c.records, "\n"))
}

// fakeCleanup listens on public/cleanup, records each submission and
// answers with status.
func fakeCleanup(t *testing.T, queueDir string, status int) chan capture {
	t.Helper()
	sock := filepath.Join(queueDir, "public", "cleanup")
	os.Remove(sock)
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(sock, 0o666)
	t.Cleanup(func() { ln.Close() })
	ch := make(chan capture, 16)
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				s, err := submit.Accept(conn, "pickup", "ABCDEF12345", 10*time.Second, 0)
				if err != nil {
					return
				}
				c := capture{flags: s.Flags}
				for {
					typ, data, err := s.Next()
					if err != nil {
						break
					}
					c.records = append(c.records, fmt.Sprintf("%c %q", typ, data))
					if typ == record.End {
						c.ended = true
						s.Reply(status, "")
						break
					}
				}
				ch <- c
			}()
		}
	}()
	return ch
}

// startPickup runs a pickup daemon as master does, with its trigger
// socket at public/pickup.
func startPickup(t *testing.T, path, queueDir, etc string) {
	t.Helper()
	startPickupQueued(t, path, queueDir, etc, 0)
}

// startPickupQueued is startPickup with queued trigger requests already
// waiting on the socket when the daemon starts, as master's first wakeup
// and a postdrop trigger may be.
func startPickupQueued(t *testing.T, path, queueDir, etc string, queued int) {
	t.Helper()
	sock := filepath.Join(queueDir, "public", "pickup")
	os.Remove(sock)
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	for i := 0; i < queued; i++ {
		trigger(t, queueDir)
	}
	lnFile, _ := ln.File()
	ln.Close()
	flowR, flowW, _ := os.Pipe()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	master := os.NewFile(uintptr(fds[0]), "status")
	child := os.NewFile(uintptr(fds[1]), "status-child")
	cmd := exec.Command(path, "-l", "-n", "pickup", "-t", "unix", "-u")
	cmd.Args[0] = "pickup"
	cmd.Dir = queueDir
	cmd.Env = []string{"MAIL_CONFIG=" + etc, "PATH=/usr/bin:/bin", "TZ=UTC"}
	cmd.ExtraFiles = []*os.File{flowR, flowW, child, lnFile}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for _, f := range []*os.File{flowR, flowW, child, lnFile} {
		f.Close()
	}
	t.Cleanup(func() {
		master.Close()
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
}

func trigger(t *testing.T, queueDir string) {
	t.Helper()
	conn, err := net.Dial("unix", filepath.Join(queueDir, "public", "pickup"))
	if err != nil {
		t.Fatal(err)
	}
	conn.Write([]byte("W"))
	conn.Close()
}

// pickupWorld is a queue directory with a configuration for Debian's
// pickup and one for ours.
type pickupWorld struct {
	dir, queue, ref, ours, log string
	requeued                   bool
}

func newPickupWorld(t *testing.T, extra string) *pickupWorld {
	t.Helper()
	testutil.Reference(t, "/usr/lib/postfix/sbin/pickup")
	if os.Geteuid() != 0 {
		t.Skip("needs root: pickup drops privileges to postfix")
	}
	u, err := user.Lookup("postfix")
	if err != nil {
		t.Skip("no postfix user")
	}
	uid, _ := strconv.Atoi(u.Uid)
	w := &pickupWorld{dir: t.TempDir()}
	os.Chmod(w.dir, 0o755)
	w.queue = filepath.Join(w.dir, "queue")
	w.log = filepath.Join(w.dir, "maillog")
	for _, d := range []string{"", "maildrop", "public", "private", "pid", "incoming"} {
		p := filepath.Join(w.queue, d)
		os.MkdirAll(p, 0o755)
		if d != "" && d != "pid" {
			os.Chown(p, uid, -1)
		}
	}
	os.Chmod(filepath.Join(w.queue, "maildrop"), 0o733|os.ModeSticky)
	base := "compatibility_level = 3.6\nqueue_directory = " + w.queue + "\n" +
		"data_directory = " + w.dir + "\nmyhostname = host.example.com\nmydomain = example.com\n" +
		"maillog_file_prefixes = " + w.dir + "\nmaillog_file = " + w.log + "\n" + extra
	w.ref = filepath.Join(w.dir, "ref")
	w.ours = filepath.Join(w.dir, "ours")
	for _, etc := range []string{w.ref, w.ours} {
		os.MkdirAll(etc, 0o755)
		old := time.Now().Add(-time.Hour)
		for f, s := range map[string]string{"main.cf": base, "master.cf": ""} {
			p := filepath.Join(etc, f)
			os.WriteFile(p, []byte(s), 0o644)
			os.Chtimes(p, old, old)
		}
	}
	return w
}

// drop writes a maildrop file with mode 0744 and a fixed time stamp.
func (w *pickupWorld) drop(t *testing.T, id string, data []byte, mtime time.Time) string {
	t.Helper()
	p := filepath.Join(w.queue, "maildrop", id)
	if err := os.WriteFile(p, data, 0o744); err != nil {
		t.Fatal(err)
	}
	os.Chmod(p, 0o744)
	os.Chtimes(p, mtime, mtime)
	return p
}

// recs builds a record stream; each item is a type letter and the data.
func recs(items ...string) []byte {
	var b bytes.Buffer
	w := record.NewWriter(&b)
	for _, it := range items {
		w.PutString(record.Type(it[0]), it[1:])
	}
	w.Flush()
	return b.Bytes()
}

// result is what one pickup did with one file.
type result struct {
	got     []capture
	removed bool
}

func runPickup(t *testing.T, w *pickupWorld, path, etc string, status int, file []byte, extraWait time.Duration, mtime time.Time) result {
	t.Helper()
	ch := fakeCleanup(t, w.queue, status)
	p := w.drop(t, "6FBB898835B", file, mtime)
	if w.requeued {
		// As postsuper -r leaves it: owned by mail_owner, not readable
		// by others.
		if u, err := user.Lookup("postfix"); err == nil {
			uid, _ := strconv.Atoi(u.Uid)
			os.Chown(p, uid, -1)
			os.Chmod(p, 0o700)
		}
	}
	startPickup(t, path, w.queue, etc)
	trigger(t, w.queue)
	var r result
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case c := <-ch:
			r.got = append(r.got, c)
		case <-time.After(20 * time.Millisecond):
		}
		if _, err := os.Stat(p); os.IsNotExist(err) {
			r.removed = true
			break
		}
		if len(r.got) > 0 && extraWait > 0 && time.Now().After(deadline.Add(-5*time.Second+extraWait)) {
			break
		}
	}
	// Drain what arrived after the file went.
	for {
		select {
		case c := <-ch:
			r.got = append(r.got, c)
			continue
		case <-time.After(100 * time.Millisecond):
		}
		break
	}
	os.Remove(p)
	return r
}

// TestPickupDifferential feeds the same maildrop files to Debian's pickup
// and to ours, each talking to a fake cleanup service, and compares the
// cleanup flags, every record sent, and whether the file was removed.
func TestPickupDifferential(t *testing.T) {
	ours := testutil.Bin(t, "pickup")
	normal := recs("T1795872075 457574", "Arewrite_context=local", "Froot", "Sroot",
		"Anotify_flags=10", "Ryou@example.org", "M", "NSubject: hi", "N", "Nbody", "Llong", "Nline",
		"X", "Rextracted@example.org", "E")
	cases := []struct {
		name   string
		extra  string
		status int
		file   []byte
		keep   bool // the file stays: wait a while instead of for removal
		log    string
	}{
		{name: "requeued", file: normal, log: `ABCDEF12345: uid=\d+ from=<root> orig_id=6FBB898835B`},
		{name: "future", file: normal, log: `warning: ABCDEF12345: message dated 1080[01] seconds into the future`},
		{name: "normal", file: normal, log: `postfix/pickup\[\d+\]: ABCDEF12345: uid=0 from=<root>`},
		{name: "filter", extra: "content_filter = smtp:[127.0.0.1]:10025\nreceive_override_options = no_address_mappings\n", file: normal},
		{name: "no-time", file: recs("Sroot", "Rx@example.org", "M", "Nx", "X", "E")},
		{name: "leading-space", file: recs("T1 2", "Sroot", "Rx", "M", "N  indented", "X", "E")},
		{name: "postsuper-leftovers", file: recs("T1 2", "Lfilter:x", ">redir@x", "Sroot", "Rx", "M", "Nx", "X",
			"rrr@x", "eerr@x", "Aheader_action=x", "Anotify_flags=2", "Ry", "E")},
		{name: "bad-record", log: `postfix/pickup\[\d+\]: warning: uid=0: unexpected or malformed record type 81`, file: recs("T1 2", "Sroot", "Qjunk", "Rx", "M", "X", "E")},
		{name: "no-sender", log: `postfix/pickup\[\d+\]: warning: ABCDEF12345: uid=0: no envelope sender`, file: recs("T1 2", "Rx", "M", "Nx", "X", "E")},
		{name: "truncated", log: `warning: uid=0: unexpected or malformed record type -1`, file: recs("T1 2", "Sroot", "Rx", "M", "Nx")},
		{name: "cleanup-bad", status: submit.StatBad, file: normal},
		{name: "cleanup-write", status: submit.StatWrite, file: normal, keep: true,
			log: `postfix/pickup\[\d+\]: warning: maildrop/6FBB898835B: error writing ABCDEF12345: queue file write error`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newPickupWorld(t, tc.extra)
			w.requeued = tc.name == "requeued"
			wait := time.Duration(0)
			if tc.keep {
				wait = 1500 * time.Millisecond
			}
			refLog := testutil.Postlog(t, filepath.Join(w.queue, "public", "postlog"))
			mtime := time.Date(2026, 11, 5, 9, 7, 3, 0, time.UTC)
			if tc.name == "future" {
				// Seconds into the future must come out the same for both.
				mtime = time.Now().Truncate(time.Second).Add(3*time.Hour + 1500*time.Millisecond)
			}
			want := runPickup(t, w, "/usr/lib/postfix/sbin/pickup", w.ref, tc.status, tc.file, wait, mtime)
			got := runPickup(t, w, ours, w.ours, tc.status, tc.file, wait, mtime)
			ourLog, _ := os.ReadFile(w.log)
			if g, wl := logText(string(ourLog)), logText(refLog()); g != wl {
				t.Errorf("log:\n%s\nPostfix:\n%s", g, wl)
			}
			if tc.log != "" {
				data, _ := os.ReadFile(w.log)
				if !regexp.MustCompile(tc.log).Match(data) {
					t.Errorf("our log lacks %s:\n%s", tc.log, data)
				}
			}
			if got.removed != want.removed {
				t.Errorf("file removed: ours %v, Postfix %v", got.removed, want.removed)
			}
			if len(want.got) == 0 {
				t.Fatalf("Postfix's pickup sent nothing")
			}
			if len(got.got) == 0 {
				t.Fatalf("our pickup sent nothing")
			}
			if !want.got[0].ended {
				// An abandoned stream: cleanup throws it away, whatever
				// part of it was flushed before the close.
				if got.got[0].ended {
					t.Errorf("our pickup finished a stream that Postfix abandons:\n%s", got.got[0])
				}
				return
			}
			// A kept file is retried; compare the first attempt.
			g, wnt := got.got[0].String(), want.got[0].String()
			if tc.name == "future" {
				// A future time stamp becomes "now", which the two runs
				// see a moment apart.
				g, wnt = receivedDate.ReplaceAllString(g, "DATE"), receivedDate.ReplaceAllString(wnt, "DATE")
			}
			if g != wnt {
				t.Errorf("cleanup stream:\nours    %s\nPostfix %s", g, wnt)
			}
		})
	}
}

var (
	stampRE = regexp.MustCompile(`(?m)^[A-Z][a-z][a-z] [ 0-9][0-9] [0-9:]{8} `)
	pidRE   = regexp.MustCompile(`\[[0-9]+\]`)
)

var (
	futureRE     = regexp.MustCompile(`dated [0-9]+ seconds`)
	receivedDate = regexp.MustCompile(`id ABCDEF12345; [^"]*`)
)

// logText drops what differs between two runs: time stamps, PIDs and the
// exact distance of a future time stamp (the runs are apart in time).
func logText(s string) string {
	s = futureRE.ReplaceAllString(s, "dated N seconds")
	return pidRE.ReplaceAllString(stampRE.ReplaceAllString(s, ""), "")
}

// TestPickupRetryPerTrigger: when cleanup refuses a message (a table
// failure makes it answer "queue file write error"), Postfix's pickup
// leaves the file and tries it again only at its next scan, and it scans
// once per trigger request, also for requests that were already waiting
// when it started or while it scanned. Ours makes as many attempts, each
// with its "error writing" line, and none in between.
func TestPickupRetryPerTrigger(t *testing.T) {
	t.Parallel()
	ours := testutil.Bin(t, "pickup")
	normal := recs("T1795872075 457574", "Froot", "Sroot", "Ryou@example.org", "M", "Nbody", "X", "E")
	attempts := func(path, etc string, w *pickupWorld) (n int) {
		ch := fakeCleanup(t, w.queue, submit.StatWrite)
		p := w.drop(t, "6FBB898835B", normal, time.Date(2026, 11, 5, 9, 7, 3, 0, time.UTC))
		defer os.Remove(p)
		// Two requests wait (master's first wakeup and postdrop's), then
		// one more comes after the second refusal.
		startPickupQueued(t, path, w.queue, etc, 2)
		wait := func(want int) {
			deadline := time.After(10 * time.Second)
			for n < want {
				select {
				case <-ch:
					n++
				case <-deadline:
					t.Fatalf("%s: %d attempts, want %d", path, n, want)
				}
			}
		}
		wait(2)
		trigger(t, w.queue)
		wait(3)
		// No attempt without a trigger (the next one would be master's
		// wakeup, a minute later).
		select {
		case <-ch:
			n++
		case <-time.After(500 * time.Millisecond):
		}
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s: the refused file is gone: %v", path, err)
		}
		return n
	}
	wr := newPickupWorld(t, "")
	refLog := testutil.Postlog(t, filepath.Join(wr.queue, "public", "postlog"))
	want := attempts("/usr/lib/postfix/sbin/pickup", wr.ref, wr)
	wo := newPickupWorld(t, "")
	got := attempts(ours, wo.ours, wo)
	if want != 3 {
		t.Errorf("Postfix's pickup made %d attempts for 3 triggers", want)
	}
	if got != want {
		t.Errorf("our pickup made %d attempts, Postfix's %d", got, want)
	}
	ourLog, _ := os.ReadFile(wo.log)
	g, wl := logText(string(ourLog)), logText(refLog())
	if g != wl {
		t.Errorf("log:\n%s\nPostfix:\n%s", g, wl)
	}
	if n := strings.Count(wl, "error writing"); n != 3 {
		t.Errorf("Postfix's log has %d \"error writing\" lines, want 3:\n%s", n, wl)
	}
}
