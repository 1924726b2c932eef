package maptypes

// Search orders: how Postfix daemons turn one address, domain, host name or
// IP address into the sequence of keys they look up, as access(5),
// transport(5), virtual(5), canonical(5) and aliases(5) describe.
//
// A search is made over a list of tables (Maps). Each key of the sequence
// is tried in every table, in list order, before the next key is tried;
// the first table that has the key wins. Only the whole query goes to a
// pattern table (regexp, pcre, cidr, tcp ...): the partial keys (an
// address without its extension, a parent domain, a shorter network
// prefix) are looked up in fixed-string tables only. A lookup that fails
// temporarily (ErrRetry) ends the search with that error; it is never
// taken for "not found".
//
// Settings (Search fields) come from main.cf: recipient_delimiter
// (Delimiters: every character is a delimiter), parent_domain_matches_
// subdomains (ParentMatches: true when the caller's feature name, such as
// smtpd_access_maps or transport_maps, is listed), double_bounce_sender
// (an address local part that is never split). NewSearch reads them.

import (
	"strings"
)

// Map is one table of a search list, with how it matches keys.
type Map struct {
	Table Table
	// Fixed is true for fixed-string tables (hash, cdb, inline ...),
	// false for pattern tables, which only see the whole query.
	Fixed bool
}

// Maps is a list of tables searched together, as a main.cf parameter
// like "virtual_alias_maps = hash:a, regexp:b" names them.
type Maps []Map

// OpenMaps opens each "type:name" of specs with flags; a table's
// fixedness comes from its type (IsFixed). On error the tables already
// opened are closed.
func OpenMaps(specs []string, flags OpenFlags) (Maps, error) {
	var m Maps
	for _, spec := range specs {
		t, err := Open(spec, flags)
		if err != nil {
			m.Close()
			return nil, err
		}
		typ, _ := unproxy(SplitSpec(spec, ""))
		m = append(m, Map{Table: t, Fixed: IsFixed(typ)})
	}
	return m, nil
}

// Close closes every table of the list.
func (m Maps) Close() {
	for _, x := range m {
		x.Table.Close()
	}
}

// Find looks key up in each table in order (in fixed tables only when
// fixedOnly is set) and returns the first value found.
func (m Maps) Find(key string, fixedOnly bool) (string, bool, error) {
	for _, x := range m {
		if fixedOnly && !x.Fixed {
			continue
		}
		v, ok, err := x.Table.Lookup(key)
		if err != nil {
			return "", false, err
		}
		if ok {
			return v, true, nil
		}
	}
	return "", false, nil
}

// Match is the outcome of a search that found something.
type Match struct {
	// Value is the table's value.
	Value string
	// Key is the lookup key that matched.
	Key string
	// Ext is the address extension, with its delimiter character, that
	// the matching key left out ("" when the key kept it or the address
	// had none): callers append it to the result when
	// propagate_unmatched_extensions asks for that.
	Ext string
}

// Search holds the main.cf settings that shape a search order.
type Search struct {
	// Delimiters is recipient_delimiter: each character separates a local
	// part from its extension ("" disables extensions).
	Delimiters string
	// ParentMatches makes "example.com" match its subdomains; otherwise
	// only ".example.com" does (parent_domain_matches_subdomains lists
	// the caller's feature).
	ParentMatches bool
	// DoubleBounce is double_bounce_sender, a local part that is never
	// split ("double-bounce" when empty).
	DoubleBounce string
	// Local reports whether a domain is one of this system's
	// ($myorigin, $mydestination, $inet_interfaces, $proxy_interfaces):
	// only then is a bare local part looked up (virtual, canonical).
	// nil means never.
	Local func(domain string) bool
}

// NewSearch reads the settings of a search from main.cf through get
// (which returns a parameter's expanded value); feature is the name that
// parent_domain_matches_subdomains may list (smtpd_access_maps,
// transport_maps, relay_domains ...).
func NewSearch(get func(name string) string, feature string) Search {
	s := Search{Delimiters: get("recipient_delimiter"), DoubleBounce: get("double_bounce_sender")}
	for _, f := range strings.FieldsFunc(get("parent_domain_matches_subdomains"), isListSep) {
		if f == feature {
			s.ParentMatches = true
		}
	}
	return s
}

func isListSep(r rune) bool { return r == ' ' || r == ',' || r == '\t' || r == '\r' || r == '\n' }

// SplitAddress splits an address at its last '@' into local part and
// domain; hasAt is false for an address without '@'.
func SplitAddress(addr string) (local, domain string, hasAt bool) {
	i := strings.LastIndexByte(addr, '@')
	if i < 0 {
		return addr, "", false
	}
	return addr[:i], addr[i+1:], true
}

// SplitExtension splits a local part at its first delimiter character
// into user and extension (the extension keeps its delimiter character).
// Nothing is split when the local part starts with a delimiter or has
// none, nor for postmaster, MAILER-DAEMON, the double-bounce sender and,
// when '-' is a delimiter, owner-* and *-request (any case).
func (s Search) SplitExtension(local string) (user, ext string) {
	if s.Delimiters == "" || local == "" {
		return local, ""
	}
	db := s.DoubleBounce
	if db == "" {
		db = "double-bounce"
	}
	if strings.EqualFold(local, "postmaster") || strings.EqualFold(local, "mailer-daemon") || strings.EqualFold(local, db) {
		return local, ""
	}
	if strings.IndexByte(s.Delimiters, '-') >= 0 {
		if len(local) >= 6 && strings.EqualFold(local[:6], "owner-") {
			return local, ""
		}
		if len(local) > 8 && strings.EqualFold(local[len(local)-8:], "-request") {
			return local, ""
		}
	}
	i := strings.IndexAny(local, s.Delimiters)
	if i <= 0 {
		return local, ""
	}
	return local[:i], local[i:]
}

// step is one key of a search; fixed restricts it to fixed tables, ext
// is the extension the key leaves out.
type step struct {
	key   string
	fixed bool
	ext   string
}

// try runs the steps in order and returns the first match.
func (m Maps) try(steps []step) (Match, bool, error) {
	for _, st := range steps {
		v, ok, err := m.Find(st.key, st.fixed)
		if err != nil {
			return Match{}, false, err
		}
		if ok {
			return Match{Value: v, Key: st.key, Ext: st.ext}, true, nil
		}
	}
	return Match{}, false, nil
}

// addressSteps is the virtual(5)/canonical(5) key sequence for addr.
func (s Search) addressSteps(addr string) []step {
	steps := []step{{key: addr}}
	local, domain, hasAt := SplitAddress(addr)
	user, ext := s.SplitExtension(local)
	if ext != "" {
		k := user
		if hasAt {
			k += "@" + domain
		}
		steps = append(steps, step{key: k, fixed: true, ext: ext})
	}
	if hasAt && s.Local != nil && s.Local(domain) {
		if ext != "" {
			steps = append(steps, step{key: local, fixed: true})
		}
		steps = append(steps, step{key: user, fixed: true, ext: ext})
	}
	if hasAt {
		steps = append(steps, step{key: "@" + domain, fixed: true, ext: ext})
	}
	return steps
}

// Address searches m for addr in the virtual(5) and canonical(5) order:
// user+ext@domain, user@domain, then (only when Local says domain is
// local) user+ext and user, then @domain. Pattern tables see only the
// whole address.
func (s Search) Address(m Maps, addr string) (Match, bool, error) {
	return m.try(s.addressSteps(addr))
}

// Access searches m for a mail address in the access(5) order:
// user+ext@domain, user@domain, domain and its parent domains (see
// Domain), user+ext@, user@. Pattern tables see only the whole address.
func (s Search) Access(m Maps, addr string) (Match, bool, error) {
	steps, local, user, ext, hasAt := s.addressThenDomains(addr)
	if hasAt {
		steps = append(steps, step{key: local + "@", fixed: true})
		if ext != "" {
			steps = append(steps, step{key: user + "@", fixed: true, ext: ext})
		}
	}
	return m.try(steps)
}

// Transport searches m for a recipient in the transport(5) order:
// user+ext@domain, user@domain, domain, its parent domains (".parent" or
// "parent", see ParentMatches), and finally "*". Pattern tables see only
// the whole address.
func (s Search) Transport(m Maps, addr string) (Match, bool, error) {
	steps, _, _, _, _ := s.addressThenDomains(addr)
	steps = append(steps, step{key: "*", fixed: true})
	return m.try(steps)
}

// addressThenDomains is the start that access(5) and transport(5) share:
// the whole address (the only key pattern tables see), user@domain when
// there is an extension, then the domain and its parents.
func (s Search) addressThenDomains(addr string) (steps []step, local, user, ext string, hasAt bool) {
	steps = []step{{key: addr}}
	local, domain, hasAt := SplitAddress(addr)
	user, ext = s.SplitExtension(local)
	if ext != "" && hasAt {
		steps = append(steps, step{key: user + "@" + domain, fixed: true, ext: ext})
	}
	if hasAt {
		for _, st := range s.domainSteps(domain) {
			st.fixed = true
			steps = append(steps, st)
		}
	}
	return steps, local, user, ext, hasAt
}

// domainSteps is the domain and its parents: with ParentMatches "a.b.c",
// "b.c", "c"; otherwise "a.b.c", ".b.c", ".c". Only the domain itself may
// go to pattern tables. An address literal ("[1.2.3.4]") has no parents.
func (s Search) domainSteps(domain string) []step {
	steps := []step{{key: domain}}
	if domain == "" || domain[0] == '[' {
		return steps
	}
	for i := 1; i < len(domain); i++ {
		if domain[i] != '.' {
			continue
		}
		k := domain[i:]
		if s.ParentMatches {
			k = domain[i+1:]
		}
		if k == "" || k == "." {
			break
		}
		steps = append(steps, step{key: k, fixed: true})
	}
	return steps
}

// Domain searches m for a domain name and its parent domains: the domain
// goes to every table, its parents ("parent" or ".parent", see
// ParentMatches) to fixed tables only.
func (s Search) Domain(m Maps, domain string) (Match, bool, error) {
	return m.try(s.domainSteps(domain))
}

// Host searches m for a client or HELO host name, with the same order as
// Domain.
func (s Search) Host(m Maps, name string) (Match, bool, error) {
	return s.Domain(m, name)
}

// IP searches m for a client address as access(5) describes: the whole
// address in every table, then in fixed tables the address cut at its last
// '.' (IPv4: 1.2.3.4, 1.2.3, 1.2, 1) or ':' (IPv6, compressed form:
// 2001:db8:1::5, 2001:db8:1:, 2001:db8:1, 2001:db8, 2001) again and again.
// A cidr table thus sees the address itself.
func (s Search) IP(m Maps, addr string) (Match, bool, error) {
	delim := byte('.')
	if strings.IndexByte(addr, ':') >= 0 {
		delim = ':'
	}
	steps := []step{{key: addr}}
	for k := addr; ; {
		i := strings.LastIndexByte(k, delim)
		if i <= 0 {
			break
		}
		k = k[:i]
		steps = append(steps, step{key: k, fixed: true})
	}
	return m.try(steps)
}
