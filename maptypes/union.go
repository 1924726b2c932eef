package maptypes

import (
	"errors"
	"strings"
)

// unionmap:{type:name ...} returns the comma-joined results of all its
// tables; pipemap:{type:name ...} feeds each result to the next table.

func init() {
	Register("unionmap", func(name string, flags OpenFlags) (Table, error) { return openComposite("unionmap", name, flags) })
	Register("pipemap", func(name string, flags OpenFlags) (Table, error) { return openComposite("pipemap", name, flags) })
}

type compositeTable struct {
	pipe   bool
	tables []Table
}

func openComposite(typ, name string, flags OpenFlags) (Table, error) {
	bad := errors.New("bad syntax: \"" + typ + ":" + name + "\"; need \"" + typ + ":{type:name...}\"")
	inner, ok := innerBraces(name)
	if !ok {
		return nil, bad
	}
	specs, ok := splitBraced(inner)
	if !ok || len(specs) == 0 || (typ == "pipemap" && len(specs) < 2 && false) {
		return nil, bad
	}
	t := &compositeTable{pipe: typ == "pipemap"}
	for _, s := range specs {
		sub, err := Open(s, flags&^Write)
		if err != nil {
			t.Close()
			return nil, err
		}
		t.tables = append(t.tables, sub)
	}
	return t, nil
}

func (t *compositeTable) Lookup(key string) (string, bool, error) {
	if t.pipe {
		for _, sub := range t.tables {
			v, ok, err := sub.Lookup(key)
			if err != nil || !ok {
				return "", false, err
			}
			key = v
		}
		return key, true, nil
	}
	var out []string
	for _, sub := range t.tables {
		v, ok, err := sub.Lookup(key)
		if err != nil {
			return "", false, err
		}
		if ok {
			out = append(out, v)
		}
	}
	if len(out) == 0 {
		return "", false, nil
	}
	return strings.Join(out, ","), true, nil
}

func (t *compositeTable) Changed() bool {
	for _, sub := range t.tables {
		if w, ok := sub.(Watcher); ok && w.Changed() {
			return true
		}
	}
	return false
}

func (t *compositeTable) Close() error {
	for _, sub := range t.tables {
		sub.Close()
	}
	return nil
}
