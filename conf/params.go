package conf

// The parameter registry: every parameter Postfix 3.7 knows without reading
// master.cf, with the default text "postconf -d" prints and the type a
// daemon parses the value as. The table itself (params_gen.go) is generated
// from Debian's /usr/sbin/postconf and the postconf(5) manual page by
// conf/gen; regenerate it with "go generate ./conf" on a machine that has
// Postfix 3.7 installed.
//
// Parameters whose default Postfix computes on the running machine
// (myhostname, mydomain, mynetworks, process_id, process_name) carry
// Computed=true and an empty Default; ComputedDefault produces their value.
//
// master.cf adds per-service parameters on top of the built-in set: for a
// service running a delivery agent (smtp, lmtp, local, virtual, pipe, error)
// the service_* queue-manager knobs, and for pipe and spawn the
// service_time_limit; ServiceParams lists them.

//go:generate go run ./gen -o params_gen.go

import "sort"

// ParamType is how a daemon parses a parameter's value.
type ParamType int

// The parameter types.
const (
	// TypeString is free text (also paths, single map names, addresses).
	TypeString ParamType = iota
	// TypeBool is yes or no.
	TypeBool
	// TypeInt is a decimal integer that fits in a C int.
	TypeInt
	// TypeLong is a decimal integer that fits in a C long (sizes in bytes).
	TypeLong
	// TypeTime is a duration: a number with an optional unit letter
	// (s, m, h, d, w); Param.TimeUnit is the unit a bare number has.
	TypeTime
	// TypeList is a list of items separated by white space and/or commas.
	TypeList
)

var paramTypeNames = [...]string{"string", "bool", "int", "long", "time", "list"}

// String returns the type's lower-case name ("bool", "time", ...).
func (t ParamType) String() string {
	if t >= 0 && int(t) < len(paramTypeNames) {
		return paramTypeNames[t]
	}
	return "unknown"
}

// Param describes one parameter.
type Param struct {
	// Name is the parameter name.
	Name string
	// Default is the default exactly as "postconf -d" prints it, before $
	// expansion; empty for Computed parameters.
	Default string
	// Type is how the value is parsed.
	Type ParamType
	// Computed marks defaults Postfix computes at run time (ComputedDefault).
	Computed bool
	// TimeUnit is the unit of a bare number for TypeTime, otherwise 0.
	TimeUnit byte
	// Raw marks parameters whose value Postfix never $-expands (it expands
	// them later, per message, with its own variables).
	Raw bool
	// ReadOnly marks parameters that main.cf cannot set.
	ReadOnly bool
}

var paramIndex = func() map[string]int {
	m := make(map[string]int, len(builtinParams))
	for i, p := range builtinParams {
		m[p.Name] = i
	}
	return m
}()

// Params returns the built-in parameters sorted by name (a fresh copy).
func Params() []Param {
	out := make([]Param, len(builtinParams))
	copy(out, builtinParams)
	return out
}

// LookupParam returns the built-in parameter called name.
func LookupParam(name string) (Param, bool) {
	i, ok := paramIndex[name]
	if !ok {
		return Param{}, false
	}
	return builtinParams[i], true
}

// deliveryAgentSuffixes are the per-transport queue-manager parameters
// postconf defines for a master.cf service that runs a delivery agent, each
// with the global parameter its default refers to.
var deliveryAgentSuffixes = [][2]string{
	{"_delivery_slot_cost", "default_delivery_slot_cost"},
	{"_delivery_slot_discount", "default_delivery_slot_discount"},
	{"_delivery_slot_loan", "default_delivery_slot_loan"},
	{"_destination_concurrency_failed_cohort_limit", "default_destination_concurrency_failed_cohort_limit"},
	{"_destination_concurrency_limit", "default_destination_concurrency_limit"},
	{"_destination_concurrency_negative_feedback", "default_destination_concurrency_negative_feedback"},
	{"_destination_concurrency_positive_feedback", "default_destination_concurrency_positive_feedback"},
	{"_destination_rate_delay", "default_destination_rate_delay"},
	{"_destination_recipient_limit", "default_destination_recipient_limit"},
	{"_extra_recipient_limit", "default_extra_recipient_limit"},
	{"_initial_destination_concurrency", "initial_destination_concurrency"},
	{"_minimum_delivery_slots", "default_minimum_delivery_slots"},
	{"_recipient_limit", "default_recipient_limit"},
	{"_recipient_refill_delay", "default_recipient_refill_delay"},
	{"_recipient_refill_limit", "default_recipient_refill_limit"},
	{"_transport_rate_delay", "default_transport_rate_delay"},
}

// ServiceParams returns, sorted by name, the parameters that a master.cf
// service called service running command (the first word of master.cf's
// command field) adds to the built-in set, as postconf does: the
// service_*_limit, _delay and _slot parameters for the delivery agents smtp,
// lmtp, local, virtual, pipe and error, and service_time_limit for pipe and
// spawn. Names that are already built in (local_destination_recipient_limit
// for example) are left out; they keep their built-in default.
func ServiceParams(service, command string) []Param {
	var out []Param
	add := func(name, ref string) {
		if _, builtin := paramIndex[name]; builtin {
			return
		}
		p := Param{Name: name, Default: "$" + ref}
		if r, ok := LookupParam(ref); ok {
			p.Type, p.TimeUnit = r.Type, r.TimeUnit
		}
		out = append(out, p)
	}
	// postconf matches the bare command name only, not a path to it.
	switch command {
	case "smtp", "lmtp", "local", "virtual", "pipe", "error":
		for _, s := range deliveryAgentSuffixes {
			add(service+s[0], s[1])
		}
	}
	switch command {
	case "pipe", "spawn":
		add(service+"_time_limit", "command_time_limit")
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
