package policy

import (
	"fmt"
	"net"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/postfix-go/postfix/conf"
	"github.com/postfix-go/postfix/internal/flowtest"
)

// troubleServers starts the misbehaving policy servers of the trouble
// tests and returns their check_policy_service specs, in order: nobody
// listening, a server that hangs up, one that answers without action,
// one that never answers.
func troubleServers(t *testing.T) []string {
	refused := flowtest.FreePort(t)
	hangup := newFakeServer(t, "tcp", "127.0.0.1:0", func(string, int) string { return "" })
	noAction := newFakeServer(t, "tcp", "127.0.0.1:0", func(string, int) string { return "result=ok\n\n" })
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var held []net.Conn
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		silent.Close()
		mu.Lock()
		for _, c := range held {
			c.Close()
		}
		mu.Unlock()
	})
	return []string{
		fmt.Sprintf("{ inet:127.0.0.1:%d, default_action=DUNNO }", refused),
		fmt.Sprintf("{ inet:%s, default_action=DUNNO }", hangup.ln.Addr()),
		fmt.Sprintf("{ inet:%s, default_action=DUNNO, try_limit=1 }", noAction.ln.Addr()),
		fmt.Sprintf("{ inet:%s, default_action=DUNNO, try_limit=1, timeout=1s }", silent.Addr()),
	}
}

// TestTroubleMatchesPostfix sends one RCPT through Debian's smtpd with
// each misbehaving server in turn and compares the warnings it logs with
// those our client logs for the same servers.
func TestTroubleMatchesPostfix(t *testing.T) {
	t.Parallel()
	specs := troubleServers(t)
	port := flowtest.FreePort(t)
	mainCF := "smtpd_recipient_restrictions = check_policy_service " + strings.Join(specs, ", check_policy_service ") +
		", permit_mynetworks, reject\nsmtpd_client_connection_count_limit = 0\nlocal_recipient_maps =\n"
	sys := flowtest.NewReferenceWithMaster(t, mainCF, fmt.Sprintf("127.0.0.1:%d inet n - n - - smtpd\n", port))
	sys.Start()
	flowtest.WaitPort(t, port, 10*time.Second)
	k := flowtest.Dial(t, fmt.Sprintf("127.0.0.1:%d", port))
	k.Timeout = 20 * time.Second
	k.Send("EHLO client.example\r\n", 1)
	k.Send("MAIL FROM:<s@example.org>\r\n", 1)
	if r := k.Send("RCPT TO:<postmaster@mx.example.test>\r\n", 1); !strings.HasPrefix(r[0], "250 ") {
		t.Fatalf("RCPT: %q", r)
	}
	k.Send("QUIT\r\n", 1)
	rx := regexp.MustCompile(`postfix/smtpd\[\d+\]: warning: (.*)$`)
	var theirs []string
	for _, l := range sys.LogLines(`postfix/smtpd\[\d+\]: warning: `) {
		theirs = append(theirs, rx.FindStringSubmatch(l)[1])
	}

	c, err := conf.Load(sys.Etc)
	if err != nil {
		t.Fatal(err)
	}
	w := &warnLines{}
	for _, spec := range specs {
		p, err := New(c, spec)
		if err != nil {
			t.Fatal(err)
		}
		p.Warn = w.warn
		if _, err := p.Query((&Request{ProtocolState: "RCPT"}).Attrs()); err == nil {
			t.Errorf("%s: query succeeded", spec)
		}
		p.Close()
	}
	if got, want := strings.Join(w.lines, "\n"), strings.Join(theirs, "\n"); got != want {
		t.Errorf("warnings:\n%s\nPostfix:\n%s", got, want)
	}
	if len(theirs) < 5 {
		t.Errorf("Postfix logged too few warnings: %q", theirs)
	}
}

type warnLines struct {
	mu    sync.Mutex
	lines []string
}

func (w *warnLines) warn(f string, a ...any) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.lines = append(w.lines, fmt.Sprintf(f, a...))
}
