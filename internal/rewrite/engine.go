package rewrite

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/postfix-go/postfix/conf"
	"github.com/postfix-go/postfix/internal/address"
	"github.com/postfix-go/postfix/internal/ipc"
	"github.com/postfix-go/postfix/internal/msg"
	"github.com/postfix-go/postfix/maptypes"
)

// Engine holds what the trivial-rewrite service needs from main.cf, with
// its tables open. It is safe for concurrent use once built.
type Engine struct {
	// Warn receives the warnings Postfix's trivial-rewrite logs
	// ("warning: " is added by the logger). NewEngine sets msg.Warn.
	Warn func(format string, args ...any)

	configDir string

	swapBangpath, appendDotMydomain, appendAtMyorigin bool
	percentHack, resolveDequoted, resolveNullDomain   bool
	resolveNumericDomain, allowMinUser, showUnknown   bool
	helpfulWarnings, smtputf8                         bool

	myhostname, emptyAddr string
	local, remote         rwContext

	regular, verify *resContext

	mydest       *matchList
	virtAlias    *matchList
	virtMailbox  *matchList
	relayDomains *matchList
	relocated    maptypes.Maps
	ownAddrs     *addrSet
	myorigin     string

	search maptypes.Search

	tables []namedTable
	opened map[string]maptypes.Table // by "type:name"

	// Error receives the "error:" lines (a table that cannot be
	// opened); NewEngine sets it to msg.Error, or to warn when one is
	// given, and NewEngineLog to what it is given.
	Error func(format string, args ...any)
}

// namedTable is a table the engine opened, for Changed.
type namedTable struct {
	name  string
	table maptypes.Table
}

// openTable opens spec, once per engine however many parameters name
// it (Postfix shares its open tables). A table that cannot be opened is
// logged once through Error ("error: WHY") and replaced by a stand-in
// whose lookups log "SPEC is unavailable. WHY" and fail temporarily, so
// requests that need it are deferred rather than misrouted.
func (e *Engine) openTable(spec string) maptypes.Table {
	if t, ok := e.opened[spec]; ok {
		return t
	}
	flags := maptypes.FoldFixed
	if e.smtputf8 {
		flags |= maptypes.UTF8
	}
	t := maptypes.OpenOrUnavailable(spec, flags, e.errorf, e.warn)
	_, name := maptypes.SplitSpec(spec, "")
	e.tables = append(e.tables, namedTable{name: name, table: t})
	if e.smtputf8 {
		t = utf8Table{Table: t, spec: spec, warn: e.warn}
	}
	if e.opened == nil {
		e.opened = map[string]maptypes.Table{}
	}
	e.opened[spec] = t
	return t
}

// utf8Table skips lookups of keys that are not valid UTF-8, with a
// warning, as Postfix does for every table when smtputf8_enable is on:
// such a key is not found, and it is not an error.
type utf8Table struct {
	maptypes.Table
	spec string
	warn func(format string, args ...any)
}

func (t utf8Table) Lookup(key string) (string, bool, error) {
	if !utf8.ValidString(key) {
		t.warn("%s: non-UTF-8 key \"%s\": malformed UTF-8 or invalid codepoint", t.spec, key)
		return "", false, nil
	}
	return t.Table.Lookup(key)
}

// Changed returns the name of a table whose file changed since it was
// opened ("" when none did): the daemon then exits so that master starts
// a fresh one, as Postfix's trivial-rewrite does.
func (e *Engine) Changed() string {
	for _, t := range e.tables {
		if w, ok := t.table.(maptypes.Watcher); ok && w.Changed() {
			return t.name
		}
	}
	return ""
}

// Close closes the engine's tables.
func (e *Engine) Close() {
	for _, t := range e.tables {
		t.table.Close()
	}
	e.tables = nil
}

// rwContext is a rule set: the domains that complete an address.
type rwContext struct{ origin, domain string }

// resContext is a resolver personality: "resolve" uses the main
// parameters, "verify" the address_verify_* ones.
type resContext struct {
	localTransport, localName     string
	virtTransport, virtName       string
	relayTransport, relayName     string
	defTransport, defName         string
	sndDefXport                   maptypes.Maps
	sndDefXportName               string
	relayhost                     string
	sndRelay                      maptypes.Maps
	sndRelayName                  string
	transport                     *transportInfo
	transportName                 string
	nullRelayKey, nullDefXportKey string
}

// NewEngine reads the trivial-rewrite parameters from c and opens the
// tables they name; warnings go to warn (msg.Warn when nil). A table that
// cannot be opened is reported and fails every lookup, so requests that
// need it come back with FlagFail.
func NewEngine(c *conf.Config, warn func(format string, args ...any)) *Engine {
	errorf := warn
	if warn == nil {
		warn, errorf = msg.Warn, msg.Error
	}
	return NewEngineLog(c, warn, errorf)
}

// NewEngineLog is NewEngine with the function that logs "error:" lines
// (a table that cannot be opened) as well; the daemon uses it.
func NewEngineLog(c *conf.Config, warn, errorf func(format string, args ...any)) *Engine {
	e := &Engine{Warn: warn, Error: errorf}
	e.init(c)
	return e
}

func (e *Engine) warn(format string, args ...any) {
	if e.Warn != nil {
		e.Warn(format, args...)
	}
}

func (e *Engine) errorf(format string, args ...any) {
	if e.Error != nil {
		e.Error(format, args...)
	}
}

func (e *Engine) init(c *conf.Config) {
	w := warnFunc(e.warn)
	e.smtputf8 = c.Bool("smtputf8_enable")
	e.configDir = c.Get("config_directory")
	if e.configDir == "" {
		e.configDir = c.Dir
	}
	e.swapBangpath = c.Bool("swap_bangpath")
	e.appendDotMydomain = c.Bool("append_dot_mydomain")
	e.appendAtMyorigin = c.Bool("append_at_myorigin")
	e.percentHack = c.Bool("allow_percent_hack")
	e.resolveDequoted = c.Bool("resolve_dequoted_address")
	e.resolveNullDomain = c.Bool("resolve_null_domain")
	e.resolveNumericDomain = c.Bool("resolve_numeric_domain")
	e.allowMinUser = c.Bool("allow_min_user")
	e.showUnknown = c.Bool("show_user_unknown_table_name")
	e.helpfulWarnings = c.Bool("helpful_warnings")
	e.myhostname = c.Get("myhostname")
	e.emptyAddr = c.Get("empty_address_recipient")
	e.myorigin = c.Get("myorigin")
	e.local = rwContext{origin: e.myorigin, domain: c.Get("mydomain")}
	rrd := c.Get("remote_header_rewrite_domain")
	e.remote = rwContext{origin: rrd, domain: rrd}

	parent := func(feature string) bool {
		return maptypes.NewSearch(c.Get, feature).ParentMatches
	}
	e.mydest = newMatchList("mydestination", c.Get("mydestination"), false, false, e, w)
	e.virtAlias = newMatchList("virtual_alias_domains", c.Get("virtual_alias_domains"), false, false, e, w)
	e.virtMailbox = newMatchList("virtual_mailbox_domains", c.Get("virtual_mailbox_domains"), false, false, e, w)
	e.relayDomains = newMatchList("relay_domains", c.Get("relay_domains"), true, parent("relay_domains"), e, w)
	e.relocated = e.reportedMaps(e.openMaps(c.Get("relocated_maps"), w), c.Get("relocated_maps"), "relocated_maps")
	e.ownAddrs = newAddrSet(c, w)
	e.search = maptypes.NewSearch(c.Get, "")
	e.search.Local = func(domain string) bool {
		return e.resolveLocal(domain) > 0 || strings.EqualFold(domain, e.myorigin)
	}

	mk := func(prefix string) *resContext {
		name := func(n string) string {
			if prefix == "" {
				return n
			}
			return prefix + n
		}
		rp := &resContext{
			localName: name("local_transport"), virtName: name("virtual_transport"),
			relayName: name("relay_transport"), defName: name("default_transport"),
			sndDefXportName: name("sender_dependent_default_transport_maps"),
			sndRelayName:    name("sender_dependent_relayhost_maps"),
			transportName:   name("transport_maps"),
			nullRelayKey:    c.Get("empty_address_relayhost_maps_lookup_key"),
			nullDefXportKey: c.Get("empty_address_default_transport_maps_lookup_key"),
		}
		rp.localTransport = c.Get(rp.localName)
		rp.virtTransport = c.Get(rp.virtName)
		rp.relayTransport = c.Get(rp.relayName)
		rp.defTransport = c.Get(rp.defName)
		rp.relayhost = c.Get(name("relayhost"))
		spec := c.Get(rp.sndDefXportName)
		rp.sndDefXport = e.reportedMaps(e.openMaps(spec, w), spec, rp.sndDefXportName)
		spec = c.Get(rp.sndRelayName)
		rp.sndRelay = e.reportedMaps(e.openMaps(spec, w), spec, rp.sndRelayName)
		if spec := c.Get(rp.transportName); strings.TrimSpace(spec) != "" {
			m := e.reportedMaps(e.openMaps(spec, w), spec, rp.transportName)
			rp.transport = newTransportInfo(m, maptypes.NewSearch(c.Get, "transport_maps"))
		}
		return rp
	}
	e.regular = mk("")
	e.verify = mk("address_verify_")
}

// missingPrefix is the table type Postfix gives a pattern list's file
// that cannot be read.
const missingPrefix = "non-existent:"

// missingFile stands in for a pattern list's file that cannot be read,
// once per engine: the failure is logged through Error ("open file PATH:
// WHY") and each lookup logs "non-existent:PATH is unavailable. open file
// PATH: WHY" and fails temporarily.
func (e *Engine) missingFile(path string, err error) maptypes.Table {
	spec := missingPrefix + path
	if t, ok := e.opened[spec]; ok {
		return t
	}
	why := fmt.Errorf("open file %s: %s", path, ipc.ErrnoText(err))
	e.errorf("%s", why)
	t := maptypes.Unavailable(spec, why, e.warn)
	if e.opened == nil {
		e.opened = map[string]maptypes.Table{}
	}
	e.opened[spec] = t
	return t
}

// openMaps opens a table list such as "hash:/etc/postfix/transport,
// regexp:/x"; nil when spec is empty.
func (e *Engine) openMaps(spec string, w warnFunc) maptypes.Maps {
	var m maptypes.Maps
	for _, s := range conf.SplitList(spec) {
		// A proxy: table is searched as the table behind it is.
		typ, rest := maptypes.SplitSpec(s, "")
		for typ == "proxy" {
			typ, rest = maptypes.SplitSpec(rest, "")
		}
		m = append(m, maptypes.Map{Table: e.openTable(s), Fixed: maptypes.IsFixed(typ)})
	}
	return m
}

// reportedMaps makes the lookups of m, opened from spec, log as
// Postfix's maps of parameter title do: a failure is followed by
// "TYPE:NAME lookup error for "KEY"", and an empty result is logged
// under title and fails (maptypes.Reported).
func (e *Engine) reportedMaps(m maptypes.Maps, spec, title string) maptypes.Maps {
	specs := conf.SplitList(spec)
	out := make(maptypes.Maps, len(m))
	for i, x := range m {
		x.Table = maptypes.Reported(x.Table, specs[i], title, e.warn)
		out[i] = x
	}
	return out
}

// RewriteExternal rewrites an external-form address with rule set
// "local" or "remote" and returns it in external form; ok is false for an
// unknown rule set (Postfix then hangs up on the client).
func (e *Engine) RewriteExternal(ruleset, addr string) (string, bool) {
	var ctx *rwContext
	switch ruleset {
	case RuleLocal:
		ctx = &e.local
	case RuleRemote:
		ctx = &e.remote
	default:
		e.warn("unknown context: %s", ruleset)
		return "", false
	}
	if addr == "" {
		e.warn("rewrite_addr: null address")
		return "", true
	}
	toks := address.Scan(addr)
	if len(toks) == 0 {
		// Only white space: Postfix's daemon panics here; we leave the
		// address alone.
		return addr, true
	}
	tree := e.rewriteTree(ctx, toks)
	return address.External(address.Internalize(tree)), true
}

// rewriteTree applies a rule set to the tokens of one address.
func (e *Engine) rewriteTree(ctx *rwContext, tree []*address.Token) []*address.Token {
	n := len(tree)
	if n == 0 {
		return tree
	}
	// The empty address stays empty; a lone "@" becomes empty.
	if n == 1 && tree[0].Type == address.QString && tree[0].Text == "" {
		return tree
	}
	if n == 1 && tree[0].Type == '@' {
		return address.Append(nil, &address.Token{Type: address.QString})
	}
	// Strip a source route: @a,@b:user@domain.
	if tree[0].Type == '@' {
		if colon := address.FindType(tree, 0, ':'); colon >= 0 && colon != len(tree)-1 {
			tree = tree[colon+1:]
		}
	}
	if address.RFindType(tree, len(tree)-1, '@') < 0 {
		bang := -1
		if e.swapBangpath {
			bang = address.FindType(tree, 0, '!')
		}
		pct := -1
		if bang < 0 && e.percentHack {
			pct = address.RFindType(tree, len(tree)-1, '%')
		}
		switch {
		case bang >= 0:
			// site!user becomes user@site.
			local := tree[bang+1:]
			tree = address.Prepend(tree[:bang:bang], address.Op('@'))
			if len(local) > 0 {
				tree = address.Prepend(tree, local...)
			}
		case pct >= 0:
			tree[pct].Type = '@'
		case e.appendAtMyorigin && ctx.origin != "":
			tree = address.Append(tree, address.Op('@'))
			tree = address.Append(tree, address.Scan(ctx.origin)...)
		}
	}
	// Append .mydomain to a domain without dots (not to an address
	// ending in '@' nor to a domain literal).
	if e.appendDotMydomain && ctx.domain != "" {
		if at := address.RFindType(tree, len(tree)-1, '@'); at >= 0 && at != len(tree)-1 &&
			address.FindType(tree, at, address.DomLit) < 0 && address.FindType(tree, at, '.') < 0 {
			tree = address.Append(tree, address.Op('.'))
			tree = address.Append(tree, address.Scan(ctx.domain)...)
		}
	}
	// Strip one trailing dot, but not from "..", nor "@.".
	if n := len(tree); n >= 2 && tree[n-1].Type == '.' && tree[n-2].Type != '.' && tree[n-2].Type != '@' {
		tree = tree[:n-1]
	}
	return tree
}
