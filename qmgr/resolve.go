package qmgr

import (
	"sort"
	"strings"

	"github.com/postfix-go/postfix/internal/deliver"
	"github.com/postfix-go/postfix/internal/dsn"
	"github.com/postfix-go/postfix/internal/queue"
	"github.com/postfix-go/postfix/internal/rewrite"
)

// Transports the queue manager itself redirects recipients to, with the
// status as next hop ("4.3.0 address resolver failure"): Postfix's error
// and retry services.
const (
	errorTransport = "error"
	retryTransport = "retry"
)

// resolved is one recipient with its delivery route.
type resolved struct {
	rc                        dsn.Recipient
	transport, nexthop, qname string
	addressClass              int
	// direct is set when even the retry service is unusable: the queue
	// manager defers the recipient itself with this status.
	direct *dsn.Status
}

// Rewriter is the part of trivial-rewrite's client that a redirect needs
// (rewrite.Client): the address is put in canonical form with the "local"
// ruleset before it is resolved.
type Rewriter interface {
	Rewrite(ruleset, addr string) (string, error)
}

// route finds where one recipient goes, as Postfix's qmgr does.
//
// A message with a redirect target (header_checks REDIRECT, the > record)
// goes to that address instead, rewritten to canonical form and then
// resolved; assign hands route only one recipient of such a message. A
// message with a content filter (content_filter, header_checks FILTER:
// the L record) goes to the filter's "transport:nexthop" without asking
// the resolver; without a nexthop, default_filter_nexthop is used, else
// the recipient's domain, else $myhostname. Address probes are never
// filtered.
//
// Otherwise the recipient is resolved: a resolver that fails sends the
// recipient to the retry service ("4.3.0 address resolver failure"), an
// address with bad syntax to the error service ("5.1.3 bad address
// syntax"), and an empty address too ("5.1.3 null recipient address").
// Transports listed in defer_transports go to the retry service ("4.3.2
// deferred transport").
func (m *Manager) route(msg *message, rc dsn.Recipient) resolved {
	out := resolved{rc: rc}
	switch {
	case msg.redirect != "":
		addr, err := m.canonical(msg.redirect)
		out.rc.Address = addr
		if err != nil {
			out.transport, out.nexthop = retryTransport, "4.3.0 address resolver failure"
			break
		}
		m.resolve(msg, &out)
	case msg.filter != "" && msg.traceFlag&deliver.FlagTraceOnly == 0:
		transport, nexthop, _ := strings.Cut(msg.filter, ":")
		if nexthop == "" {
			nexthop = m.filterNexthop
		}
		if nexthop == "" {
			if at := strings.LastIndexByte(rc.Address, '@'); at >= 0 {
				nexthop = rc.Address[at+1:]
			}
		}
		if nexthop == "" {
			nexthop = m.myhostname
		}
		out.transport, out.nexthop = transport, nexthop
	default:
		m.resolve(msg, &out)
	}
	if out.rc.Address == "" {
		out.transport, out.nexthop = errorTransport, "5.1.3 null recipient address"
	}
	if m.deferTransports[out.transport] {
		out.transport, out.nexthop = retryTransport, "4.3.2 deferred transport"
	}
	return out
}

// Verifier is the part of trivial-rewrite's client that address probes
// from the verify service use (rewrite.Client): resolution with the
// address_verify_* personality.
type Verifier interface {
	Verify(sender, addr string) (rewrite.Resolution, error)
}

// resolve asks trivial-rewrite where out.rc goes and fills in out. An
// address probe made by the MTA (verify) is resolved as such, when the
// resolver can.
func (m *Manager) resolve(msg *message, out *resolved) {
	var res rewrite.Resolution
	var err error
	if v, ok := m.res.(Verifier); ok && msg.traceFlag&deliver.FlagMTAVerify != 0 {
		res, err = v.Verify(msg.sender, out.rc.Address)
	} else {
		res, err = m.rcache.resolve(m.res.Resolve, msg.sender, out.rc.Address)
	}
	switch {
	case err != nil || res.Flags&rewrite.FlagFail != 0:
		out.transport, out.nexthop = retryTransport, "4.3.0 address resolver failure"
	case res.Flags&rewrite.FlagError != 0:
		out.transport, out.nexthop = errorTransport, "5.1.3 bad address syntax"
	default:
		out.transport, out.nexthop = res.Transport, res.Nexthop
		out.addressClass = res.Flags & rewrite.ClassMask
		if res.Recipient != "" || out.rc.Address == "" {
			out.rc.Address = res.Recipient
		}
	}
}

// canonical rewrites a redirect target with the "local" ruleset, as
// Postfix's qmgr does before it resolves it. A resolver without a
// Rewrite method leaves the address alone.
func (m *Manager) canonical(addr string) (string, error) {
	rw, ok := m.res.(Rewriter)
	if !ok {
		return addr, nil
	}
	return rw.Rewrite("local", addr)
}

// isDoubleBounce reports whether a local recipient is the double-bounce
// address, whose mail the queue manager discards itself.
func (m *Manager) isDoubleBounce(r resolved) bool {
	if r.addressClass&rewrite.ClassLocal == 0 {
		return false
	}
	local := r.rc.Address
	if at := strings.LastIndexByte(local, '@'); at >= 0 {
		local = local[:at]
	}
	return strings.EqualFold(local, m.doubleBounce)
}

// queueName is the destination queue a recipient waits in: its next hop,
// or for a transport that takes one recipient per delivery (local) the
// recipient's local part without address extension, "@", and the next
// hop, so that different recipients are delivered in parallel. Lower case.
func (m *Manager) queueName(t *transport, r resolved) string {
	name := r.nexthop
	if t.name != errorTransport && t.name != retryTransport && t.rcptLimit == 1 {
		local := r.rc.Address
		if at := strings.LastIndexByte(local, '@'); at >= 0 {
			local = local[:at]
		}
		if m.rcptDelim != "" && local != m.doubleBounce {
			if i := strings.IndexAny(local, m.rcptDelim); i > 0 {
				local = local[:i]
			}
		}
		name = local + "@" + r.nexthop
	}
	return strings.ToLower(name)
}

// assign resolves the recipients of msg and groups them into delivery
// requests: one per transport and destination, with at most the
// transport's recipient limit each. Recipients that go nowhere (the
// double-bounce address) are finished here.
func (m *Manager) assign(msg *message) []*entry {
	var routes []resolved
	rcpts := msg.rcpts
	if msg.redirect != "" && len(rcpts) > 1 {
		// A redirected message is delivered once, to the target, in the
		// name of its first recipient in Postfix's recipient order (by
		// domain, then address); the other recipients are left alone and
		// disappear with the queue file.
		rcpts = append([]dsn.Recipient(nil), rcpts...)
		sort.SliceStable(rcpts, func(i, j int) bool { return rcptLess(rcpts[i].Address, rcpts[j].Address) })
		rcpts = rcpts[:1]
	}
	if msg.redirect != "" && len(rcpts) > 0 {
		msg.redirOff, msg.more = rcpts[0].Offset, false
	}
	for _, rc := range rcpts {
		r := m.route(msg, rc)
		if m.isDoubleBounce(r) {
			m.discardDoubleBounce(msg, &r.rc)
			continue
		}
		routes = append(routes, r)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	for i := range routes {
		r := &routes[i]
		t := m.transportFor(r.transport)
		if t.throttled(now) && r.transport != retryTransport {
			r.transport, r.nexthop = retryTransport, t.dead.Code+" "+t.dead.Reason
			t = m.transportFor(retryTransport)
		}
		r.qname = m.queueName(t, *r)
		if q := t.queues[r.qname]; q != nil && q.throttled(now) && r.transport != retryTransport {
			r.transport, r.nexthop = retryTransport, q.dead.Code+" "+q.dead.Reason
			t = m.transportFor(retryTransport)
			r.qname = m.queueName(t, *r)
		}
		if r.transport == retryTransport && t.throttled(now) {
			code, text, _ := strings.Cut(r.nexthop, " ")
			st := dsn.New(code, text)
			if !dsn.Valid(code) || code[0] != '4' {
				st = t.dead
			}
			r.direct = &st
		}
	}
	// Postfix's order: transport, queue, recipient domain, address.
	sort.SliceStable(routes, func(i, j int) bool {
		a, b := routes[i], routes[j]
		if a.transport != b.transport {
			return a.transport < b.transport
		}
		if a.qname != b.qname {
			return a.qname < b.qname
		}
		return rcptLess(a.rc.Address, b.rc.Address)
	})
	var out []*entry
	var cur *entry
	for _, r := range routes {
		if r.direct != nil {
			msg.direct = append(msg.direct, directDefer{r.rc, *r.direct})
			continue
		}
		t := m.transportFor(r.transport)
		q := t.queueFor(r.qname, r.nexthop)
		if cur == nil || cur.q != q || msg.verp != "" || (t.rcptLimit > 0 && len(cur.rcpts) >= t.rcptLimit) {
			cur = &entry{msg: msg, t: t, q: q}
			out = append(out, cur)
		}
		cur.rcpts = append(cur.rcpts, r.rc)
	}
	return out
}

// rcptLess is Postfix's recipient order within one destination:
// recipient domain (case-insensitive; no domain sorts last), then address.
func rcptLess(a, b string) bool {
	da, db := domainOf(a), domainOf(b)
	if da != db {
		return da < db
	}
	return a < b
}

func domainOf(a string) string {
	if at := strings.LastIndexByte(a, '@'); at >= 0 {
		return strings.ToLower(a[at:])
	}
	return "\xff" // no domain sorts last
}

// discardDoubleBounce finishes mail to the local double-bounce address:
// logged as sent, marked done, never delivered.
func (m *Manager) discardDoubleBounce(msg *message, rc *dsn.Recipient) {
	r := &deliver.Request{Flags: deliver.FlagDefault | msg.traceFlag&deliver.FlagTraceMask,
		QueueName: queue.Active, QueueID: msg.id, Sender: msg.sender,
		Arrival: msg.arrival, ActiveAt: msg.activeAt, Config: m.cfg}
	r.UseLayout(m.layout)
	if err := r.Sent(rc, "none", dsn.New("2.0.0", "undeliverable postmaster notification discarded")); err != nil {
		logWarn("%s: %v", msg.id, err)
		msg.deferred = true
	}
}

// directDefer is a recipient the queue manager defers itself.
type directDefer struct {
	rc dsn.Recipient
	st dsn.Status
}

// deferDirect records the recipients assign could not send anywhere.
func (m *Manager) deferDirect(msg *message) {
	if len(msg.direct) == 0 {
		return
	}
	r := &deliver.Request{Flags: deliver.FlagDefault | msg.traceFlag&deliver.FlagTraceMask,
		QueueName: queue.Active, QueueID: msg.id, Sender: msg.sender,
		Arrival: msg.arrival, ActiveAt: msg.activeAt, Config: m.cfg}
	r.UseLayout(m.layout)
	for i := range msg.direct {
		if err := r.Defer(&msg.direct[i].rc, "none", msg.direct[i].st); err != nil {
			logWarn("%s: %v", msg.id, err)
		}
	}
	msg.direct = nil
	m.mu.Lock()
	msg.deferred = true
	m.mu.Unlock()
}
