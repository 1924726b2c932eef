package maptypes

import (
	"errors"
	"sync"
	"syscall"
)

// nis:MAP looks keys up in a NIS (YP) map. On a host without a NIS
// domain name (none set, or "(none)") Postfix disables NIS with one
// warning per process and every lookup finds nothing; so do we. Where a
// NIS domain is set, lookups fail as temporary errors: this project does
// not speak the YP RPC protocol (doc/DIFFERENCES.md). A nis table is
// read-only and cannot be listed.

func init() {
	Register("nis", openNIS)
	registerFixed("nis")
}

// nisDomain returns the host's NIS domain name, "" when none is set. It
// is a variable so that tests can pretend a domain is set.
var nisDomain = func() string {
	var u syscall.Utsname
	if err := syscall.Uname(&u); err != nil {
		return ""
	}
	var b []byte
	for _, c := range u.Domainname {
		if c == 0 {
			break
		}
		b = append(b, byte(c))
	}
	if s := string(b); s != "(none)" {
		return s
	}
	return ""
}

var nisInit struct {
	once   sync.Once
	domain string
}

type nisTable struct {
	name   string
	domain string
}

func openNIS(name string, flags OpenFlags) (Table, error) {
	if flags&Write != 0 {
		return nil, errors.New("nis:" + name + " map requires O_RDONLY access mode")
	}
	nisInit.once.Do(func() {
		nisInit.domain = nisDomain()
		if nisInit.domain == "" {
			Warn("dict_nis_init: NIS domain name not set - NIS lookups disabled")
		}
	})
	return &nisTable{name: name, domain: nisInit.domain}, nil
}

func (t *nisTable) Lookup(string) (string, bool, error) {
	if t.domain == "" {
		return "", false, nil
	}
	return "", false, retryf("nis:" + t.name + ": NIS domain " + t.domain + " is set, but NIS (YP RPC) lookups are not implemented")
}

func (t *nisTable) Close() error { return nil }
