package dnstest

import (
	"testing"
	"time"

	"github.com/miekg/dns"
)

func ask(t *testing.T, s *Server, name string, qtype uint16, proto string) (*dns.Msg, error) {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	c := &dns.Client{Net: proto, Timeout: 300 * time.Millisecond}
	r, _, err := c.Exchange(m, s.Addr())
	return r, err
}

func TestServer(t *testing.T) {
	t.Parallel()
	s := New(t, "a.test. A 192.0.2.1", "c.test. CNAME a.test.", "a.test. 60 TXT \"x\"")
	if err := s.Add("bad line"); err == nil {
		t.Error("Add accepted a bad line")
	}
	for _, proto := range []string{"udp", "tcp"} {
		r, err := ask(t, s, "c.test.", dns.TypeA, proto)
		if err != nil || r.Rcode != dns.RcodeSuccess || len(r.Answer) != 2 || r.Answer[1].Header().Ttl != 0 {
			t.Errorf("%s: CNAME chain: %v %v", proto, r, err)
		}
	}
	r, _ := ask(t, s, "a.test.", dns.TypeTXT, "udp")
	if len(r.Answer) != 1 || r.Answer[0].Header().Ttl != 60 {
		t.Errorf("TTL: %v", r)
	}
	r, _ = ask(t, s, "a.test.", dns.TypeMX, "udp")
	if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 0 || len(r.Ns) != 1 {
		t.Errorf("no data: %v", r)
	}
	r, _ = ask(t, s, "nx.test.", dns.TypeA, "udp")
	if r.Rcode != dns.RcodeNameError {
		t.Errorf("NXDOMAIN: %v", r)
	}
	s.SetRcode("a.test", dns.RcodeRefused)
	if r, _ = ask(t, s, "a.test.", dns.TypeA, "udp"); r.Rcode != dns.RcodeRefused {
		t.Errorf("SetRcode: %v", r)
	}
	s.Remove("a.test")
	if r, _ = ask(t, s, "a.test.", dns.TypeA, "udp"); r.Rcode != dns.RcodeNameError {
		t.Errorf("Remove: %v", r)
	}
	s.MustAdd(t, "a.test. A 192.0.2.2")
	s.Drop("a.test")
	if _, err := ask(t, s, "a.test.", dns.TypeA, "udp"); err == nil {
		t.Error("Drop: answered")
	}
	s.Truncate("t.test")
	if r, _ = ask(t, s, "t.test.", dns.TypeA, "udp"); !r.Truncated {
		t.Errorf("Truncate: %v", r)
	}
	if q := s.Queries(); len(q) < 8 || q[0] != "c.test. A udp" || q[1] != "c.test. A tcp" {
		t.Errorf("Queries = %q", q)
	}
}
