// Package maptypes holds Postfix's lookup tables: one Table interface for
// every type, a registry of types by name, "type:name" parsing, the reader
// for postmap(1) source files, the search orders that Postfix daemons use
// when they query a table with an address, a domain or a client, and the
// access(5) result grammar.
//
// A missing key is ("", false, nil). An error for which errors.Is(err,
// ErrRetry) holds means "try again later": callers must turn it into a 4xx
// reply or a deferral, never into "not listed". Any other error from Open
// is a configuration error.
//
// Types provided here: hash, btree and lmdb (all three stored in a bbolt
// file: NAME.db for hash and btree, NAME.lmdb for lmdb), cdb (the real
// constant-database format, readable by Postfix), texthash, inline, static,
// unionmap, pipemap, randmap, environ, fail, unix (passwd.byname and
// group.byname), socketmap, tcp, internal (an in-process table), nis
// (disabled without a NIS domain name) and memcache (memcache_table(5),
// whose client reads its own settings file or main.cf parameters; see
// memcache.go), and the pattern tables regexp, pcre and cidr, read from a
// source file or, when the name starts with "{", from the name itself
// ("regexp:{ {/re/ result}, {/re2/ result2} }", Postfix 3.7's inline
// form; see pattern_inline.go). "proxy:TYPE:NAME" is read through
// proxymap(8) when its socket exists, else opened directly (proxy.go).
// Tables that can be rewritten by postmap(1) offer optional
// interfaces: Updater, Deleter, Sequencer, and Watcher for daemons that
// must notice a rebuilt file. Daemons log failing tables as Postfix's do
// through report.go: OpenOrUnavailable (an "error:" line and a stand-in
// that fails temporarily) and Reported ("lookup error for" lines, and an
// empty value turned into ErrConfig).
//
// This package reads no main.cf parameters itself; callers pass what
// matters (case folding, null termination, UTF-8 checks) in OpenFlags.
// The exception is a memcache table named without a leading "/" or ".":
// like Postfix's other database clients it then reads NAME_memcache,
// NAME_ttl ... from main.cf (MainConfig).
package maptypes

import (
	"errors"
	"sort"
	"strings"
	"sync"
)

// ErrRetry marks a temporary lookup failure (a table that cannot be read,
// a server that does not answer).
var ErrRetry = errors.New("temporary lookup table failure")

// ErrNotSupported is returned (wrapped) by operations that a table type
// does not implement, such as listing a cdb table.
var ErrNotSupported = errors.New("operation is not supported")

// Table is an open lookup table of any type.
type Table interface {
	// Lookup returns the value for key, found=false when there is none,
	// and an error that wraps ErrRetry on a temporary failure.
	Lookup(key string) (value string, found bool, err error)
	// Close releases the table.
	Close() error
}

// Opener opens the table named name (the part after "type:").
type Opener func(name string, flags OpenFlags) (Table, error)

// OpenFlags say how a table is opened and how keys are matched.
type OpenFlags uint32

// Flags for Open and Create.
const (
	// FoldFixed folds lookup keys to lower case in fixed-string tables
	// (hash, btree, lmdb, cdb, texthash, inline ...): Postfix's default.
	FoldFixed OpenFlags = 1 << iota
	// FoldPattern folds the subject string before pattern matching
	// (regexp, pcre). Pattern tables normally leave case to each pattern.
	FoldPattern
	// TryNull1 looks up and stores keys and values with a terminating
	// null byte (postmap -N).
	TryNull1
	// TryNull0 looks up and stores keys and values without a terminating
	// null byte (postmap -n). With neither flag both forms are tried.
	TryNull0
	// UTF8 requires valid UTF-8 keys and values and folds case with full
	// Unicode case folding (smtputf8_enable = yes).
	UTF8
	// Write opens an existing table for updates (Updater, Deleter).
	Write
	// DupReplace makes Add and Update replace an existing entry silently
	// (postmap -r).
	DupReplace
	// DupIgnore makes Add and Update keep an existing entry without a
	// warning (postmap -w). With neither flag a duplicate keeps the
	// first entry and the caller warns.
	DupIgnore
	// Incremental makes Create add to an existing table instead of
	// replacing it (postmap -i).
	Incremental
	// Regular is set by callers that want fixed tables only (no effect on
	// the types in this package; pattern types may use it).
	Regular
)

// Default holds the flags Postfix commands use when they have no options:
// fold fixed keys, try both null forms, UTF-8 on.
const Default = FoldFixed | UTF8

// Updater is a table that accepts new entries (opened with Write).
type Updater interface {
	// Update stores key=value. It returns dup=true when key was already
	// present; the old value then stays unless the table was opened with
	// DupReplace.
	Update(key, value string) (dup bool, err error)
}

// Deleter is a table from which entries can be removed (opened with
// Write).
type Deleter interface {
	// Delete removes key and reports whether it was there.
	Delete(key string) (found bool, err error)
}

// Sequencer is a table whose entries can be listed.
type Sequencer interface {
	// Sequence calls fn for each entry in table order until fn returns
	// false.
	Sequence(fn func(key, value string) bool) error
}

// Watcher is a file-based table that can tell when its file was replaced
// or modified after it was opened; a daemon then exits and is restarted,
// as Postfix daemons are.
type Watcher interface {
	Changed() bool
}

// Builder is a table that is being written by postmap(1) or postalias(1).
// Nothing is visible to readers before Commit.
type Builder interface {
	// Add stores key=value. dup reports that key was already present; see
	// DupReplace and DupIgnore for what is then stored.
	Add(key, value string) (dup bool, err error)
	// Commit makes the table visible atomically and releases it.
	Commit() error
	// Abort discards the work and releases the table.
	Abort()
	// Label names the table in duplicate-entry warnings as Postfix
	// does ("NAME.db" for hash, "NAME" for cdb).
	Label() string
}

// Creator starts building the table named name. name is the source file
// name (without the .db/.cdb suffix).
type Creator func(name string, flags OpenFlags) (Builder, error)

var (
	regMu    sync.RWMutex
	registry = map[string]Opener{}
	creators = map[string]Creator{}
	fixed    = map[string]bool{}
)

// Register makes a table type available under typ. It panics on a second
// registration of the same name (a programming error).
func Register(typ string, open Opener) {
	regMu.Lock()
	defer regMu.Unlock()
	if _, dup := registry[typ]; dup {
		panic("maptypes: type registered twice: " + typ)
	}
	registry[typ] = open
}

// RegisterCreator makes typ buildable by postmap(1).
func RegisterCreator(typ string, c Creator) {
	regMu.Lock()
	defer regMu.Unlock()
	creators[typ] = c
}

// registerFixed records that typ matches fixed strings (keys are folded by
// FoldFixed), as opposed to patterns.
func registerFixed(typ string) {
	regMu.Lock()
	defer regMu.Unlock()
	fixed[typ] = true
}

// IsFixed reports whether typ is a fixed-string table type (hash, cdb ...)
// rather than a pattern type (regexp, pcre, cidr).
func IsFixed(typ string) bool {
	regMu.RLock()
	defer regMu.RUnlock()
	return fixed[typ]
}

// Types returns the names of all registered types, sorted.
func Types() []string {
	regMu.RLock()
	defer regMu.RUnlock()
	var out []string
	for t := range registry {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// SplitSpec splits "type:name" into its parts. A spec without a colon gets
// defType (Postfix's default_database_type) as its type.
func SplitSpec(spec, defType string) (typ, name string) {
	if i := strings.IndexByte(spec, ':'); i > 0 {
		return spec[:i], spec[i+1:]
	}
	return defType, spec
}

// unproxy strips "proxy:" wrappers: the table behind them (what Create
// builds in process, and what proxymap opens).
func unproxy(typ, name string) (string, string) {
	for typ == "proxy" {
		t, n := SplitSpec(name, "")
		if t == "" {
			break
		}
		typ, name = t, n
	}
	return typ, name
}

// Open opens the table "type:name". The error text follows Postfix's
// wording.
func Open(spec string, flags OpenFlags) (Table, error) {
	typ, name := SplitSpec(spec, "")
	if typ == "" {
		return nil, errors.New("open dictionary: expecting \"type:name\" form instead of \"" + spec + "\"")
	}
	return OpenType(typ, name, flags)
}

// OpenType opens the table name of type typ. A "proxy" table is read
// through proxymap(8) when this system runs one (see proxy.go).
func OpenType(typ, name string, flags OpenFlags) (Table, error) {
	if typ == "proxy" {
		if t, n := unproxy(typ, name); t != "proxy" {
			return openProxy(t+":"+n, flags)
		}
	}
	typ, name = unproxy(typ, name)
	if name == "" {
		return nil, errors.New("open dictionary: expecting \"type:name\" form instead of \"" + typ + ":\"")
	}
	regMu.RLock()
	open := registry[typ]
	regMu.RUnlock()
	if open == nil {
		return nil, errors.New("unsupported dictionary type: " + typ)
	}
	return open(name, flags)
}

// Create starts building the table name of type typ (postmap, postalias).
func Create(typ, name string, flags OpenFlags) (Builder, error) {
	typ, name = unproxy(typ, name)
	regMu.RLock()
	c := creators[typ]
	_, known := registry[typ]
	regMu.RUnlock()
	if c == nil {
		if !known {
			return nil, errors.New("unsupported dictionary type: " + typ + ". Is the postfix-" + typ + " package installed?")
		}
		return nil, errors.New("unsupported dictionary type: " + typ + " does not support bulk-mode creation.")
	}
	return c(name, flags)
}

// ExactAdder is a Builder that can store a key without case folding
// (postalias's YP_LAST_MODIFIED and YP_MASTER_NAME entries).
type ExactAdder interface {
	AddExact(key, value string) (dup bool, err error)
}
