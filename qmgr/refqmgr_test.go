package qmgr

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/postfix-go/postfix/conf"
	"github.com/postfix-go/postfix/internal/attr"
	"github.com/postfix-go/postfix/internal/bouncelog"
	"github.com/postfix-go/postfix/internal/deliver"
	"github.com/postfix-go/postfix/internal/queue"
	"github.com/postfix-go/postfix/internal/testutil"
)

// refQmgr runs Debian's qmgr over a private queue, with this test as its
// master (listener on fd 6, status on fd 5), a fake trivial-rewrite that
// routes everything to smtp:[nexthop of the domain], and a fake smtp agent
// built on deliver.ServeConn. Its log lines arrive on public/postlog.
type refQmgr struct {
	dir, qdir string
	l         queue.Layout
	cfg       *conf.Config
	trigger   string // public/qmgr
	requests  chan *deliver.Request

	mu   sync.Mutex
	logs []string
}

func startRefQmgr(t *testing.T, handle func(*deliver.Request) int, extraMain ...string) *refQmgr {
	t.Helper()
	path := testutil.Reference(t, "/usr/lib/postfix/sbin/qmgr")
	if os.Geteuid() != 0 {
		t.Skip("Postfix's qmgr needs root (tests run as root in CI)")
	}
	pf, err := user.Lookup("postfix")
	if err != nil {
		t.Skip("no postfix user")
	}
	uid, _ := strconv.Atoi(pf.Uid)
	gid, _ := strconv.Atoi(pf.Gid)
	dir := t.TempDir()
	_ = os.Chmod(dir, 0o755)
	r := &refQmgr{dir: dir, qdir: filepath.Join(dir, "queue"), requests: make(chan *deliver.Request, 100)}
	etc := filepath.Join(dir, "etc")
	for _, d := range []string{etc, filepath.Join(r.qdir, "public"), filepath.Join(r.qdir, "private"), filepath.Join(dir, "data")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	mainCF := "compatibility_level = 3.6\n" +
		"queue_directory = " + r.qdir + "\n" +
		"data_directory = " + filepath.Join(dir, "data") + "\n" +
		"myhostname = host.example.com\nmydomain = example.com\ninet_interfaces = loopback-only\n" +
		"maillog_file = " + filepath.Join(dir, "maillog") + "\nmaillog_file_prefixes = " + dir + "\n" +
		strings.Join(extraMain, "")
	old := time.Now().Add(-time.Hour)
	for f, text := range map[string]string{"main.cf": mainCF, "master.cf": ""} {
		p := filepath.Join(etc, f)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		_ = os.Chtimes(p, old, old)
	}
	r.cfg = conf.New(etc, nil)
	r.cfg.Set("queue_directory", r.qdir)
	r.l = queue.FromConfig(r.cfg)
	if err := r.l.MakeDirs(); err != nil {
		t.Fatal(err)
	}
	logSock, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: filepath.Join(r.qdir, "public", "postlog"), Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { logSock.Close() })
	go func() {
		buf := make([]byte, 65536)
		for {
			n, _, err := logSock.ReadFrom(buf)
			if err != nil {
				return
			}
			r.mu.Lock()
			r.logs = append(r.logs, strings.TrimRight(string(buf[:n]), "\n"))
			r.mu.Unlock()
		}
	}()
	serve := func(name string, fn func(net.Conn)) {
		ln, err := net.Listen("unix", filepath.Join(r.qdir, "private", name))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				go func() { defer c.Close(); fn(c) }()
			}
		}()
	}
	serve("rewrite", fakeRewrite)
	for _, svc := range []string{"bounce", "defer", "trace"} {
		serve(svc, func(c net.Conn) {
			enc := attr.NewEncoder(c, attr.Zero)
			if enc.WriteProtocol(bouncelog.Protocol) != nil || enc.Flush() != nil {
				return
			}
			if _, err := bouncelog.ReadRequest(attr.NewDecoder(c, attr.Zero)); err != nil {
				return
			}
			_ = enc.Write(attr.Int("status", 0))
			_ = enc.Flush()
		})
	}
	serve("smtp", func(c net.Conn) {
		_ = deliver.ServeConn(r.cfg, r.l, c, func(q *deliver.Request) int {
			r.requests <- q
			return handle(q)
		})
	})
	// The queue belongs to mail_owner, as the real daemons expect.
	_ = filepath.Walk(r.qdir, func(p string, _ os.FileInfo, err error) error {
		if err == nil {
			_ = os.Lchown(p, uid, gid)
		}
		return nil
	})

	r.trigger = filepath.Join(r.qdir, "public", "qmgr")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: r.trigger, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	lnFile, _ := ln.File()
	flowR, flowW, _ := os.Pipe()
	statusR, statusW, _ := os.Pipe()
	cmd := exec.Command(path, "-l", "-n", "qmgr", "-t", "unix")
	cmd.Dir = dir
	cmd.Env = []string{"MAIL_CONFIG=" + etc, "PATH=/usr/bin:/bin"}
	cmd.ExtraFiles = []*os.File{flowR, flowW, statusW, lnFile}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for _, f := range []*os.File{flowR, flowW, statusW, lnFile} {
		f.Close()
	}
	ln.Close()
	t.Cleanup(func() {
		statusR.Close()
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(3 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	return r
}

// fakeRewrite answers resolve requests: local part "@" domain goes to
// smtp with the domain as next hop. Rewrite requests append
// "@example.com" to an address without a domain, as the local ruleset
// does with $mydomain.
func fakeRewrite(c net.Conn) {
	enc := attr.NewEncoder(c, attr.Zero)
	dec := attr.NewDecoder(c, attr.Zero)
	if enc.WriteProtocol("trivial_rewrite_protocol") != nil || enc.Flush() != nil {
		return
	}
	for {
		rec, err := dec.ReadRecord()
		if err != nil {
			return
		}
		var req, addr string
		for _, p := range rec {
			switch p.Name {
			case "request":
				req = p.Value
			case "address":
				addr = p.Value
			}
		}
		if req == "rewrite" {
			if !strings.Contains(addr, "@") {
				addr += "@example.com"
			}
			err = enc.Write(attr.Int("flags", 0), attr.Str("address", addr))
		} else {
			dom := addr[strings.LastIndexByte(addr, '@')+1:]
			transport := "smtp"
			if strings.HasPrefix(dom, "nosuch") {
				transport = "nosuch"
			}
			err = enc.Write(attr.Int("flags", 0), attr.Str("transport", transport), attr.Str("nexthop", dom),
				attr.Str("recipient", addr), attr.Int("flags", 1<<12))
		}
		if err != nil || enc.Flush() != nil {
			return
		}
	}
}

func (r *refQmgr) kick(t *testing.T) {
	c, err := net.Dial("unix", r.trigger)
	if err != nil {
		t.Fatal(err)
	}
	c.Write([]byte("I"))
	c.Close()
}

func (r *refQmgr) waitLog(t *testing.T, sub string) string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		r.mu.Lock()
		for _, l := range r.logs {
			if strings.Contains(l, sub) {
				r.mu.Unlock()
				_, text, _ := strings.Cut(l, "]: ")
				return text
			}
		}
		r.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	t.Fatalf("Postfix's qmgr logged no %q; log:\n%s", sub, strings.Join(r.logs, "\n"))
	return ""
}

// refMessage is the test message: two recipients at one domain, with
// client attributes that travel in the delivery request.
func refMessage() *queue.Message {
	return &queue.Message{Sender: "s@example.com", Arrival: time.Now(), Created: time.Now(),
		RewriteContext: "remote", EnvID: "env-1", RetFlags: 2,
		Attrs: []queue.Attr{{Name: "log_client_name", Value: "client.example"},
			{Name: "log_client_address", Value: "192.0.2.9"}, {Name: "log_client_port", Value: "4321"},
			{Name: "log_protocol_name", Value: "ESMTP"}, {Name: "log_helo_name", Value: "helo.example"},
			{Name: "encoding", Value: "8bit"}},
		Recipients: []queue.Recipient{{Address: "a@remote.example", Orig: "A@remote.example", DSNOrig: "rfc822;A@remote.example", Notify: 8},
			{Address: "b@remote.example"}},
		Content: []byte("Subject: test\n\nbody\n")}
}

// TestAgainstPostfixQmgr runs Debian's qmgr and ours over the same queue
// file and compares the delivery request each sends and what each logs
// and does with the file, for a delivered and a deferred message.
func TestAgainstPostfixQmgr(t *testing.T) {
	for i, deferIt := range []bool{false, true, false} {
		utf8Rcpt := i == 2 // a recipient that needs SMTPUTF8
		handle := func(q *deliver.Request) int {
			for i := range q.Recipients {
				if deferIt {
					q.Defer(&q.Recipients[i], "none", deliverStatus("4.4.1", "try later"))
				} else {
					q.Sent(&q.Recipients[i], "none", deliverStatus("2.0.0", "ok"))
				}
			}
			return deliver.StatFinal
		}
		ref := startRefQmgr(t, handle)
		// Both queue managers read the same bytes.
		msg := refMessage()
		if utf8Rcpt {
			msg.Recipients[1].Address = "jörg@remote.example"
		}
		refID, fileBytes := stageMessage(t, msg)
		placeFile(t, ref.l.Path(queue.Incoming, refID), fileBytes)
		ref.kick(t)
		var refReq *deliver.Request
		select {
		case refReq = <-ref.requests:
		case <-time.After(15 * time.Second):
			ref.waitLog(t, "never")
		}
		refLines := []string{ref.waitLog(t, refID+": from=")}
		if deferIt {
			waitFile(t, ref.l.Path(queue.Deferred, refID))
		} else {
			refLines = append(refLines, ref.waitLog(t, refID+": removed"))
		}

		e := newEnv(t, "compatibility_level", "3.6") // as in the reference main.cf
		ours := e.agent("smtp", handle)
		id := e.submitMsg(refMessage())
		if err := os.WriteFile(e.l.Path(queue.Incoming, id), fileBytes, 0o700); err != nil {
			t.Fatal(err)
		}
		e.run("I")
		ourReq := <-ours
		ourLines := []string{e.waitLog(id, id+": from=")}
		if !deferIt {
			ourLines = append(ourLines, e.waitLog(id, id+": removed"))
		}
		for i := range refLines {
			if strings.ReplaceAll(refLines[i], refID, "ID") != strings.ReplaceAll(ourLines[i], id, "ID") {
				t.Errorf("Postfix's qmgr logged %q\n           ours logged %q", refLines[i], ourLines[i])
			}
		}
		compareRequests(t, refReq, ourReq)
		if deferIt {
			time.Sleep(200 * time.Millisecond)
			for _, c := range []struct {
				l  queue.Layout
				id string
			}{{ref.l, refID}, {e.l, id}} {
				st, err := os.Stat(c.l.Path(queue.Deferred, c.id))
				if err != nil {
					t.Errorf("%s: %v", c.l.Dir, err)
					continue
				}
				if d := time.Until(st.ModTime()); d < 290*time.Second || d > 301*time.Second {
					t.Errorf("%s: next attempt in %v", c.l.Dir, d)
				}
			}
		}
	}
}

// compareRequests checks that our request carries what Postfix's does,
// apart from the queue ID and the time stamps.
func compareRequests(t *testing.T, ref, ours *deliver.Request) {
	t.Helper()
	norm := func(r *deliver.Request) deliver.Request {
		c := *r
		c.QueueID, c.LogIdent = "", ""
		c.Arrival, c.ActiveAt, c.AgentAt, c.ConnSetupAt, c.DoneAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}, time.Time{}
		c.Config, c.HopStatus = nil, nil
		c.UseLayout(queue.Layout{})
		return c
	}
	a, b := norm(ref), norm(ours)
	if sa, sb := sprint(a), sprint(b); sa != sb {
		t.Errorf("delivery requests differ:\nPostfix: %s\n   ours: %s", sa, sb)
	}
	if ref.LogIdent != "" || ours.LogIdent != "" {
		t.Errorf("log_ident: Postfix %q, ours %q; the file has none", ref.LogIdent, ours.LogIdent)
	}
	if ref.ActiveAt.IsZero() != ours.ActiveAt.IsZero() || !ref.Arrival.Equal(ours.Arrival) {
		t.Errorf("time stamps: Postfix arrival %v active %v; ours %v %v", ref.Arrival, ref.ActiveAt, ours.Arrival, ours.ActiveAt)
	}
}

func waitFile(t *testing.T, p string) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if _, err := os.Stat(p); err == nil {
			return
		}
	}
	t.Fatalf("%s did not appear", p)
}

// TestPostfixQmgrCrashAndMissingTransport runs Debian's qmgr and ours
// over the same file whose recipients go to an agent that dies after
// delivering the first one, and to a transport without a socket; both
// must log the same lines and leave the same recipients to retry.
func TestPostfixQmgrCrashAndMissingTransport(t *testing.T) {
	crash := func(q *deliver.Request) int {
		q.Sent(&q.Recipients[0], "none", deliverStatus("2.0.0", "ok"))
		runtimeGoexit() // the agent dies without an answer
		return 0
	}
	ref := startRefQmgr(t, crash)
	m := refMessage()
	m.Recipients = append(m.Recipients, queue.Recipient{Address: "z@nosuch.example"})
	refID, fileBytes := stageMessage(t, m)
	placeFile(t, ref.l.Path(queue.Incoming, refID), fileBytes)
	ref.kick(t)
	waitFile(t, ref.l.Path(queue.Deferred, refID))
	refLines := []string{
		ref.waitLog(t, refID+": from="),
		ref.waitLog(t, "warning: connect to transport private/nosuch"),
		ref.waitLog(t, "to=<z@nosuch.example>"),
		ref.waitLog(t, "warning: private/smtp socket: malformed response"),
	}

	e := newEnv(t)
	e.res.route["nosuch.example"] = rewriteRes("nosuch", "nosuch.example")
	e.listen("smtp", func(c net.Conn) {
		_ = deliver.ServeConn(e.cfg, e.l, c, crash)
	})
	id := e.submitMsg(&queue.Message{Sender: "x"})
	if err := os.WriteFile(e.l.Path(queue.Incoming, id), fileBytes, 0o700); err != nil {
		t.Fatal(err)
	}
	e.run("I")
	ourLines := []string{
		e.waitLog(id, id+": from="),
		strings.SplitN(waitAny(t, "warning: connect to transport private/nosuch"), "]: ", 2)[1],
		e.waitLog(id, "to=<z@nosuch.example>"),
		strings.SplitN(waitAny(t, "warning: private/smtp socket: malformed response"), "]: ", 2)[1],
	}
	for i := range refLines {
		a := delayFields.ReplaceAllString(strings.ReplaceAll(refLines[i], refID, "ID"), "DELAYS")
		b := delayFields.ReplaceAllString(strings.ReplaceAll(ourLines[i], id, "ID"), "DELAYS")
		if a != b {
			t.Errorf("Postfix's qmgr logged %q\n           ours logged %q", a, b)
		}
	}
	for _, l := range logs(id) {
		if strings.Contains(l, "to=<a@") || strings.Contains(l, "to=<b@") {
			if !strings.Contains(l, "status=sent") {
				t.Errorf("ours logged %q; Postfix logs nothing for the crashed request", l)
			}
		}
	}
	left := func(l queue.Layout, id string) string {
		f, err := os.Open(l.Path(queue.Deferred, id))
		if err != nil {
			return err.Error()
		}
		defer f.Close()
		msg, err := readMessage(f, id, "")
		if err != nil {
			return err.Error()
		}
		var out []string
		for _, r := range msg.rcpts {
			out = append(out, r.Address)
		}
		return strings.Join(out, ",")
	}
	if a, b := left(ref.l, refID), left(e.l, id); a != b || a != "b@remote.example,z@nosuch.example" {
		t.Errorf("recipients left: Postfix %s, ours %s", a, b)
	}
}

var delayFields = regexp.MustCompile(`delay=[0-9.]+, delays=[0-9.]+/[0-9.]+/[0-9.]+/[0-9.]+`)

// stageMessage encodes m as a queue file in a scratch queue and returns
// its ID and bytes.
func stageMessage(t *testing.T, m *queue.Message) (string, []byte) {
	t.Helper()
	l := queue.Layout{Dir: t.TempDir()}
	if err := l.MakeDirs(); err != nil {
		t.Fatal(err)
	}
	id, err := l.WriteMessage(queue.Incoming, m)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(l.Path(queue.Incoming, id))
	if err != nil {
		t.Fatal(err)
	}
	return id, b
}

// placeFile puts a finished queue file (mode 0700, owned by postfix) at
// path in one rename, as cleanup does.
func placeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o700); err != nil {
		t.Fatal(err)
	}
	_ = os.Chmod(tmp, 0o700)
	if pf, err := user.Lookup("postfix"); err == nil {
		uid, _ := strconv.Atoi(pf.Uid)
		gid, _ := strconv.Atoi(pf.Gid)
		_ = os.Lchown(tmp, uid, gid)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// TestPostfixQmgrCorrupt: a truncated queue file goes to the corrupt
// queue with the same warnings from Debian's qmgr and ours.
func TestPostfixQmgrCorrupt(t *testing.T) {
	ref := startRefQmgr(t, func(*deliver.Request) int { return 0 })
	refID, b := stageMessage(t, refMessage())
	b = b[:len(b)-3]
	placeFile(t, ref.l.Path(queue.Incoming, refID), b)
	ref.kick(t)
	waitFile(t, ref.l.Path(queue.Corrupt, refID))
	time.Sleep(100 * time.Millisecond)
	ref.mu.Lock()
	var refLines []string
	for _, l := range ref.logs {
		_, text, _ := strings.Cut(l, "]: ")
		refLines = append(refLines, strings.ReplaceAll(text, refID, "ID"))
	}
	ref.mu.Unlock()

	e := newEnv(t)
	id := e.submitMsg(&queue.Message{Sender: "x"})
	if err := os.WriteFile(e.l.Path(queue.Incoming, id), b, 0o700); err != nil {
		t.Fatal(err)
	}
	e.run("I")
	var ours []string
	for _, l := range logs(id) {
		ours = append(ours, strings.ReplaceAll(l, id, "ID"))
	}
	if strings.Join(refLines, "\n") != strings.Join(ours, "\n") {
		t.Errorf("Postfix's qmgr logged:\n%s\nours:\n%s", strings.Join(refLines, "\n"), strings.Join(ours, "\n"))
	}
}

// TestPostfixQmgrExpireAndWarn: an old message whose recipient is
// deferred is returned to the sender ("status=expired"), and a young one
// past its delay warning time gets a warning and its W record cleared;
// Debian's qmgr and ours log the same and leave byte-identical files.
func TestPostfixQmgrExpireAndWarn(t *testing.T) {
	deferAll := func(q *deliver.Request) int {
		for i := range q.Recipients {
			q.Defer(&q.Recipients[i], "none", deliverStatus("4.4.1", "try later"))
		}
		return deliver.StatFinal
	}
	ref := startRefQmgr(t, deferAll, "maximal_queue_lifetime = 1d\n")
	old := time.Now().Add(-25 * time.Hour)
	oldMsg := refMessage()
	oldMsg.Arrival, oldMsg.Created = old, old
	oldID, oldBytes := stageMessage(t, oldMsg)
	youngID, youngBytes := stageMessage(t, refMessage())
	youngBytes = withWarnRecord(t, youngBytes, time.Now().Add(-time.Minute))
	placeFile(t, ref.l.Path(queue.Incoming, oldID), oldBytes)
	placeFile(t, ref.l.Path(queue.Incoming, youngID), youngBytes)
	ref.kick(t)
	refLines := []string{ref.waitLog(t, oldID+": from=<s@example.com>, status="), ref.waitLog(t, oldID+": removed")}
	waitFile(t, ref.l.Path(queue.Deferred, youngID))
	time.Sleep(100 * time.Millisecond)
	refYoung, _ := os.ReadFile(ref.l.Path(queue.Deferred, youngID))

	e := newEnv(t, "maximal_queue_lifetime", "1d")
	e.bounceService()
	e.agent("smtp", deferAll)
	id1 := e.submitMsg(&queue.Message{Sender: "x"})
	id2 := e.submitMsg(&queue.Message{Sender: "x"})
	placeFile(t, e.l.Path(queue.Incoming, id1), oldBytes)
	placeFile(t, e.l.Path(queue.Incoming, id2), youngBytes)
	e.run("I")
	ourLines := []string{e.waitLog(id1, id1+": from=<s@example.com>, status="), e.waitLog(id1, id1+": removed")}
	for i := range refLines {
		if a, b := strings.ReplaceAll(refLines[i], oldID, "ID"), strings.ReplaceAll(ourLines[i], id1, "ID"); a != b {
			t.Errorf("Postfix's qmgr logged %q\n           ours logged %q", a, b)
		}
	}
	ourYoung, err := os.ReadFile(e.l.Path(queue.Deferred, id2))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(refYoung, ourYoung) {
		t.Errorf("deferred files differ after the delay warning:\nPostfix %q\n   ours %q", refYoung, ourYoung)
	}
	if bytes.Equal(ourYoung, youngBytes) {
		t.Error("the warning time record was not updated")
	}
}
