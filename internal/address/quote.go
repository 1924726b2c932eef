package address

import "strings"

// External quotes the local part of an internal-form address when it is
// not an RFC 822 dot-string ("a b@x" → "\"a b\"@x"), as Postfix's
// quote_822_local does; a source route (@a,@b:) before it is left alone
// and 8-bit characters count as ordinary text.
func External(internal string) string { return quoteLocal(internal, true) }

func quoteLocal(mbox string, eightBitClean bool) string {
	start := 0
	if strings.HasPrefix(mbox, "@") {
		if c := strings.IndexByte(mbox, ':'); c >= 0 {
			start = c + 1
		}
	}
	end := len(mbox)
	if at := strings.LastIndexByte(mbox[start:], '@'); at >= 0 {
		end = start + at
	}
	local := mbox[start:end]
	if isDotString(local, eightBitClean) {
		return mbox
	}
	var b strings.Builder
	b.WriteString(mbox[:start])
	b.WriteByte('"')
	for i := 0; i < len(local); i++ {
		c := local[i]
		if (c > 127 && !eightBitClean) || c == '"' || c == '\\' || c == '\r' {
			b.WriteByte('\\')
		}
		b.WriteByte(c)
	}
	b.WriteByte('"')
	b.WriteString(mbox[end:])
	return b.String()
}

// isDotString reports whether local is a sequence of atoms joined by
// single dots.
func isDotString(local string, eightBitClean bool) bool {
	if local == "" || local[0] == '.' || local[len(local)-1] == '.' {
		return false
	}
	for i := 0; i < len(local); i++ {
		c := local[i]
		if c == '.' && i+1 < len(local) && local[i+1] == '.' {
			return false
		}
		if c > 127 && !eightBitClean {
			return false
		}
		if c == ' ' || isCntrl(c) || strings.IndexByte("()<>@,;:\\\"[]", c) >= 0 {
			return false
		}
	}
	return true
}

// Internal removes the quoting from the local part of an external-form
// address ("\"a b\"@x" → "a b@x"), as Postfix's unquote_822_local does:
// quotes and backslashes go up to the last '@' outside quotes, the domain
// after it and a source route before the local part stay as they are.
func Internal(external string) string {
	var b strings.Builder
	start := 0
	if strings.HasPrefix(external, "@") {
		if c := strings.IndexByte(external, ':'); c >= 0 {
			start = c + 1
			b.WriteString(external[:start])
		}
	}
	inQuote := false
	atDst, atSrc := -1, -1
	for i := start; i < len(external); i++ {
		c := external[i]
		switch {
		case c == '"':
			inQuote = !inQuote
			continue
		case c == '@':
			if !inQuote {
				atDst, atSrc = b.Len(), i
			}
		case c == '\\':
			if i+1 >= len(external) {
				continue
			}
			i++
			c = external[i]
		}
		b.WriteByte(c)
	}
	if atDst < 0 {
		return b.String()
	}
	return b.String()[:atDst] + external[atSrc:]
}
