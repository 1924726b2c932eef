package local

import (
	"strings"
)

// Expansion results, as Postfix's mac_expand reports them.
const (
	expandError       = 1 << 0 // syntax error
	expandUndef       = 1 << 1 // a plain $name had no value
	expandExtMatched  = 1 << 2 // the value of $extension was used
	maxExpandNestings = 100
)

// localExpand expands the delivery attributes in pattern, as Postfix's
// local_expand does for forward_path, luser_relay and
// command_execution_directory:
//
//	$user $home $shell $domain $local $mailbox $recipient $extension
//	$recipient_delimiter, also as ${name} and $(name)
//	${name?text}  text when name has a value
//	${name:text}  text when it has none
//	${name?{text1}:{text2}}
//	$$            a dollar sign
//
// Characters of attribute values that are not in filter become '_'
// (filter "" keeps everything). The status says whether a plain reference
// had no value, whether $extension was used, and whether the pattern was
// malformed.
func localExpand(pattern string, s state, usr userAttr, filter string) (string, int) {
	look := func(name string) (string, bool) {
		var v string
		switch name {
		case "user":
			v = s.user
		case "home":
			v = usr.home
		case "shell":
			v = usr.shell
		case "domain":
			v = s.domain
		case "local", "mailbox":
			v = s.local
		case "recipient":
			v = s.rcpt.Address
		case "extension":
			v = s.extension
		case "recipient_delimiter":
			v = s.delim
		default:
			return "", false
		}
		return v, v != ""
	}
	var b strings.Builder
	st := expandInto(&b, pattern, look, filter, 0)
	return b.String(), st
}

func expandInto(b *strings.Builder, s string, look func(string) (string, bool), filter string, level int) int {
	if level > maxExpandNestings {
		return expandError
	}
	status := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c != '$' {
			b.WriteByte(c)
			i++
			continue
		}
		i++
		if i >= len(s) {
			b.WriteByte('$')
			break
		}
		switch s[i] {
		case '$':
			b.WriteByte('$')
			i++
			continue
		case '{', '(':
			closer := byte('}')
			if s[i] == '(' {
				closer = ')'
			}
			end := matching(s, i, s[i], closer)
			if end < 0 {
				return status | expandError
			}
			status |= expandRef(b, s[i+1:end], look, filter, level)
			i = end + 1
		default:
			j := i
			for j < len(s) && (isAlnum(s[j]) || s[j] == '_') {
				j++
			}
			if j == i {
				return status | expandError
			}
			status |= useValue(b, s[i:j], look, filter)
			i = j
		}
	}
	return status
}

// expandRef handles the inside of ${...}: a name with an optional
// ?text, :text or ?{text}:{text} part.
func expandRef(b *strings.Builder, ref string, look func(string) (string, bool), filter string, level int) int {
	j := 0
	for j < len(ref) && (isAlnum(ref[j]) || ref[j] == '_') {
		j++
	}
	name, rest := ref[:j], ref[j:]
	if name == "" {
		return expandError
	}
	if rest == "" {
		return useValue(b, name, look, filter)
	}
	_, ok := look(name)
	op, text := rest[0], rest[1:]
	if op != '?' && op != ':' {
		return expandError
	}
	if op == '?' && strings.HasPrefix(text, "{") {
		end := matching(text, 0, '{', '}')
		if end > 0 && strings.HasPrefix(text[end+1:], ":{") && strings.HasSuffix(text, "}") {
			yes, no := text[1:end], text[end+3:len(text)-1]
			if ok {
				return expandInto(b, yes, look, filter, level+1)
			}
			return expandInto(b, no, look, filter, level+1)
		}
		if end == len(text)-1 {
			text = text[1:end]
		}
	} else if strings.HasPrefix(text, "{") && strings.HasSuffix(text, "}") {
		text = text[1 : len(text)-1]
	}
	if (op == '?') == ok {
		return expandInto(b, text, look, filter, level+1)
	}
	return 0
}

// useValue appends the filtered value of name.
func useValue(b *strings.Builder, name string, look func(string) (string, bool), filter string) int {
	v, ok := look(name)
	if !ok {
		return expandUndef
	}
	st := 0
	if name == "extension" {
		st = expandExtMatched
	}
	b.WriteString(censor(v, filter))
	return st
}

// censor replaces the characters of v that are not in filter with '_'.
func censor(v, filter string) string {
	if filter == "" {
		return v
	}
	out := []byte(v)
	for i, c := range out {
		if strings.IndexByte(filter, c) < 0 {
			out[i] = '_'
		}
	}
	return string(out)
}

// matching returns the index of the closer that ends the group opened at
// s[i], or -1.
func matching(s string, i int, opener, closer byte) int {
	depth := 0
	for k := i; k < len(s); k++ {
		switch s[k] {
		case opener:
			depth++
		case closer:
			depth--
			if depth == 0 {
				return k
			}
		}
	}
	return -1
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
