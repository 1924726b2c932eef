package local

import (
	"errors"
	"strings"

	"github.com/postfix-go/postfix/internal/deliver"
	"github.com/postfix-go/postfix/internal/dsn"
	"github.com/postfix-go/postfix/internal/maillog"
	"github.com/postfix-go/postfix/internal/rewrite"
)

const (
	resolveFail  = rewrite.FlagFail
	resolveError = rewrite.FlagError
)

// errAliasRetry reports an alias table that could not be read.
var errAliasRetry = errors.New("alias database unavailable")

// aliasLookup searches alias_maps for name; the first table that has it
// wins.
func (a *Agent) aliasLookup(name string) (string, bool, error) {
	for _, t := range a.aliases {
		v, ok, err := t.reported.Lookup(name)
		if err != nil {
			return "", false, errAliasRetry
		}
		if ok {
			return v, true, nil
		}
	}
	return "", false, nil
}

// deliverAlias expands name when an alias table lists it. It reports
// whether it handled the address, and the delivery status.
//
// Rights: |command and /file destinations of an alias run with the rights
// of the table's owner, or default_privs when root owns it. Reports: when
// owner-NAME exists (owner_request_special), that address becomes the
// envelope sender of the expansion and DSN details are not passed on;
// otherwise the inherited owner stays (reset_owner_alias = no).
func (j *job) deliverAlias(s state, usr userAttr, name string) (bool, int) {
	s.level++
	// An alias that names itself delivers to the user, as sendmail does.
	if s.expFrom != "" && strings.EqualFold(s.expFrom, name) {
		return false, 0
	}
	if s.level > 100 {
		maillog.Warn("alias database loop for %s", name)
		return true, j.bounce(s, "5.4.6", "alias database loop for %s", name)
	}
	s.expFrom = name
	for _, t := range j.a.aliases {
		value, ok, err := t.table.Lookup(name)
		if err != nil {
			maillog.Warn("%s: lookup of '%s' failed", t.spec, name)
			return true, j.deferf(s, "4.3.0", "alias database unavailable")
		}
		if !ok {
			continue
		}
		if j.r.Flags&deliver.FlagMTAVerify != 0 {
			return true, j.sent(s, "2.0.0", "aliased to %s", value)
		}
		s.expType = expAlias
		if t.owner == 0 || !j.a.Root {
			// Root-owned tables (and every table in unprivileged
			// mode) use default_privs.
			usr = userAttr{}
		} else {
			pw, err := j.a.lookupUID(t.owner)
			if err != nil || pw == nil {
				maillog.Warn("cannot find alias database owner for %s", t.spec)
				return true, j.deferf(s, "4.3.0", "cannot find alias database owner")
			}
			usr.setUser(pw)
		}
		canonOwner := ""
		if j.a.ownerRequestSpecial {
			owner := "owner-" + name
			rhs, found, err := j.a.aliasLookup(owner)
			if err != nil {
				return true, j.deferf(s, "4.3.0", "alias database unavailable")
			}
			if found {
				target := owner
				if j.a.expandOwnerAlias {
					target = rhs
				}
				canon, err := j.a.resolver.Rewrite("local", target)
				if err != nil {
					return true, j.deferf(s, "4.3.0", "address resolver failure")
				}
				canonOwner = canon
			}
		}
		// Without its own owner- alias, a child alias keeps the owner
		// (forwarder) it inherited, e.g. from an :include: file, unless
		// reset_owner_alias says otherwise; the sender stays.
		if canonOwner != "" {
			s.owner, s.sender = canonOwner, canonOwner
		} else if j.a.resetOwnerAlias {
			s.owner = ""
		}
		if !j.a.frozenDelivered {
			s.delivered = s.rcpt.Address
		}
		// DSN: the expansion inherits NOTIFY without SUCCESS; a mailing
		// list (owner- alias) starts afresh.
		saved := s.rcpt.Notify
		s.rcpt.Notify = withoutSuccess(saved)
		if canonOwner != "" {
			s.envid, s.ret = "", 0
			s.rcpt.DSNOrig, s.rcpt.Orig = "", ""
		}
		count := 0
		st := j.deliverTokenString(s, usr, value, &count)
		if count < 1 {
			maillog.Warn("no recipient in alias lookup result for %s", name)
			st = j.deferf(s, "4.3.0", "alias database unavailable")
		}
		return true, st
	}
	return false, 0
}

// withoutSuccess removes SUCCESS from DSN NOTIFY bits, as forwarding
// does: NOTIFY=SUCCESS alone becomes NEVER.
func withoutSuccess(n int) int {
	if n == dsn.NotifySuccess {
		return dsn.NotifyNever
	}
	return n &^ dsn.NotifySuccess
}
