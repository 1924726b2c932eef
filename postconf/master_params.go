package postconf

// Parameter knowledge for the master.cf modes: $name expansion of -o
// values in a service's context, and the "undefined parameter" and
// "unused parameter" warnings about master.cf -o settings.

import (
	"strings"

	"github.com/postfix-go/postfix/conf"
	"github.com/postfix-go/postfix/internal/msg"
)

// masterScope is what the master.cf modes know about parameters.
type masterScope struct {
	t    *table
	mf   *conf.MasterFile
	path string
	// refs are the names that main.cf values and master.cf -o values refer
	// to; such names count as used.
	refs map[string]bool
	// params are the -o settings per service/type: Postfix keeps one set
	// for all entries with the same name (later settings win); order is
	// the order in which names first appear.
	params map[string]map[string]string
	order  map[string][]string
}

// paramsOf returns the -o settings that apply to e.
func (ms *masterScope) paramsOf(e *conf.MasterEntry) map[string]string {
	return ms.params[e.Name()]
}

func newMasterScope(t *table, mf *conf.MasterFile) *masterScope {
	ms := &masterScope{t: t, mf: mf, path: mf.Path, refs: map[string]bool{},
		params: map[string]map[string]string{}, order: map[string][]string{}}
	for _, e := range mf.Entries {
		m := ms.params[e.Name()]
		if m == nil {
			m = map[string]string{}
			ms.params[e.Name()] = m
		}
		for _, p := range e.Params {
			if _, ok := m[p.Name]; !ok {
				ms.order[e.Name()] = append(ms.order[e.Name()], p.Name)
			}
			m[p.Name] = p.Value
		}
	}
	for _, v := range t.explicit {
		for _, r := range conf.References(v) {
			ms.refs[r] = true
		}
	}
	for _, e := range mf.Entries {
		for _, p := range e.Params {
			for _, r := range conf.References(p.Value) {
				ms.refs[r] = true
			}
		}
	}
	return ms
}

// warnUndefined warns about names that -o values refer to but that
// nothing defines: not built in, not a service parameter, not set in
// main.cf and not set by the same service.
func (ms *masterScope) warnUndefined() {
	seen := map[string]bool{}
	for _, e := range ms.mf.Entries {
		own := ms.paramsOf(e)
		for _, p := range e.Params {
			for _, r := range conf.References(p.Value) {
				if seen[r] {
					continue
				}
				if _, ok := ms.t.known[r]; ok {
					continue
				}
				if _, ok := ms.t.explicit[r]; ok {
					continue
				}
				if _, ok := own[r]; ok {
					continue
				}
				seen[r] = true
				msg.Warn("%s: undefined parameter: %s", ms.path, r)
			}
		}
	}
}

// warnUnused warns about -o settings whose name no part of Postfix uses.
// Postfix prints these in hash-table order; we use file order.
func (ms *masterScope) warnUnused() {
	for _, e := range ms.mf.Entries {
		vals := ms.paramsOf(e)
		for _, name := range ms.order[e.Name()] {
			if _, ok := ms.t.known[name]; ok || ms.refs[name] {
				continue
			}
			msg.Warn("%s: unused parameter: %s=%s", ms.path, name, vals[name])
		}
	}
}

// expand expands value as the daemon of entry e would see it: the
// entry's -o settings first, then main.cf and -o overrides, then the
// defaults.
func (ms *masterScope) expand(e *conf.MasterEntry, value string) string {
	own := ms.paramsOf(e)
	lookup := func(name string) (string, bool) {
		if v, ok := own[name]; ok {
			return v, true
		}
		if name == "service_name" {
			return e.Service, true
		}
		if v, ok := ms.t.explicit[name]; ok {
			return v, true
		}
		if _, ok := ms.t.known[name]; !ok {
			return "", false
		}
		return ms.t.def(name), true
	}
	x := &conf.Expander{
		Lookup: lookup,
		Warn:   func(s string) { msg.Warn("%s", s) },
	}
	r, err := x.Expand(value)
	if err != nil {
		msg.Fatal("macro processing error")
	}
	return r
}

// expandArgv returns argv with the value of each -o option among the
// daemon options expanded.
func (ms *masterScope) expandArgv(e *conf.MasterEntry, argv []string) []string {
	out := append([]string(nil), argv...)
	for i := 8; i < len(out); i++ {
		a := out[i]
		if a == "" || a[0] != '-' || a == "--" {
			break
		}
		if (a == "-" || strings.HasPrefix(a, "-o")) && i+1 < len(out) {
			if a == "-o" {
				out[i+1] = ms.expand(e, out[i+1])
			}
			i++
		}
	}
	return out
}
