package maptypes

import (
	"errors"
	"math/rand/v2"
	"os"
	"strings"
)

// static, randmap, environ and fail: tables that need no file.

func init() {
	Register("static", openStatic)
	Register("randmap", openRandmap)
	Register("environ", openEnviron)
	registerFixed("environ")
	Register("fail", openFail)
	RegisterCreator("fail", func(name string, _ OpenFlags) (Builder, error) { return failTable{name}, nil })
}

// staticTable returns its name for every key.
type staticTable struct{ value string }

func openStatic(name string, _ OpenFlags) (Table, error) {
	if strings.HasPrefix(name, "{") {
		if !strings.HasSuffix(name, "}") {
			return nil, errors.New("bad static:name syntax: missing '}' in \"" + name + "\"")
		}
		name = strings.TrimSpace(name[1 : len(name)-1])
	}
	return staticTable{name}, nil
}

func (t staticTable) Lookup(string) (string, bool, error) { return t.value, true, nil }
func (t staticTable) Close() error                        { return nil }

// randTable returns one of its values at random for every key.
type randTable struct{ values []string }

func openRandmap(name string, _ OpenFlags) (Table, error) {
	bad := errors.New("bad syntax: \"randmap:" + name + "\"; need \"randmap:{value...}\"")
	inner, ok := innerBraces(name)
	if !ok {
		return nil, bad
	}
	vals, ok := splitBraced(inner)
	if !ok || len(vals) == 0 {
		return nil, bad
	}
	return randTable{vals}, nil
}

func (t randTable) Lookup(string) (string, bool, error) {
	return t.values[rand.IntN(len(t.values))], true, nil
}
func (t randTable) Close() error { return nil }

// environTable looks keys up in the process environment.
type environTable struct{ flags OpenFlags }

func openEnviron(_ string, flags OpenFlags) (Table, error) { return environTable{flags}, nil }

func (t environTable) Lookup(key string) (string, bool, error) {
	v, ok := os.LookupEnv(fixedFold(key, t.flags))
	return v, ok, nil
}
func (t environTable) Close() error { return nil }

// failTable fails every request with a temporary error.
type failTable struct{ name string }

func openFail(name string, _ OpenFlags) (Table, error) { return failTable{name}, nil }

var errFail = retryf("Application error")

func (t failTable) Lookup(string) (string, bool, error) { return "", false, errFail }
func (t failTable) Update(string, string) (bool, error) { return false, errFail }
func (t failTable) Delete(string) (bool, error)         { return false, errFail }
func (t failTable) Add(string, string) (bool, error)    { return false, errFail }
func (t failTable) Commit() error                       { return nil }
func (t failTable) Abort()                              {}
func (t failTable) Label() string                       { return t.name }
func (t failTable) Close() error                        { return nil }
