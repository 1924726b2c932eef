package local

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/postfix-go/postfix/internal/deliver"
	"github.com/postfix-go/postfix/internal/dsn"
	"github.com/postfix-go/postfix/internal/queue"
)

// TestMailboxTransport hands mailbox delivery to another agent through
// the delivery protocol (mailbox_transport = fake:nexthop): the other
// agent logs the recipient, which carries offset -1, and local marks the
// queue file afterwards. An unreachable transport defers.
func TestMailboxTransport(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "mailbox_transport = fake:lmtp.example")
	e.agent.pass = deliverPass
	sock := filepath.Join(e.dir, "queue", "private", "fake")
	if err := osMkdirAll(filepath.Dir(sock)); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	type seen struct {
		nexthop string
		rcpts   []dsn.Recipient
	}
	got := make(chan seen, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		_ = deliver.ServeConn(e.cfg, e.layout, c, func(r *deliver.Request) int {
			got <- seen{r.Nexthop, r.Recipients}
			for i := range r.Recipients {
				_ = r.Sent(&r.Recipients[i], "fake", dsn.New("2.0.0", "handed over"))
			}
			return 0
		})
	}()
	m := e.deliver(e.queueMessage("s@example.org", "Subject: x\n\nx\n", "alice@host.example.com"))
	if m.status != 0 || e.marks(m) != "D" {
		t.Errorf("status %d marks %q", m.status, e.marks(m))
	}
	s := <-got
	if s.nexthop != "lmtp.example" || len(s.rcpts) != 1 || s.rcpts[0].Offset != -1 || s.rcpts[0].Address != "alice@host.example.com" {
		t.Errorf("request to the transport: %+v", s)
	}
	equalLines(t, "statuses", statusLines(t, m.id), []string{
		m.id + ": to=<alice@host.example.com>, relay=fake, DELAYS, dsn=2.0.0, status=sent (handed over)",
	})

	e2 := newEnv(t, "mailbox_transport = missing")
	e2.agent.pass = deliverPass
	m2 := e2.deliver(e2.queueMessage("s@example.org", "Subject: x\n\nx\n", "bob@host.example.com"))
	if e2.marks(m2) != "R" {
		t.Errorf("marks %q", e2.marks(m2))
	}
	equalLines(t, "defer log", e2.logEntries(queue.Defer, m2), []string{"bob@host.example.com 4.3.0 mail transport unavailable"})
}

func osMkdirAll(dir string) error { return os.MkdirAll(dir, 0o755) }

// TestTransportAndCommandMaps: fallback_transport_maps takes unknown
// users, mailbox_command_maps gives a user a command.
func TestTransportAndCommandMaps(t *testing.T) {
	t.Parallel()
	out := filepath.Join(t.TempDir(), "cmd.out")
	e := newEnv(t, "fallback_transport_maps = inline:{ghost=relay:[mx.example]}",
		"mailbox_command_maps = inline:{{bob=cat > "+out+"}}")
	var passed []string
	e.agent.pass = func(r *deliver.Request, transport string, rc deliverRecipient) int {
		passed = append(passed, transport+" "+rc.Address)
		return 0
	}
	m := e.deliver(e.queueMessage("s@example.org", "Subject: x\n\nx\n", "ghost@host.example.com", "bob@host.example.com", "other@host.example.com"))
	if e.marks(m) != "DDD" {
		t.Errorf("marks %q", e.marks(m))
	}
	equalLines(t, "passed", passed, []string{"relay:[mx.example] ghost@host.example.com"})
	if b, err := os.ReadFile(out); err != nil || !strings.Contains(string(b), "\nSubject: x\n") {
		t.Errorf("mailbox_command_maps command output %q %v", b, err)
	}
	equalLines(t, "bounce log", e.logEntries(queue.Bounce, m), []string{`other@host.example.com 5.1.1 unknown user: "other"`})
}
