package main

import (
	"regexp"
	"sort"
	"strings"
)

// Param is one registry entry as the generator sees it.
type Param struct {
	Name, Default string
	// Type is "string", "bool", "int", "long", "time" or "list".
	Type string
	// Unit is the default time unit of a "time" parameter.
	Unit                    byte
	Computed, Raw, ReadOnly bool
}

var (
	digitsRe = regexp.MustCompile(`^[0-9]+$`)
	timeRe   = regexp.MustCompile(`^[0-9]+([smhdw])$`)
	refRe    = regexp.MustCompile(`^\$(?:([A-Za-z0-9_]+)|\{([A-Za-z0-9_]+)\}|\(([A-Za-z0-9_]+)\))$`)
	// A ${...} conditional; the branches are the {text} after '?' or ':'.
	branchRe = regexp.MustCompile(`[?:] *\{([^{}]*)\}`)
	// An optional unit letter after the final '}' of a conditional.
	condUnitRe = regexp.MustCompile(`^\$\{.*\}([smhdw]?)$`)
	// Phrases by which postconf(5) describes a list value.
	listPhrases = []string{
		"separated by comma", "separated by white", "separated by space",
		"whitespace or comma", "comma or whitespace", "comma or white space",
		"whitespace-separated", "whitespace separated", "comma-separated",
		"comma separated", "commas and/or whitespace", "whitespace and/or comma",
		"specify a list of", "a list of", "list of zero or more",
	}
	listSuffixes = []string{
		"_maps", "_restrictions", "_milters", "_checks", "_macros",
		"_classes", "_networks", "_exceptions", "_domains", "_hosts",
		"_clients", "_commands", "_keywords", "_options", "_exclude_ciphers",
		"_cert_match", "_workarounds", "_interfaces", "_destinations",
		"_curves", "_digests", "_sites", "_extensions", "_transports",
	}
)

// Infer types every parameter of defaults (name → "postconf -d" text) and
// applies the override, computed, raw and read-only tables.
func Infer(defaults map[string]string, sections map[string]Section) []Param {
	names := make([]string, 0, len(defaults))
	for n := range defaults {
		names = append(names, n)
	}
	sort.Strings(names)
	typed := make(map[string]Param, len(names))
	var resolve func(name string, depth int) Param
	resolve = func(name string, depth int) Param {
		if p, ok := typed[name]; ok {
			return p
		}
		p := Param{Name: name, Default: defaults[name]}
		p.Type, p.Unit = inferOne(name, p.Default, sections[name], func(ref string) (string, byte) {
			if _, ok := defaults[ref]; !ok || depth > 20 {
				return "", 0
			}
			r := resolve(ref, depth+1)
			return r.Type, r.Unit
		})
		typed[name] = p
		return p
	}
	out := make([]Param, 0, len(names))
	for _, n := range names {
		p := resolve(n, 0)
		p.Computed = computed[n]
		p.Raw = raw[n]
		p.ReadOnly = readOnly[n]
		out = append(out, p)
	}
	return out
}

// inferOne types one parameter. ref types a parameter that the default
// refers to ("" when unknown).
func inferOne(name, def string, sec Section, ref func(string) (string, byte)) (string, byte) {
	if o, ok := overrides[name]; ok {
		return o.typ, o.unit
	}
	if sec.Unit != 0 {
		return "time", sec.Unit
	}
	if t, u := shapeType(def, ref); t != "" {
		if t == "int" && longs[name] {
			t = "long"
		}
		return t, u
	}
	if isList(name, sec.Text) {
		return "list", 0
	}
	return "string", 0
}

// shapeType types a default by its form alone.
func shapeType(def string, ref func(string) (string, byte)) (string, byte) {
	switch {
	case def == "yes" || def == "no":
		return "bool", 0
	case digitsRe.MatchString(def):
		return "int", 0
	case timeRe.MatchString(def):
		return "time", def[len(def)-1]
	}
	if m := refRe.FindStringSubmatch(def); m != nil {
		return ref(m[1] + m[2] + m[3])
	}
	if strings.HasPrefix(def, "${") {
		return conditionalType(def, ref)
	}
	return "", 0
}

// conditionalType types ${name?{a}:{b}} and ${{x} op {y} ? {a} : {b}}
// forms by their branches: all yes/no is bool, all digits is int (time with
// a unit letter after the closing brace).
func conditionalType(def string, ref func(string) (string, byte)) (string, byte) {
	m := condUnitRe.FindStringSubmatch(def)
	if m == nil {
		return "", 0
	}
	var kinds []string
	for _, b := range branchRe.FindAllStringSubmatch(def, -1) {
		v := b[1]
		switch {
		case v == "yes" || v == "no":
			kinds = append(kinds, "bool")
		case digitsRe.MatchString(v):
			kinds = append(kinds, "int")
		case refRe.MatchString(v):
			// A reference to an unknown (legacy) name says nothing.
			if t, _ := shapeType(v, ref); t != "" {
				kinds = append(kinds, t)
			}
		default:
			return "", 0
		}
	}
	if len(kinds) == 0 {
		return "", 0
	}
	for _, k := range kinds[1:] {
		if k != kinds[0] {
			return "", 0
		}
	}
	switch {
	case kinds[0] == "int" && m[1] != "":
		return "time", m[1][0]
	case kinds[0] == "int" || kinds[0] == "bool":
		return kinds[0], 0
	}
	return "", 0
}

func isList(name, text string) bool {
	for _, s := range listSuffixes {
		if strings.HasSuffix(name, s) {
			return true
		}
	}
	t := strings.ToLower(text)
	// Only the opening of the entry describes the value itself.
	if len(t) > 600 {
		t = t[:600]
	}
	for _, p := range listPhrases {
		if strings.Contains(t, p) {
			return true
		}
	}
	return false
}
