package anvil

import (
	"sync"
	"time"
)

// remote is what anvil knows about one (service, client) pair.
type remote struct {
	ident                        string
	count                        int   // simultaneous sessions
	rate, mail, rcpt, ntls, auth int   // events in the current period
	start                        int64 // start of the period (Unix seconds); 0 when reset by a report
	expire                       int64 // when count is 0: forget the pair at this time
}

// local is one anvil client connection: the session it reported last.
type local struct {
	remote *remote
}

// peak is a maximum seen since the last report.
type peak struct {
	value int
	ident string
	when  int64
}

// Table is anvil's in-memory state: per-pair counters, the peaks for the
// statistics lines, and the clock. It is safe for concurrent use.
type Table struct {
	// Unit is anvil_rate_time_unit in seconds.
	Unit int64
	// Now returns the current time; tests replace it.
	Now func() time.Time

	mu                                                    sync.Mutex
	remotes                                               map[string]*remote
	swept                                                 int64 // the second of the last expiry sweep
	maxCount, maxConn, maxMail, maxRcpt, maxNTLS, maxAuth peak
	maxCache                                              int
	maxCacheTime                                          int64
}

// NewTable returns an empty table with rate period unit.
func NewTable(unit time.Duration) *Table {
	u := int64(unit / time.Second)
	if u < 1 {
		u = 1
	}
	return &Table{Unit: u, Now: time.Now, remotes: make(map[string]*remote)}
}

// now returns the current time in seconds and forgets pairs whose
// expiry has come (Postfix does that with a timer per pair). Times are
// whole seconds, so one sweep per second is enough.
func (t *Table) now() int64 {
	n := t.Now().Unix()
	if n != t.swept {
		t.swept = n
		for id, r := range t.remotes {
			if r.count == 0 && r.expire <= n {
				delete(t.remotes, id)
			}
		}
	}
	return n
}

// incr counts one event of kind in r's current period, starting a new
// period (every rate back to zero) when the old one is over.
func (t *Table) incr(r *remote, now int64, field *int) {
	if r.start+t.Unit < now {
		r.rate, r.mail, r.rcpt, r.ntls, r.auth = 0, 0, 0, 0, 0
		r.start = now
	}
	if *field < 1<<31-1 {
		*field++
	}
}

// dropOne ends one session of r, arming its expiry when none is left.
func (t *Table) dropOne(r *remote, now int64) {
	if r != nil && r.count > 0 {
		r.count--
		if r.count == 0 {
			r.expire = now + t.Unit
		}
	}
}

// connUpdate registers a session of ident for connection l.
func (t *Table) connUpdate(l *local, ident string, now int64) *remote {
	r := t.remotes[ident]
	if r == nil {
		r = &remote{ident: ident, count: 1, rate: 1, start: now}
		t.remotes[ident] = r
		if t.maxCache < len(t.remotes) {
			t.maxCache = len(t.remotes)
			t.maxCacheTime = now
		}
	} else {
		t.incr(r, now, &r.rate)
		r.count++
	}
	if l.remote != nil {
		t.dropOne(l.remote, now)
	}
	l.remote = r
	return r
}

func (p *peak) update(v int, ident string, now int64) {
	if v > p.value {
		p.value, p.ident, p.when = v, ident, now
	}
}

// Connect registers a new session; it returns the session count and the
// connection rate.
func (t *Table) Connect(l *local, ident string) (count, rate int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	r := t.connUpdate(l, ident, now)
	t.maxConn.update(r.rate, r.ident, now)
	t.maxCount.update(r.count, r.ident, now)
	return r.count, r.rate
}

// Disconnect ends the session that l registered for ident, if it did.
func (t *Table) Disconnect(l *local, ident string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	if r := t.remotes[ident]; r != nil && l.remote == r {
		t.dropOne(r, now)
		l.remote = nil
	}
}

// Gone ends the session of a connection that closed.
func (t *Table) Gone(l *local) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	if l.remote != nil {
		// Postfix looks the pair up by name again.
		if r := t.remotes[l.remote.ident]; r != nil && r == l.remote {
			t.dropOne(r, now)
		}
		l.remote = nil
	}
}

// Event counts a message, recipient, newtls or auth event (req is the
// request name) and returns the new rate.
func (t *Table) Event(l *local, req, ident string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	r := t.remotes[ident]
	if r == nil {
		// anvil restarted (postfix reload) after the connect.
		r = t.connUpdate(l, ident, now)
	}
	var f *int
	var p *peak
	switch req {
	case ReqMessage:
		f, p = &r.mail, &t.maxMail
	case ReqRecipient:
		f, p = &r.rcpt, &t.maxRcpt
	case ReqNewTLS:
		f, p = &r.ntls, &t.maxNTLS
	default:
		f, p = &r.auth, &t.maxAuth
	}
	t.incr(r, now, f)
	p.update(*f, r.ident, now)
	return *f
}

// stale resets the rates of r for a report when its period is over.
func (t *Table) stale(r *remote, now int64) {
	if r.start != 0 && r.start+t.Unit < now {
		r.rate, r.mail, r.rcpt, r.ntls, r.auth = 0, 0, 0, 0, 0
		r.start = 0
	}
}

// NewTLSReport returns the new-TLS-session rate without counting.
func (t *Table) NewTLSReport(ident string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	r := t.remotes[ident]
	if r == nil {
		return 0
	}
	t.stale(r, now)
	return r.ntls
}

// Lookup returns everything known about ident without counting.
func (t *Table) Lookup(ident string) Stats {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	r := t.remotes[ident]
	if r == nil {
		return Stats{}
	}
	t.stale(r, now)
	return Stats{Count: r.count, Rate: r.rate, Mail: r.mail, Rcpt: r.rcpt, NewTLS: r.ntls, Auth: r.auth}
}

// Report returns the statistics lines for the peaks since the last
// report, in Postfix's words and order, and starts over.
func (t *Table) Report() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []string
	rate := func(p *peak, name string) {
		if p.value > 0 {
			out = append(out, sprintf("statistics: max %s rate %d/%ds for (%s) at %s",
				name, p.value, t.Unit, p.ident, stamp(p.when)))
			p.value = 0
		}
	}
	rate(&t.maxConn, "connection")
	if t.maxCount.value > 0 {
		out = append(out, sprintf("statistics: max connection count %d for (%s) at %s",
			t.maxCount.value, t.maxCount.ident, stamp(t.maxCount.when)))
		t.maxCount.value = 0
	}
	rate(&t.maxMail, "message")
	rate(&t.maxRcpt, "recipient")
	rate(&t.maxNTLS, "newtls")
	rate(&t.maxAuth, "auth")
	if t.maxCache > 0 {
		out = append(out, sprintf("statistics: max cache size %d at %s", t.maxCache, stamp(t.maxCacheTime)))
		t.maxCache = 0
	}
	return out
}

// stamp formats a time as ctime does from the month to the seconds
// ("Nov  8 15:40:04"), in local time.
func stamp(sec int64) string {
	return time.Unix(sec, 0).Format("Jan _2 15:04:05")
}
