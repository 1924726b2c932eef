package check

import (
	"fmt"
	"net/netip"
	"strings"
	"sync"

	"github.com/postfix-go/postfix/conf"
	"github.com/postfix-go/postfix/internal/matchlist"
	"github.com/postfix-go/postfix/internal/policy"
	"github.com/postfix-go/postfix/internal/resolver"
	"github.com/postfix-go/postfix/internal/rewrite"
	"github.com/postfix-go/postfix/maptypes"
)

// Deps are the services the checks use.
type Deps struct {
	// Resolver answers DNS questions (reject_unknown_*, _mx/_ns access,
	// DNSBL); nil makes every DNS lookup fail temporarily.
	Resolver *resolver.Resolver
	// Rewrite is the trivial-rewrite client that resolves addresses into
	// their address class (relay control, recipient tables).
	Rewrite AddressResolver
	// Log receives the log lines (reject, warn, hold ...); nil means
	// maillog.Info. Warn receives warnings; nil means maillog.Warn.
	// Error receives errors (a table that cannot be opened); nil means
	// maillog.Error.
	Log, Warn, Error func(format string, args ...any)
	// Sleep pauses for the "sleep" restriction; nil means time.Sleep.
	Sleep func(seconds int)
	// Policy opens a policy service client for a check_policy_service
	// spec; nil means the internal/policy client.
	Policy func(c *conf.Config, spec string) (PolicyClient, error)
}

// AddressResolver is what the checks need from trivial-rewrite;
// *rewrite.Client implements it.
type AddressResolver interface {
	Rewrite(ruleset, addr string) (string, error)
	Resolve(sender, addr string) (rewrite.Resolution, error)
}

// PolicyClient asks a policy server (Postfix's policy delegation protocol)
// and returns its action; an error means the service failed (it has
// logged why) and default_action applies. *policy.Client implements it.
type PolicyClient interface {
	QueryRequest(r *policy.Request) (action string, err error)
}

// Checker holds the parsed restriction lists and open tables of one smtpd
// process. It is safe for concurrent use by many sessions.
type Checker struct {
	c      *conf.Config
	deps   Deps
	log    func(format string, args ...any)
	warn   func(format string, args ...any)
	errorf func(format string, args ...any)

	lists          map[string][]string       // parameter name -> restriction words
	rewriteClients []string                  // local_header_rewrite_clients
	classes        map[string][]string       // smtpd_restriction_classes
	tables         map[string]maptypes.Table // as opened (or their stand-ins)
	reported       map[string]maptypes.Table // the same, logging as access tables
	fixed          map[string]bool
	policy         map[string]PolicyClient
	policyEntries  map[string]*policyEntry

	mynetworks   *matchlist.List
	relayDoms    *matchlist.List
	permMX       *matchlist.List
	permitLog    *matchlist.List
	mydest       *matchlist.List
	localRcpt    maptypes.Maps
	rcptCanon    maptypes.Maps
	canonical    maptypes.Maps
	virtAlias    maptypes.Maps
	virtMailbox  maptypes.Maps
	relayRcpt    maptypes.Maps
	rblReply     maptypes.Maps
	senderLogin  maptypes.Maps
	search       maptypes.Search
	accessParent bool

	p params

	mu       sync.Mutex
	warnOnce map[string]bool
	initErr  error // the first fatal error found while parsing
}

// params are the numeric and string settings the checks read, resolved
// once by New.
type params struct {
	delayReject                                      bool
	unkClientCode, badNameCode, unkNameCode          int
	unkAddrCode, relayCode, rblCode, mapRejectCode   int
	mapDeferCode, rejectCode, deferCode, nonFQDNCode int
	mulRcptCode, localRcptCode, relayRcptCode        int
	virtAliasCode, virtMailboxCode, plaintextCode    int
	unvFromRcode, unvFromDcode, unvRcptRcode         int
	unvRcptDcode                                     int
	showUnkTable, allowUntrusted, softBounce         bool
	rejUnlRcpt, rejUnlFrom, clientPortLog            bool
	internalLog, saslEnable                          bool
	utf8                                             bool // smtputf8_enable: reply texts keep UTF-8
	expFilter                                        string
	unkNameTF, unkAddrTF, unvRcptTF, unvFromTF       int
	nullKey, defRBLReply, doubleBounce, mailName     string
	localRcptMaps, virtMailboxMaps, relayRcptMaps    string
	stress                                           string
	unvFromWhy, unvRcptWhy                           string
}

// The restriction list parameters, in the order Postfix parses them.
var listParams = []string{
	"smtpd_client_restrictions", "smtpd_helo_restrictions",
	"smtpd_sender_restrictions", "smtpd_relay_restrictions",
	"smtpd_recipient_restrictions", "smtpd_etrn_restrictions",
	"smtpd_data_restrictions", "smtpd_end_of_data_restrictions",
}

// New parses every restriction list of c, opens the tables they name and
// the recipient tables (call it before chroot). The error is Postfix's
// fatal configuration error text.
func New(c *conf.Config, d Deps) (*Checker, error) {
	k := &Checker{c: c, deps: d, lists: map[string][]string{}, classes: map[string][]string{},
		tables: map[string]maptypes.Table{}, reported: map[string]maptypes.Table{}, fixed: map[string]bool{}, policy: map[string]PolicyClient{}, policyEntries: map[string]*policyEntry{},
		warnOnce: map[string]bool{}}
	k.log, k.warn, k.errorf = d.Log, d.Warn, d.Error
	if k.log == nil {
		k.log = defaultInfo
	}
	if k.warn == nil {
		k.warn = defaultWarn
	}
	if k.errorf == nil {
		k.errorf = defaultError
	}
	if err := k.readParams(); err != nil {
		return nil, err
	}
	var err error
	mlo := matchlist.Options{Warn: k.warn, Error: k.errorf}
	if k.mynetworks, err = matchlist.CompileOpts("mynetworks", c.Get("mynetworks"), matchlist.Namadr, k.parentStyle("mynetworks"), mlo); err != nil {
		return nil, err
	}
	if k.relayDoms, err = matchlist.CompileOpts("relay_domains", c.Get("relay_domains"), matchlist.Domain, k.parentStyle("relay_domains"), mlo); err != nil {
		return nil, err
	}
	if k.permMX, err = matchlist.CompileOpts("permit_mx_backup_networks", c.Get("permit_mx_backup_networks"), matchlist.Namadr, k.parentStyle("permit_mx_backup_networks"), mlo); err != nil {
		return nil, err
	}
	if k.permitLog, err = matchlist.CompileOpts("smtpd_log_access_permit_actions", c.Get("smtpd_log_access_permit_actions"), matchlist.String, false, mlo); err != nil {
		return nil, err
	}
	k.localRcpt = k.openMaps("local_recipient_maps")
	k.rcptCanon = k.openMaps("recipient_canonical_maps")
	k.canonical = k.openMaps("canonical_maps")
	k.virtAlias = k.openMaps("virtual_alias_maps")
	k.virtMailbox = k.openMaps("virtual_mailbox_maps")
	k.relayRcpt = k.openMaps("relay_recipient_maps")
	k.rblReply = k.openMaps("rbl_reply_maps")
	k.senderLogin = k.openMaps("smtpd_sender_login_maps")
	k.search = maptypes.NewSearch(c.Get, "smtpd_access_maps")
	if k.mydest, err = matchlist.CompileOpts("mydestination", c.Get("mydestination"), matchlist.Domain, k.parentStyle("mydestination"), mlo); err != nil {
		return nil, err
	}
	k.accessParent = k.parentStyle("smtpd_access_maps")

	for _, p := range listParams {
		k.lists[p] = k.parseList(c.Get(p))
	}
	k.rewriteClients = k.parseList(c.Get("local_header_rewrite_clients"))
	for _, name := range splitWords(c.Get("smtpd_restriction_classes")) {
		v := c.Get(name)
		if v == "" {
			return nil, fmt.Errorf("restriction class `%s' needs a definition", name)
		}
		k.classes[name] = k.parseList(v)
	}
	if k.initErr != nil {
		return nil, k.initErr
	}
	k.classes["reject_sender_login_mismatch"] = []string{"reject_authenticated_sender_login_mismatch", "reject_unauthenticated_sender_login_mismatch"}
	if !k.hasRequired(k.lists["smtpd_recipient_restrictions"]) && !k.hasRequired(k.lists["smtpd_relay_restrictions"]) {
		return nil, fmt.Errorf("in parameter smtpd_relay_restrictions or smtpd_recipient_restrictions, specify at least one working instance of: %s", strings.Join(requiredRcpt[:len(requiredRcpt)-1], ", ")+" or "+requiredRcpt[len(requiredRcpt)-1])
	}
	return k, nil
}

var requiredRcpt = []string{"reject_unauth_destination", "defer_unauth_destination", "reject", "defer", "defer_if_permit", "check_relay_domains"}

// hasRequired reports whether a list has a restriction that rejects mail
// by default (Postfix insists on one for relay control).
func (k *Checker) hasRequired(list []string) bool {
	return k.hasRequiredDepth(list, 0)
}

func (k *Checker) hasRequiredDepth(list []string, depth int) bool {
	if depth > 100 {
		return false
	}
	for i := 0; i < len(list); i++ {
		w := list[i]
		if strings.EqualFold(w, "warn_if_reject") && i+1 < len(list) {
			i++
			continue
		}
		if strings.EqualFold(w, "permit") {
			if i+1 < len(list) {
				k.warn("restriction `%s' after `%s' is ignored", list[i+1], w)
			}
			return false
		}
		for _, r := range requiredRcpt {
			if strings.EqualFold(w, r) {
				return true
			}
		}
		if cl, ok := k.classes[w]; ok && k.hasRequiredDepth(cl, depth+1) {
			return true
		}
	}
	return false
}

func (k *Checker) parentStyle(name string) bool {
	for _, f := range k.c.List("parent_domain_matches_subdomains") {
		if f == name {
			return true
		}
	}
	return false
}

// isLocal is Postfix's resolve_local: a domain in $mydestination or an
// address literal of $inet_interfaces or $proxy_interfaces.
func (k *Checker) isLocal(domain string) bool {
	domain = strings.TrimSuffix(domain, ".")
	if strings.HasPrefix(domain, "[") && strings.HasSuffix(domain, "]") {
		a := domain[1 : len(domain)-1]
		if len(a) > 5 && strings.EqualFold(a[:5], "ipv6:") {
			a = a[5:]
		}
		if b, err := netip.ParseAddr(a); err == nil {
			return k.ownAddr(b.String()) || k.proxyAddr(b)
		}
		return false
	}
	ok, _ := k.mydest.Match(domain, "")
	return ok
}

// openMaps opens the tables of a *_maps parameter. A table that cannot
// be opened is logged ("error: ...") and fails its lookups temporarily;
// lookups log their failures and empty results under the parameter's
// name, as Postfix's maps do (maptypes.Reported).
func (k *Checker) openMaps(param string) maptypes.Maps {
	var m maptypes.Maps
	for _, spec := range k.c.List(param) {
		k.openTable(spec)
		m = append(m, maptypes.Map{Table: maptypes.Reported(k.tables[spec], spec, param, k.warn), Fixed: k.fixed[spec]})
	}
	return m
}

// openTable opens (once) a "type:name" table for lookups; it returns the
// table as an access restriction uses it: with its failures and empty
// results logged under its own name.
func (k *Checker) openTable(spec string) (maptypes.Table, bool) {
	if t, ok := k.reported[spec]; ok {
		return t, k.fixed[spec]
	}
	typ, rest := maptypes.SplitSpec(spec, "")
	for typ == "proxy" {
		typ, rest = maptypes.SplitSpec(rest, "")
	}
	t := maptypes.OpenOrUnavailable(spec, maptypes.FoldFixed, k.errorf, k.warn)
	k.tables[spec] = t
	k.reported[spec] = maptypes.Reported(t, spec, spec, k.warn)
	k.fixed[spec] = maptypes.IsFixed(typ)
	return k.reported[spec], k.fixed[spec]
}

// parseList splits a restriction list and opens the tables and policy
// clients it names.
func (k *Checker) parseList(v string) []string {
	words := splitWords(v)
	for i, w := range words {
		if i > 0 && strings.EqualFold(words[i-1], "check_policy_service") {
			k.openPolicy(w)
			continue
		}
		if strings.IndexByte(w, ':') > 0 && !strings.HasPrefix(w, "{") {
			k.openTable(w)
		}
	}
	return words
}

// splitWords splits a restriction list at white space and commas; a
// "{ ... }" group is one word.
func splitWords(v string) []string { return conf.SplitList(v) }

// Close closes the tables and policy clients.
func (k *Checker) Close() {
	for _, t := range k.tables {
		t.Close()
	}
	for _, p := range k.policy {
		if c, ok := p.(interface{ Close() }); ok && p != nil {
			c.Close()
		}
	}
}

func (k *Checker) readParams() error {
	c := k.c
	p := &k.p
	p.delayReject = c.Bool("smtpd_delay_reject")
	p.unkClientCode = c.Int("unknown_client_reject_code")
	p.badNameCode = c.Int("invalid_hostname_reject_code")
	p.unkNameCode = c.Int("unknown_hostname_reject_code")
	p.unkAddrCode = c.Int("unknown_address_reject_code")
	p.relayCode = c.Int("relay_domains_reject_code")
	p.rblCode = c.Int("maps_rbl_reject_code")
	p.mapRejectCode = c.Int("access_map_reject_code")
	p.mapDeferCode = c.Int("access_map_defer_code")
	p.rejectCode = c.Int("reject_code")
	p.deferCode = c.Int("defer_code")
	p.nonFQDNCode = c.Int("non_fqdn_reject_code")
	p.mulRcptCode = c.Int("multi_recipient_bounce_reject_code")
	p.localRcptCode = c.Int("unknown_local_recipient_reject_code")
	p.relayRcptCode = c.Int("unknown_relay_recipient_reject_code")
	p.virtAliasCode = c.Int("unknown_virtual_alias_reject_code")
	p.virtMailboxCode = c.Int("unknown_virtual_mailbox_reject_code")
	p.plaintextCode = c.Int("plaintext_reject_code")
	p.unvFromRcode = c.Int("unverified_sender_reject_code")
	p.unvFromDcode = c.Int("unverified_sender_defer_code")
	p.unvRcptRcode = c.Int("unverified_recipient_reject_code")
	p.unvRcptDcode = c.Int("unverified_recipient_defer_code")
	p.showUnkTable = c.Bool("show_user_unknown_table_name")
	p.allowUntrusted = c.Bool("allow_untrusted_routing")
	p.softBounce = c.Bool("soft_bounce")
	p.rejUnlRcpt = c.Bool("smtpd_reject_unlisted_recipient")
	p.rejUnlFrom = c.Bool("smtpd_reject_unlisted_sender")
	p.clientPortLog = c.Bool("smtpd_client_port_logging")
	p.saslEnable = c.Bool("smtpd_sasl_auth_enable")
	p.internalLog = c.Get("info_log_address_format") == "internal"
	p.utf8 = c.Bool("smtputf8_enable")
	p.nullKey = c.Get("smtpd_null_access_lookup_key")
	if v, ok := c.Explicit("smtpd_expansion_filter"); ok {
		p.expFilter = conf.Unescape(v)
	}
	p.defRBLReply = c.Get("default_rbl_reply")
	p.doubleBounce = c.Get("double_bounce_sender")
	p.mailName = c.Get("mail_name")
	p.localRcptMaps = c.Get("local_recipient_maps")
	p.virtMailboxMaps = c.Get("virtual_mailbox_maps")
	p.relayRcptMaps = c.Get("relay_recipient_maps")
	p.stress = ""
	p.unvFromWhy = c.Get("unverified_sender_reject_reason")
	p.unvRcptWhy = c.Get("unverified_recipient_reject_reason")
	for _, x := range []struct {
		name string
		dst  *int
	}{
		{"unknown_helo_hostname_tempfail_action", &p.unkNameTF},
		{"unknown_address_tempfail_action", &p.unkAddrTF},
		{"unverified_recipient_tempfail_action", &p.unvRcptTF},
		{"unverified_sender_tempfail_action", &p.unvFromTF},
	} {
		switch v := c.Get(x.name); v {
		case "defer":
			*x.dst = 0
		case "defer_if_permit":
			*x.dst = 1
		default:
			return fmt.Errorf("bad configuration: %s = %s", x.name, v)
		}
	}
	return nil
}

type mapsT = maptypes.Maps
