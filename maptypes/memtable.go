package maptypes

import (
	"strings"
)

// memTable is a read-only table held in memory (texthash, inline).
type memTable struct {
	m     map[string]string
	keys  []string // insertion order, for Sequence
	flags OpenFlags
	path  string // source file, for Changed; "" when none
	stat  fileID
}

func newMemTable(flags OpenFlags) *memTable {
	return &memTable{m: map[string]string{}, flags: flags}
}

// put adds key unless it is there; it reports a duplicate.
func (t *memTable) put(key, value string) bool {
	key = fixedFold(key, t.flags)
	if _, dup := t.m[key]; dup {
		if t.flags&DupReplace != 0 {
			t.m[key] = value
		}
		return true
	}
	t.m[key] = value
	t.keys = append(t.keys, key)
	return false
}

func (t *memTable) Lookup(key string) (string, bool, error) {
	v, ok := t.m[fixedFold(key, t.flags)]
	return v, ok, nil
}

func (t *memTable) Sequence(fn func(key, value string) bool) error {
	for _, k := range t.keys {
		if !fn(k, t.m[k]) {
			break
		}
	}
	return nil
}

func (t *memTable) Changed() bool { return t.path != "" && changedSince(t.path, t.stat) }

func (t *memTable) Close() error { return nil }

// splitBraced splits "{a, {b c}, d}" style lists: items are separated by
// commas and white space, and an item in braces keeps its inner white
// space (trimmed). ok is false when the braces do not balance.
func splitBraced(s string) (items []string, ok bool) {
	i := 0
	for i < len(s) {
		c := s[i]
		if c == ',' || isBlank(c) {
			i++
			continue
		}
		if c == '{' {
			depth, j := 0, i
			for ; j < len(s); j++ {
				if s[j] == '{' {
					depth++
				} else if s[j] == '}' {
					depth--
					if depth == 0 {
						break
					}
				}
			}
			if j >= len(s) {
				return nil, false
			}
			items = append(items, strings.TrimSpace(s[i+1:j]))
			i = j + 1
			continue
		}
		j := i
		for j < len(s) && s[j] != ',' && !isBlank(s[j]) {
			j++
		}
		items = append(items, s[i:j])
		i = j
	}
	return items, true
}

// innerBraces returns the text between an outer pair of braces.
func innerBraces(name string) (string, bool) {
	name = strings.TrimSpace(name)
	if len(name) < 2 || name[0] != '{' || name[len(name)-1] != '}' {
		return "", false
	}
	return name[1 : len(name)-1], true
}
