package policy

import (
	"bufio"
	"net"
	"strings"
	"sync"
	"testing"
)

// fakeServer is a policy server for tests: it records every request (the
// raw bytes of the record) and answers with what reply returns; an empty
// answer makes it hang up without replying, and one ending in closeMark
// makes it hang up after the reply.
const closeMark = "\x00close"

type fakeServer struct {
	ln    net.Listener
	reply func(req string, n int) string
	mu    sync.Mutex
	reqs  []string
	conns int
	wg    sync.WaitGroup
}

func newFakeServer(t testing.TB, network, addr string, reply func(req string, n int) string) *fakeServer {
	t.Helper()
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	s := &fakeServer{ln: ln, reply: reply}
	s.wg.Add(1)
	go s.serve()
	t.Cleanup(func() {
		ln.Close()
		s.wg.Wait()
	})
	return s
}

func (s *fakeServer) serve() {
	defer s.wg.Done()
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns++
		conns = append(conns, c)
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer c.Close()
			br := bufio.NewReader(c)
			for {
				var b strings.Builder
				for {
					line, err := br.ReadString('\n')
					if err != nil {
						return
					}
					b.WriteString(line)
					if line == "\n" {
						break
					}
				}
				s.mu.Lock()
				s.reqs = append(s.reqs, b.String())
				n := len(s.reqs)
				s.mu.Unlock()
				ans := s.reply(b.String(), n)
				if ans == "" {
					return
				}
				ans, hangup := strings.CutSuffix(ans, closeMark)
				if _, err := c.Write([]byte(ans)); err != nil || hangup {
					return
				}
			}
		}()
	}
}

func (s *fakeServer) requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.reqs...)
}

func (s *fakeServer) connCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns
}

// parseRecord splits a request record into its attributes.
func parseRecord(rec string) map[string]string {
	m := map[string]string{}
	for _, l := range strings.Split(strings.TrimSuffix(rec, "\n\n"), "\n") {
		k, v, _ := strings.Cut(l, "=")
		if _, dup := m[k]; !dup {
			m[k] = v
		}
	}
	return m
}
