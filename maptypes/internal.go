package maptypes

import (
	"sort"
	"sync"
)

// internal:NAME is Postfix's in-process table: it starts empty, lives as
// long as the process that opened it, and takes updates and deletions
// from that process only. Each Open returns a new, empty table. postmap
// and postalias cannot build one (there is no file), which they report
// as Postfix does.

func init() {
	Register("internal", openInternal)
	registerFixed("internal")
}

// internalTable is an in-memory table that accepts updates.
type internalTable struct {
	mu    sync.RWMutex
	m     map[string]string
	flags OpenFlags
}

func openInternal(_ string, flags OpenFlags) (Table, error) {
	return &internalTable{m: map[string]string{}, flags: flags}, nil
}

func (t *internalTable) Lookup(key string) (string, bool, error) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	v, ok := t.m[fixedFold(key, t.flags)]
	return v, ok, nil
}

// Update stores key=value. As in Postfix, a new value replaces an old
// one; dup reports that there was one.
func (t *internalTable) Update(key, value string) (dup bool, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	key = fixedFold(key, t.flags)
	_, dup = t.m[key]
	t.m[key] = value
	return dup, nil
}

// Delete removes key and reports whether it was there.
func (t *internalTable) Delete(key string) (bool, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	key = fixedFold(key, t.flags)
	_, ok := t.m[key]
	delete(t.m, key)
	return ok, nil
}

// Sequence lists the entries in key order (Postfix's order is that of
// its hash table, which nothing may rely on).
func (t *internalTable) Sequence(fn func(key, value string) bool) error {
	t.mu.RLock()
	entries := make([][2]string, 0, len(t.m))
	for k, v := range t.m {
		entries = append(entries, [2]string{k, v})
	}
	t.mu.RUnlock()
	sort.Slice(entries, func(i, j int) bool { return entries[i][0] < entries[j][0] })
	for _, e := range entries {
		if !fn(e[0], e[1]) {
			break
		}
	}
	return nil
}

func (t *internalTable) Close() error { return nil }
