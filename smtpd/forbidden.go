package smtpd

import (
	"regexp"
	"strings"

	"github.com/postfix-go/postfix/conf"
	"github.com/postfix-go/postfix/internal/maillog"
	"github.com/postfix-go/postfix/internal/matchlist"
)

// forbiddenList is smtpd_forbidden_commands: words compared without
// regard to case, inline regular expression tables ("regexp:{{/re/ x}}",
// Postfix 3.7's default) and other lookup tables.
type forbiddenList struct {
	words  []string
	res    []*regexp.Regexp
	tables matcher
}

// forbidden returns the smtpd_forbidden_commands list, compiled once.
func (srv *Server) forbidden() *forbiddenList {
	srv.forbidOnce.Do(func() { srv.forbid = newForbidden(srv.c) })
	return srv.forbid
}

func newForbidden(c *conf.Config) *forbiddenList {
	f := &forbiddenList{}
	var rest []string
	for _, item := range conf.SplitList(c.Get("smtpd_forbidden_commands")) {
		switch {
		case strings.HasPrefix(item, "regexp:{") || strings.HasPrefix(item, "pcre:{"):
			f.res = append(f.res, inlineRegexps(item)...)
		case strings.Contains(item, ":"):
			rest = append(rest, item)
		default:
			f.words = append(f.words, item)
		}
	}
	if len(rest) > 0 {
		l, err := matchlist.Compile(c, "smtpd_forbidden_commands", strings.Join(rest, " "), matchlist.String)
		if err != nil {
			maillog.Warn("smtpd_forbidden_commands: %v", err)
		} else {
			f.tables = matcher{l: l}
		}
	}
	return f
}

// inlineRegexps parses "regexp:{ {/re/flags result}, … }" into Go
// regular expressions (the patterns used here are plain enough for RE2).
// maptypes does not open inline regexp tables yet.
func inlineRegexps(item string) []*regexp.Regexp {
	_, body, _ := strings.Cut(item, ":")
	body = strings.TrimSpace(body)
	body = strings.TrimSuffix(strings.TrimPrefix(body, "{"), "}")
	var out []*regexp.Regexp
	for {
		i := strings.IndexByte(body, '{')
		if i < 0 {
			break
		}
		j := strings.IndexByte(body[i:], '}')
		if j < 0 {
			break
		}
		rule := strings.TrimSpace(body[i+1 : i+j])
		body = body[i+j+1:]
		if len(rule) < 2 || rule[0] != '/' {
			continue
		}
		end := strings.LastIndexByte(rule[1:], '/')
		if end < 0 {
			continue
		}
		pat, flags := rule[1:end+1], rule[end+2:]
		if k := strings.IndexAny(flags, " \t"); k >= 0 {
			flags = flags[:k]
		}
		// Postfix's regexp tables ignore case unless the "i" flag
		// toggles that off.
		if strings.Count(flags, "i")%2 == 0 {
			pat = "(?i)" + pat
		}
		re, err := regexp.Compile(pat)
		if err != nil {
			maillog.Warn("smtpd_forbidden_commands: bad pattern /%s/: %v", pat, err)
			continue
		}
		out = append(out, re)
	}
	return out
}

// match reports whether a command word is forbidden.
func (f *forbiddenList) match(tok string) bool {
	for _, w := range f.words {
		if strings.EqualFold(w, tok) {
			return true
		}
	}
	for _, re := range f.res {
		if re.MatchString(tok) {
			return true
		}
	}
	return f.tables.match(&session{name: tok})
}
