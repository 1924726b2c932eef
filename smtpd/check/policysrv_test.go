package check

import (
	"bufio"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// policyServer is a policy delegation server on a unix socket that answers
// each request with the next of its actions (the last one repeats) and
// keeps the requests it got.
type policyServer struct {
	mu       sync.Mutex
	actions  []string
	n        int
	requests []string
}

func startPolicyServer(t testing.TB, path string, actions []string) *policyServer {
	t.Helper()
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	_ = os.Chmod(path, 0o666)
	p := &policyServer{actions: actions}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go p.serve(c)
		}
	}()
	return p
}

func (p *policyServer) serve(c net.Conn) {
	defer c.Close()
	br := bufio.NewReader(c)
	var req []string
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\n")
		if line != "" {
			req = append(req, line)
			continue
		}
		p.mu.Lock()
		p.requests = append(p.requests, strings.Join(req, "\n"))
		a := p.actions[min(p.n, len(p.actions)-1)]
		p.n++
		p.mu.Unlock()
		req = nil
		if a == "hangup" {
			return
		}
		if _, err := c.Write([]byte("action=" + a + "\n\n")); err != nil {
			return
		}
	}
}

// policyActions returns the actions a case gives its policy server.
func (c *dcase) policyActions() []string {
	var out []string
	for _, f := range c.files {
		if f[0] == "policy" {
			out = append(out, f[1])
		}
	}
	return out
}

// startCasePolicy starts the case's policy server at DIR/policy.sock.
func (c *dcase) startCasePolicy(t testing.TB, dir string) {
	if a := c.policyActions(); len(a) > 0 {
		c.policy = startPolicyServer(t, filepath.Join(dir, "policy.sock"), a)
	}
}

// policyVariable are the request attributes whose values differ between
// runs or between the two servers' transports.
var policyVariable = map[string]bool{"instance": true, "queue_id": true, "client_port": true, "server_port": true, "server_address": true}

// policyLines returns the requests the case's policy server got, one
// "P: name=value" line per attribute, run-dependent values blanked.
func (c *dcase) policyLines() string {
	if c.policy == nil {
		return ""
	}
	c.policy.mu.Lock()
	defer c.policy.mu.Unlock()
	var b strings.Builder
	for _, req := range c.policy.requests {
		for _, l := range strings.Split(req, "\n") {
			name, value, _ := strings.Cut(l, "=")
			if policyVariable[name] && value != "" {
				value = "*"
			}
			b.WriteString("P: " + name + "=" + value + "\n")
		}
		b.WriteString("P:\n")
	}
	c.policy.requests = nil
	return b.String()
}
