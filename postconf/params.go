package postconf

import (
	"errors"
	"sort"
	"strings"

	"github.com/postfix-go/postfix/conf"
	"github.com/postfix-go/postfix/internal/msg"
)

// Parameter classes, as -C names them.
const (
	classBuiltin = 1 << iota
	classService
	classUser
)

// known is one parameter postconf can show: its class and default.
type known struct {
	class int
	def   string
	// raw parameters are never $-expanded by postconf -x.
	raw bool
	// computed marks a machine-dependent default not worked out yet.
	computed bool
}

// table is everything postconf knows about main.cf parameters for one run.
type table struct {
	dir      string
	mainPath string
	// explicit are the values set in main.cf and by -o (and
	// config_directory for -c), by name.
	explicit map[string]string
	known    map[string]known
	readMain bool
	// computing is set while a machine-dependent default is worked out.
	computing bool
}

// def returns the default of a known parameter, computing it if need be.
// While a machine-dependent default is being computed, a reference to
// another one that is not computed yet is empty, as in Postfix (which
// fills them in one by one): mydomain = $myhostname gives myhostname
// "host." rather than a loop.
func (t *table) def(name string) string {
	k := t.known[name]
	if !k.computed {
		return k.def
	}
	if t.computing {
		return ""
	}
	t.computing = true
	var explicit func(string) (string, bool)
	if t.readMain {
		explicit = t.explicitExpanded
	}
	v, err := conf.ComputedDefaultFunc(name, t.expanded, explicit)
	t.computing = false
	if err != nil {
		msg.Fatal("%v", err)
	}
	k.def, k.computed = v, false
	t.known[name] = k
	return v
}

// raw returns the value of name as this run sees it: set (unless showing
// defaults) or default.
func (t *table) raw(name string) (string, bool) {
	if t.readMain {
		if v, ok := t.explicit[name]; ok {
			return v, true
		}
	}
	if _, ok := t.known[name]; !ok {
		return "", false
	}
	return t.def(name), true
}

// expanded returns the expanded value of name; an error is fatal.
func (t *table) expanded(name string) string {
	v, ok := t.raw(name)
	if !ok {
		return ""
	}
	x := &conf.Expander{Lookup: t.raw, Warn: func(s string) { msg.Warn("%s", s) }}
	r, err := x.Expand(v)
	if err != nil {
		fatalExpand(err)
	}
	return r
}

// explicitExpanded returns the expanded value of name when main.cf or -o
// sets it.
func (t *table) explicitExpanded(name string) (string, bool) {
	if _, ok := t.explicit[name]; !ok {
		return "", false
	}
	return t.expanded(name), true
}

// loadTable reads what the mode needs: main.cf unless showing defaults,
// master.cf always (for service-defined parameters).
func loadTable(o *Options, readMain bool) *table {
	t := &table{dir: o.ConfigDir, explicit: map[string]string{}, known: map[string]known{}}
	t.mainPath = conf.FilePath(t.dir, "main.cf")
	if readMain {
		f, err := conf.ReadMain(t.mainPath)
		if err != nil {
			if pe, ok := err.(*conf.ParseError); ok {
				msg.Fatal("%s", pe.Msg)
			}
			msg.Fatal("open %s: %s", t.mainPath, errText(err))
		}
		for _, w := range f.Warnings {
			msg.Warn("%s", w)
		}
		for _, e := range f.Entries {
			t.explicit[e.Name] = e.Value
		}
		if o.configDirGiven {
			t.explicit["config_directory"] = o.ConfigDir
		}
		for _, ov := range o.Overrides {
			name, value, e := conf.SplitNameValue(ov)
			if e != "" {
				msg.Fatal("invalid parameter override: %s: %s", ov, e)
			}
			t.explicit[name] = value
		}
	}
	for _, p := range conf.Params() {
		t.known[p.Name] = known{class: classBuiltin, def: p.Default, raw: p.Raw, computed: p.Computed}
	}
	t.readMain = readMain
	// Postfix works out the machine-dependent defaults at start-up, in
	// this order.
	order := []string{"mynetworks", "myhostname", "mydomain"}
	if !readMain {
		order = []string{"myhostname", "mydomain", "mynetworks"}
	}
	for _, name := range order {
		if _, set := t.explicit[name]; !set {
			t.def(name)
		}
	}
	masterValues := t.addServiceParams()
	if readMain {
		t.addUserParams(masterValues)
	}
	return t
}

// addServiceParams registers the parameters that master.cf services add,
// and returns the values of every master.cf -o setting.
func (t *table) addServiceParams() []string {
	path := conf.FilePath(t.dir, "master.cf")
	mf, err := conf.ReadMaster(path)
	if err != nil {
		msg.Warn("open %s: %s", path, errText(err))
		return nil
	}
	var values []string
	for _, e := range mf.Entries {
		for _, p := range e.Params {
			values = append(values, p.Value)
		}
		cmd := strings.Fields(e.Command)
		if len(cmd) == 0 {
			continue
		}
		for _, p := range conf.ServiceParams(e.Service, cmd[0]) {
			if _, ok := t.known[p.Name]; !ok {
				t.known[p.Name] = known{class: classService, def: p.Default}
			}
		}
		// A built-in parameter that a service also defines (for example
		// local_destination_recipient_limit) counts as the service's.
		if len(conf.ServiceParams(e.Service, cmd[0])) > 0 {
			for _, suffix := range []string{"_destination_concurrency_limit", "_destination_recipient_limit"} {
				if k, ok := t.known[e.Service+suffix]; ok && k.class == classBuiltin {
					k.class = classService
					t.known[e.Service+suffix] = k
				}
			}
		}
	}
	return values
}

// addUserParams registers user-defined parameters, reports undefined
// ones, and checks the values that Postfix evaluates, as postconf does:
//
//  1. Every main.cf and -o value is scanned, every branch of every
//     conditional, without recursing into the names it meets: each name
//     met is used, one that nothing defines is warned about, and a syntax
//     error is a warning. master.cf -o values mark names used, silently.
//  2. smtpd_restriction_classes is expanded and split; each class is used.
//  3. Every built-in or service parameter is expanded for real (computing
//     computed defaults); a value that cannot be expanded is fatal.
func (t *table) addUserParams(masterParams []string) {
	used := map[string]bool{}
	warned := map[string]bool{}
	warnUndefined := func(name string) {
		if !warned[name] {
			warned[name] = true
			msg.Warn("%s: undefined parameter: %s", t.mainPath, name)
		}
	}
	lookup := func(name string) (string, bool) {
		used[name] = true
		if v, ok := t.explicit[name]; ok {
			return v, true
		}
		if _, ok := t.known[name]; ok {
			return t.def(name), true
		}
		return "", false
	}
	warn := func(s string) { msg.Warn("%s", s) }
	scan := &conf.Expander{Lookup: lookup, Scan: true, NoRecurse: true, Warn: warn, Undefined: warnUndefined}
	for _, name := range t.explicitNames() {
		scan.Expand(t.explicit[name])
	}
	quiet := &conf.Expander{Lookup: lookup, Scan: true, NoRecurse: true}
	for _, v := range masterParams {
		quiet.Expand(v)
	}
	eval := &conf.Expander{Lookup: lookup, Warn: warn}
	if v, ok := t.explicit["smtpd_restriction_classes"]; ok {
		v, err := eval.Expand(v)
		if err != nil {
			fatalExpand(err)
		}
		for _, c := range conf.SplitList(v) {
			if _, ok := lookup(c); !ok {
				warnUndefined(c)
			}
		}
	}
	dbmsValues := make([]string, 0, len(t.explicit)+len(masterParams))
	for _, name := range t.explicitNames() {
		dbmsValues = append(dbmsValues, t.explicit[name])
	}
	t.addDbmsParams(append(dbmsValues, masterParams...))
	for name := range used {
		if _, ok := t.known[name]; ok {
			continue
		}
		if _, ok := t.explicit[name]; ok {
			t.known[name] = known{class: classUser}
		}
	}
	for _, name := range t.explicitNames() {
		k, ok := t.known[name]
		if !ok || k.class == classUser || k.raw {
			continue
		}
		if _, err := eval.Expand(t.explicit[name]); err != nil {
			fatalExpand(err)
		}
	}
}

// fatalExpand ends the run for a value that cannot be expanded, with
// Postfix's message.
func fatalExpand(err error) {
	var ce *conf.ConversionError
	if errors.As(err, &ce) {
		msg.Fatal("%s", ce.Error())
	}
	msg.Fatal("macro processing error")
}

// explicitNames returns the names set in main.cf or by -o, sorted.
func (t *table) explicitNames() []string {
	names := make([]string, 0, len(t.explicit))
	for n := range t.explicit {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// warnUnused warns about main.cf settings that no part of Postfix uses.
func (t *table) warnUnused() {
	for _, name := range t.explicitNames() {
		if _, ok := t.known[name]; !ok {
			msg.Warn("%s: unused parameter: %s=%s", t.mainPath, name, t.explicit[name])
		}
	}
}

// value returns the raw value postconf shows for name.
func (t *table) value(name string, defaults bool) string {
	if !defaults {
		if v, ok := t.explicit[name]; ok {
			return v
		}
	}
	return t.def(name)
}

// expand expands v against the table (defaults only under -d).
func (t *table) expand(v string, defaults bool) string {
	lookup := func(name string) (string, bool) {
		if !defaults {
			if v, ok := t.explicit[name]; ok {
				return v, true
			}
		}
		if _, ok := t.known[name]; !ok {
			return "", false
		}
		return t.def(name), true
	}
	x := &conf.Expander{Lookup: lookup, Warn: func(s string) { msg.Warn("%s", s) }}
	r, err := x.Expand(v)
	if err != nil {
		fatalExpand(err)
	}
	return r
}

func errText(err error) string {
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 {
		s = s[i+2:]
	}
	if len(s) > 0 {
		s = strings.ToUpper(s[:1]) + s[1:]
	}
	return s
}
