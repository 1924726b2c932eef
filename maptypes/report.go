package maptypes

import (
	"errors"
	"fmt"
)

// What Postfix daemons log about their tables, besides what each table
// type says itself (checked against Debian's smtpd 3.7 in smtpd/check):
//
//   - a table that cannot be opened is logged once, when the daemon opens
//     it, as "error: WHY" ("error: open database /etc/postfix/access.db:
//     No such file or directory"); the daemon keeps running with a stand-in
//     whose every lookup logs "warning: TYPE:NAME is unavailable. WHY" and
//     fails temporarily (Unavailable, OpenOrUnavailable);
//   - a lookup that fails (a stand-in, a tcp or memcache server that does
//     not answer) is followed by "warning: TYPE:NAME lookup error for
//     "KEY"" (Reported);
//   - a lookup that finds an empty value is a configuration error, logged
//     as "warning: TITLE lookup of KEY returns an empty string result" and
//     "warning: TITLE should return NO RESULT in case of NOT FOUND", where
//     TITLE is the main.cf parameter that lists the table
//     (virtual_alias_maps) or, for an access table named in a restriction,
//     the table itself (Reported, ErrConfig).

// ErrConfig marks a lookup that failed because of the table's contents
// (an empty value): the caller answers as for a configuration error
// (smtpd: "451 4.3.5 Server configuration error"), not "try again".
var ErrConfig = errors.New("table configuration error")

// Logf is a printf-style logging function (maillog.Warn, msg.Error ...).
type Logf func(format string, args ...any)

// Unavailable returns the stand-in for the table spec that could not be
// opened because of why: each lookup logs "SPEC is unavailable. WHY"
// through warn and fails temporarily (ErrRetry).
func Unavailable(spec string, why error, warn Logf) Table {
	return &unavailable{spec: spec, why: why.Error(), warn: warn}
}

type unavailable struct {
	spec, why string
	warn      Logf
}

func (u *unavailable) Lookup(string) (string, bool, error) {
	u.warn("%s is unavailable. %s", u.spec, u.why)
	return "", false, fmt.Errorf("%w: %s is unavailable. %s", ErrRetry, u.spec, u.why)
}

func (*unavailable) Close() error { return nil }

// OpenOrUnavailable opens spec with flags as a daemon does: when the
// table cannot be opened it logs why through errorf (Postfix's "error:"
// line) and returns Unavailable's stand-in, which warns through warn.
func OpenOrUnavailable(spec string, flags OpenFlags, errorf, warn Logf) Table {
	t, err := Open(spec, flags)
	if err != nil {
		errorf("%s", err)
		return Unavailable(spec, err, warn)
	}
	return t
}

// Reported wraps t, opened from spec, so that its lookups log as
// Postfix's table searches do: a failed lookup is followed by
// "SPEC lookup error for "KEY"", and an empty value is logged under
// title and returned as an error that wraps ErrConfig.
func Reported(t Table, spec, title string, warn Logf) Table {
	return &reported{t: t, spec: spec, title: title, warn: warn}
}

type reported struct {
	t           Table
	spec, title string
	warn        Logf
}

func (r *reported) Lookup(key string) (string, bool, error) {
	v, ok, err := r.t.Lookup(key)
	if err != nil {
		r.warn("%s lookup error for \"%s\"", r.spec, key)
		return "", false, err
	}
	if ok && v == "" {
		r.warn("%s lookup of %s returns an empty string result", r.title, key)
		r.warn("%s should return NO RESULT in case of NOT FOUND", r.title)
		return "", false, fmt.Errorf("%w: %s lookup of %s returns an empty string result", ErrConfig, r.title, key)
	}
	return v, ok, nil
}

// Close closes the wrapped table.
func (r *reported) Close() error { return r.t.Close() }
