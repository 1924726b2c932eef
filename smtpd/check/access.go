package check

import (
	"errors"
	"net/netip"
	"strconv"
	"strings"

	"github.com/postfix-go/postfix/maptypes"
)

// errStatus turns a lookup error into a status.
func errStatus(err error) status {
	if errors.Is(err, maptypes.ErrRetry) {
		return stRetry
	}
	return stConfig
}

// tableResult is Postfix's check_table_result: what an access table value
// (or a policy server's action) asks for.
func (e *eval) tableResult(table, value, datum, replyName, replyClass, defACL string) status {
	k, s, st := e.k, e.s, e.st()
	cmdLen := strings.IndexAny(value, " \t")
	if cmdLen < 0 {
		cmdLen = len(value)
	}
	cmd := strings.ToUpper(value[:cmdLen])
	text := strings.TrimLeft(value[cmdLen:], " \t\r\n\f\v")
	switch cmd {
	case "DUNNO":
		return stDunno
	case "REJECT":
		dsn, t := dsnSplit("5.7.1", text)
		if t == "" {
			t = "Access denied"
		}
		return e.reject(classPolicy, k.p.mapRejectCode, e.dsnFix(dsn, replyClass), "<%s>: %s rejected: %s", replyName, replyClass, t)
	case "DEFER":
		dsn, t := dsnSplit("4.7.1", text)
		if t == "" {
			t = "Access denied"
		}
		return e.reject(classPolicy, k.p.mapDeferCode, e.dsnFix(dsn, replyClass), "<%s>: %s rejected: %s", replyName, replyClass, t)
	case "WARN":
		e.whatsup("warn", text)
		return stDunno
	case "INFO":
		e.whatsup("info", text)
		return stDunno
	case "FILTER":
		if !e.canDelegate(table, "FILTER") {
			return stDunno
		}
		if text == "" {
			k.warn("access table %s entry \"%s\" has FILTER entry without value", table, datum)
			return stDunno
		}
		if !strings.Contains(text, ":") {
			k.warn("access table %s entry \"%s\" requires transport:destination", table, datum)
			return stDunno
		}
		e.whatsup("filter", "<"+replyName+">: "+replyClass+" triggers FILTER "+text)
		s.Filter = text
		return stDunno
	case "HOLD":
		if !e.canDelegate(table, "HOLD") || s.Hold {
			return stDunno
		}
		why := text
		if why == "" {
			why = "triggers HOLD action"
		}
		e.whatsup("hold", "<"+replyName+">: "+replyClass+" "+why)
		s.Hold, s.HoldReason = true, text
		return stDunno
	case "DISCARD":
		if !e.canDelegate(table, "DISCARD") {
			return stDunno
		}
		why := text
		if why == "" {
			why = "triggers DISCARD action"
		}
		e.whatsup("discard", "<"+replyName+">: "+replyClass+" "+why)
		s.Discard, s.DiscardReason = true, text
		return e.permit(value[:cmdLen], replyClass, replyName, "from "+table)
	case "REDIRECT", "BCC":
		if !e.canDelegate(table, cmd) {
			return stDunno
		}
		if !strings.Contains(text, "@") {
			k.warn("access table %s entry \"%s\" requires user@domain target", table, datum)
			return stDunno
		}
		e.whatsup(strings.ToLower(cmd), "<"+replyName+">: "+replyClass+" triggers "+cmd+" "+text)
		if cmd == "REDIRECT" {
			s.Redirect = text
		} else {
			s.BCC = append(s.BCC, text)
		}
		return stDunno
	case "DEFER_IF_PERMIT":
		dsn, t := dsnSplit("4.7.1", text)
		if t == "" {
			t = "Service unavailable"
		}
		return e.deferIfPermit(1, classPolicy, k.p.mapDeferCode, e.dsnFix(dsn, replyClass), "<%s>: %s rejected: %s", replyName, replyClass, t)
	case "DEFER_IF_REJECT":
		dsn, t := dsnSplit("4.7.1", text)
		if t == "" {
			t = "Service unavailable"
		}
		e.deferIfReject(classPolicy, k.p.mapDeferCode, e.dsnFix(dsn, replyClass), "<%s>: %s rejected: %s", replyName, replyClass, t)
		return stDunno
	case "PREPEND":
		if !e.notInClientHelo(table, "PREPEND") {
			return stDunno
		}
		if s.Stage == "END-OF-MESSAGE" {
			k.warn("access table %s: action PREPEND must be used before %s", table, "smtpd_end_of_data_restrictions")
			return stDunno
		}
		if text == "" || !isHeader(text) {
			k.warn("access table %s entry \"%s\" requires header: text", table, datum)
			return stDunno
		}
		s.Prepend = append(s.Prepend, text)
		return stDunno
	}
	if allDigits(value) {
		return e.permit(value[:cmdLen], replyClass, replyName, "from "+table)
	}
	if cmdLen == 3 && text != "" && (value[0] == '4' || value[0] == '5') && isDigit(value[1]) && isDigit(value[2]) {
		code, _ := strconv.Atoi(value[:3])
		dsn, t := dsnSplit(string(value[0])+".7.1", text)
		if t == "" {
			t = "Access denied"
		}
		return e.reject(classPolicy, code, e.dsnFix(dsn, replyClass), "<%s>: %s rejected: %s", replyName, replyClass, t)
	}
	if cmd == "OK" || cmd == "RELAY" {
		return e.permit(value[:cmdLen], replyClass, replyName, "from "+table)
	}
	if strings.Contains(value, ":") {
		k.warn("access table %s has entry with lookup table: %s", table, value)
		k.warn("do not specify lookup tables inside SMTPD access maps")
		k.warn("define a restriction class and specify its name instead.")
		e.serverError()
	}
	if st.recursion > 100 {
		k.warn("access table %s entry %s causes unreasonable recursion", table, value)
		e.serverError()
	}
	words := splitRestrictions(value)
	if len(words) == 0 {
		k.warn("access table %s entry %s has empty value", table, value)
		return stOK
	}
	return e.generic(words, replyName, replyClass, defACL)
}

// splitRestrictions splits a restriction list found in a table value.
func splitRestrictions(v string) []string {
	return strings.FieldsFunc(v, func(r rune) bool { return r == ' ' || r == '\t' || r == '\r' || r == '\n' || r == ',' })
}

// isHeader reports whether text starts with "Name:".
func isHeader(text string) bool {
	i := 0
	for i < len(text) {
		c := text[i]
		if c == ':' {
			return i > 0
		}
		if c <= ' ' || c >= 0x7f {
			break
		}
		i++
	}
	// Postfix allows white space between the name and the colon.
	if i == 0 {
		return false
	}
	for i < len(text) && (text[i] == ' ' || text[i] == '\t') {
		i++
	}
	return i < len(text) && text[i] == ':'
}

// canDelegate reports whether a message action (FILTER, HOLD ...) can be
// applied here.
func (e *eval) canDelegate(table, action string) bool {
	if e.s.Stage == "ETRN" {
		e.k.warn("access table %s: action %s is unavailable in %s", table, action, "smtpd_etrn_restrictions")
		return false
	}
	return e.notInClientHelo(table, action)
}

func (e *eval) notInClientHelo(table, action string) bool {
	if e.st().sender == nil {
		e.k.warn("access table %s: with %s=%s, action %s is always skipped in %s or %s restrictions",
			table, "smtpd_delay_reject", "no", action, nameClient, nameHelo)
		return false
	}
	return true
}

// lookup looks key up in one table; partial lookups only go to
// fixed-string tables.
func (e *eval) lookup(table, key string, partial bool) (string, bool, error) {
	t, fixed := e.k.tableFor(table)
	if partial && !fixed {
		return "", false, nil
	}
	return t.Lookup(key)
}

// tableFor returns an opened table (tables named in restriction lists are
// opened by New).
func (k *Checker) tableFor(spec string) (maptypes.Table, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.openTable(spec)
}

// access is check_access: one lookup of the whole key.
func (e *eval) access(table, key string, partial bool, replyName, replyClass, defACL string) (status, bool) {
	v, ok, err := e.lookup(table, key, partial)
	if ok {
		return e.tableResult(table, v, key, replyName, replyClass, defACL), true
	}
	if err != nil {
		// The table has logged why (maptypes.Reported).
		return e.tableResult(table, "451 4.3.5 Server configuration error", key, replyName, replyClass, defACL), true
	}
	return stDunno, false
}

// domainAccess is check_domain_access: the name, then its parent domains
// (".parent" or "parent" by parent_domain_matches_subdomains) in
// fixed-string tables.
func (e *eval) domainAccess(table, domain string, partial bool, replyName, replyClass, defACL string) (status, bool) {
	name := domain
	numeric := validHostaddr(domain)
	for name != "" {
		if st, found := e.access(table, name, partial, replyName, replyClass, defACL); found {
			return st, true
		}
		if numeric {
			break
		}
		i := strings.IndexByte(name[1:], '.')
		if i < 0 {
			break
		}
		name = name[1+i:]
		if e.k.accessParent {
			name = name[1:]
		}
		partial = true
	}
	return stDunno, false
}

// addrAccess is check_addr_access: the address, then shorter prefixes cut
// at '.' (IPv4) or ':' (IPv6).
func (e *eval) addrAccess(table, addr string, partial bool, replyName, replyClass, defACL string) (status, bool) {
	delim := byte('.')
	if strings.IndexByte(addr, ':') >= 0 {
		delim = ':'
	}
	key := addr
	for {
		v, ok, err := e.lookup(table, key, partial)
		if ok {
			return e.tableResult(table, v, addr, replyName, replyClass, defACL), true
		}
		if err != nil {
			return e.tableResult(table, "451 4.3.5 Server configuration error", addr, replyName, replyClass, defACL), true
		}
		partial = true
		i := strings.LastIndexByte(key, delim)
		if i < 0 {
			return stDunno, false
		}
		key = key[:i]
	}
}

// namadrAccess is check_namadr_access: the host name and its parents, then
// the address and its networks.
func (e *eval) namadrAccess(table, name, addr string, partial bool, replyName, replyClass, defACL string) (status, bool) {
	if st, found := e.domainAccess(table, name, partial, replyName, replyClass, defACL); st != stDunno || found {
		return st, found
	}
	if st, found := e.addrAccess(table, addr, partial, replyName, replyClass, defACL); st != stDunno || found {
		return st, found
	}
	return stDunno, false
}

// mailAccess is check_mail_access: user+ext@domain, user@domain, domain and
// parents, user+ext@, user@. An OK for a source-routed recipient is
// ignored (unless allow_untrusted_routing).
func (e *eval) mailAccess(table, addr, replyName, replyClass, defACL string) (status, bool) {
	res := e.resolve(addr)
	at := strings.LastIndexByte(res.Recipient, '@')
	if at < 0 {
		e.k.warn("%s: no @domain in address: %s", "check_mail_access", res.Recipient)
		return stDunno, false
	}
	domain := res.Recipient[at+1:]
	bare := ""
	if delim := e.k.c.Get("recipient_delimiter"); delim != "" {
		bare = stripAddr(addr, delim)
	}
	suspicious := !e.k.p.allowUntrusted && res.Flags&flagRouted != 0 && replyClass == nameRecipient
	fix := func(st status, found bool) (status, bool) {
		if st == stOK && suspicious {
			return stDunno, found
		}
		return st, found
	}
	if st, found := e.access(table, res.Recipient, false, replyName, replyClass, defACL); st != stDunno || found {
		return fix(st, found)
	}
	if bare != "" {
		if st, found := e.access(table, bare, true, replyName, replyClass, defACL); st != stDunno || found {
			return fix(st, found)
		}
	}
	if st, found := e.domainAccess(table, domain, true, replyName, replyClass, defACL); st != stDunno || found {
		return fix(st, found)
	}
	if st, found := e.access(table, res.Recipient[:at+1], true, replyName, replyClass, defACL); st != stDunno || found {
		return fix(st, found)
	}
	if bare != "" {
		b := bare
		if j := strings.LastIndexByte(b, '@'); j >= 0 {
			b = b[:j+1]
		}
		if st, found := e.access(table, b, true, replyName, replyClass, defACL); st != stDunno || found {
			return fix(st, found)
		}
	}
	return stDunno, false
}

// stripAddr removes an address extension (Postfix's strip_addr): "" when
// the address has none.
func stripAddr(addr, delims string) string {
	local, domain, hasAt := addr, "", false
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		local, domain, hasAt = addr[:i], addr[i:], true
	}
	if local == "" || strings.IndexByte(delims, local[0]) >= 0 {
		return ""
	}
	j := strings.IndexAny(local, delims)
	if j < 0 {
		return ""
	}
	if hasAt {
		return local[:j] + domain
	}
	return local[:j]
}

// validHostaddr reports whether s is a numeric IPv4 or IPv6 address.
func validHostaddr(s string) bool {
	a, err := netip.ParseAddr(s)
	return err == nil && a.Zone() == ""
}
