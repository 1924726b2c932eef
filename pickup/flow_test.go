package pickup_test

import (
	"bytes"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/postfix-go/postfix/internal/flowtest"
	"github.com/postfix-go/postfix/internal/queue"
)

// TestFlowSubmission runs the whole mail system: sendmail hands a message
// to postdrop, pickup moves it to cleanup, it is delivered; the maildrop
// queue is empty afterwards. mailq (our sendmail under that name) and
// postqueue -p run by an unprivileged user, who cannot read the queue,
// list it through the showq service.
func TestFlowSubmission(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	s := flowtest.New(t, "")
	s.Start()
	r := s.Sendmail("To: root\nBcc: root\nSubject: flow\n\nbody\n", "-t", "-f", "root")
	if r.Exit != 0 {
		t.Fatalf("sendmail: %+v", r)
	}
	line := s.WaitLog(`postfix/pickup\[\d+\]: [0-9A-Za-z]+: uid=\d+ from=<root>`, 15*time.Second)
	id := strings.TrimSuffix(strings.Fields(strings.SplitN(line, "]: ", 2)[1])[0], ":")
	s.WaitLog(id+`: to=<root@[^>]*>.*status=sent`, 15*time.Second)
	if names, _ := filepath.Glob(filepath.Join(s.Queue, "maildrop", "*")); len(names) != 0 {
		t.Errorf("maildrop not empty after delivery: %v", names)
	}

	// A held message, so that the listing has something to show.
	l := queue.Layout{Dir: s.Queue, Hashed: []string{"deferred", "defer"}, Depth: 1, LineLimit: 2048}
	held, err := l.WriteMessage(queue.Hold, &queue.Message{Arrival: time.Unix(1795872075, 0), Sender: "held@example.com",
		Recipients: []queue.Recipient{{Address: "waiting@example.org"}}, Content: []byte("Subject: held\n\nx\n")})
	if err != nil {
		t.Fatal(err)
	}
	if u, err := user.Lookup("postfix"); err == nil && os.Geteuid() == 0 {
		uid, _ := strconv.Atoi(u.Uid)
		os.Chown(l.Path(queue.Hold, held), uid, -1)
	}

	// mailq is sendmail by another name; it runs postqueue -p.
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	mailq := filepath.Join(dir, "mailq")
	if err := os.Symlink(filepath.Join(s.Bin, "sendmail"), mailq); err != nil {
		t.Fatal(err)
	}
	out := runAs(t, s, mailq, nil)
	if !strings.Contains(out, held+"!") || !strings.Contains(out, "waiting@example.org") || !strings.Contains(out, "-- 0 Kbytes in 1 Request.") {
		t.Errorf("mailq output:\n%s", out)
	}
	if os.Geteuid() != 0 {
		return
	}
	// An unprivileged user: only the showq socket can show the queue.
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Skip("no user nobody")
	}
	uid, _ := strconv.Atoi(nobody.Uid)
	// postqueue is set-gid postdrop in a real installation: that group
	// opens public/, where the showq socket is.
	group, err := user.LookupGroup("postdrop")
	if err != nil {
		t.Skip("no group postdrop")
	}
	gid, _ := strconv.Atoi(group.Gid)
	pq := filepath.Join(dir, "postqueue")
	data, _ := os.ReadFile(filepath.Join(s.Bin, "postqueue"))
	os.WriteFile(pq, data, 0o755)
	got := runAs(t, s, pq, &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, "-p")
	if got != out {
		t.Errorf("postqueue -p as nobody:\n%s\nas root:\n%s", got, out)
	}
	// sendmail -q asks for a flush; with the system up it succeeds.
	if r := s.Sendmail("", "-q"); r.Exit != 0 {
		t.Errorf("sendmail -q: %+v", r)
	}
}

func runAs(t *testing.T, s *flowtest.System, path string, cred *syscall.Credential, args ...string) string {
	t.Helper()
	cmd := exec.Command(path, args...)
	cmd.Env = []string{"MAIL_CONFIG=" + s.Etc, "TZ=UTC", "PATH=/usr/bin:/bin"}
	cmd.Dir = "/"
	if cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	}
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %v: %v\n%s%s", path, args, err, so.String(), se.String())
	}
	if se.Len() > 0 {
		t.Errorf("%s %v: stderr %s", path, args, se.String())
	}
	return so.String()
}
