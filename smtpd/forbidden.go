package smtpd

import (
	"strings"

	"github.com/postfix-go/postfix/conf"
	"github.com/postfix-go/postfix/internal/maillog"
	"github.com/postfix-go/postfix/internal/matchlist"
)

// forbiddenList is smtpd_forbidden_commands: words compared without
// regard to case, and lookup tables, among them inline pattern tables
// such as Postfix 3.7's default "regexp:{{/^[^A-Z]/ Bogus}}", which
// maptypes opens like any other table. A command is forbidden when a
// table has an entry for it, whatever the entry says.
type forbiddenList struct {
	words  []string
	tables matcher
}

// forbidden returns the smtpd_forbidden_commands list, compiled once.
func (srv *Server) forbidden() *forbiddenList {
	srv.forbidOnce.Do(func() { srv.forbid = newForbidden(srv.c) })
	return srv.forbid
}

func newForbidden(c *conf.Config) *forbiddenList {
	return compileForbidden(c, c.Get("smtpd_forbidden_commands"))
}

// compileForbidden parses a smtpd_forbidden_commands value. A table that
// cannot be opened is reported and matches nothing; the words still
// apply.
func compileForbidden(c *conf.Config, value string) *forbiddenList {
	f := &forbiddenList{}
	var tables []string
	for _, item := range conf.SplitList(value) {
		if strings.Contains(item, ":") {
			tables = append(tables, item)
		} else {
			f.words = append(f.words, item)
		}
	}
	if len(tables) > 0 {
		l, err := matchlist.Compile(c, "smtpd_forbidden_commands", strings.Join(tables, " "), matchlist.String)
		if err != nil {
			maillog.Warn("smtpd_forbidden_commands: %v", err)
		} else {
			f.tables = matcher{l: l}
		}
	}
	return f
}

// match reports whether a command word is forbidden.
func (f *forbiddenList) match(tok string) bool {
	for _, w := range f.words {
		if strings.EqualFold(w, tok) {
			return true
		}
	}
	return f.tables.matches(tok, "")
}
