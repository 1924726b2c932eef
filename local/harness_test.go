package local

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/postfix-go/postfix/conf"
	"github.com/postfix-go/postfix/internal/bouncelog"
	"github.com/postfix-go/postfix/internal/deliver"
	"github.com/postfix-go/postfix/internal/dsn"
	"github.com/postfix-go/postfix/internal/maillog"
	"github.com/postfix-go/postfix/internal/queue"
	"github.com/postfix-go/postfix/internal/record"
	"github.com/postfix-go/postfix/internal/rewrite"
)

// logPath is the maillog_file every in-process test logs to; tests find
// their lines by queue ID.
var logPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "localtest")
	if err != nil {
		panic(err)
	}
	logPath = filepath.Join(dir, "maillog")
	c := conf.New(dir, nil)
	c.Set("maillog_file", logPath)
	c.Set("myhostname", "host.example.com")
	maillog.Init("local", c)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// logLines returns the maillog lines that contain sub, text after "]: ".
func logLines(t *testing.T, sub string) []string {
	t.Helper()
	b, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, sub) {
			if _, text, ok := strings.Cut(l, "]: "); ok {
				out = append(out, text)
			}
		}
	}
	return out
}

var delayRE = regexp.MustCompile(`delay=[0-9.]+, delays=[0-9.]+/[0-9.]+/[0-9.]+/[0-9.]+`)

// statusLines returns the delivery log lines of queue ID id with the
// delay fields replaced by "DELAYS".
func statusLines(t *testing.T, id string) []string {
	var out []string
	for _, l := range logLines(t, id+": to=<") {
		out = append(out, delayRE.ReplaceAllString(l, "DELAYS"))
	}
	return out
}

// testEnv is a private mail system for in-process deliveries: a queue,
// a spool directory, home directories and a password file of test
// users. The agent runs unprivileged (it must not change the ids of the
// test process), so every delivery runs as the user running the tests.
type testEnv struct {
	t      *testing.T
	dir    string
	cfg    *conf.Config
	layout queue.Layout
	agent  *Agent
	spool  string
	clean  *fakeCleanup
}

// users of the test password file.
var testUsers = []string{"alice", "bob", "carol"}

func newEnv(t *testing.T, params ...string) *testEnv {
	t.Helper()
	dir := t.TempDir()
	e := &testEnv{t: t, dir: dir, spool: filepath.Join(dir, "spool")}
	for _, d := range []string{"queue", "spool", "etc"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	var pw strings.Builder
	pw.WriteString("root:x:0:0:root:/root:/bin/sh\n")
	for i, u := range testUsers {
		home := filepath.Join(dir, "home", u)
		if err := os.MkdirAll(home, 0o755); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&pw, "%s:x:%d:%d:%s:%s:/bin/sh\n", u, 40001+i, 40001+i, u, home)
	}
	pwFile := filepath.Join(dir, "etc", "passwd")
	if err := os.WriteFile(pwFile, []byte(pw.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	e.cfg = conf.New(filepath.Join(dir, "etc"), nil)
	for k, v := range map[string]string{
		"queue_directory":       filepath.Join(dir, "queue"),
		"mail_spool_directory":  e.spool,
		"myhostname":            "host.example.com",
		"mydomain":              "example.com",
		"myorigin":              "host.example.com",
		"mydestination":         "host.example.com, localhost",
		"alias_maps":            "",
		"deliver_lock_attempts": "2",
		"deliver_lock_delay":    "1s",
		"maillog_file":          logPath,
	} {
		e.cfg.Set(k, v)
	}
	for _, p := range params {
		k, v, _ := strings.Cut(p, "=")
		e.cfg.Set(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	e.layout = queue.FromConfig(e.cfg)
	if err := e.layout.MakeDirs(); err != nil {
		t.Fatal(err)
	}
	a, err := newAgent(e.cfg, "local", false, pwFile)
	if err != nil {
		t.Fatal(err)
	}
	e.clean = &fakeCleanup{}
	a.openCleanup = e.clean.open
	a.resolver = fakeResolver{}
	a.pass = func(r *deliver.Request, transport string, rc deliverRecipient) int {
		_ = r.Sent(&rc, "pass-"+transport, dsn.New("2.0.0", "passed to "+transport))
		return 0
	}
	e.agent = a
	return e
}

// home returns the home directory of test user u.
func (e *testEnv) home(u string) string { return filepath.Join(e.dir, "home", u) }

// write creates a file under the test directory.
func (e *testEnv) write(name, text string, mode os.FileMode) string {
	e.t.Helper()
	p := name
	if !filepath.IsAbs(p) {
		p = filepath.Join(e.dir, name)
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		e.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(text), mode); err != nil {
		e.t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		e.t.Fatal(err)
	}
	return p
}

// aliases installs an alias table given in aliases(5) syntax ("name:
// value"), stored as a texthash table ("name value") so that no
// postalias run is needed.
func (e *testEnv) aliases(text string) {
	e.t.Helper()
	var b strings.Builder
	for _, l := range strings.SplitAfter(text, "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && !strings.ContainsAny(k, " \t") {
			l = k + v
		}
		b.WriteString(l)
	}
	p := e.write("etc/aliases", b.String(), 0o644)
	e.cfg.Set("alias_maps", "texthash:"+p)
	a, err := newAgent(e.cfg, "local", false, e.agent.passwdFile)
	if err != nil {
		e.t.Fatal(err)
	}
	a.openCleanup, a.resolver, a.pass = e.agent.openCleanup, e.agent.resolver, e.agent.pass
	e.agent = a
}

// message is a queued message for the tests.
type message struct {
	id     string
	offs   []int64
	req    *deliver.Request
	status int
}

// queueMessage writes a queue file with the given recipients ("addr" or
// "orig>addr") and content, and builds the request the queue manager
// would send.
func (e *testEnv) queueMessage(sender, content string, rcpts ...string) *message {
	e.t.Helper()
	m := &queue.Message{
		Arrival:        time.Now().Add(-2 * time.Second),
		Sender:         sender,
		RewriteContext: "local",
		Content:        []byte(content),
	}
	for _, r := range rcpts {
		orig, addr, ok := strings.Cut(r, ">")
		if !ok {
			addr = orig
		}
		m.Recipients = append(m.Recipients, queue.Recipient{Address: addr, Orig: orig})
	}
	id, err := e.layout.WriteMessage(queue.Active, m)
	if err != nil {
		e.t.Fatal(err)
	}
	offs, size := recordOffsets(e.t, e.layout.Path(queue.Active, id))
	req := &deliver.Request{
		Flags: deliver.FlagDefault, QueueName: queue.Active, QueueID: id,
		DataOffset: size.DataOffset, DataSize: size.ContLength, Nexthop: "host.example.com",
		Sender: sender, Arrival: m.Arrival, ActiveAt: time.Now(), AgentAt: time.Now(),
		RewriteContext: "local", Config: e.cfg, LogIdent: id,
	}
	for i, rc := range m.Recipients {
		req.Recipients = append(req.Recipients, dsn.Recipient{Address: rc.Address, Orig: rc.Orig, Offset: offs[i]})
	}
	return &message{id: id, offs: offs, req: req}
}

// deliver runs the agent on the message.
func (e *testEnv) deliver(m *message) *message {
	m.status = e.agent.Deliver(m.req)
	return m
}

// recordOffsets lists the offsets of the recipient records of a queue
// file and its size record.
func recordOffsets(t *testing.T, path string) ([]int64, queue.Size) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_, size, err := queue.Decode(f, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Seek(0, 0); err != nil {
		t.Fatal(err)
	}
	rr := record.NewReader(f, 0)
	var offs []int64
	for {
		off := rr.Offset()
		typ, _, err := rr.Next()
		if err != nil {
			t.Fatal(err)
		}
		if typ == record.Rcpt || typ == record.Done {
			offs = append(offs, off)
		}
		if typ == record.Mesg {
			return offs, size
		}
	}
}

// marks returns the record types at the recipient offsets ("R" pending,
// "D" done).
func (e *testEnv) marks(m *message) string {
	e.t.Helper()
	b, err := os.ReadFile(e.layout.Path(queue.Active, m.id))
	if err != nil {
		e.t.Fatal(err)
	}
	var s []byte
	for _, o := range m.offs {
		s = append(s, b[o])
	}
	return string(s)
}

// logEntries returns "recipient status reason" for each entry of the
// bounce or defer log of m.
func (e *testEnv) logEntries(log string, m *message) []string {
	e.t.Helper()
	ents, err := bouncelog.Read(e.layout, log, m.id)
	if err != nil && !os.IsNotExist(err) {
		e.t.Fatal(err)
	}
	var out []string
	for _, en := range ents {
		out = append(out, en.Rcpt.Address+" "+en.Status.Code+" "+en.Status.Reason)
	}
	return out
}

// fakeCleanup records the messages local submits for forwarding.
type fakeCleanup struct {
	mu   sync.Mutex
	n    int
	msgs []*fakeStream
}

type fakeStream struct {
	id      string
	recs    []string
	closed  bool
	aborted bool
}

func (f *fakeCleanup) open(flags int) (cleanupStream, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	s := &fakeStream{id: fmt.Sprintf("FWD%d", f.n)}
	f.msgs = append(f.msgs, s)
	return s, nil
}

func (s *fakeStream) QueueID() string { return s.id }
func (s *fakeStream) Put(t record.Type, data []byte) error {
	s.recs = append(s.recs, string(t)+" "+string(data))
	return nil
}
func (s *fakeStream) Close() (int, string, error) { s.closed = true; return 0, "", nil }
func (s *fakeStream) Abort()                      { s.aborted = true }

// envelope returns the S, O, R and A records of a forwarded message.
func (s *fakeStream) envelope() []string {
	var out []string
	for _, r := range s.recs {
		if r[0] == 'S' || r[0] == 'O' || r[0] == 'R' || strings.HasPrefix(r, "A notify") || strings.HasPrefix(r, "A dsn") {
			out = append(out, r)
		}
	}
	return out
}

// fakeResolver stands in for trivial-rewrite: bare names get
// @host.example.com, and host.example.com and localhost are local.
type fakeResolver struct{}

func (fakeResolver) Rewrite(ruleset, addr string) (string, error) {
	if !strings.Contains(addr, "@") {
		return addr + "@host.example.com", nil
	}
	return addr, nil
}

func (fakeResolver) Resolve(sender, addr string) (rewrite.Resolution, error) {
	_, domain, _ := strings.Cut(addr, "@")
	switch strings.ToLower(domain) {
	case "host.example.com", "localhost":
		return rewrite.Resolution{Transport: "local", Nexthop: domain, Recipient: addr}, nil
	case "bad..domain":
		return rewrite.Resolution{Flags: rewrite.FlagError, Transport: "error", Recipient: addr}, nil
	}
	return rewrite.Resolution{Transport: "smtp", Nexthop: domain, Recipient: addr}, nil
}

// pyMailbox parses a mailbox with Python's mailbox module and returns,
// per message, "From-line-sender|Return-Path|X-Original-To|Delivered-To|Subject|body".
func pyMailbox(t *testing.T, kind, path string) []string {
	t.Helper()
	script := `
import mailbox, sys
kind, path = sys.argv[1], sys.argv[2]
box = mailbox.mbox(path, create=False) if kind == "mbox" else mailbox.Maildir(path, factory=None, create=False)
for key in sorted(box.keys(), key=str):
    m = box[key]
    frm = m.get_from().split("  ")[0] if kind == "mbox" else "-"
    body = m.get_payload().replace("\n", "\\n")
    print("|".join([frm, m.get("Return-Path", "-"), m.get("X-Original-To", "-"), m.get("Delivered-To", "-"), m.get("Subject", "-"), body]))
`
	out, err := exec.Command("python3", "-c", script, kind, path).CombinedOutput()
	if err != nil {
		t.Fatalf("python3 mailbox %s: %v\n%s", path, err, out)
	}
	s := strings.TrimRight(string(out), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

func equalLines(t *testing.T, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s:\n got: %q\nwant: %q", what, got, want)
	}
}

var _ = bytes.Equal
