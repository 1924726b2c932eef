package smtpread

import (
	"bytes"
	"strings"
)

// ReadCommand returns one command line without its line end. A line
// longer than LineLimit is truncated and the rest of it, up to its line
// end, is discarded (it does not become another command); Truncated then
// reports true until the next ReadCommand. The line is cut
// at its first NUL byte, as Postfix's C strings cut it. Errors: io.EOF
// (also for a last line without line end), a read error from br (a net
// timeout), or *Error for a bare <LF> under "reject".
func (r *Reader) ReadCommand() (string, error) {
	r.truncated, r.cut = false, ""
	piece, end, err := r.readPiece()
	if err != nil {
		return "", err
	}
	if end == endEOF {
		return "", errEOF()
	}
	line := string(piece)
	r.truncated = end == endPartial
	for end == endPartial {
		_, end, err = r.readPiece()
		if err != nil {
			return "", err
		}
		if end == endEOF {
			return "", errEOF()
		}
	}
	if end == endLF && r.reject {
		return "", r.bareLFError(true)
	}
	if i := strings.IndexByte(line, 0); i >= 0 {
		line, r.cut = line[:i], line[i:]
	}
	return line, nil
}

// Cut is what ReadCommand cut off the last line at its first NUL byte
// (the NUL included), "" when the line had none. Postfix's smtpd checks
// it for UTF-8 too.
func (r *Reader) Cut() string { return r.cut }

// Truncated reports whether the line the last ReadCommand returned was
// cut at LineLimit, the case where Postfix's smtpd logs "warning: HOST:
// request longer than LIMIT: TEXT...".
func (r *Reader) Truncated() bool { return r.truncated }

// isSpace is C's isspace in the C locale, which Postfix's command
// tokenizer uses.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

// Split splits a command line into its upper-cased verb and the argument
// text, as Postfix's smtpd does: the verb is the first token (white space
// is space, tab, <CR>, <VT>, <FF>), arg is the rest with its leading white
// space removed at both ends. An empty or all-blank line gives verb "" (Postfix replies
// "500 5.5.2 Error: bad syntax").
func Split(line string) (verb, arg string) {
	toks := tokenize(line)
	if len(toks) == 0 {
		return "", ""
	}
	rest := line[toks[0].end:]
	for len(rest) > 0 && isSpace(rest[0]) {
		rest = rest[1:]
	}
	for len(rest) > 0 && isSpace(rest[len(rest)-1]) {
		rest = rest[:len(rest)-1]
	}
	return strings.ToUpper(toks[0].text), rest
}

// token is one command token: its text (quotes and backslashes kept, as
// Postfix keeps them), where it ends in the line, and whether a quoted
// part was left open.
type token struct {
	text  string
	end   int
	unend bool
}

// tokenize splits a command line the way Postfix's smtpd tokenizer does:
// tokens are separated by white space; "<...>" and "\"...\"" parts keep
// white space inside (quotes nest inside angle brackets); a backslash
// escapes the next byte; a token that reads exactly "FROM:" or "TO:"
// (any case) ends at its colon, so "FROM:<a@b>" gives two tokens.
func tokenize(line string) []token {
	var toks []token
	var b bytes.Buffer
	i := 0
	for {
		b.Reset()
		unend := false
		for i < len(line) {
			c := line[i]
			i++
			if isSpace(c) {
				for i < len(line) && isSpace(line[i]) {
					i++
				}
				if b.Len() > 0 {
					break
				}
				continue
			}
			if c == '<' || c == '"' {
				want := c
				if c == '<' {
					want = '>'
				}
				i, unend = quoted(line, i, &b, c, want)
				continue
			}
			b.WriteByte(c)
			if c == ':' {
				if s := b.String(); strings.EqualFold(s, "to:") || strings.EqualFold(s, "from:") {
					break
				}
			} else if c == '\\' && i < len(line) {
				b.WriteByte(line[i])
				i++
			}
		}
		if b.Len() == 0 {
			return toks
		}
		end := i
		// The token ends before the white space that was skipped.
		for end > 0 && isSpace(line[end-1]) && end > tokStart(toks) {
			end--
		}
		toks = append(toks, token{text: b.String(), end: end, unend: unend})
	}
}

func tokStart(toks []token) int {
	if len(toks) == 0 {
		return 0
	}
	return toks[len(toks)-1].end
}

// quoted copies a quoted part that started with start (already consumed)
// up to its closing byte want; it reports whether the end was missing.
func quoted(line string, i int, b *bytes.Buffer, start, want byte) (int, bool) {
	stack := []byte{want}
	b.WriteByte(start)
	for i < len(line) {
		c := line[i]
		i++
		b.WriteByte(c)
		switch {
		case c == '\\':
			if i < len(line) {
				b.WriteByte(line[i])
				i++
			} else {
				return i, true
			}
		case c == want:
			if len(stack) == 1 {
				return i, false
			}
			stack = stack[:len(stack)-1]
			want = stack[len(stack)-1]
		case c == '"':
			stack = append(stack, '"')
			want = '"'
		case c == '<' && want == '>':
			stack = append(stack, '>')
			want = '>'
		}
	}
	return i, true
}
