package qmgr

import (
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/postfix-go/postfix/conf"
	"github.com/postfix-go/postfix/internal/bouncelog"
	"github.com/postfix-go/postfix/internal/deliver"
	"github.com/postfix-go/postfix/internal/ipc"
	"github.com/postfix-go/postfix/internal/maillog"
	"github.com/postfix-go/postfix/internal/queue"
	"github.com/postfix-go/postfix/internal/rewrite"
)

// Resolver answers trivial-rewrite's resolve requests (rewrite.Client).
type Resolver interface {
	Resolve(sender, addr string) (rewrite.Resolution, error)
}

// Agent is one connection to a delivery agent (deliver.Conn).
type Agent interface {
	Deliver(r *deliver.Request) (int, error)
	Close() error
}

// Manager is the queue manager: it owns the active queue and schedules
// deliveries.
type Manager struct {
	cfg    *conf.Config
	layout queue.Layout
	res    Resolver
	// Dial connects to a transport's delivery agent; tests replace it.
	dial func(transport string) (Agent, error)
	now  func() time.Time
	// maxproc holds the master.cf process limit of each unix service.
	maxproc map[string]int

	// Parameters.
	minBackoff, maxBackoff, queueLife, bounceLife, runDelay, retryTime time.Duration
	activeLimit                                                        int
	deferTransports                                                    map[string]bool
	doubleBounce, rcptDelim, filterNexthop, verpFilter                 string
	// Read once in New rather than per message: a conf lookup expands
	// $names each time.
	ipcTimeout, daemonTimeout time.Duration
	rcptLimit, rcptMinimum    int
	smtputf8                  bool
	rcache                    resolveCache
	myhostname                string

	mu         sync.Mutex
	msgs       map[string]*message
	inMemory   int // recipients of the active messages' current chunks
	transports map[string]*transport
	idle       *sync.Cond // signalled when a message leaves the active queue

	scanMu      sync.Mutex
	wantIn      bool
	wantDef     bool
	wantAll     bool
	kick        chan struct{}
	lastDefScan time.Time
	wg          sync.WaitGroup
	stop        chan struct{}
	stopOnce    sync.Once
}

// logInfo and logWarn write mail log lines; tests may watch them.
var (
	logInfo = maillog.Info
	logWarn = maillog.Warn
)

// New returns a queue manager for the queue layout l (inside a daemon its
// Dir is "."), resolving recipients with res. Parameters come from c.
func New(c *conf.Config, l queue.Layout, res Resolver) *Manager {
	m := &Manager{cfg: c, layout: l, res: res, now: time.Now,
		msgs: map[string]*message{}, transports: map[string]*transport{},
		kick: make(chan struct{}, 1), stop: make(chan struct{}), maxproc: map[string]int{}}
	m.idle = sync.NewCond(&m.mu)
	m.dial = func(name string) (Agent, error) {
		if name == "" || name == "." || name == ".." || strings.ContainsRune(name, '/') {
			// A transport name from a table must not lead out of private/.
			return nil, syscall.ENOENT
		}
		t := m.ipcTimeout
		nc, err := ipc.Dial(c, "private", name, t)
		if err != nil {
			return nil, err
		}
		a, err := deliver.NewConn(nc, "private/"+name, t)
		if err != nil {
			return nil, handshakeError{err}
		}
		return a, nil
	}
	m.minBackoff = c.Time("minimal_backoff_time", 's')
	m.ipcTimeout = c.Time("qmgr_ipc_timeout", 's')
	m.daemonTimeout = c.Time("daemon_timeout", 's')
	m.rcptLimit = c.Int("qmgr_message_recipient_limit")
	m.rcptMinimum = c.Int("qmgr_message_recipient_minimum")
	m.smtputf8 = c.Bool("smtputf8_enable")
	m.myhostname = c.Get("myhostname")
	m.maxBackoff = c.Time("maximal_backoff_time", 's')
	m.queueLife = c.Time("maximal_queue_lifetime", 'd')
	m.bounceLife = c.Time("bounce_queue_lifetime", 'd')
	m.runDelay = c.Time("queue_run_delay", 's')
	m.retryTime = c.Time("transport_retry_time", 's')
	m.activeLimit = c.Int("qmgr_message_active_limit")
	m.deferTransports = map[string]bool{}
	for _, t := range c.List("defer_transports") {
		m.deferTransports[t] = true
	}
	m.doubleBounce = c.Get("double_bounce_sender")
	m.rcptDelim = c.Get("recipient_delimiter")
	m.filterNexthop = c.Get("default_filter_nexthop")
	m.verpFilter = c.Get("verp_delimiter_filter")
	if c.Dir != "" {
		if mf, err := conf.ReadMaster(filepath.Join(c.Dir, "master.cf")); err == nil {
			def := c.Int("default_process_limit")
			for _, e := range mf.Entries {
				if e.Type == "unix" {
					m.maxproc[e.Service] = e.Effective(def).Maxproc
				}
			}
		}
	}
	return m
}

// SetDial replaces how the manager reaches delivery agents (tests).
func (m *Manager) SetDial(f func(transport string) (Agent, error)) { m.dial = f }

// SetProcessLimit sets a transport's process limit, as the maxproc column
// of its master.cf entry does (0: no limit).
func (m *Manager) SetProcessLimit(transport string, n int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.maxproc[transport] = n
}

// Start moves files left in the active queue by an earlier queue manager
// back to the incoming queue (they were being delivered when it stopped;
// recipients marked done stay done), then starts the scanner, which
// scans the incoming and deferred queues at once and the deferred queue
// every queue_run_delay.
func (m *Manager) Start() {
	m.requeueActive()
	m.wantIn, m.wantDef = true, true
	m.wg.Add(1)
	go m.scanner()
	m.poke()
}

// Trigger handles one request from the qmgr socket: 'I' scan incoming,
// 'D' scan deferred, 'A' scan both ignoring the deferred files' retry
// times, 'F' forget dead destinations and transports, 'W' periodic
// wakeup (scan incoming). Unknown bytes are ignored, as in Postfix.
func (m *Manager) Trigger(data []byte) {
	m.scanMu.Lock()
	for _, b := range data {
		switch b {
		case ipc.ScanIncoming:
			m.wantIn = true
		case ipc.ScanDeferred:
			m.wantDef = true
		case 'A':
			m.wantAll, m.wantIn, m.wantDef = true, true, true
		case 'F':
			m.flushDead()
		case 'W':
			m.wantIn = true
		}
	}
	m.scanMu.Unlock()
	m.poke()
}

func (m *Manager) poke() {
	select {
	case m.kick <- struct{}{}:
	default:
	}
}

// scanner runs the requested scans, and the periodic deferred scan.
// Every round it also restarts deliveries: mail waiting for a destination
// whose suspension or rate-delay pause has run out goes out then, even
// when nothing else happens to wake the scheduler.
func (m *Manager) scanner() {
	defer m.wg.Done()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-m.kick:
		case <-tick.C:
		case <-m.stop:
			return
		}
		m.runScans()
		m.mu.Lock()
		m.dispatch()
		m.mu.Unlock()
	}
}

// Stop ends the scanner and waits for deliveries in progress (tests).
func (m *Manager) Stop() {
	m.stopOnce.Do(func() { close(m.stop) })
	m.wg.Wait()
}

// runScans performs the scans that were asked for.
func (m *Manager) runScans() {
	m.scanMu.Lock()
	in, def, all := m.wantIn, m.wantDef, m.wantAll
	if m.runDelay > 0 && m.now().Sub(m.lastDefScan) >= m.runDelay {
		def = true
	}
	m.wantIn, m.wantDef, m.wantAll = false, false, false
	if def {
		m.lastDefScan = m.now()
	}
	m.scanMu.Unlock()
	inDone := !in || m.scan(queue.Incoming, all)
	defDone := !def || m.scan(queue.Deferred, all)
	if !inDone || !defDone {
		// The active queue filled up: finish the scan when there is room
		// (finish pokes the scanner).
		m.scanMu.Lock()
		m.wantIn = m.wantIn || !inDone
		m.wantDef = m.wantDef || !defDone
		m.wantAll = m.wantAll || all
		m.scanMu.Unlock()
	}
}

// Wait blocks until the active queue is empty (tests).
func (m *Manager) Wait() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for len(m.msgs) > 0 {
		m.idle.Wait()
	}
}

// Active returns the number of messages in the active queue.
func (m *Manager) Active() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.msgs)
}

// transportInt returns TRANSPORT_suffix when main.cf (or the parameter
// registry) has it, else default_suffix.
func (m *Manager) transportInt(transport, suffix string) int {
	if v := m.cfg.Get(transport + "_" + suffix); v != "" {
		if n, err := conf.ParseInt(v); err == nil {
			return n
		}
		logWarn("%s_%s: bad numerical configuration: %s", transport, suffix, v)
	}
	return m.cfg.Int("default_" + suffix)
}

// transportTime returns the time TRANSPORT_suffix when main.cf has it,
// else default_suffix (seconds by default).
func (m *Manager) transportTime(transport, suffix string) time.Duration {
	if v := m.cfg.Get(transport + "_" + suffix); v != "" {
		if d, err := conf.ParseTime(v, 's'); err == nil && d >= 0 {
			return d
		}
		logWarn("%s_%s: bad time configuration: %s", transport, suffix, v)
	}
	return m.cfg.Time("default_"+suffix, 's')
}

// logAddr prints a sender or recipient as info_log_address_format =
// external does.
func logAddr(a string) string {
	if a == "" {
		return ""
	}
	return bouncelog.QuoteLocal(a)
}

// handshakeError is an agent that accepted the connection but did not
// announce the delivery protocol.
type handshakeError struct{ err error }

func (h handshakeError) Error() string { return h.err.Error() }
func (h handshakeError) Unwrap() error { return h.err }
