package check

import (
	"net"
	"net/netip"
	"strings"

	"github.com/postfix-go/postfix/internal/matchlist"
	"github.com/postfix-go/postfix/internal/resolver"
	"github.com/postfix-go/postfix/internal/rewrite"
)

const (
	flagRouted = rewrite.FlagRouted
	flagFail   = rewrite.FlagFail
	flagError  = rewrite.FlagError
)

// resolved is a cached address resolution.
type resolved = rewrite.Resolution

// resolve is smtpd_resolve_addr: rewrite the address in the "local"
// context, then ask trivial-rewrite for its class. A failure ends the
// evaluation with a temporary error.
func (e *eval) resolve(addr string) resolved {
	st := e.st()
	key := e.senderKey() + "\x00" + addr
	if r, ok := st.resolved[key]; ok {
		return r
	}
	var res resolved
	if e.k.deps.Rewrite == nil {
		res.Flags = flagFail
	} else {
		full, err := e.k.deps.Rewrite.Rewrite(rewrite.RuleLocal, addr)
		if err == nil {
			res, err = e.k.deps.Rewrite.Resolve(e.senderKey(), full)
		}
		if err != nil {
			res = resolved{Flags: flagFail}
		}
	}
	if res.Flags&flagFail == 0 {
		if st.resolved == nil || len(st.resolved) > 100 {
			st.resolved = map[string]resolved{}
		}
		st.resolved[key] = res
	}
	if res.Flags&flagFail != 0 {
		e.dictRetry(addr)
	}
	return res
}

func (e *eval) senderKey() string {
	if p := e.st().sender; p != nil {
		return *p
	}
	return ""
}

// permitAuthDestination: OK when the recipient is ours or in
// relay_domains and not source-routed.
func (e *eval) permitAuthDestination(rcpt string) status {
	res := e.resolve(rcpt)
	if !strings.Contains(res.Recipient, "@") {
		return stOK
	}
	if !e.k.p.allowUntrusted && res.Flags&flagRouted != 0 {
		return stDunno
	}
	if res.Flags&(rewrite.ClassFinal|rewrite.ClassRelay) != 0 {
		return stOK
	}
	return stDunno
}

func (e *eval) rejectUnauthDestination(rcpt string, code int, dsn string) status {
	if e.permitAuthDestination(rcpt) == stOK {
		return stDunno
	}
	return e.reject(classPolicy, code, dsn, "<%s>: Relay access denied", rcpt)
}

// checkRelayDomains is the old check_relay_domains: permit clients in
// relay_domains and authorized destinations, reject everything else.
func (e *eval) checkRelayDomains(rcpt, replyName, replyClass string) status {
	k := e.k
	if e.k.once("check_relay_domains") {
		k.warn("support for restriction \"%s\" will be removed from %s; use \"%s\" instead", "check_relay_domains", k.p.mailName, "reject_unauth_destination")
	}
	if ok, _ := k.relayDoms.Match(e.s.Name, ""); ok {
		return stOK
	}
	if e.permitAuthDestination(rcpt) == stOK {
		return stOK
	}
	return e.reject(classPolicy, k.p.relayCode, "5.7.1", "<%s>: %s rejected: Relay access denied", replyName, replyClass)
}

// once reports true the first time it is called with key.
func (k *Checker) once(key string) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.warnOnce[key] {
		return false
	}
	k.warnOnce[key] = true
	return true
}

// nonFQDNAddress rejects an address whose domain is missing or not a
// fully-qualified host name.
func (e *eval) nonFQDNAddress(addr, replyName, replyClass string) status {
	domain := ""
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		domain = addr[i+1:]
	}
	if strings.HasPrefix(domain, "[") && strings.HasSuffix(domain, "]") {
		return stDunno
	}
	d := truncDot(domain)
	if d == "" || !validHostname(d) || !strings.Contains(d, ".") {
		return e.reject(classPolicy, e.k.p.nonFQDNCode, "4.5.2", "<%s>: %s rejected: need fully-qualified address", replyName, replyClass)
	}
	return stDunno
}

// truncDot removes one trailing dot (not two).
func truncDot(name string) string {
	if n := len(name); n > 1 && name[n-1] == '.' && name[n-2] != '.' {
		return name[:n-1]
	}
	return name
}

// validHostname is Postfix's valid_hostname without complaints.
func validHostname(name string) bool {
	ok, _ := resolver.ValidHostname(name)
	return ok
}

func (e *eval) invalidHostname(name, replyName, replyClass string) status {
	t := truncDot(name)
	if !validHostname(t) && !validHostaddr(t) {
		return e.reject(classPolicy, e.k.p.badNameCode, "5.5.2", "<%s>: %s rejected: Invalid name", replyName, replyClass)
	}
	return stDunno
}

func (e *eval) invalidHostaddr(addr, replyName, replyClass string) status {
	t := addr
	if len(t) > 2 && t[0] == '[' && t[len(t)-1] == ']' {
		t = t[1 : len(t)-1]
	}
	if !validMailhostAddr(t) {
		return e.reject(classPolicy, e.k.p.badNameCode, "5.5.2", "<%s>: %s rejected: invalid ip address", replyName, replyClass)
	}
	return stDunno
}

// validMailhostAddr accepts "1.2.3.4" and "IPv6:2001:db8::1".
func validMailhostAddr(s string) bool {
	if len(s) > 5 && strings.EqualFold(s[:5], "IPv6:") {
		a, err := netip.ParseAddr(s[5:])
		return err == nil && a.Is6() && a.Zone() == ""
	}
	a, err := netip.ParseAddr(s)
	return err == nil && a.Is4()
}

func (e *eval) nonFQDNHostname(name, replyName, replyClass string) status {
	t := truncDot(name)
	if !validHostname(t) || !strings.Contains(t, ".") {
		return e.reject(classPolicy, e.k.p.nonFQDNCode, "5.5.2", "<%s>: %s rejected: need fully-qualified hostname", replyName, replyClass)
	}
	return stDunno
}

// unknownAddress is reject_unknown_address: the domain of a non-local
// address must have an MX or address record.
func (e *eval) unknownAddress(addr, replyName, replyClass string) status {
	res := e.resolve(addr)
	i := strings.LastIndexByte(res.Recipient, '@')
	if i < 0 {
		return stDunno
	}
	domain := res.Recipient[i+1:]
	if res.Flags&rewrite.ClassFinal != 0 {
		return stDunno
	}
	if strings.HasPrefix(domain, "[") && strings.HasSuffix(domain, "]") {
		return stDunno
	}
	return e.unknownMailhost(domain, replyName, replyClass)
}

// senderRcptMaps and recipientRcptMaps run the recipient table check once
// per address (reject_unlisted_sender / reject_unlisted_recipient).
func (e *eval) senderRcptMaps(sender string) status {
	st := e.st()
	if st.senderMapsChk {
		return stDunno
	}
	if st.warnIfReject == 0 {
		st.senderMapsChk = true
	}
	return e.rcptMaps(sender, nameSender)
}

func (e *eval) recipientRcptMaps(rcpt string) status {
	st := e.st()
	if st.rcptMapsChk {
		return stDunno
	}
	if st.warnIfReject == 0 {
		st.rcptMapsChk = true
	}
	return e.rcptMaps(rcpt, nameRecipient)
}

// mapsFind looks an address up with the virtual(5) search order; trouble
// ends the evaluation.
func (e *eval) mapsFind(m mapsT, rcpt, addr string) bool {
	if len(m) == 0 {
		return false
	}
	s := e.k.search
	s.Local = e.k.isLocal
	_, ok, err := s.Address(m, addr)
	if err != nil {
		if errStatus(err) == stRetry {
			e.dictRetry(rcpt)
		}
		e.serverError()
	}
	return ok
}

// rcptMaps is check_rcpt_maps: is the address a known user of its class?
func (e *eval) rcptMaps(addr, replyClass string) status {
	k := e.k
	res := e.resolve(addr)
	r := res.Recipient
	if e.mapsFind(k.rcptCanon, addr, r) || e.mapsFind(k.canonical, addr, r) || e.mapsFind(k.virtAlias, addr, r) {
		return stDunno
	}
	dsnDef := "5.1.1"
	if replyClass == nameSender {
		dsnDef = "5.1.0"
	}
	if res.Transport == "error" {
		dsn, text := dsnSplit(dsnDef, res.Nexthop)
		code := 550
		if res.Flags&rewrite.ClassAlias != 0 {
			code = k.p.virtAliasCode
		}
		return e.reject(classBounce, code, e.dsnFix(dsn, replyClass), "<%s>: %s rejected: %s", addr, replyClass, text)
	}
	table := func(s string) string {
		if k.p.showUnkTable {
			return s
		}
		return ""
	}
	switch res.Flags & rewrite.ClassMask {
	case rewrite.ClassLocal:
		if k.p.localRcptMaps != "" && !matchLeft(k.p.doubleBounce, r) && !matchLeft("postmaster", r) &&
			!matchLeft("MAILER-DAEMON", r) && !e.mapsFind(k.localRcpt, addr, r) {
			return e.reject(classBounce, k.p.localRcptCode, dsnDef, "<%s>: %s rejected: User unknown%s", addr, replyClass, table(" in local recipient table"))
		}
	case rewrite.ClassVirtual:
		if k.p.virtMailboxMaps != "" && !e.mapsFind(k.virtMailbox, addr, r) {
			return e.reject(classBounce, k.p.virtMailboxCode, dsnDef, "<%s>: %s rejected: User unknown%s", addr, replyClass, table(" in virtual mailbox table"))
		}
	case rewrite.ClassRelay:
		if k.p.relayRcptMaps != "" && !e.mapsFind(k.relayRcpt, addr, r) {
			return e.reject(classBounce, k.p.relayRcptCode, dsnDef, "<%s>: %s rejected: User unknown%s", addr, replyClass, table(" in relay recipient table"))
		}
	}
	return stDunno
}

// matchLeft reports whether addr is "local@..." for the given local part
// (case-insensitive).
func matchLeft(local, addr string) bool {
	return len(addr) > len(local) && strings.EqualFold(addr[:len(local)], local) && addr[len(local)] == '@'
}

// authSenderMismatch: a logged-in client must own the sender address
// (smtpd_sender_login_maps).
func (e *eval) authSenderMismatch(sender string, allowUnknown bool) status {
	s := e.s
	if len(e.k.senderLogin) == 0 || s.SASLUser == "" {
		return stDunno
	}
	res := e.resolve(sender)
	owners, found := e.loginOwners(sender, res.Recipient)
	if !found {
		if allowUnknown {
			return stDunno
		}
	}
	for _, o := range splitRestrictions(owners) {
		if strings.EqualFold(o, s.SASLUser) {
			return stDunno
		}
	}
	return e.reject(classPolicy, 553, "5.7.1", "<%s>: Sender address rejected: not owned by user %s", sender, s.SASLUser)
}

// unauthSenderMismatch: a sender address with an owner needs a login.
func (e *eval) unauthSenderMismatch(sender string) status {
	if len(e.k.senderLogin) == 0 || e.s.SASLUser != "" {
		return stDunno
	}
	res := e.resolve(sender)
	if _, found := e.loginOwners(sender, res.Recipient); found {
		return e.reject(classPolicy, 553, "5.7.1", "<%s>: Sender address rejected: not logged in", sender)
	}
	return stDunno
}

func (e *eval) loginOwners(sender, addr string) (string, bool) {
	s := e.k.search
	m, ok, err := s.Address(e.k.senderLogin, addr)
	if err != nil {
		if errStatus(err) == stRetry {
			e.dictRetry(sender)
		}
		e.serverError()
	}
	return m.Value, ok
}

// unverified stands for reject_unverified_sender/recipient: without an
// address verification service this is the service-failure case.
func (e *eval) unverified(addr, replyClass string) status {
	k := e.k
	dsn, act := "4.1.1", k.p.unvRcptTF
	if replyClass == nameSender {
		dsn, act = "4.1.0", k.p.unvFromTF
	}
	k.warn("%s service failure", k.c.Get("address_verify_service_name"))
	return e.deferIfPermit(act, classPolicy, 450, dsn, "<%s>: %s rejected: address verification problem", addr, replyClass)
}

// tlsClientCerts is permit_tls_clientcerts / permit_tls_all_clientcerts.
func (e *eval) tlsClientCerts(all bool) status {
	t := e.s.TLS
	if t == nil {
		return stDunno
	}
	f := e.k.certFacts(t)
	if f.trusted && all {
		return stOK
	}
	if f.certFP == "" {
		return stDunno
	}
	m := e.k.openMapsLocked("relay_clientcerts")
	for _, fp := range []string{f.certFP, f.pkeyFP} {
		_, ok, err := m.Find(fp, false)
		if ok {
			return stOK
		}
		if err != nil {
			e.k.warn("relay_clientcerts: lookup error for fingerprint '%s', pkey fingerprint %s", f.certFP, f.pkeyFP)
			return errStatus(err)
		}
	}
	return stDunno
}

// ccertAccess is check_ccert_access: the client certificate fingerprints.
func (e *eval) ccertAccess(table, defACL string) status {
	t := e.s.TLS
	if t == nil || t.PeerCert == nil {
		return stDunno
	}
	f := e.k.certFacts(t)
	for _, fp := range []string{f.certFP, f.pkeyFP} {
		st, _ := e.access(table, fp, false, f.peerCN, nameCCert, defACL)
		if st != stDunno {
			return st
		}
	}
	return stDunno
}

func (k *Checker) openMapsLocked(param string) mapsT {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.openMaps(param)
}

// ownAddr reports whether addr is one of this host's interface addresses
// (permit_inet_interfaces).
func (k *Checker) ownAddr(addr string) bool {
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return false
	}
	for _, it := range k.c.List("inet_interfaces") {
		if it == "all" {
			ifs, _ := net.InterfaceAddrs()
			for _, x := range ifs {
				if n, ok := x.(*net.IPNet); ok {
					if b, ok := netip.AddrFromSlice(n.IP); ok && b.Unmap() == a.Unmap() {
						return true
					}
				}
			}
			continue
		}
		if it == "loopback-only" {
			if a == netip.MustParseAddr("127.0.0.1") || a == netip.IPv6Loopback() {
				return true
			}
			continue
		}
		if b, err := netip.ParseAddr(strings.Trim(it, "[]")); err == nil && b == a {
			return true
		}
	}
	return false
}

var _ = matchlist.Namadr
