package address

import "strings"

// Token types. Operators are single bytes and use the byte value as their
// type; the types below are above any byte value.
const (
	Atom     = 256 + iota // a word: user, example, com
	QString               // a quoted string, stored without its quotes
	DomLit                // a domain literal, stored without its brackets
	Comment               // a comment, stored with its parentheses
	Group                 // an address: Sub holds its tokens
	StartGrp              // the ':' that starts a named group
)

// specials are the characters that end an atom: RFC 822's specials plus
// the %, ! and | routing operators that Postfix also recognises.
const specials = "|%!()<>@,;:\\\".[]"

// Token is one element of a tokenized address or address list.
type Token struct {
	// Type is an operator byte or one of Atom, QString, DomLit,
	// Comment, Group, StartGrp.
	Type int
	// Text is the token's text (unquoted for QString and DomLit).
	Text string
	// Sub holds the tokens of a Group.
	Sub []*Token
	// owned marks a token that sits inside a sub-list built by the
	// parser or appended to an empty list: no white space follows it
	// when the list is turned back into text.
	owned bool
}

func isSpaceTabCRLF(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

func isCntrl(c byte) bool { return c < 0x20 || c == 0x7f }

// Scan splits an external-form string into a flat list of tokens, as
// Postfix's tok822_scan does: white space separates tokens and is
// dropped, a backslash quotes the next character, comments nest, and an
// atom holding a character that needs quoting becomes a quoted string.
func Scan(s string) []*Token { return ScanLimit(s, 0) }

// ScanLimit is Scan that stops after limit tokens (0: no limit); the rest
// of s is ignored, as with Postfix's token limits.
func ScanLimit(s string, limit int) []*Token {
	var out []*Token
	i := 0
	for i < len(s) {
		c := s[i]
		i++
		if isSpaceTabCRLF(c) {
			continue
		}
		var t *Token
		switch {
		case c == '(':
			t = &Token{Type: Comment}
			t.Text, i = scanComment(s, i)
		case c == '[':
			t = &Token{Type: DomLit}
			t.Text, i = collect(s, i, func(c byte) bool { return c != ']' })
			if i < len(s) {
				i++
			}
		case c == '"':
			t = &Token{Type: QString}
			t.Text, i = collect(s, i, func(c byte) bool { return c != '"' })
			if i < len(s) {
				i++
			}
		case c != '\\' && strings.IndexByte(specials, c) >= 0:
			t = &Token{Type: int(c)}
		default:
			t = &Token{Type: Atom}
			t.Text, i = collect(s, i-1, func(c byte) bool {
				return !isSpaceTabCRLF(c) && strings.IndexByte(specials, c) < 0
			})
			if atomNeedsQuote(t.Text) {
				t.Type = QString
			}
		}
		out = append(out, t)
		if limit > 0 && len(out) >= limit {
			break
		}
	}
	return out
}

// collect gathers characters from s[i:] while ok holds, honouring
// backslash escapes; white space inside becomes a plain space.
func collect(s string, i int, ok func(byte) bool) (string, int) {
	var b strings.Builder
	for i < len(s) {
		c := s[i]
		if c == '\\' {
			i++
			if i >= len(s) {
				break
			}
			c = s[i]
		} else if !ok(c) {
			break
		}
		if isSpaceTabCRLF(c) {
			c = ' '
		}
		b.WriteByte(c)
		i++
	}
	return b.String(), i
}

// scanComment reads a comment after its '(' and returns it with its
// parentheses, in external form.
func scanComment(s string, i int) (string, int) {
	var b strings.Builder
	b.WriteByte('(')
	level := 1
	for i < len(s) {
		c := s[i]
		b.WriteByte(c)
		i++
		if c == '(' {
			level++
		} else if c == ')' {
			if level--; level == 0 {
				break
			}
		} else if c == '\\' {
			if i >= len(s) {
				break
			}
			b.WriteByte(s[i])
			i++
		}
	}
	return b.String(), i
}

func atomNeedsQuote(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == ' ' || isCntrl(c) || strings.IndexByte(specials, c) >= 0 {
			return true
		}
	}
	return false
}

func nonOperator(t *Token) bool {
	switch t.Type {
	case Atom, QString, Comment, DomLit, Group:
		return true
	}
	return false
}

// needSpace says whether white space goes between list[i] and list[i+1].
func needSpace(list []*Token, i int) bool {
	if i+1 >= len(list) || list[i].owned {
		return false
	}
	t, next := list[i], list[i+1]
	if t.Type == ',' || t.Type == StartGrp || next.Type == '<' {
		return true
	}
	return nonOperator(t) && nonOperator(next)
}

// Internalize turns tokens back into text without quoting (internal
// form), inserting white space where Postfix does.
func Internalize(list []*Token) string {
	var b strings.Builder
	internalize(&b, list, false)
	return b.String()
}

func internalize(b *strings.Builder, list []*Token, lines bool) {
	for i, t := range list {
		switch t.Type {
		case ',':
			b.WriteByte(',')
			if lines {
				b.WriteByte('\n')
				continue
			}
		case Group:
			internalize(b, t.Sub, false)
		case Comment, Atom, QString:
			b.WriteString(t.Text)
		case DomLit:
			b.WriteByte('[')
			b.WriteString(t.Text)
			b.WriteByte(']')
		case StartGrp:
			b.WriteByte(':')
		default:
			b.WriteByte(byte(t.Type))
		}
		if needSpace(list, i) {
			b.WriteByte(' ')
		}
	}
}

// Externalize turns tokens back into external (quoted) text: an address
// group is quoted as a whole with quoteLocal, quoted strings and domain
// literals get their quotes and backslashes back.
func Externalize(list []*Token) string {
	var b strings.Builder
	externalize(&b, list, false)
	return b.String()
}

// ExternalizeLines is Externalize with a newline after each comma instead
// of a space, the form cleanup folds into a header.
func ExternalizeLines(list []*Token) string {
	var b strings.Builder
	externalize(&b, list, true)
	return b.String()
}

func externalize(b *strings.Builder, list []*Token, lines bool) {
	for i, t := range list {
		switch t.Type {
		case ',':
			b.WriteByte(',')
			if lines {
				b.WriteByte('\n')
				continue
			}
		case Group:
			b.WriteString(quoteLocal(Internalize(t.Sub), true))
		case Atom, Comment:
			b.WriteString(t.Text)
		case QString:
			b.WriteByte('"')
			copyQuoted(b, t.Text, "\"\\\r\n")
			b.WriteByte('"')
		case DomLit:
			b.WriteByte('[')
			copyQuoted(b, t.Text, "\\\r\n")
			b.WriteByte(']')
		case StartGrp:
			b.WriteByte(':')
		default:
			b.WriteByte(byte(t.Type))
		}
		if needSpace(list, i) {
			b.WriteByte(' ')
		}
	}
}

func copyQuoted(b *strings.Builder, s, set string) {
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(set, s[i]) >= 0 {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
}

// FindType returns the index of the first token of type typ in list at or
// after from, or -1.
func FindType(list []*Token, from, typ int) int {
	for i := from; i < len(list); i++ {
		if list[i].Type == typ {
			return i
		}
	}
	return -1
}

// RFindType returns the index of the last token of type typ in list at or
// before from, or -1.
func RFindType(list []*Token, from, typ int) int {
	if from >= len(list) {
		from = len(list) - 1
	}
	for i := from; i >= 0; i-- {
		if list[i].Type == typ {
			return i
		}
	}
	return -1
}

// Append adds toks at the end of list as Postfix's tok822_sub_append does:
// tokens added to an empty list are owned (no white space after them),
// otherwise they take the ownership of the list's last token.
func Append(list []*Token, toks ...*Token) []*Token {
	owned := true
	if len(list) > 0 {
		owned = list[len(list)-1].owned
	}
	for _, t := range toks {
		t.owned = owned
	}
	return append(list, toks...)
}

// Prepend adds toks at the start of list, as tok822_sub_prepend does.
func Prepend(list []*Token, toks ...*Token) []*Token {
	owned := true
	if len(list) > 0 {
		owned = list[0].owned
	}
	for _, t := range toks {
		t.owned = owned
	}
	return append(append([]*Token(nil), toks...), list...)
}

// Op returns a new operator token.
func Op(c byte) *Token { return &Token{Type: int(c)} }
