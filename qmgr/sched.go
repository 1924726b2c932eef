package qmgr

import (
	"errors"
	"net"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/postfix-go/postfix/internal/deliver"
	"github.com/postfix-go/postfix/internal/dsn"
	"github.com/postfix-go/postfix/internal/ipc"
	"github.com/postfix-go/postfix/internal/queue"
)

// transport is one master.cf delivery service as the scheduler sees it.
type transport struct {
	name       string
	procLimit  int           // concurrent deliveries (master.cf maxproc; 0 = none)
	destLimit  int           // TRANSPORT_destination_concurrency_limit (0 = none)
	rcptLimit  int           // TRANSPORT_destination_recipient_limit (0 = none)
	initWindow int           // initial_destination_concurrency
	rateDelay  time.Duration // TRANSPORT_destination_rate_delay (0 = none)
	busy       int
	deadUntil  time.Time  // throttled until then (agent unreachable)
	dead       dsn.Status // why
	queues     map[string]*destQueue
	order      []*destQueue // round-robin order
	next       int
}

// destQueue holds the pending deliveries to one destination (nexthop, or
// recipient@nexthop for single-recipient transports such as local).
type destQueue struct {
	name, nexthop string
	todo          []*entry
	busy          int
	window        float64 // concurrency window
	failCohorts   float64
	deadUntil     time.Time
	dead          dsn.Status
	pauseUntil    time.Time // rate delay: no delivery before then
	lastDone      time.Time // when a delivery to it last finished
	dflags        int       // connection cache flags for its requests
}

// entry is one delivery request: recipients of one message for one
// destination.
type entry struct {
	msg    *message
	t      *transport
	q      *destQueue
	rcpts  []dsn.Recipient
	dflags int // the destination's connection cache flags when it started
}

// transportFor returns (creating) the scheduler state of a transport.
// Called with m.mu held.
func (m *Manager) transportFor(name string) *transport {
	if t := m.transports[name]; t != nil {
		return t
	}
	t := &transport{name: name, queues: map[string]*destQueue{}}
	if n, ok := m.maxproc[name]; ok {
		t.procLimit = n
	} else {
		t.procLimit = m.cfg.Int("default_process_limit")
	}
	t.destLimit = m.transportInt(name, "destination_concurrency_limit")
	t.rcptLimit = m.transportInt(name, "destination_recipient_limit")
	t.initWindow = m.cfg.Int("initial_destination_concurrency")
	if t.initWindow < 1 {
		t.initWindow = 1
	}
	t.rateDelay = m.transportTime(name, "destination_rate_delay")
	if t.rateDelay > 0 {
		// A rate-limited destination gets one delivery at a time.
		t.destLimit = 1
	}
	m.transports[name] = t
	return t
}

// queueFor returns (creating) a destination queue of t. Called with m.mu
// held.
func (t *transport) queueFor(name, nexthop string) *destQueue {
	if q := t.queues[name]; q != nil {
		return q
	}
	q := &destQueue{name: name, nexthop: nexthop, window: float64(t.initWindow)}
	if t.destLimit > 0 && q.window > float64(t.destLimit) {
		q.window = float64(t.destLimit)
	}
	t.queues[name] = q
	t.order = append(t.order, q)
	return q
}

func (t *transport) throttled(now time.Time) bool { return now.Before(t.deadUntil) }
func (q *destQueue) throttled(now time.Time) bool { return now.Before(q.deadUntil) }
func (q *destQueue) paused(now time.Time) bool    { return now.Before(q.pauseUntil) }

// dispatch starts every delivery the limits allow. Called with m.mu held.
func (m *Manager) dispatch() {
	now := m.now()
	for _, t := range m.transports {
		for t.procLimit == 0 || t.busy < t.procLimit {
			e := t.pick(now)
			if e == nil {
				break
			}
			t.busy++
			e.q.busy++
			e.dflags = e.q.sessionFlags(now)
			m.wg.Add(1)
			go m.run(e)
		}
		t.prune(now)
	}
}

// enqueue puts the entries assign made for msg on their destinations'
// queues and starts what the limits allow. Called with m.mu held.
//
// assign drops the lock before its entries are queued, and any dispatch
// in between (another delivery finishing) prunes idle destinations,
// possibly the very queue an entry points at: an entry appended to such
// a forgotten queue would never be picked, and its message would stay in
// the active queue for good. Each entry is therefore re-attached to the
// live queue of its destination (created afresh when it was pruned).
func (m *Manager) enqueue(msg *message, entries []*entry) {
	msg.pending = len(entries)
	for _, e := range entries {
		e.q = e.t.queueFor(e.q.name, e.q.nexthop)
		e.q.todo = append(e.q.todo, e)
	}
	m.dispatch()
}

// prune forgets destinations with nothing to do (Postfix deletes idle
// queues too), so that a long-running manager does not accumulate one
// per recipient ever seen. Suspended destinations are kept until they
// revive.
func (t *transport) prune(now time.Time) {
	kept := t.order[:0]
	for _, q := range t.order {
		if len(q.todo) > 0 || q.busy > 0 || q.throttled(now) || q.paused(now) {
			kept = append(kept, q)
		} else {
			delete(t.queues, q.name)
		}
	}
	for i := len(kept); i < len(t.order); i++ {
		t.order[i] = nil
	}
	t.order = kept
	if len(kept) > 0 {
		t.next %= len(kept)
	} else {
		t.next = 0
	}
}

// pick takes the next entry of t whose destination has room, round robin
// over destinations.
func (t *transport) pick(now time.Time) *entry {
	n := len(t.order)
	for i := 0; i < n; i++ {
		q := t.order[(t.next+i)%n]
		if len(q.todo) == 0 || q.throttled(now) || q.paused(now) {
			continue
		}
		limit := int(q.window)
		if limit < 1 {
			limit = 1
		}
		if t.destLimit > 0 && limit > t.destLimit {
			limit = t.destLimit
		}
		if q.busy >= limit {
			continue
		}
		e := q.todo[0]
		q.todo = q.todo[1:]
		t.next = (t.next + i + 1) % n
		return e
	}
	return nil
}

// run performs one delivery request and records what became of it.
func (m *Manager) run(e *entry) {
	defer m.wg.Done()
	req := m.request(e)
	var status int
	agent, err := m.dial(e.t.name)
	if err != nil {
		var hs handshakeError
		if errors.As(err, &hs) {
			logWarn("private/%s socket: malformed response", e.t.name)
		} else {
			logWarn("connect to transport %s/%s: %s", "private", e.t.name, ipc.ErrnoText(err))
		}
		st := dsn.New("4.3.0", "mail transport unavailable")
		m.release(e)
		m.throttleTransport(e.t, st, e)
		return
	}
	if d, ok := agent.(interface{ SetDeadline(time.Time) error }); ok {
		_ = d.SetDeadline(m.now().Add(m.daemonTimeout))
	}
	status, err = agent.Deliver(req)
	agent.Close()
	var nerr net.Error
	switch {
	case err != nil && errors.As(err, &nerr) && nerr.Timeout():
		// Postfix's qmgr gives up (fatally) after daemon_timeout; ours
		// keeps running and treats the request as deferred.
		logWarn("%s: timeout receiving delivery status from transport: %s", e.msg.id, e.t.name)
		m.mu.Lock()
		e.msg.deferred = true
		m.mu.Unlock()
	case err != nil:
		// The agent died or answered nonsense. As Postfix 3.7 does, say
		// so and keep the message for a later attempt: recipients the
		// agent did not mark done stay in the queue file, the ones it did
		// are never tried again.
		logWarn("private/%s socket: malformed response", e.t.name)
		m.mu.Lock()
		e.msg.deferred = true
		m.mu.Unlock()
	case status != deliver.StatFinal:
		m.mu.Lock()
		e.msg.deferred = true
		var todo []*entry
		if req.HopStatus != nil {
			todo = m.negativeFeedback(e.q, *req.HopStatus)
		}
		dead := e.q.dead
		m.mu.Unlock()
		m.toRetry(todo, dead)
	default:
		m.mu.Lock()
		m.positiveFeedback(e.q)
		m.mu.Unlock()
	}
	// Pause first, release then: a destination that is neither busy nor
	// paused may be pruned at once, and a pause set on a forgotten queue
	// would hold nothing back.
	m.rateLimit(e)
	m.release(e)
	m.entryDone(e)
}

// rateLimit pauses the destination of a finished delivery for its
// transport's destination_rate_delay, so that mail trickles out; as in
// Postfix, the pause replaces a suspension for failed deliveries, and
// the destination is kept while paused, so that later mail for it waits
// too.
func (m *Manager) rateLimit(e *entry) {
	d := e.t.rateDelay
	if d <= 0 {
		return
	}
	m.mu.Lock()
	e.q.deadUntil = time.Time{}
	e.q.pauseUntil = m.now().Add(d)
	m.wg.Add(1)
	m.mu.Unlock()
	go func() {
		defer m.wg.Done()
		timer := time.NewTimer(d)
		defer timer.Stop()
		select {
		case <-timer.C:
			m.mu.Lock()
			m.dispatch()
			m.mu.Unlock()
		case <-m.stop:
		}
	}()
}

// request builds the delivery request for e.
func (m *Manager) request(e *entry) *deliver.Request {
	msg := e.msg
	flags := deliver.FlagDefault
	if msg.inspect != "" {
		flags = deliver.FlagBounce
	}
	sender := msg.sender
	if msg.verp != "" && len(e.rcpts) > 0 {
		sender = verpSender(msg.verp, msg.sender, e.rcpts[0])
	}
	r := &deliver.Request{
		Flags:     flags | e.dflags | msg.traceFlag&deliver.FlagTraceMask,
		QueueName: queue.Active, QueueID: msg.id,
		DataOffset: msg.size.DataOffset, DataSize: msg.size.ContLength,
		Nexthop: e.q.nexthop, Encoding: msg.encoding, SMTPUTF8: msg.smtputf8,
		Sender: sender, EnvID: msg.envID, Ret: msg.ret,
		Arrival: msg.arrival, ActiveAt: msg.activeAt,
		ClientName: msg.clientName, ClientAddr: msg.clientAddr, ClientPort: msg.clientPort,
		ClientProto: msg.clientProto, HeloName: msg.heloName,
		SASLMethod: msg.saslMethod, SASLUsername: msg.saslUsername, SASLSender: msg.saslSender,
		LogIdent: msg.logIdent, RewriteContext: msg.rwrContext,
		Recipients: e.rcpts, Config: m.cfg,
	}
	// Like Postfix, flag a request whose recipients need SMTPUTF8.
	if m.smtputf8 {
		for _, rc := range e.rcpts {
			if !isASCII(rc.Address) && utf8.ValidString(rc.Address) {
				r.SMTPUTF8 |= smtputf8Recipient
				break
			}
		}
	}
	r.UseLayout(m.layout)
	return r
}

// verpSender is the envelope sender of a VERP delivery: the sender's
// local part, the first delimiter, the recipient's local part, the second
// delimiter and the recipient's domain, then "@" and the sender's domain
// ("owner-list+user=example.com@origin"). The recipient is its original
// address when it has one, as the VERP consumer expects.
func verpSender(delims, sender string, rc dsn.Recipient) string {
	rcpt := rc.Orig
	if rcpt == "" {
		rcpt = rc.Address
	}
	sLocal, sDomain, sAt := cutLast(sender)
	rLocal, rDomain, rAt := cutLast(rcpt)
	var b strings.Builder
	b.WriteString(sLocal)
	b.WriteByte(delims[0])
	b.WriteString(rLocal)
	if rAt && rDomain != "" {
		b.WriteByte(delims[1])
		b.WriteString(rDomain)
	}
	if sAt && sDomain != "" {
		b.WriteByte('@')
		b.WriteString(sDomain)
	}
	return b.String()
}

// cutLast splits an address at its last "@".
func cutLast(a string) (local, domain string, found bool) {
	if at := strings.LastIndexByte(a, '@'); at >= 0 {
		return a[:at], a[at+1:], true
	}
	return a, "", false
}

// smtputf8Recipient is Postfix's SMTPUTF8_FLAG_RECIPIENT.
const smtputf8Recipient = 1 << 3

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// deferEntry records, on the queue manager's side, that the recipients of
// e were not delivered: each gets a defer log entry and Postfix's
// "status=deferred" line with relay=none.
func (m *Manager) deferEntry(e *entry, req *deliver.Request, st dsn.Status) {
	r := *req
	r.AgentAt = time.Time{}
	for i := range e.rcpts {
		rc := &e.rcpts[i]
		if err := r.Defer(rc, "none", st); err != nil {
			logWarn("%s: defer log: %v", e.msg.id, err)
		}
	}
	m.mu.Lock()
	e.msg.deferred = true
	m.mu.Unlock()
}

// deferTodo defers an entry that never reached an agent.
func (m *Manager) deferTodo(e *entry, st dsn.Status) {
	m.deferEntry(e, m.request(e), st)
	m.entryDone(e)
}

// entryDone retires e; the message is finished when it was its last.
func (m *Manager) entryDone(e *entry) {
	m.mu.Lock()
	e.msg.pending--
	last := e.msg.pending == 0
	m.mu.Unlock()
	if last {
		m.finish(e.msg)
	}
	m.mu.Lock()
	m.dispatch()
	m.mu.Unlock()
}

// release frees the delivery slot a started entry held.
func (m *Manager) release(e *entry) {
	m.mu.Lock()
	e.q.busy--
	e.t.busy--
	e.q.lastDone = m.now()
	m.mu.Unlock()
}

// sessionFlags decides, as Postfix's on-demand connection caching does,
// whether a request that starts now asks its agent to reuse and keep
// connections (the smtp client honours this with
// smtp_connection_cache_on_demand): caching starts once deliveries to the
// destination come back to back (the previous one finished within the
// last second), and stops when they neither overlap nor come back to
// back. Called with m.mu held, after q.busy counts the new request.
func (q *destQueue) sessionFlags(now time.Time) int {
	backToBack := !q.lastDone.IsZero() && q.lastDone.Unix()+1 >= now.Unix()
	if q.dflags&deliver.FlagConnStore == 0 {
		if backToBack {
			q.dflags |= deliver.FlagConnLoad | deliver.FlagConnStore
		}
	} else if q.busy <= 1 && !backToBack {
		q.dflags &^= deliver.FlagConnStore
	}
	return q.dflags
}

// positiveFeedback widens a destination's window after a delivery that
// went well (Postfix's default positive feedback, 1/concurrency).
// Called with m.mu held.
func (m *Manager) positiveFeedback(q *destQueue) {
	q.failCohorts = 0
	if q.window < 1 {
		q.window = 1
	}
	q.window += 1 / q.window
}

// negativeFeedback narrows a destination's window after the agent
// reported the next hop unusable; after a failed cohort
// (destination_concurrency_failed_cohort_limit) the destination is
// throttled for minimal_backoff_time and its waiting entries are returned
// for deferral. Called with m.mu held.
func (m *Manager) negativeFeedback(q *destQueue, hop dsn.Status) []*entry {
	if q.window < 1 {
		q.window = 1
	}
	q.failCohorts += 1 / q.window
	q.window -= 1 / q.window
	limit := float64(m.cfg.Int("default_destination_concurrency_failed_cohort_limit"))
	if limit <= 0 {
		limit = 1
	}
	if q.failCohorts < limit {
		return nil
	}
	reason := hop.Reason
	if reason == "" {
		reason = "unknown error"
	}
	code := hop.Code
	if !dsn.Valid(code) || code[0] != '4' {
		code = "4.0.0"
	}
	q.dead = dsn.New(code, "delivery temporarily suspended: "+reason)
	q.deadUntil = m.now().Add(m.minBackoff)
	q.window = float64(1)
	todo := q.todo
	q.todo = nil
	return todo
}

// throttleTransport marks a transport unusable for transport_retry_time
// and sends everything waiting for it (and the entries in extra) to the
// retry service.
func (m *Manager) throttleTransport(t *transport, st dsn.Status, extra ...*entry) {
	m.mu.Lock()
	t.dead = st
	t.deadUntil = m.now().Add(m.retryTime)
	todo := extra
	for _, q := range t.order {
		todo = append(todo, q.todo...)
		q.todo = nil
	}
	m.mu.Unlock()
	m.toRetry(todo, st)
}

// toRetry hands entries that cannot be delivered now to the retry
// service, with the status as next hop, as Postfix's qmgr does for dead
// transports and destinations; when the retry service itself is
// unusable, the queue manager defers them itself.
func (m *Manager) toRetry(todo []*entry, st dsn.Status) {
	if len(todo) == 0 {
		return
	}
	m.mu.Lock()
	rt := m.transportFor(retryTransport)
	var direct []*entry
	for _, e := range todo {
		if e.t == rt || rt.throttled(m.now()) {
			direct = append(direct, e)
			continue
		}
		hop := st.Code + " " + st.Reason
		e.t, e.q = rt, rt.queueFor(strings.ToLower(hop), hop)
		e.q.todo = append(e.q.todo, e)
	}
	m.dispatch()
	m.mu.Unlock()
	for _, e := range direct {
		m.deferTodo(e, st)
	}
}

// flushDead forgets every throttled transport and destination (the 'F'
// request).
func (m *Manager) flushDead() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, t := range m.transports {
		t.deadUntil = time.Time{}
		for _, q := range t.order {
			q.deadUntil, q.failCohorts = time.Time{}, 0
		}
	}
}
