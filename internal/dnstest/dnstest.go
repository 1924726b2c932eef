// Package dnstest runs a small authoritative DNS server on 127.0.0.1 for
// tests, built from zone-file lines, so that tests never touch real DNS.
// It listens on UDP and TCP on the same random port (or on a given address,
// for the namespace set-up of InNamespace), answers from the
// records added with Add, follows CNAME chains inside its data, and says
// NXDOMAIN (or no data, NOERROR) with an SOA record in the authority
// section otherwise. Failures are injected per name: Fail answers SERVFAIL
// (SetRcode any code), Drop never answers (a timeout for the client),
// Truncate answers over UDP with only the TC bit so the client must retry
// over TCP. Answers larger than the client's UDP size (512 bytes without
// EDNS0) are truncated over UDP as a real server truncates them.
//
// Records added without a TTL get TTL 0, so that resolvers do not cache
// them and a test may change its zone between sessions.
//
// Pointing programs at it: our daemons take PFGO_DNS_SERVER=s.Addr()
// (through import_environment); Debian's Postfix, which uses the C
// library's resolver, needs the server on 127.0.0.1:53 inside a private
// network namespace: InNamespace sets that up for a test (root only), and
// our daemons started there find the server through /etc/resolv.conf too.
package dnstest

import (
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/miekg/dns"
)

// Server is a running test DNS server.
type Server struct {
	mu       sync.Mutex
	records  map[string][]dns.RR // by lower-case owner name (absolute)
	rcode    map[string]int
	drop     map[string]bool
	truncate map[string]bool
	queries  []string
	udp, tcp *dns.Server
	addr     string
}

// New starts a server on 127.0.0.1 at a random port (the same for UDP and
// TCP) and stops it when the test ends. lines are given to Add.
func New(t testing.TB, lines ...string) *Server {
	t.Helper()
	var s *Server
	var err error
	for range 20 {
		s, err = Listen("127.0.0.1:0")
		if err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("dnstest: %v", err)
	}
	t.Cleanup(s.Close)
	if err := s.Add(lines...); err != nil {
		t.Fatalf("dnstest: %v", err)
	}
	return s
}

// Listen starts a server on addr ("127.0.0.1:53", or port 0 for a random
// port shared by UDP and TCP).
func Listen(addr string) (*Server, error) {
	s := &Server{
		records:  make(map[string][]dns.RR),
		rcode:    make(map[string]int),
		drop:     make(map[string]bool),
		truncate: make(map[string]bool),
	}
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		return nil, err
	}
	// The TCP listener takes the port UDP got.
	l, err := net.Listen("tcp", pc.LocalAddr().String())
	if err != nil {
		pc.Close()
		return nil, err
	}
	s.addr = pc.LocalAddr().String()
	started := make(chan struct{}, 2)
	notify := func() { started <- struct{}{} }
	s.udp = &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(s.serve), NotifyStartedFunc: notify}
	s.tcp = &dns.Server{Listener: l, Handler: dns.HandlerFunc(s.serve), NotifyStartedFunc: notify}
	go s.udp.ActivateAndServe() //nolint:errcheck // ends at Close
	go s.tcp.ActivateAndServe() //nolint:errcheck
	<-started
	<-started
	return s, nil
}

// Addr returns "127.0.0.1:PORT", the address of both listeners.
func (s *Server) Addr() string { return s.addr }

// Close stops the server.
func (s *Server) Close() {
	s.udp.Shutdown() //nolint:errcheck
	s.tcp.Shutdown() //nolint:errcheck
}

// Add adds records given as zone-file lines with absolute owner names,
// e.g. "2.0.0.127.zen.test. A 127.0.0.2" or
// `2.0.0.127.zen.test. TXT "listed"`. A line without TTL gets TTL 0.
func (s *Server) Add(lines ...string) error {
	var rrs []dns.RR
	for _, line := range lines {
		// One parser per line: in a zone file a TTL carries over to the
		// next records, which a test does not expect.
		zp := dns.NewZoneParser(strings.NewReader(line), ".", "dnstest")
		zp.SetDefaultTTL(0)
		for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
			rrs = append(rrs, rr)
		}
		if err := zp.Err(); err != nil {
			return err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, rr := range rrs {
		k := strings.ToLower(rr.Header().Name)
		s.records[k] = append(s.records[k], rr)
	}
	return nil
}

// MustAdd is Add that fails the test on a bad line.
func (s *Server) MustAdd(t testing.TB, lines ...string) {
	t.Helper()
	if err := s.Add(lines...); err != nil {
		t.Fatalf("dnstest: %v", err)
	}
}

// Remove forgets every record, failure and drop set for name.
func (s *Server) Remove(name string) {
	k := key(name)
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.records, k)
	delete(s.rcode, k)
	delete(s.drop, k)
	delete(s.truncate, k)
}

// Fail makes every query for name answer SERVFAIL.
func (s *Server) Fail(name string) { s.SetRcode(name, dns.RcodeServerFailure) }

// SetRcode makes every query for name answer with rcode and no records.
func (s *Server) SetRcode(name string, rcode int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rcode[key(name)] = rcode
}

// Drop makes the server ignore queries for name: the client times out.
func (s *Server) Drop(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.drop[key(name)] = true
}

// Truncate makes UDP answers for name empty with the TC bit set; TCP
// answers are whole.
func (s *Server) Truncate(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.truncate[key(name)] = true
}

// Queries returns the queries received so far, as "NAME TYPE PROTO"
// ("2.0.0.127.zen.test. A udp").
func (s *Server) Queries() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.queries...)
}

func key(name string) string { return strings.ToLower(dns.Fqdn(name)) }

// soa is the authority record of negative answers (TTL 0: not cached).
func soa(name string) dns.RR {
	rr, _ := dns.NewRR(fmt.Sprintf("%s 0 IN SOA ns.dnstest. hostmaster.dnstest. 1 0 0 0 0", tld(name)))
	return rr
}

// tld returns the last label of name ("test." for "a.b.test.").
func tld(name string) string {
	labels := dns.SplitDomainName(name)
	if len(labels) == 0 {
		return "."
	}
	return labels[len(labels)-1] + "."
}

func (s *Server) serve(w dns.ResponseWriter, req *dns.Msg) {
	if len(req.Question) != 1 {
		m := new(dns.Msg)
		m.SetRcode(req, dns.RcodeFormatError)
		w.WriteMsg(m) //nolint:errcheck
		return
	}
	q := req.Question[0]
	k := strings.ToLower(q.Name)
	proto := "udp"
	if _, ok := w.RemoteAddr().(*net.TCPAddr); ok {
		proto = "tcp"
	}
	s.mu.Lock()
	s.queries = append(s.queries, fmt.Sprintf("%s %s %s", q.Name, dns.TypeToString[q.Qtype], proto))
	if s.drop[k] {
		s.mu.Unlock()
		return
	}
	m := new(dns.Msg)
	m.SetReply(req)
	m.Authoritative = true
	m.RecursionAvailable = true
	if rc, ok := s.rcode[k]; ok {
		s.mu.Unlock()
		m.Rcode = rc
		w.WriteMsg(m) //nolint:errcheck
		return
	}
	if s.truncate[k] && proto == "udp" {
		s.mu.Unlock()
		m.Truncated = true
		w.WriteMsg(m) //nolint:errcheck
		return
	}
	s.answer(m, k, q.Qtype)
	s.mu.Unlock()
	if proto == "udp" {
		// Over UDP an answer larger than the client takes is truncated
		// (TC bit), as a real server does.
		size := dns.MinMsgSize
		if o := req.IsEdns0(); o != nil {
			size = int(o.UDPSize())
		}
		m.Truncate(size)
	}
	w.WriteMsg(m) //nolint:errcheck
}

// answer fills m for name/qtype from the records, following CNAMEs.
func (s *Server) answer(m *dns.Msg, name string, qtype uint16) {
	for range 10 {
		rrs, exists := s.records[name]
		var cname *dns.CNAME
		found := false
		for _, rr := range rrs {
			if rr.Header().Rrtype == qtype || qtype == dns.TypeANY {
				m.Answer = append(m.Answer, dns.Copy(rr))
				found = true
			} else if c, ok := rr.(*dns.CNAME); ok {
				cname = c
			}
		}
		if found {
			return
		}
		if cname != nil {
			m.Answer = append(m.Answer, dns.Copy(cname))
			name = strings.ToLower(cname.Target)
			if _, ok := s.records[name]; !ok && !s.hasChildren(name) {
				// The target is not ours: let the client ask for it.
				return
			}
			continue
		}
		if !exists && !s.hasChildren(name) {
			m.Rcode = dns.RcodeNameError
		}
		m.Ns = append(m.Ns, soa(name))
		return
	}
}

// hasChildren tells whether a name exists as an empty non-terminal.
func (s *Server) hasChildren(name string) bool {
	for k := range s.records {
		if strings.HasSuffix(k, "."+name) {
			return true
		}
	}
	return false
}
