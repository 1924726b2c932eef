package local

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/postfix-go/postfix/conf"
	"github.com/postfix-go/postfix/internal/deliver"
	"github.com/postfix-go/postfix/internal/maillog"
	"github.com/postfix-go/postfix/internal/rewrite"
	"github.com/postfix-go/postfix/internal/server"
	"github.com/postfix-go/postfix/maptypes"
)

// Expansion types: where an address came from. allow_mail_to_commands and
// allow_mail_to_files list the types from which |command and /file
// destinations are allowed.
const (
	expAlias   = 1 << 0
	expForward = 1 << 1
	expInclude = 1 << 2
)

// prepend_delivered_header values.
const (
	hdrCommand = 1 << 0
	hdrFile    = 1 << 1
	hdrForward = 1 << 2
)

// propagate_unmatched_extensions values that local uses.
const (
	propAlias   = 1 << 0
	propForward = 1 << 1
	propInclude = 1 << 2
)

// mailbox_delivery_lock methods.
const (
	lockFlock   = 1 << 0
	lockFcntl   = 1 << 1
	lockDot     = 1 << 2
	lockDotMay  = 1 << 3 // a dotlock that may fail (file deliveries)
	lockMethods = lockFlock | lockFcntl | lockDot
)

// aliasTable is one table of alias_maps and the owner of its file, whose
// rights |command and /file deliveries from it use (root: default_privs).
type aliasTable struct {
	spec  string
	table maptypes.Table
	owner int // uid of the table file; 0 for root or no file
	// reported is table for the searches Postfix makes through its
	// maps layer (owner- aliases): failures and empty results are
	// logged under alias_maps.
	reported maptypes.Table
}

// Agent is the local delivery agent with its configuration and tables.
type Agent struct {
	Config  *conf.Config
	Service string // master.cf service name: the relay= of log lines
	Root    bool   // privileged: deliver with the recipient's rights

	aliases              []aliasTable
	mboxTransportMaps    *lazyMaps
	fallbackTransMaps    *lazyMaps
	mboxCommandMaps      *lazyMaps
	homeMailbox          string
	spoolDir             string
	mailboxCommand       string
	mailboxTransport     string
	fallbackTransport    string
	luserRelay           string
	forwardPath          string
	rcptDelim            string
	cmdFilter, fwdFilter string
	execFilter, execDir  string
	cmdShell             string
	exportEnv            []string
	allowCommands        int
	allowFiles           int
	extProp              int
	hdrMask              int
	lockMask             int
	lockAttempts         int
	lockDelay, lockStale time.Duration
	mailboxLimit         int64
	cmdTimeLimit         time.Duration
	strictOwner          bool
	ownerRequestSpecial  bool
	resetOwnerAlias      bool
	expandOwnerAlias     bool
	frozenDelivered      bool
	enableOrigRcpt       bool
	softBounce           bool
	dupLimit             int
	defaultUID           int
	defaultGID           int
	ownerUID, ownerGID   int
	// curUID and curGID are the effective ids setEugid last gave the
	// process (valid when eugidKnown).
	curUID, curGID int
	eugidKnown     bool
	// perThread is set while a delivery runs on its locked thread
	// (creds.go): setEugid then changes that thread only.
	perThread            bool
	myhostname, mailName string
	hostname             string
	doubleBounce         string

	passwdFile string // the password file users are read from

	// Hooks, replaceable in tests.
	openCleanup func(flags int) (cleanupStream, error)
	resolver    resolver
	pass        func(r *deliver.Request, transport string, rc deliverRecipient) int
}

// resolver is the part of the trivial-rewrite client that local uses.
type resolver interface {
	Rewrite(ruleset, addr string) (string, error)
	Resolve(sender, addr string) (rewrite.Resolution, error)
}

// Run starts the local delivery agent under the single-threaded daemon
// skeleton, keeping root so that each delivery can take the recipient's
// rights. It never returns.
func Run() {
	var a *Agent
	server.Run("local", server.Options{
		Mode:     server.Single,
		KeepRoot: true,
		PreJail: func(s *server.Service) error {
			if len(s.Args) > 0 {
				maillog.Fatal("unexpected command-line argument: %s", s.Args[0])
			}
			var err error
			a, err = New(s.Config, s.Name, s.Root)
			if err != nil {
				maillog.Fatal("%v", err)
			}
			return nil
		},
		PostJail: func(s *server.Service) error {
			// Most of the time run with the rights of mail_owner, as
			// Postfix's local does; deliveries switch to the recipient.
			return a.dropToOwner()
		},
		Conn: func(s *server.Service, c net.Conn) {
			_ = deliver.ServeConn(s.Config, s.Layout, c, a.Deliver)
			// A rebuilt table is picked up by a new process, as Postfix's
			// daemons do before they accept the next client.
			if a.tablesChanged() {
				maillog.Info("table has changed -- exiting")
				os.Exit(0)
			}
		},
	})
}

// New reads the local(8) parameters from c and opens alias_maps and the
// other tables. service is the master.cf service name; root says whether
// the agent runs privileged.
func New(c *conf.Config, service string, root bool) (*Agent, error) {
	return newAgent(c, service, root, systemPasswd)
}

// newAgent is New with the password file to read users from.
func newAgent(c *conf.Config, service string, root bool, passwdFile string) (*Agent, error) {
	a := &Agent{Config: c, Service: service, Root: root, passwdFile: passwdFile}
	a.homeMailbox = c.Get("home_mailbox")
	a.spoolDir = c.Get("mail_spool_directory")
	a.mailboxCommand = c.Get("mailbox_command")
	a.mailboxTransport = c.Get("mailbox_transport")
	a.fallbackTransport = c.Get("fallback_transport")
	a.luserRelay = c.Get("luser_relay")
	a.forwardPath = c.Get("forward_path")
	a.rcptDelim = c.Get("recipient_delimiter")
	a.cmdFilter = c.Get("command_expansion_filter")
	a.fwdFilter = c.Get("forward_expansion_filter")
	a.execFilter = c.Get("execution_directory_expansion_filter")
	a.execDir = c.Get("command_execution_directory")
	a.cmdShell = c.Get("local_command_shell")
	a.exportEnv = strings.Fields(strings.NewReplacer(",", " ").Replace(c.Get("export_environment")))
	a.lockAttempts = c.Int("deliver_lock_attempts")
	a.lockDelay = c.Time("deliver_lock_delay", 's')
	a.lockStale = c.Time("stale_lock_time", 's')
	a.mailboxLimit = c.Long("mailbox_size_limit")
	a.cmdTimeLimit = c.Time("command_time_limit", 's')
	a.strictOwner = c.Bool("strict_mailbox_ownership")
	a.ownerRequestSpecial = c.Bool("owner_request_special")
	a.expandOwnerAlias = c.Bool("expand_owner_alias")
	a.resetOwnerAlias = c.Bool("reset_owner_alias")
	a.frozenDelivered = c.Bool("frozen_delivered_to")
	a.enableOrigRcpt = c.Bool("enable_original_recipient")
	a.softBounce = c.Bool("soft_bounce")
	a.dupLimit = c.Int("duplicate_filter_limit")
	a.myhostname = c.Get("myhostname")
	a.mailName = c.Get("mail_name")
	a.doubleBounce = c.Get("double_bounce_sender")
	a.hostname, _ = os.Hostname()

	var err error
	if a.allowCommands, err = nameMask("allow_mail_to_commands", c.Get("allow_mail_to_commands"),
		map[string]int{"alias": expAlias, "forward": expForward, "include": expInclude}); err != nil {
		return nil, err
	}
	if a.allowFiles, err = nameMask("allow_mail_to_files", c.Get("allow_mail_to_files"),
		map[string]int{"alias": expAlias, "forward": expForward, "include": expInclude}); err != nil {
		return nil, err
	}
	if a.hdrMask, err = nameMask("prepend_delivered_header", c.Get("prepend_delivered_header"),
		map[string]int{"command": hdrCommand, "file": hdrFile, "forward": hdrForward}); err != nil {
		return nil, err
	}
	if a.extProp, err = nameMask("propagate_unmatched_extensions", c.Get("propagate_unmatched_extensions"),
		map[string]int{"canonical": 0, "virtual": 0, "alias": propAlias, "forward": propForward, "include": propInclude, "generic": 0}); err != nil {
		return nil, err
	}
	if a.lockMask, err = nameMask("mailbox_delivery_lock", c.Get("mailbox_delivery_lock"),
		map[string]int{"flock": lockFlock, "fcntl": lockFcntl, "dotlock": lockDot}); err != nil {
		return nil, err
	}
	if a.lockMask == 0 {
		return nil, errors.New("parameter mailbox_delivery_lock specifies no applicable mailbox locking method")
	}
	if a.mailboxLimit != 0 && a.mailboxLimit < c.Long("message_size_limit") {
		return nil, errors.New("main.cf configuration error: mailbox_size_limit is smaller than message_size_limit")
	}

	// default_privs: the rights of |command and /file deliveries from
	// root-owned aliases and include files. Unprivileged, everything runs
	// as the current user.
	a.ownerUID, a.ownerGID = os.Geteuid(), os.Getegid()
	a.defaultUID, a.defaultGID = a.ownerUID, a.ownerGID
	if root {
		privs := c.Get("default_privs")
		pw, err := a.lookupUser(privs)
		if err != nil || pw == nil {
			return nil, fmt.Errorf("unknown default_privs login name: %s", privs)
		}
		if pw.uid == 0 {
			return nil, fmt.Errorf("default_privs login name %s has privileged user ID", privs)
		}
		a.defaultUID, a.defaultGID = pw.uid, pw.gid
		owner := c.Get("mail_owner")
		pw, err = a.lookupUser(owner)
		if err != nil || pw == nil {
			return nil, fmt.Errorf("unknown mail_owner login name: %s", owner)
		}
		a.ownerUID, a.ownerGID = pw.uid, pw.gid
	}

	// An alias table that cannot be opened is logged once ("error:
	// WHY") and fails its lookups, so mail for local names waits
	// ("alias database unavailable") until it is fixed, as in Postfix.
	for _, spec := range c.List("alias_maps") {
		t := maptypes.OpenOrUnavailable(spec, maptypes.Default, maillog.Error, maillog.Warn)
		a.aliases = append(a.aliases, aliasTable{spec: spec, table: t, owner: tableOwner(spec),
			reported: maptypes.Reported(t, spec, "alias_maps", maillog.Warn)})
	}
	a.mboxTransportMaps = newLazyMaps(c, "mailbox_transport_maps")
	a.fallbackTransMaps = newLazyMaps(c, "fallback_transport_maps")
	a.mboxCommandMaps = newLazyMaps(c, "mailbox_command_maps")
	a.resolver = rewrite.NewClient(c)
	a.openCleanup = func(flags int) (cleanupStream, error) { return openSubmit(c, flags) }
	a.pass = deliverPass
	return a, nil
}

// tablesChanged reports whether a table file was replaced or modified
// since it was opened.
func (a *Agent) tablesChanged() bool {
	var tables []maptypes.Table
	for _, t := range a.aliases {
		tables = append(tables, t.table)
	}
	for _, m := range []*lazyMaps{a.mboxTransportMaps, a.fallbackTransMaps, a.mboxCommandMaps} {
		tables = append(tables, m.opened()...)
	}
	for _, t := range tables {
		if w, ok := t.(maptypes.Watcher); ok && w.Changed() {
			return true
		}
	}
	return false
}

// nameMask turns a list of names into bits, as Postfix's name_mask does;
// an unknown name is a configuration error.
func nameMask(param, value string, names map[string]int) (int, error) {
	mask := 0
	for _, w := range conf.SplitList(value) {
		bit, ok := names[strings.ToLower(w)]
		if !ok {
			return 0, fmt.Errorf("unknown %s value \"%s\" in \"%s\"", param, w, value)
		}
		mask |= bit
	}
	return mask, nil
}

// tableOwner returns the owner of the file behind an alias table, as
// Postfix's dict_owner does: 0 (root) for tables without a file.
func tableOwner(spec string) int {
	typ, name := maptypes.SplitSpec(spec, "")
	for strings.HasPrefix(typ, "proxy") {
		typ, name = maptypes.SplitSpec(name, "")
	}
	var path string
	switch typ {
	case "hash", "btree":
		path = name + ".db"
	case "lmdb":
		path = name + ".lmdb"
	case "cdb":
		path = name + ".cdb"
	case "texthash", "regexp", "pcre", "cidr":
		path = name
	default:
		return 0
	}
	return fileOwner(path)
}
