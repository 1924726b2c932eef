// Package matchlist implements Postfix's match lists: the values of
// parameters such as mynetworks, relay_domains, smtpd_authorized_xclient_hosts,
// debug_peer_list or permit_mx_backup_networks, which Postfix compiles into a
// "namadr_list" (host names and addresses), a "domain_list" or a
// "string_list".
//
// A list is a sequence of patterns separated by white space or commas. Each
// pattern may be negated by one or more leading '!' (each flips the sense).
// The first pattern that matches decides: a plain pattern says "matches",
// a negated one "does not match"; when none matches, the answer is "does not
// match". The forms:
//
//	/file/name      the file's lines (those starting with '#' skipped) are
//	                read in as more patterns, in place, with the sense of the
//	                '!' in front of the file name
//	type:table      a lookup table: the name (and, for host names, its
//	                parent domains in fixed-string tables) or the address
//	                is looked up; a value found means "matches"
//	name            a host or domain name, compared without regard to case;
//	                ".example.com" matches subdomains of example.com, and
//	                plain "example.com" matches them too when the
//	                parameter's name is listed in parent_domain_matches_subdomains
//	1.2.3.4         an address (namadr lists); IPv6 addresses must be in
//	[::1]           brackets, since a colon otherwise names a table
//	1.2.3.0/24      a network in CIDR form; [2001:db8::]/32 for IPv6
//
// A "#" at the start of a pattern ends the list, with Postfix's warning
// "PARAM: comment at end of line is not supported: ...". A file that cannot
// be opened is logged and then fails every lookup temporarily, as Postfix's
// surrogate table does; a malformed CIDR pattern ("non-null host address
// bits") makes a match fail with a warning and a configuration error.
//
// Match reports table trouble as an error: errors.Is(err, maptypes.ErrRetry)
// for a temporary failure; a broken pattern is ErrConfig and, as in
// Postfix, also a temporary failure (smtpd answers 451 4.3.0).
//
// Main.cf parameters read: parent_domain_matches_subdomains (through
// Compile's param argument); the list values themselves come from callers.
package matchlist

import (
	"bufio"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"syscall"

	"github.com/postfix-go/postfix/conf"
	"github.com/postfix-go/postfix/internal/msg"
	"github.com/postfix-go/postfix/maptypes"
)

// Kind selects how a list compares its patterns with what is looked up.
type Kind int

// The kinds of match list, as Postfix names them.
const (
	// Namadr matches a host name and an address (namadr_list).
	Namadr Kind = iota
	// Domain matches a domain name and its parents (domain_list).
	Domain
	// String matches whole strings (string_list).
	String
)

// ErrConfig is returned by Match for a pattern Postfix refuses at match
// time (a malformed CIDR network).
var ErrConfig = errors.New("match list configuration error")

// List is a compiled match list. A nil *List matches nothing.
type List struct {
	name   string // the parameter name, for warnings
	kind   Kind
	parent bool
	items  []item
	// Warn receives the warnings Match logs; msg.Warn by default.
	warn func(format string, args ...any)
	// errorf receives the open failures Compile logs; msg.Error by default.
	errorf func(format string, args ...any)
}

type item struct {
	neg     bool
	pattern string // case-folded
	table   maptypes.Table
	fixed   bool
}

// failTable stands in for a table or file that could not be opened: every
// lookup fails temporarily, as Postfix's surrogate tables do, with the
// warning "TYPE:NAME is unavailable. WHY".
type failTable struct {
	name, why string
}

func (t failTable) Lookup(string) (string, bool, error) {
	return "", false, fmt.Errorf("%w: %s is unavailable. %s", maptypes.ErrRetry, t.name, t.why)
}
func (failTable) Close() error { return nil }

// Opener opens a lookup table for a list; OpenTable is the default.
type Opener func(spec string) (maptypes.Table, error)

// OpenTable opens spec read-only with maptypes.Open.
func OpenTable(spec string) (maptypes.Table, error) { return maptypes.Open(spec, 0) }

// Options tune Compile; the zero value is Postfix's behaviour.
type Options struct {
	// Open opens "type:table" patterns (OpenTable when nil).
	Open Opener
	// Warn receives warnings (msg.Warn when nil).
	Warn func(format string, args ...any)
	// Error receives the reason a table or file of the list cannot be
	// opened, once, as Postfix logs it with "error:" (msg.Error when nil).
	Error func(format string, args ...any)
}

// Compile parses value, the value of the main.cf parameter param, into a
// list of the given kind. Whether "example.com" matches subdomains depends
// on whether param is listed in parent_domain_matches_subdomains (c may be
// nil: then it does not). Tables that cannot be opened are reported in the
// warning log and fail their lookups; the error is for a pattern Postfix
// treats as fatal ("no pattern after '!'").
func Compile(c *conf.Config, param, value string, kind Kind) (*List, error) {
	parent := false
	if c != nil {
		for _, f := range c.List("parent_domain_matches_subdomains") {
			if f == param {
				parent = true
			}
		}
	}
	return CompileOpts(param, value, kind, parent, Options{})
}

// CompileOpts is Compile with the parent-domain style given directly and
// replaceable table opening and warning output.
func CompileOpts(param, value string, kind Kind, parent bool, o Options) (*List, error) {
	l := &List{name: param, kind: kind, parent: parent, warn: o.Warn}
	if l.warn == nil {
		l.warn = msg.Warn
	}
	l.errorf = o.Error
	if l.errorf == nil {
		l.errorf = msg.Error
	}
	open := o.Open
	if open == nil {
		open = OpenTable
	}
	if err := l.parse(value, false, open, 0); err != nil {
		return nil, err
	}
	return l, nil
}

func (l *List) parse(value string, neg0 bool, open Opener, depth int) error {
	for _, p := range conf.SplitList(value) {
		if strings.HasPrefix(p, "#") {
			rest := strings.TrimLeft(value[strings.Index(value, p)+len(p):], " \t\r\n,")
			l.warn("%s: comment at end of line is not supported: %s %s", l.name, p, rest)
			return nil
		}
		neg := neg0
		bare := p
		for strings.HasPrefix(bare, "!") {
			neg = !neg
			bare = bare[1:]
		}
		if bare == "" {
			return fmt.Errorf("%s: no pattern after '!'", l.name)
		}
		switch {
		case bare[0] == '/':
			if depth > 20 {
				return fmt.Errorf("%s: file %s: nesting too deep", l.name, bare)
			}
			if err := l.readFile(bare, neg, open, depth); err != nil {
				return err
			}
		case IsTable(bare):
			t, err := open(bare)
			if err != nil {
				l.errorf("%s", err)
				t = failTable{name: bare, why: err.Error()}
			}
			typ, rest := maptypes.SplitSpec(bare, "")
			if typ == "proxy" {
				typ, _ = maptypes.SplitSpec(rest, "")
			}
			l.items = append(l.items, item{neg: neg, pattern: bare, table: t, fixed: maptypes.IsFixed(typ)})
		default:
			l.items = append(l.items, item{neg: neg, pattern: fold(bare)})
		}
	}
	return nil
}

func (l *List) readFile(path string, neg bool, open Opener, depth int) error {
	f, err := os.Open(path)
	if err != nil {
		var errno syscall.Errno
		text := err.Error()
		if errors.As(err, &errno) {
			text = errno.Error()
			if text != "" {
				text = strings.ToUpper(text[:1]) + text[1:]
			}
		}
		name := "non-existent:" + path
		l.errorf("open file %s: %s", path, text)
		l.items = append(l.items, item{neg: neg, pattern: name, table: failTable{name: name, why: "open file " + path + ": " + text}})
		return nil
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		if err := l.parse(line, neg, open, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// IsTable reports whether a pattern names a lookup table ("type:name"):
// it has a colon and does not start with '['.
func IsTable(p string) bool {
	return !strings.HasPrefix(p, "[") && strings.IndexByte(p, ':') >= 0
}

// Len returns the number of patterns (after files are read in).
func (l *List) Len() int {
	if l == nil {
		return 0
	}
	return len(l.items)
}

// Match reports whether the list matches. For a Namadr list name is the
// host name and addr the address (either may be ""); each pattern is tried
// against the name, then the address. Domain and String lists use name only.
func (l *List) Match(name, addr string) (bool, error) {
	if l == nil {
		return false, nil
	}
	name = fold(name)
	addr = fold(addr)
	for _, it := range l.items {
		var ok bool
		var err error
		switch l.kind {
		case String:
			ok, err = l.matchString(it, name)
		case Domain:
			ok, err = l.matchHost(it, name)
		default:
			ok, err = l.matchHost(it, name)
			if !ok && err == nil {
				ok, err = l.matchAddr(it, addr)
			}
		}
		if err != nil {
			return false, err
		}
		if ok {
			return !it.neg, nil
		}
	}
	return false, nil
}

func (l *List) lookupErr(it item, err error) error {
	if f, ok := it.table.(failTable); ok {
		l.warn("%s is unavailable. %s", f.name, f.why)
	}
	l.warn("%s: %s: table lookup problem", l.name, it.pattern)
	return err
}

func (l *List) matchString(it item, s string) (bool, error) {
	if it.table != nil {
		_, ok, err := it.table.Lookup(s)
		if err != nil {
			return false, l.lookupErr(it, err)
		}
		return ok, nil
	}
	return s == it.pattern, nil
}

func (l *List) matchHost(it item, name string) (bool, error) {
	if name == "" {
		return false, nil
	}
	if it.table != nil {
		entry := name
		first := true
		for {
			if first || it.fixed {
				_, ok, err := it.table.Lookup(entry)
				if err != nil {
					return false, l.lookupErr(it, err)
				}
				if ok {
					return true, nil
				}
			}
			first = false
			if len(entry) < 2 {
				return false, nil
			}
			i := strings.IndexByte(entry[1:], '.')
			if i < 0 {
				return false, nil
			}
			entry = entry[1+i:]
			if l.parent {
				entry = entry[1:]
			}
			if entry == "" {
				return false, nil
			}
		}
	}
	p := it.pattern
	if name == p {
		return true, nil
	}
	if l.parent {
		if n := len(name) - len(p); n > 0 && name[n-1] == '.' && name[n:] == p {
			return true, nil
		}
	} else if strings.HasPrefix(p, ".") {
		if n := len(name) - len(p); n > 0 && name[n:] == p {
			return true, nil
		}
	}
	return false, nil
}

const (
	v4Chars   = "0123456789."
	v6Chars   = "0123456789abcdefABCDEF:."
	addrChars = "01234567890./:abcdef"
)

func allIn(s, set string) bool {
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(set, s[i]) < 0 {
			return false
		}
	}
	return true
}

func (l *List) matchAddr(it item, addr string) (bool, error) {
	if addr == "" || !allIn(addr, addrChars) {
		return false, nil
	}
	if it.table != nil {
		_, ok, err := it.table.Lookup(addr)
		if err != nil {
			return false, l.lookupErr(it, err)
		}
		return ok, nil
	}
	p := it.pattern
	if addr == p {
		return true, nil
	}
	if len(p) > 2 && p[0] == '[' && p[len(p)-1] == ']' && addr == p[1:len(p)-1] {
		return true, nil
	}
	if strings.Contains(addr, ":") != strings.Contains(p, ":") ||
		!strings.ContainsAny(p, ":/") ||
		allIn(p, v4Chars) ||
		!allIn(p, v6Chars+"[]/") {
		return false, nil
	}
	pfx, err := ParseCIDR(p)
	if err != nil {
		l.warn("%s: %s", l.name, err.Error())
		return false, fmt.Errorf("%w: %w: %v", ErrConfig, maptypes.ErrRetry, err)
	}
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return false, nil
	}
	return pfx.Contains(a.Unmap()), nil
}

// ParseCIDR parses an address or network pattern as Postfix's cidr_match
// does: "1.2.3.0/24", "[2001:db8::]/32", "[::1]", "::1"; the error texts are
// Postfix's.
func ParseCIDR(p string) (netip.Prefix, error) {
	addrText, maskText, hasMask := strings.Cut(p, "/")
	if strings.HasPrefix(addrText, "[") && strings.HasSuffix(addrText, "]") {
		addrText = addrText[1 : len(addrText)-1]
	}
	a, err := netip.ParseAddr(addrText)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("bad net/mask pattern: \"%s\"", p)
	}
	if !hasMask {
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	bits := 0
	if maskText == "" || !allIn(maskText, "0123456789") || len(maskText) > 3 {
		return netip.Prefix{}, fmt.Errorf("bad net/mask pattern: \"%s\"", p)
	}
	for _, c := range maskText {
		bits = bits*10 + int(c-'0')
	}
	if bits > a.BitLen() {
		return netip.Prefix{}, fmt.Errorf("bad net/mask pattern: \"%s\"", p)
	}
	pfx := netip.PrefixFrom(a, bits)
	if pfx.Masked().Addr() != a {
		return netip.Prefix{}, fmt.Errorf("non-null host address bits in \"%s\", perhaps you should use \"%s/%d\" instead", p, bracket(pfx.Masked().Addr()), bits)
	}
	return pfx, nil
}

func bracket(a netip.Addr) string {
	if a.Is6() {
		return "[" + a.String() + "]"
	}
	return a.String()
}

// fold lower-cases ASCII letters, as Postfix's casefold does for non-UTF-8
// text.
func fold(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if b[j] >= 'A' && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}
