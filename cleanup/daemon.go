package cleanup

import (
	"net"
	"strings"
	"sync"
	"time"

	"github.com/postfix-go/postfix/conf"
	"github.com/postfix-go/postfix/internal/ipc"
	"github.com/postfix-go/postfix/internal/maillog"
	"github.com/postfix-go/postfix/internal/queue"
	"github.com/postfix-go/postfix/internal/rewrite"
	"github.com/postfix-go/postfix/internal/server"
	"github.com/postfix-go/postfix/internal/submit"
	"github.com/postfix-go/postfix/maptypes"
)

// Run is the cleanup daemon's main program: it hands control to the
// multi-connection server skeleton and never returns.
func Run() {
	var d *Daemon
	server.Run("cleanup", server.Options{
		Mode: server.Multi,
		PreJail: func(s *server.Service) error {
			d = New(s.Config, s.Layout)
			// Load the time zone now: /etc/localtime may not exist
			// inside the chroot jail (Date: headers use local time).
			_ = time.Now().Local().Format("MST")
			return nil
		},
		Conn: func(s *server.Service, c net.Conn) {
			d.Serve(c)
		},
	})
}

// Daemon holds what every message of one cleanup process shares: the
// configuration, the opened tables and the trivial-rewrite client.
type Daemon struct {
	cfg    *conf.Config
	layout queue.Layout
	rw     Rewriter
	// group shares the syncs of queue files that the process's clients
	// commit at the same moment (group commit; see queue.GroupSync).
	group queue.GroupSync
	// qmgrPath is the queue manager's trigger socket; trigMu guards
	// the wake-up in progress (trigBusy) and one more asked for
	// meanwhile (trigAgain).
	qmgrPath            string
	trigMu              sync.Mutex
	trigBusy, trigAgain bool
	wake                func() // replaces the wake-up itself (tests)

	timeout     time.Duration
	lineLimit   int
	sizeLimit   int64
	hdrLimit    int
	hopLimit    int
	dupLimit    int
	origRcpt    bool
	alwaysAdd   bool
	undisclosed string
	myhostname  string
	remoteRwr   string
	extProp     map[string]bool
	emptyRcpt   string

	search      maptypes.Search
	canon       maptypes.Maps
	sendCanon   maptypes.Maps
	rcptCanon   maptypes.Maps
	canonCls    map[string]bool
	sendCanCls  map[string]bool
	rcptCanCls  map[string]bool
	virt        maptypes.Maps
	masq        []string
	masqExcept  map[string]bool
	masqCls     map[string]bool
	sendBcc     maptypes.Maps
	rcptBcc     maptypes.Maps
	alwaysBcc   string
	hdrChecks   checkTable
	mimeChecks  checkTable
	nestChecks  checkTable
	bodyChecks  checkTable
	bodyChkSize int
	localDomain func(string) bool
	// tables holds each table opened, by its "type:name".
	tables map[string]maptypes.Table

	rejectChars string // message_reject_characters, unescaped
	stripChars  string // message_strip_characters, unescaped

	// Info and Warn log a line; they are maillog.Info and maillog.Warn
	// unless a test replaces them.
	Info, Warn func(format string, args ...any)
}

// Rewriter is the part of the trivial-rewrite client cleanup uses.
type Rewriter interface {
	Rewrite(ruleset, addr string) (string, error)
}

// New opens the tables main.cf names and prepares a Daemon. Tables that
// cannot be opened are reported and treated as failing lookups, so mail
// is deferred rather than let through unmapped.
func New(c *conf.Config, l queue.Layout) *Daemon {
	d := &Daemon{cfg: c, layout: l, Info: maillog.Info, Warn: maillog.Warn, tables: map[string]maptypes.Table{}}
	d.rw = rewrite.NewCache(rewrite.NewClient(c))
	d.qmgrPath = ipc.Path(c, "public", c.Get("queue_service_name"))
	d.timeout = c.Time("ipc_timeout", 's')
	d.lineLimit = c.Int("line_length_limit")
	d.sizeLimit = c.Long("message_size_limit")
	d.hdrLimit = c.Int("header_size_limit")
	d.hopLimit = c.Int("hopcount_limit")
	d.dupLimit = c.Int("duplicate_filter_limit")
	d.origRcpt = c.Bool("enable_original_recipient")
	d.alwaysAdd = c.Bool("always_add_missing_headers")
	d.undisclosed = c.Get("undisclosed_recipients_header")
	d.myhostname = c.Get("myhostname")
	d.remoteRwr = c.Get("remote_header_rewrite_domain")
	d.emptyRcpt = c.Get("empty_address_recipient")
	d.extProp = set(c.List("propagate_unmatched_extensions"))
	d.search = maptypes.NewSearch(c.Get, "")
	origin := strings.ToLower(c.Get("myorigin"))
	dests := set(lowerAll(c.List("mydestination")))
	d.localDomain = func(dom string) bool {
		dom = strings.ToLower(dom)
		return dom == origin || dests[dom]
	}
	d.search.Local = d.localDomain
	d.canon = d.openMaps("canonical_maps")
	d.sendCanon = d.openMaps("sender_canonical_maps")
	d.rcptCanon = d.openMaps("recipient_canonical_maps")
	d.canonCls = set(c.List("canonical_classes"))
	d.sendCanCls = set(c.List("sender_canonical_classes"))
	d.rcptCanCls = set(c.List("recipient_canonical_classes"))
	d.virt = d.openMaps("virtual_alias_maps")
	d.masq = lowerAll(c.List("masquerade_domains"))
	d.masqExcept = set(lowerAll(c.List("masquerade_exceptions")))
	d.masqCls = set(c.List("masquerade_classes"))
	d.sendBcc = d.openMaps("sender_bcc_maps")
	d.rcptBcc = d.openMaps("recipient_bcc_maps")
	d.alwaysBcc = c.Get("always_bcc")
	d.hdrChecks = d.openChecks("header_checks")
	d.mimeChecks = d.openChecks("mime_header_checks")
	d.nestChecks = d.openChecks("nested_header_checks")
	d.bodyChecks = d.openChecks("body_checks")
	d.bodyChkSize = c.Int("body_checks_size_limit")
	d.rejectChars = conf.Unescape(c.Get("message_reject_characters"))
	d.stripChars = conf.Unescape(c.Get("message_strip_characters"))
	return d
}

// SetRewriter replaces the trivial-rewrite client (tests).
func (d *Daemon) SetRewriter(r Rewriter) { d.rw = r }

func set(list []string) map[string]bool {
	m := make(map[string]bool, len(list))
	for _, s := range list {
		m[s] = true
	}
	return m
}

func lowerAll(list []string) []string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = strings.ToLower(s)
	}
	return out
}

// openMaps opens the tables of parameter name. A table is opened once
// per process however many parameters name it, as Postfix shares its
// open tables: one that cannot be opened is logged once ("error: WHY")
// and fails every lookup temporarily, so mail waits until it is fixed.
// Lookups log their failures and empty results under name
// (maptypes.Reported); an empty result fails as a configuration error.
func (d *Daemon) openMaps(name string) maptypes.Maps {
	warn := func(format string, args ...any) { d.Warn(format, args...) }
	var m maptypes.Maps
	for _, spec := range d.cfg.List(name) {
		t, ok := d.tables[spec]
		if !ok {
			t = maptypes.OpenOrUnavailable(spec, maptypes.Default, maillog.Error, warn)
			d.tables[spec] = t
		}
		typ, rest := maptypes.SplitSpec(spec, "")
		for typ == "proxy" {
			typ, rest = maptypes.SplitSpec(rest, "")
		}
		m = append(m, maptypes.Map{Table: maptypes.Reported(t, spec, name, warn), Fixed: maptypes.IsFixed(typ)})
	}
	return m
}

// trigger wakes the queue manager as Postfix's cleanup does: "W" and a
// NUL byte to public/$queue_service_name. Clients that finish while a
// wake-up is being sent share the next one: the sender sends once more
// after its own, so every new queue file is followed by a wake-up that
// began after the file was complete, and the queue manager scans the
// incoming queue once for many messages.
func (d *Daemon) trigger() {
	d.trigMu.Lock()
	if d.trigBusy {
		d.trigAgain = true
		d.trigMu.Unlock()
		return
	}
	d.trigBusy = true
	d.trigMu.Unlock()
	for {
		if d.wake != nil {
			d.wake()
		} else if err := ipc.TriggerPath(d.qmgrPath, []byte{ipc.Wakeup, 0}); err != nil {
			d.Warn("%v", err)
		}
		d.trigMu.Lock()
		if !d.trigAgain {
			d.trigBusy = false
			d.trigMu.Unlock()
			return
		}
		d.trigAgain = false
		d.trigMu.Unlock()
	}
}

// maxRecord bounds one input record: a client may send a whole long line
// as one record, but not more than a message may hold.
func (d *Daemon) maxRecord() int {
	if d.sizeLimit > 0 && d.sizeLimit < 1<<30 {
		return int(d.sizeLimit) + 1024
	}
	return 1 << 30
}

// Serve handles one client connection: one message.
func (d *Daemon) Serve(conn net.Conn) {
	f, err := d.layout.CreateNamed(queue.Incoming)
	if err != nil {
		maillog.Fatal("open %s: %v", queue.Incoming, err)
	}
	f.Group = &d.group
	defer f.Abort()
	st := newState(d, f.ID)
	sess, err := submit.Accept(conn, "public/cleanup", f.ID, d.timeout, d.maxRecord())
	if err != nil {
		return
	}
	st.flags = sess.Flags
	if sess.FlagsErr != nil {
		st.errs |= submit.StatBad
	}
	st.readAll(sess)
	status := st.finish(f)
	// Like Postfix, the reason goes back even when cleanup returned the
	// message to its sender itself (status 0).
	if err := sess.Reply(status, st.reason); err != nil && status == 0 {
		// The client may resend: a duplicate is better than a loss.
		maillog.Warn("%s: reply to client: %v", f.ID, err)
	}
}
