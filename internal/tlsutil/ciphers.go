package tlsutil

import (
	"sort"
	"strings"
)

// CipherGrades are the values of smtpd_tls_ciphers and
// smtpd_tls_mandatory_ciphers; each names the parameter that holds its
// OpenSSL cipher list.
var CipherGrades = map[string]string{
	"export": "tls_export_cipherlist",
	"low":    "tls_low_cipherlist",
	"medium": "tls_medium_cipherlist",
	"high":   "tls_high_cipherlist",
	"null":   "tls_null_cipherlist",
}

// SelectCiphers works out the TLS 1.0–1.2 suites of a cipher grade
// ("medium"): lists gives the value of a parameter (tls_medium_cipherlist,
// an OpenSSL cipher string), and the exclusions of
// smtpd_tls_exclude_ciphers (and _mandatory_exclude_ciphers) are appended
// to it as "!word" elements, as Postfix does. The result is in the list's
// order (the server's preference with tls_preempt_cipherlist = yes) and
// may be empty when the list selects only suites Go lacks (as "null"
// does): then only TLS 1.3 can be negotiated, as with Postfix, whose
// TLS 1.3 suites these lists do not touch.
//
// The errors are Postfix's (Error.Session is set: Postfix reports them
// when a client sends STARTTLS): an unknown grade, an exclusion starting
// with one of "!+-@", and a list that selects no suite at all.
func SelectCiphers(grade string, lists func(param string) string, exclude []string) ([]uint16, error) {
	param, ok := CipherGrades[grade]
	if !ok {
		return nil, sessionErr("invalid cipher grade: \"%s\"", grade)
	}
	var b strings.Builder
	b.WriteString(lists(param))
	for _, tok := range exclude {
		if tok == "" {
			continue
		}
		if strings.ContainsAny(tok[:1], "!+-@") {
			return nil, sessionErr("invalid unary '!+-@' in cipher exclusion: %s", tok)
		}
		b.WriteString(":!" + tok)
	}
	list := evalCipherList(b.String())
	if len(list) == 0 {
		return nil, sessionErr("error setting cipher grade: \"%s\"", grade)
	}
	ids := []uint16{}
	for _, s := range list {
		if !s.phantom {
			ids = append(ids, s.id)
		}
	}
	return ids, nil
}

func sessionErr(format string, args ...any) *Error {
	e := warnErr(format, args...)
	e.Session = true
	return e
}

// CipherNames evaluates an OpenSSL cipher string over the suites Go
// implements and returns their OpenSSL names in order (for tests and
// diagnostics).
func CipherNames(list string) []string {
	var out []string
	for _, s := range evalCipherList(list) {
		if !s.phantom {
			out = append(out, s.name)
		}
	}
	return out
}

func isCipherSep(r rune) bool {
	return r == ':' || r == ',' || r == ' ' || r == ';' || r == '\t'
}

// evalCipherList runs OpenSSL's cipher-string rules (ciphers(1ssl)) over
// the suite table: "word" appends the suites it matches that are not in
// the list yet, "-word" removes them (they may come back), "!word" removes
// them for good, "+word" moves them to the end, "@STRENGTH" sorts by
// strength (stable), "@SECLEVEL=n" is ignored; "A+B" matches suites that
// match both; an unknown word matches nothing. RC4 and 3DES, which
// Debian's OpenSSL 3 no longer offers, never appear.
func evalCipherList(list string) []*suite {
	var order []*suite
	killed := map[*suite]bool{}
	in := map[*suite]bool{}
	for _, el := range strings.FieldsFunc(list, isCipherSep) {
		op := byte(0)
		switch el[0] {
		case '!', '-', '+', '@':
			op = el[0]
			el = el[1:]
		}
		if op == '@' {
			if el == "STRENGTH" {
				sort.SliceStable(order, func(a, b int) bool { return order[a].bits > order[b].bits })
			}
			continue
		}
		if el == "" {
			continue
		}
		var match []*suite
		for i := range suites {
			s := &suites[i]
			if s.v13 || s.unavailable() {
				continue
			}
			if matchesAll(s, el) {
				match = append(match, s)
			}
		}
		switch op {
		case 0:
			for _, s := range match {
				if !in[s] && !killed[s] {
					in[s] = true
					order = append(order, s)
				}
			}
		case '-', '!':
			for _, s := range match {
				if op == '!' {
					killed[s] = true
				}
				if in[s] {
					in[s] = false
					order = remove(order, s)
				}
			}
		case '+':
			for _, s := range match {
				if in[s] {
					order = append(remove(order, s), s)
				}
			}
		}
	}
	return order
}

func remove(list []*suite, s *suite) []*suite {
	for i, x := range list {
		if x == s {
			return append(list[:i:i], list[i+1:]...)
		}
	}
	return list
}

// matchesAll reports whether s matches every "+"-joined word of el.
func matchesAll(s *suite, el string) bool {
	if el == s.name {
		return true
	}
	for _, w := range strings.Split(el, "+") {
		if !matchesWord(s, w) {
			return false
		}
	}
	return true
}

func matchesWord(s *suite, w string) bool {
	switch w {
	case "ALL", "DEFAULT":
		return !s.hasAlias("eNULL")
	case "COMPLEMENTOFALL":
		return s.hasAlias("eNULL")
	case "":
		return false
	}
	return w == s.name || s.hasAlias(w)
}

func (s *suite) hasAlias(w string) bool {
	for _, a := range s.aliases {
		if a == w {
			return true
		}
	}
	return false
}
