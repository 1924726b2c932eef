package qmgr

import (
	"bufio"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/postfix-go/postfix/conf"
	"github.com/postfix-go/postfix/internal/attr"
	"github.com/postfix-go/postfix/internal/bouncelog"
	"github.com/postfix-go/postfix/internal/deliver"
	"github.com/postfix-go/postfix/internal/maillog"
	"github.com/postfix-go/postfix/internal/queue"
	"github.com/postfix-go/postfix/internal/rewrite"
)

// All tests log to one maillog file; each test picks its own lines by
// queue ID.
var maillogPath string

func TestMain(m *testing.M) {
	if os.Getenv("QMGR_TEST_DAEMON") != "" {
		Run() // the test binary as the qmgr daemon (TestDaemon)
	}
	dir, err := os.MkdirTemp("", "qmgr-test-")
	if err != nil {
		panic(err)
	}
	maillogPath = filepath.Join(dir, "maillog")
	c := conf.New(dir, nil)
	c.Set("maillog_file", maillogPath)
	c.Set("myhostname", "host.example.com")
	maillog.Init("qmgr", c)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// env is one private queue with a queue manager, fake delivery agents
// (deliver.ServeConn on unix sockets under private/) and a fake resolver.
type env struct {
	t   testing.TB
	dir string
	cfg *conf.Config
	l   queue.Layout
	m   *Manager
	res *fakeResolver
}

type fakeResolver struct {
	mu    sync.Mutex
	route map[string]rewrite.Resolution // by domain
	fail  map[string]bool               // addresses whose resolution fails
}

func (f *fakeResolver) Resolve(sender, addr string) (rewrite.Resolution, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail[addr] {
		return rewrite.Resolution{Flags: rewrite.FlagFail}, nil
	}
	dom := addr[strings.LastIndexByte(addr, '@')+1:]
	r, ok := f.route[dom]
	if !ok {
		r = rewrite.Resolution{Flags: rewrite.ClassDefault, Transport: "smtp", Nexthop: dom}
	}
	r.Recipient = addr
	return r, nil
}

// Rewrite stands in for trivial-rewrite's "local" ruleset: an address
// without a domain gets "@example.com".
func (f *fakeResolver) Rewrite(ruleset, addr string) (string, error) {
	if !strings.Contains(addr, "@") {
		addr += "@example.com"
	}
	return addr, nil
}

func newEnv(t testing.TB, params ...string) *env {
	t.Helper()
	dir := t.TempDir()
	e := &env{t: t, dir: dir}
	e.cfg = conf.New(dir, nil)
	e.cfg.Set("queue_directory", dir)
	e.cfg.Set("myhostname", "host.example.com")
	for i := 0; i+1 < len(params); i += 2 {
		e.cfg.Set(params[i], params[i+1])
	}
	e.l = queue.FromConfig(e.cfg)
	if err := e.l.MakeDirs(); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "private"), 0o700); err != nil {
		t.Fatal(err)
	}
	e.res = &fakeResolver{route: map[string]rewrite.Resolution{
		"local.example": {Flags: rewrite.ClassLocal, Transport: "local", Nexthop: "host.example.com"},
	}, fail: map[string]bool{}}
	e.m = New(e.cfg, e.l, e.res)
	return e
}

// agent serves private/NAME with handle, each connection in its own
// goroutine, until the test ends. It returns a channel of the requests seen.
func (e *env) agent(name string, handle func(*deliver.Request) int) chan *deliver.Request {
	e.t.Helper()
	seen := make(chan *deliver.Request, 1000)
	e.listen(name, func(c net.Conn) {
		_ = deliver.ServeConn(e.cfg, e.l, c, func(r *deliver.Request) int {
			select {
			case seen <- r:
			default: // a benchmark: nobody looks
			}
			return handle(r)
		})
	})
	return seen
}

// listen accepts connections on private/NAME and runs serve for each.
func (e *env) listen(name string, serve func(net.Conn)) {
	e.t.Helper()
	ln, err := net.Listen("unix", filepath.Join(e.dir, "private", name))
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				serve(c)
			}()
		}
	}()
}

// bounceService fakes the bounce daemon's bounce, defer and trace
// services: flush requests succeed, remove the log and (with
// FlagDelRcpt, as the defer service's flush does) mark its recipients
// done. It returns the requests seen.
func (e *env) bounceService() chan *bouncelog.Request {
	seen := make(chan *bouncelog.Request, 100)
	for _, svc := range []string{"bounce", "defer", "trace"} {
		log := map[string]string{"bounce": queue.Bounce, "defer": queue.Defer, "trace": queue.Trace}[svc]
		e.listen(svc, func(c net.Conn) {
			enc := attr.NewEncoder(c, attr.Zero)
			if enc.WriteProtocol(bouncelog.Protocol) != nil || enc.Flush() != nil {
				return
			}
			r, err := bouncelog.ReadRequest(attr.NewDecoder(c, attr.Zero))
			if err != nil {
				return
			}
			seen <- r
			if r.Cmd == bouncelog.CmdFlush || r.Cmd == bouncelog.CmdTrace {
				entries, _ := bouncelog.Read(e.l, log, r.QueueID)
				if r.Flags&bouncelog.FlagDelRcpt != 0 {
					for _, en := range entries {
						_ = deliver.MarkDone(e.l.Path(r.QueueName, r.QueueID), en.Rcpt.Offset)
					}
				}
				_ = bouncelog.Remove(e.l, log, r.QueueID)
			}
			_ = enc.Write(attr.Int("status", 0))
			_ = enc.Flush()
		})
	}
	return seen
}

// submit writes a message for rcpts into the incoming queue.
func (e *env) submit(sender string, rcpts ...string) string {
	e.t.Helper()
	return e.submitMsg(&queue.Message{Sender: sender}, rcpts...)
}

func (e *env) submitMsg(m *queue.Message, rcpts ...string) string {
	e.t.Helper()
	if m.Arrival.IsZero() {
		m.Arrival = time.Now()
	}
	m.Content = []byte("Subject: test\n\nbody\n")
	for _, r := range rcpts {
		m.Recipients = append(m.Recipients, queue.Recipient{Address: r})
	}
	id, err := e.l.WriteMessage(queue.Incoming, m)
	if err != nil {
		e.t.Fatal(err)
	}
	return id
}

// logs returns the maillog lines about id (the text after "qmgr[PID]: ").
func logs(id string) []string {
	f, err := os.Open(maillogPath)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		_, text, ok := strings.Cut(sc.Text(), "]: ")
		if ok && strings.Contains(text, id) {
			out = append(out, text)
		}
	}
	return out
}

// waitLog waits for a log line about id that contains sub.
func (e *env) waitLog(id, sub string) string {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for _, l := range logs(id) {
			if strings.Contains(l, sub) {
				return l
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	e.t.Fatalf("no log line for %s with %q; have:\n%s", id, sub, strings.Join(logs(id), "\n"))
	return ""
}

// run feeds the incoming queue once and waits until the active queue is
// empty.
func (e *env) run(trigger string) {
	e.t.Helper()
	done := make(chan struct{})
	go func() {
		e.m.Trigger([]byte(trigger))
		e.m.runScans()
		e.m.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		e.t.Fatal("queue manager did not finish")
	}
}

// exists reports whether id is in queue q.
func (e *env) exists(q, id string) bool {
	_, err := os.Stat(e.l.Path(q, id))
	return err == nil
}

func sent(r *deliver.Request) int {
	for i := range r.Recipients {
		if err := r.Sent(&r.Recipients[i], "test", deliverStatus("2.0.0", "ok")); err != nil {
			return deliver.StatDefer
		}
	}
	return deliver.StatFinal
}
