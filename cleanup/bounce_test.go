package cleanup

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/postfix-go/postfix/internal/attr"
	"github.com/postfix-go/postfix/internal/bouncelog"
	"github.com/postfix-go/postfix/internal/dsn"
	"github.com/postfix-go/postfix/internal/queue"
	"github.com/postfix-go/postfix/internal/submit"
)

// submitTo runs one submission against d.Serve over an in-memory pipe.
func submitTo(t *testing.T, d *Daemon, flags int, recs []rec) (id string, status int, reason string) {
	t.Helper()
	cli, srv := net.Pipe()
	done := make(chan struct{})
	go func() { d.Serve(srv); srv.Close(); close(done) }()
	st, err := submit.OpenConn(cli, "public/cleanup", flags, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		st.PutString(r.t, r.d)
	}
	status, reason, err = st.Close()
	if err != nil {
		t.Fatal(err)
	}
	<-done
	return st.QueueID(), status, reason
}

// TestBounce: with the bounce flag (as pickup sends it) a rejected message
// is returned to the sender through the bounce service, and the client is
// told that all went well.
func TestBounce(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	checks := filepath.Join(dir, "header_checks")
	os.WriteFile(checks, []byte("/^Subject: bad/ REJECT go away\n"), 0o644)
	var logs []string
	d := testDaemon(t, "header_checks = regexp:"+checks+"\n", &logs)
	priv := filepath.Join(d.layout.Dir, "private")
	os.MkdirAll(priv, 0o755)
	ln, err := net.Listen("unix", filepath.Join(priv, "bounce"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	type seen struct {
		req      *bouncelog.Request
		mode     os.FileMode
		appended []bouncelog.Entry // append requests before the flush
	}
	got := make(chan seen, 1)
	go func() {
		// The bounce service: append requests (one per recipient), then
		// the flush request that asks for the notice.
		var s seen
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			enc, dec := attr.NewEncoder(c, attr.Zero), attr.NewDecoder(c, attr.Zero)
			enc.WriteProtocol(bouncelog.Protocol)
			enc.Flush()
			r, err := bouncelog.ReadRequest(dec)
			if err != nil {
				t.Error(err)
				c.Close()
				return
			}
			if r.Cmd == bouncelog.CmdAppend {
				if r.QueueID != "" && r.Flags == bouncelog.FlagClean {
					s.appended = append(s.appended, r.Entry)
				}
			} else {
				s.req = r
				if fi, err := os.Stat(d.layout.Path(r.QueueName, r.QueueID)); err == nil {
					s.mode = fi.Mode().Perm()
				}
			}
			enc.Write(attr.Int("status", 0))
			enc.Flush()
			c.Close()
			if s.req != nil {
				got <- s
				return
			}
		}
	}()
	id, status, reason := submitTo(t, d, submit.FlagMaskExternal|submit.FlagBounce,
		stream(local("alice", "bob", "carol"), rcvd+"Subject: bad\n\nbody\n"))
	if status != 0 || reason != "5.7.1 go away" {
		t.Fatalf("status %d %q, want 0 (bounced) with the reason", status, reason)
	}
	s := <-got
	if s.req.Cmd != bouncelog.CmdFlush || s.req.QueueName != queue.Incoming || s.req.QueueID != id ||
		s.req.Sender != "alice@example.org" || s.req.Flags != bouncelog.FlagClean || s.req.Ret != dsn.RetHdrs {
		t.Errorf("flush request %+v", s.req)
	}
	if s.mode != queue.ModeWriting {
		t.Errorf("queue file mode during bounce %v, want %v (not ready for qmgr)", s.mode, queue.ModeWriting)
	}
	if len(s.appended) != 2 || s.appended[0].Rcpt.Address != "bob@example.org" || s.appended[0].Rcpt.Offset <= 0 ||
		s.appended[0].Status.Code != "5.7.1" || s.appended[0].Status.Action != "failed" ||
		s.appended[0].Status.Reason != "go away" || s.appended[1].Rcpt.Address != "carol@example.org" {
		t.Errorf("bounce log requests %+v", s.appended)
	}
	joined := strings.Join(logs, "\n")
	if !strings.Contains(joined, id+": to=<carol@example.org>, orig_to=<carol>, relay=none, delay=") ||
		!strings.Contains(joined, "dsn=5.7.1, status=bounced (go away)") {
		t.Errorf("no status=bounced log lines: %q", logs)
	}
	if _, err := os.Stat(d.layout.Path(queue.Incoming, id)); !os.IsNotExist(err) {
		t.Errorf("queue file left behind: %v", err)
	}
	if !strings.Contains(strings.Join(logs, "\n"), id+": reject: header Subject: bad from local;") {
		t.Errorf("logs %q", logs)
	}
}

// TestQueued checks the durable path in process: a good message is
// committed (mode 0700) to incoming/, a held one to hold/, a discarded one
// nowhere, each with status 0.
func TestQueued(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	checks := filepath.Join(dir, "header_checks")
	os.WriteFile(checks, []byte("/^Subject: hold/ HOLD\n/^Subject: discard/ DISCARD\n"), 0o644)
	var logs []string
	d := testDaemon(t, "header_checks = regexp:"+checks+"\n", &logs)
	for _, c := range []struct{ subj, queue string }{{"ok", queue.Incoming}, {"hold", queue.Hold}, {"discard", ""}} {
		id, status, _ := submitTo(t, d, submit.FlagMaskExternal, stream(local("alice", "bob"), rcvd+"Subject: "+c.subj+"\n\nbody\n"))
		if status != 0 {
			t.Fatalf("%s: status %d", c.subj, status)
		}
		for _, q := range []string{queue.Incoming, queue.Hold} {
			fi, err := os.Stat(d.layout.Path(q, id))
			if q == c.queue {
				if err != nil || fi.Mode().Perm() != queue.ModeReady {
					t.Errorf("%s: %s/%s: %v %v", c.subj, q, id, fi, err)
				}
			} else if err == nil {
				t.Errorf("%s: unexpected %s/%s", c.subj, q, id)
			}
		}
	}
	// No temporary files stay behind.
	tmps, _ := filepath.Glob(filepath.Join(d.layout.Dir, "incoming", "tmp.*"))
	if len(tmps) != 0 {
		t.Errorf("temporary files left: %v", tmps)
	}
}
