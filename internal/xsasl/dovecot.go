package xsasl

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/postfix-go/postfix/conf"
	"github.com/postfix-go/postfix/internal/ipc"
	"github.com/postfix-go/postfix/internal/maillog"
)

// Failure texts of the dovecot backend, as Postfix's smtpd gives them.
const (
	ReasonDovecotUnavailable = "(reason unavailable)"                     // FAIL without reason=
	ReasonDovecotLost        = "Connection lost to authentication server" // the server went away
	ReasonDovecotBadMech     = "Invalid authentication mechanism"         // a mechanism not offered
	ReasonDovecotBackend     = "Authentication backend error"             // a reply that cannot be used
)

// dovecotMaxLine bounds a line from the server.
const dovecotMaxLine = 64 * 1024

// dovecot is the smtpd_sasl_type=dovecot backend. One connection to Dovecot's auth service is
// shared by every session of the process, as Postfix's smtpd shares one per process; requests
// of concurrent sessions are told apart by their IDs. The mechanism list of the last handshake
// is kept, so sessions go on offering AUTH while Dovecot is briefly away, as Postfix's do.
type dovecot struct {
	path    string // smtpd_sasl_path as configured (for messages)
	network string // "unix" or "tcp"
	addr    string
	timeout time.Duration
	warn    func(string, ...any)

	mu     sync.Mutex
	conn   *dovecotConn // nil when not connected
	mechs  []DovecotMech
	known  bool // mechs holds a handshake's result
	nextID uint32
}

// dovecotConn is one connection with its reader goroutine.
type dovecotConn struct {
	c       net.Conn
	mu      sync.Mutex // guards pending and dead
	pending map[uint32]chan DovecotReply
	dead    bool
}

func newDovecot(c *conf.Config, path string) (*dovecot, error) {
	d := &dovecot{path: path, timeout: 5 * time.Minute, warn: maillog.Warn}
	if c != nil {
		if t := c.Time("ipc_timeout", 's'); t > 0 {
			d.timeout = t
		}
	}
	switch {
	case strings.HasPrefix(path, "inet:"):
		d.network, d.addr = "tcp", strings.TrimPrefix(path, "inet:")
		if _, _, err := net.SplitHostPort(d.addr); err != nil {
			return nil, fmt.Errorf("SASL: bad inet address in smtpd_sasl_path: %s", path)
		}
	case strings.HasPrefix(path, "unix:"):
		d.network, d.addr = "unix", strings.TrimPrefix(path, "unix:")
	default:
		// Relative to the current directory: the queue directory, or the chroot jail's top.
		d.network, d.addr = "unix", path
	}
	if d.addr == "" {
		return nil, fmt.Errorf("SASL: empty smtpd_sasl_path")
	}
	return d, nil
}

// connectLocked dials and does the handshake; d.mu is held.
func (d *dovecot) connectLocked() error {
	c, err := net.DialTimeout(d.network, d.addr, d.timeout)
	if err != nil {
		d.warn("SASL: Connect to Dovecot auth socket '%s' failed: %s", d.path, ipc.ErrnoText(err))
		return err
	}
	_ = c.SetDeadline(time.Now().Add(d.timeout))
	if _, err := fmt.Fprintf(c, "VERSION\t1\t0\nCPID\t%d\n", os.Getpid()); err != nil {
		d.warn("SASL: Couldn't send handshake: %s", ipc.ErrnoText(err))
		c.Close()
		return err
	}
	br := bufio.NewReader(c)
	h, err := ReadDovecotHandshake(br, dovecotMaxLine)
	if err != nil {
		d.warn("SASL: %v", err)
		c.Close()
		return err
	}
	_ = c.SetDeadline(time.Time{})
	d.mechs, d.known = h.Mechs, true
	dc := &dovecotConn{c: c, pending: map[uint32]chan DovecotReply{}}
	d.conn = dc
	go dc.readLoop(br)
	return nil
}

// readLoop hands each reply to the request waiting for its ID; at EOF or on a protocol error it
// closes the connection and wakes every waiting request.
func (dc *dovecotConn) readLoop(br *bufio.Reader) {
	for {
		line, err := readDovecotLine(br, dovecotMaxLine)
		if err != nil {
			break
		}
		r, err := ParseDovecotReply(line)
		if err != nil {
			break
		}
		if r.Kind == "" {
			continue
		}
		dc.mu.Lock()
		ch := dc.pending[r.ID]
		delete(dc.pending, r.ID)
		dc.mu.Unlock()
		if ch != nil {
			ch <- r
		}
	}
	dc.mu.Lock()
	dc.dead = true
	for id, ch := range dc.pending {
		close(ch)
		delete(dc.pending, id)
	}
	dc.mu.Unlock()
	dc.c.Close()
}

// send writes one request line and registers its ID. A connection found closed, or one that
// fails the write, is replaced once by a new one, as Postfix's smtpd retries a failed write.
func (d *dovecot) send(id uint32, line string) (chan DovecotReply, *dovecotConn, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for try := 0; try < 2; try++ {
		if d.conn == nil && d.connectLocked() != nil {
			return nil, nil, false
		}
		dc := d.conn
		ch := make(chan DovecotReply, 1)
		dc.mu.Lock()
		if dc.dead {
			dc.mu.Unlock()
			d.conn = nil
			continue
		}
		dc.pending[id] = ch
		dc.mu.Unlock()
		_ = dc.c.SetWriteDeadline(time.Now().Add(d.timeout))
		if _, err := dc.c.Write([]byte(line)); err != nil {
			dc.mu.Lock()
			delete(dc.pending, id)
			dc.mu.Unlock()
			dc.c.Close() // the reader marks it dead
			d.conn = nil
			continue
		}
		return ch, dc, true
	}
	return nil, nil, false
}

func (d *dovecot) newID() uint32 {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.nextID++
	if d.nextID == 0 {
		d.nextID = 1
	}
	return d.nextID
}

// Session connects on first use (Postfix's smtpd connects when a session starts, to learn the
// mechanisms) and offers the mechanisms the security options allow.
func (d *dovecot) Session(p Params) (Session, error) {
	if err := checkSecurityOptions(p.SecurityOptions, d.warn); err != nil {
		return nil, err
	}
	d.mu.Lock()
	if d.conn == nil && !d.known {
		_ = d.connectLocked()
	}
	mechs := d.mechs
	d.mu.Unlock()
	s := &dovecotSession{d: d, p: p}
	for _, m := range mechs {
		if dovecotAllowed(m, p.SecurityOptions) {
			s.offered = append(s.offered, m.Name)
		}
	}
	if len(s.offered) == 0 {
		return nil, ErrNoMechanisms
	}
	return s, nil
}

// dovecotAllowed applies the security options to a mechanism's flags: noanonymous, noplaintext,
// nodictionary and noactive exclude mechanisms flagged anonymous, plaintext, dictionary and
// active; forward_secrecy and mutual_auth require the forward-secrecy and mutual-auth flags.
func dovecotAllowed(m DovecotMech, opts []string) bool {
	has := func(f string) bool { return contains(m.Flags, f) }
	for _, o := range opts {
		switch o {
		case "noanonymous":
			if has("anonymous") {
				return false
			}
		case "noplaintext":
			if has("plaintext") {
				return false
			}
		case "nodictionary":
			if has("dictionary") {
				return false
			}
		case "noactive":
			if has("active") {
				return false
			}
		case "forward_secrecy":
			if !has("forward-secrecy") {
				return false
			}
		case "mutual_auth":
			if !has("mutual-auth") {
				return false
			}
		}
	}
	return !has("private")
}

// dovecotSession is one SMTP session's dovecot SASL state.
type dovecotSession struct {
	d       *dovecot
	p       Params
	offered []string
	id      uint32 // the request in progress; 0 when none
	user    string
	// The client's base64 text that Decode last accepted: Postfix hands it to Dovecot as the
	// client wrote it, and Dovecot decodes it. Start or Next sends it in place of their bytes.
	raw    string
	hasRaw bool
}

// encoded returns what Start or Next sends for data: the client's text that Decode accepted, or
// else data encoded.
func (s *dovecotSession) encoded(data []byte) string {
	if s.hasRaw {
		s.hasRaw = false
		return s.raw
	}
	return base64.StdEncoding.EncodeToString(data)
}

func (s *dovecotSession) Mechanisms() []string { return s.offered }

// Start sends the mechanism name as the client wrote it, as Postfix does.
func (s *dovecotSession) Start(mech string, initial []byte, hasInitial bool) Result {
	s.id = 0
	if !hasInitial {
		s.hasRaw = false
	}
	if !contains(s.offered, strings.ToUpper(mech)) {
		return Result{Status: Fail, Reason: ReasonDovecotBadMech}
	}
	var b strings.Builder
	s.id = s.d.newID()
	fmt.Fprintf(&b, "AUTH\t%d\t%s\tservice=%s\tnologin", s.id, mech, TabEscape(s.p.Service))
	if s.p.ServerAddr != "" {
		fmt.Fprintf(&b, "\tlip=%s", TabEscape(s.p.ServerAddr))
	}
	if s.p.ClientAddr != "" {
		fmt.Fprintf(&b, "\trip=%s", TabEscape(s.p.ClientAddr))
	}
	if s.p.TLS {
		b.WriteString("\tsecured")
	}
	if hasInitial {
		enc := s.encoded(initial)
		if enc == "" {
			enc = "=" // what Postfix passes on for the client's "="
		}
		b.WriteString("\tresp=" + enc)
	}
	b.WriteByte('\n')
	return s.exchange(b.String())
}

func (s *dovecotSession) Next(response []byte) Result {
	if s.id == 0 {
		return Result{Status: Fail, Reason: ReasonDovecotUnavailable}
	}
	return s.exchange(fmt.Sprintf("CONT\t%d\t%s\n", s.id, s.encoded(response)))
}

// exchange sends one request and waits for its reply.
func (s *dovecotSession) exchange(line string) Result {
	ch, dc, ok := s.d.send(s.id, line)
	if !ok {
		s.id = 0
		return Result{Status: Temp, Reason: ReasonDovecotLost}
	}
	timer := time.NewTimer(s.d.timeout)
	defer timer.Stop()
	var r DovecotReply
	select {
	case r, ok = <-ch:
	case <-timer.C:
		dc.c.Close() // the reader wakes every request on it
		r, ok = <-ch
	}
	if !ok {
		s.id = 0
		return Result{Status: Temp, Reason: ReasonDovecotLost}
	}
	switch r.Kind {
	case "CONT":
		ch, err := base64.StdEncoding.DecodeString(r.Data)
		if err != nil {
			s.id = 0
			return Result{Status: Temp, Reason: ReasonDovecotBackend}
		}
		return Result{Status: More, Challenge: ch}
	case "OK":
		s.id = 0
		s.user = r.Params["user"]
		return Result{Status: OK}
	}
	s.id = 0
	s.user = r.Params["user"]
	reason, ok := r.Params["reason"]
	if !ok || reason == "" {
		reason = ReasonDovecotUnavailable
	}
	if _, temp := r.Params["temp"]; temp {
		return Result{Status: Temp, Reason: reason}
	}
	return Result{Status: Fail, Reason: reason}
}

// Username returns the user name of Dovecot's last reply in this session ("" when it gave none).
func (s *dovecotSession) Username() string { return s.user }

func (s *dovecotSession) Close() {}
