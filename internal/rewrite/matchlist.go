package rewrite

import (
	"bufio"
	"os"
	"strings"

	"github.com/postfix-go/postfix/conf"
	"github.com/postfix-go/postfix/maptypes"
)

// matchList is a Postfix pattern list such as $mydestination or
// $relay_domains: names, "/file/name" (its words are read in line by
// line, lines starting with '#' skipped), "type:table" lookups, each
// optionally negated with '!'. The first pattern that matches decides.
type matchList struct {
	// name is the parameter that holds the list, for the warning about
	// a failed lookup ("relay_domains: hash:/x: table lookup problem").
	name  string
	items []matchItem
	// host selects domain matching (domain_list: relay_domains) rather
	// than plain string matching (string_list: mydestination, virtual
	// domains).
	host bool
	// parent makes "example.com" match its subdomains (the list's name
	// is in parent_domain_matches_subdomains); otherwise ".example.com"
	// does.
	parent bool
	open   opener
	warn   warnFunc
}

type matchItem struct {
	neg     bool
	pattern string
	table   maptypes.Table
}

// opener opens the tables of a list: open for a "type:name" pattern,
// missing for a "/file/name" that cannot be read (as Postfix, it stands
// in as table "non-existent:/file/name", whose lookups fail).
type opener interface {
	openTable(spec string) maptypes.Table
	missingFile(path string, err error) maptypes.Table
}

// isDictPattern says whether a pattern names a lookup table.
func isDictPattern(p string) bool {
	return !strings.HasPrefix(p, "[") && strings.IndexByte(p, ':') >= 0
}

func newMatchList(name, spec string, host, parent bool, open opener, warn warnFunc) *matchList {
	l := &matchList{name: name, host: host, parent: parent, open: open, warn: warn}
	l.parse(spec, warn, 0)
	if len(l.items) == 0 {
		return nil
	}
	return l
}

func (l *matchList) parse(spec string, warn warnFunc, depth int) {
	for _, p := range conf.SplitList(spec) {
		neg := false
		bare := p
		for strings.HasPrefix(bare, "!") {
			neg = !neg
			bare = bare[1:]
		}
		switch {
		case strings.HasPrefix(p, "/") && depth < 10:
			l.readFile(p, warn, depth)
		case isDictPattern(bare):
			l.items = append(l.items, matchItem{neg: neg, pattern: bare, table: l.open.openTable(bare)})
		default:
			l.items = append(l.items, matchItem{neg: neg, pattern: bare})
		}
	}
}

func (l *matchList) readFile(path string, warn warnFunc, depth int) {
	f, err := os.Open(path)
	if err != nil {
		l.items = append(l.items, matchItem{pattern: missingPrefix + path, table: l.open.missingFile(path, err)})
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		l.parse(line, warn, depth+1)
	}
}

// match reports whether name matches the list; err is a temporary table
// failure, logged as "LIST: TYPE:NAME: table lookup problem".
func (l *matchList) match(name string) (bool, error) {
	if l == nil {
		return false, nil
	}
	for _, it := range l.items {
		var ok bool
		var err error
		if l.host {
			ok, err = l.matchHost(it, name)
		} else {
			ok, err = matchString(it, name)
		}
		if err != nil {
			l.warn.gripe("%s: %s: table lookup problem", l.name, it.pattern)
			return false, err
		}
		if ok {
			return !it.neg, nil
		}
	}
	return false, nil
}

func matchString(it matchItem, s string) (bool, error) {
	if it.table != nil {
		_, ok, err := it.table.Lookup(asciiLower(s))
		return ok, err
	}
	return strings.EqualFold(s, it.pattern), nil
}

func (l *matchList) matchHost(it matchItem, name string) (bool, error) {
	if it.table != nil {
		key := asciiLower(name)
		for {
			_, ok, err := it.table.Lookup(key)
			if ok || err != nil {
				return ok, err
			}
			i := strings.IndexByte(key[1:], '.')
			if i < 0 {
				return false, nil
			}
			key = key[1+i:]
			if l.parent {
				key = key[1:]
			}
			if key == "" {
				return false, nil
			}
		}
	}
	p := it.pattern
	if strings.EqualFold(name, p) {
		return true, nil
	}
	if l.parent {
		if n := len(name) - len(p); n > 0 && name[n-1] == '.' && strings.EqualFold(name[n:], p) {
			return true, nil
		}
	} else if strings.HasPrefix(p, ".") {
		if n := len(name) - len(p); n > 0 && strings.EqualFold(name[n:], p) {
			return true, nil
		}
	}
	return false, nil
}

// asciiLower folds ASCII letters only, byte by byte, as Postfix's
// lowercase() does; other bytes (UTF-8 or not) stay as they are.
func asciiLower(s string) string {
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
