package maptypes

import (
	"errors"
	"sort"
	"strings"

	"github.com/postfix-go/postfix/conf"
)

// inline:{...} is a fixed-string table written in its own name, as
// Postfix 3.7 reads it (checked against Debian's postmap -q):
//
//   - the name is one brace group: it starts with "{" and the brace that
//     closes it is its last byte, else "bad syntax" (nothing inside,
//     "inline:{}", is bad syntax too);
//   - inside, entries are separated by commas and white space; braces
//     group, so "{key = a value}" is one entry, and a brace group must
//     make up the whole entry ("syntax error after '}' in ..." when text
//     follows it); no entry at all is an "empty table";
//   - an entry is "name=value": the name runs to the first blank or "=",
//     so it cannot hold a space ("{a b=c}" is "missing '=' after
//     attribute name"), the value is the rest with surrounding blanks
//     removed; an empty brace group is "no key found";
//   - a key given twice keeps its last value.
//
// Every error names the whole table and the form it should have.

func init() {
	Register("inline", openInline)
	registerFixed("inline")
}

// inlineBlank is the white space around names, "=" and values.
const inlineBlank = " \t\r\n"

func openInline(name string, flags OpenFlags) (Table, error) {
	fail := func(why string) error {
		return errors.New(why + ": \"inline:" + name + "\"; need \"inline:{name=value...}\"")
	}
	if len(name) < 3 || name[0] != '{' || braceEnd(name) != len(name)-1 {
		return nil, fail("bad syntax")
	}
	inner := name[1 : len(name)-1]
	// A later entry replaces an earlier one with the same key.
	t := newMemTable(flags | DupReplace)
	n := 0
	for _, entry := range conf.SplitList(inner) {
		if entry[0] == '{' {
			end := braceEnd(entry)
			if end != len(entry)-1 {
				return nil, fail("syntax error after '}' in \"" + entry + "\"")
			}
			entry = entry[1:end]
			if strings.Trim(entry, inlineBlank) == "" {
				return nil, fail("no key found; expected format: key = value")
			}
		}
		key, value, ok := splitInlineEntry(entry)
		if !ok {
			return nil, fail("missing '=' after attribute name")
		}
		t.put(key, value)
		n++
	}
	if n == 0 {
		return nil, fail("empty table")
	}
	// Postfix lists an inline table in hash order; a sorted order is
	// as good and stable.
	sort.Strings(t.keys)
	return t, nil
}

// splitInlineEntry splits "name = value": the name ends at a blank or
// "=", and only blanks may come between it and the "=".
func splitInlineEntry(s string) (key, value string, ok bool) {
	s = strings.TrimLeft(s, inlineBlank)
	end := strings.IndexAny(s, inlineBlank+"=")
	if end < 0 {
		return "", "", false
	}
	key = s[:end]
	rest := strings.TrimLeft(s[end:], inlineBlank)
	if !strings.HasPrefix(rest, "=") {
		return "", "", false
	}
	return key, strings.Trim(rest[1:], inlineBlank), true
}
