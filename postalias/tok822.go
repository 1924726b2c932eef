package postalias

import "strings"

// A small RFC 822 tokenizer with Postfix's rules for alias entries: atoms,
// quoted strings, comments, domain literals and one-character operators.

type tokType int

const (
	tokAtom tokType = iota + 256
	tokQString
	tokComment
	tokDomLit
)

// token is one lexical token; for an operator, op holds the character.
type token struct {
	typ  tokType
	op   byte
	text string
}

const opChars = "|\"(),.:;<>@[]%!"

func isCtl(c byte) bool { return c < 0x20 || c == 0x7f }

func isWhite(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

// scan splits s into tokens. Unterminated quotes, comments and literals
// end at the end of the input.
func scan(s string) []token {
	var toks []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case isWhite(c):
			i++
		case c == '(':
			var b strings.Builder
			b.WriteByte('(')
			i++
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
			toks = append(toks, token{typ: tokComment, text: b.String()})
		case c == '"' || c == '[':
			end := byte('"')
			typ := tokQString
			if c == '[' {
				end, typ = ']', tokDomLit
			}
			var b strings.Builder
			i++
			for i < len(s) {
				c := s[i]
				i++
				if c == '\\' {
					if i >= len(s) {
						break
					}
					c = s[i]
					i++
				} else if c == end {
					break
				}
				b.WriteByte(c)
			}
			toks = append(toks, token{typ: typ, text: b.String()})
		case c != '\\' && strings.IndexByte(opChars, c) >= 0:
			toks = append(toks, token{typ: tokType(c), op: c})
			i++
		default:
			var b strings.Builder
			typ := tokAtom
			for i < len(s) {
				c := s[i]
				if isWhite(c) || (c != '\\' && strings.IndexByte(opChars, c) >= 0) {
					break
				}
				i++
				if c == '\\' {
					if i >= len(s) {
						break
					}
					c = s[i]
					i++
					typ = tokQString
				}
				if isCtl(c) {
					typ = tokQString
				}
				b.WriteByte(c)
			}
			toks = append(toks, token{typ: typ, text: b.String()})
		}
	}
	return toks
}

func wordLike(t token) bool {
	return t.typ == tokAtom || t.typ == tokQString || t.typ == tokComment || t.typ == tokDomLit
}

// join writes tokens the way Postfix's tok822 externalize (quote=true)
// and internalize (quote=false) do: ", " after commas, a space before
// '<', and a space between two word-like tokens.
func join(toks []token, quote bool) string {
	var b strings.Builder
	for i, t := range toks {
		switch t.typ {
		case tokAtom, tokComment:
			b.WriteString(t.text)
		case tokQString:
			if quote {
				b.WriteByte('"')
				quoteCopy(&b, t.text, "\"\\\r\n")
				b.WriteByte('"')
			} else {
				b.WriteString(t.text)
			}
		case tokDomLit:
			b.WriteByte('[')
			if quote {
				quoteCopy(&b, t.text, "\\\r\n")
			} else {
				b.WriteString(t.text)
			}
			b.WriteByte(']')
		default:
			b.WriteByte(t.op)
			if t.op == ',' {
				b.WriteByte(' ')
				continue
			}
		}
		if i+1 < len(toks) {
			n := toks[i+1]
			if n.typ == '<' || (wordLike(t) && wordLike(n)) {
				b.WriteByte(' ')
			}
		}
	}
	return b.String()
}

func quoteCopy(b *strings.Builder, s, special string) {
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(special, s[i]) >= 0 {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
}

// ParseEntry splits one logical alias line into name and value as
// postalias(1) does. problem is the warning text (without file and line)
// when the line is rejected.
func ParseEntry(line string) (name, value, problem string) {
	toks := scan(line)
	colon := -1
	for i, t := range toks {
		if t.typ == ':' {
			colon = i
			break
		}
	}
	if colon <= 0 || colon == len(toks)-1 {
		return "", "", "need name:value pair"
	}
	for _, t := range toks[:colon] {
		if t.typ == ',' {
			return "", "", "need name:value pair"
		}
	}
	for _, t := range toks[:colon] {
		if t.typ == '@' || t.typ == '%' {
			return "", "", "name must be local"
		}
	}
	return join(toks[:colon], false), join(toks[colon+1:], true), ""
}
