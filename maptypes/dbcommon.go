package maptypes

import (
	"fmt"
	"strings"
)

// keyTemplate is a database client's query key template (memcache's
// key_format): %s is the whole key, %u (%U) its local part or the whole
// key when it has no '@', %d (%D) its domain, %1 ... %9 the domain's
// labels counted from the right, %% a percent sign. A key that lacks a
// part the template needs is skipped without a query.
type keyTemplate struct {
	format     string
	needDomain bool // %d, %D or %1-9: the key must have a non-empty domain
	needUser   bool // %u or %U: the key must have a non-empty local part
	parts      int  // highest %N
}

// parseKeyTemplate checks a template; label names the table in the
// error, as Postfix names it.
func parseKeyTemplate(label, format string) (*keyTemplate, error) {
	t := &keyTemplate{format: format}
	for i := 0; i < len(format); i++ {
		if format[i] != '%' {
			continue
		}
		i++
		var c byte
		if i < len(format) {
			c = format[i]
		}
		switch {
		case c == '%' || c == 's' || c == 'S':
		case c == 'u' || c == 'U':
			t.needUser = true
		case c == 'd' || c == 'D':
			t.needDomain = true
		case c >= '1' && c <= '9':
			t.needDomain = true
			if n := int(c - '0'); n > t.parts {
				t.parts = n
			}
		default:
			return nil, fmt.Errorf("db_common_parse: %s: Invalid query template: %s", label, format)
		}
	}
	return t, nil
}

// expand returns the query key for key, ok=false when the key lacks what
// the template needs.
func (t *keyTemplate) expand(key string) (string, bool) {
	user, domain, hasAt := key, "", false
	if i := strings.LastIndexByte(key, '@'); i >= 0 {
		user, domain, hasAt = key[:i], key[i+1:], true
	}
	if t.needDomain && domain == "" {
		return "", false
	}
	if t.needUser && hasAt && user == "" {
		return "", false
	}
	var labels []string
	if t.parts > 0 {
		for _, l := range strings.Split(domain, ".") {
			if l != "" {
				labels = append(labels, l)
			}
		}
		if len(labels) < t.parts {
			return "", false
		}
	}
	var b strings.Builder
	f := t.format
	for i := 0; i < len(f); i++ {
		if f[i] != '%' || i+1 >= len(f) {
			b.WriteByte(f[i])
			continue
		}
		i++
		switch c := f[i]; {
		case c == '%':
			b.WriteByte('%')
		case c == 's' || c == 'S':
			b.WriteString(key)
		case c == 'u' || c == 'U':
			b.WriteString(user)
		case c == 'd' || c == 'D':
			b.WriteString(domain)
		case c >= '1' && c <= '9':
			b.WriteString(labels[len(labels)-int(c-'0')])
		}
	}
	return b.String(), true
}
