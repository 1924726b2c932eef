package check

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/postfix-go/postfix/conf"
	"github.com/postfix-go/postfix/internal/address"
	"github.com/postfix-go/postfix/internal/rewrite"
)

// devMain mirrors the main.cf lines internal/devconf writes for the
// reference system that matter to the checks.
const devMain = `compatibility_level = 3.6
myhostname = mx.example.test
mydestination = $myhostname, localhost.$mydomain, localhost
inet_interfaces = loopback-only
inet_protocols = ipv4
mynetworks_style = host
alias_maps = inline:{ {postmaster = root}, {MAILER-DAEMON = postmaster} }
relayhost =
default_transport = error:outbound mail delivery is not available in this private system
`

// logSink collects what the checks log, warnings with "warning: ".
type logSink struct {
	mu    sync.Mutex
	lines []string
}

func (l *logSink) info(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
}

func (l *logSink) warn(format string, args ...any) {
	l.info("warning: "+format, args...)
}

func (l *logSink) error(format string, args ...any) {
	l.info("error: "+format, args...)
}

func (l *logSink) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.lines
	l.lines = nil
	return out
}

// testConfig writes main.cf (devMain, baseMain and extra) into a new
// directory and loads it.
func testConfig(t testing.TB, extra string, prep func(dir string)) (*conf.Config, string) {
	t.Helper()
	dir := t.TempDir()
	if prep != nil {
		prep(dir)
	}
	main := devMain + baseMain + strings.ReplaceAll(extra, "DIR", dir)
	if err := os.WriteFile(filepath.Join(dir, "main.cf"), []byte(main), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := conf.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return c, dir
}

// rewriteClient runs our trivial-rewrite engine in-process over pipes.
func rewriteClient(t testing.TB, c *conf.Config) *rewrite.Client {
	t.Helper()
	eng := rewrite.NewEngine(c, func(format string, args ...any) { t.Logf("rewrite: "+format, args...) })
	t.Cleanup(eng.Close)
	return rewrite.NewClientDial("rewrite", func() (net.Conn, error) {
		a, b := net.Pipe()
		go eng.Serve(b, 0)
		return a, nil
	})
}

// newChecker builds a Checker for settings (one "name = value" per line).
func newChecker(t testing.TB, settings string, d Deps, prep func(dir string)) (*Checker, *logSink, string) {
	t.Helper()
	c, dir := testConfig(t, settings, prep)
	sink := &logSink{}
	if d.Rewrite == nil {
		d.Rewrite = rewriteClient(t, c)
	}
	d.Log, d.Warn, d.Error = sink.info, sink.warn, sink.error
	if d.Sleep == nil {
		d.Sleep = func(int) {}
	}
	k, err := New(c, d)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(k.Close)
	return k, sink, dir
}

// internalAddr turns a case address into what smtpd hands the checks:
// source route dropped, quoting removed.
func internalAddr(a string) string {
	if strings.HasPrefix(a, "@") {
		if i := strings.IndexByte(a, ':'); i > 0 {
			a = a[i+1:]
		}
	}
	return address.Internal(a)
}

// play runs a case's dialogue against k the way smtpd drives the checks
// and returns the lines in golden-file form.
func play(t testing.TB, k *Checker, sink *logSink, c *dcase, i int, dir string) string {
	var out strings.Builder
	fmt.Fprintf(&out, "== %s\n", c.name)
	name, addr, rev, ns, rs := c.clientFacts(i)
	s := &Session{Name: name, Addr: addr, ReverseName: rev, NameStatus: ns, ReverseNameStatus: rs,
		Port: "54321", ServerAddr: "127.0.0.1", ServerPort: "25", Protocol: "SMTP", Stage: "XCLIENT"}
	if c.login != "" {
		s.SASLUser, s.SASLMethod = c.login, "XCLIENT"
	}
	reply := func(r *Reply) string {
		if r == nil {
			return "ok"
		}
		return r.String()
	}
	denied := k.Connect(s)
	fmt.Fprintf(&out, "XCLIENT: %s\n", reply(denied))
	first := ""
	for _, cmd := range c.cmds {
		if strings.HasPrefix(cmd, "xclient ") {
			f := strings.Fields(cmd)[1:]
			if len(f) < 3 {
				f = append(f, f[0])
			}
			st := func(n string) (string, int) {
				switch n {
				case "unknown":
					return n, 5
				case "tempunknown":
					return "unknown", 4
				}
				return n, 2
			}
			s = &Session{Addr: f[1], Port: "54321", ServerAddr: "127.0.0.1", ServerPort: "25", Protocol: "SMTP", Stage: "XCLIENT"}
			s.Name, s.NameStatus = st(f[0])
			s.ReverseName, s.ReverseNameStatus = st(f[2])
			first = ""
			denied = k.Connect(s)
			fmt.Fprintf(&out, "%s: %s\n", cmd, reply(denied))
			continue
		}
		line := smtpCommand(cmd)
		if denied != nil {
			// smtpd answers every command after a refused connection so.
			fmt.Fprintf(&out, "%s: 503 5.7.0 Error: access denied for %s\n", line, s.namaddr(false))
			continue
		}
		word, arg, _ := strings.Cut(cmd, " ")
		var r *Reply
		switch word {
		case "ehlo", "helo":
			s.Stage = strings.ToUpper(word)
			old := s.HELO
			s.HELO = arg
			if r = k.Helo(s); r != nil {
				s.HELO = old
			} else {
				s.Protocol = map[string]string{"ehlo": "ESMTP", "helo": "SMTP"}[word]
				s.ResetTransaction()
				first = ""
			}
		case "mail":
			s.Stage = "MAIL"
			s.Sender = internalAddr(arg)
			s.InstanceID = "instance.1"
			r = k.Mail(s)
			if r == nil {
				// smtpd decides the header rewriting context after
				// the sender restrictions accept the sender.
				_, r = k.RewriteContext(s)
			}
			if r != nil {
				s.ResetTransaction()
			} else {
				s.SenderSet = true
			}
		case "rcpt":
			if !s.SenderSet {
				fmt.Fprintf(&out, "%s: %s\n", line, "503 5.5.1 Error: need MAIL command")
				continue
			}
			s.Stage = "RCPT"
			s.Recipient = internalAddr(arg)
			if r = k.Rcpt(s); r == nil {
				s.RcptCount++
				if first == "" {
					first = s.Recipient
					s.QueueID = "QUEUEID"
				}
			}
			s.Recipient = first
		case "data":
			if !s.SenderSet {
				fmt.Fprintf(&out, "%s: %s\n", line, "503 5.5.1 Error: need RCPT command")
				continue
			}
			if s.RcptCount == 0 {
				fmt.Fprintf(&out, "%s: %s\n", line, "554 5.5.1 Error: no valid recipients")
				continue
			}
			s.Stage = "DATA"
			if r = k.Data(s); r == nil {
				fmt.Fprintf(&out, "%s: ok\n", line)
				s.Stage = "END-OF-MESSAGE"
				fmt.Fprintf(&out, ".: %s\n", reply(k.EndOfData(s)))
				s.ResetTransaction()
				first = ""
				continue
			}
		case "rset":
			s.ResetTransaction()
			first = ""
		case "vrfy":
			s.Stage = "VRFY"
			s.VRFYAddr = internalAddr(arg)
			r = k.Vrfy(s)
		case "etrn":
			s.Stage = "ETRN"
			s.ETRNDomain = arg
			r = k.Etrn(s)
		default:
			t.Fatalf("case %s: unknown command %q", c.name, cmd)
		}
		fmt.Fprintf(&out, "%s: %s\n", line, reply(r))
	}
	out.WriteString(c.policyLines())
	// dnsbl logs its lookup errors through maillog.
	if i := strings.LastIndexByte(addr, '.'); i > 0 {
		rev := reverseIP(addr)
		for _, l := range maillogLines(rev) {
			fmt.Fprintf(&out, "L: %s\n", l)
		}
	}
	for _, l := range sink.take() {
		fmt.Fprintf(&out, "L: %s\n", strings.ReplaceAll(l, dir, "DIR"))
	}
	return out.String()
}

func writeFile(t testing.TB, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}
