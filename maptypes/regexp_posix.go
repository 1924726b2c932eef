package maptypes

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// This file translates POSIX regular expressions, as the GNU C library's
// regcomp reads them, into Go regexp syntax. The regexp table compiles the
// result with leftmost-longest matching. Syntax errors carry regerror's
// text; constructs Go cannot run (back-references, most \< and \> uses,
// huge repeat counts) give an unsupportedError.

// posixError is a syntax error worded as the C library's regerror.
type posixError string

func (e posixError) Error() string { return string(e) }

// The regerror texts of the C library.
const (
	errBadPat   posixError = "Invalid regular expression"
	errCollate  posixError = "Invalid collation character"
	errCtype    posixError = "Invalid character class name"
	errEscape   posixError = "Trailing backslash"
	errSubReg   posixError = "Invalid back reference"
	errBrack    posixError = "Unmatched [, [^, [:, [., or [="
	errParen    posixError = "Unmatched ( or \\("
	errBrace    posixError = "Unmatched \\{"
	errBadBr    posixError = "Invalid content of \\{\\}"
	errRange    posixError = "Invalid range end"
	errBadRpt   posixError = "Invalid preceding regular expression"
	errTooBig   posixError = "Regular expression too big"
	posixDupMax            = 0x7fff
)

// unsupportedError names a valid construct that Go's engine cannot run.
type unsupportedError string

func (e unsupportedError) Error() string {
	return "unsupported regular expression feature: " + string(e)
}

// posixOpts are the regcomp flags a rule asks for.
type posixOpts struct {
	extended bool // REG_EXTENDED (off with the "x" flag)
	icase    bool // REG_ICASE
	newline  bool // REG_NEWLINE ("m" flag)
}

// posixParser holds the state of one translation.
type posixParser struct {
	s      string
	i      int
	opts   posixOpts
	nsub   int          // groups opened so far
	closed map[int]bool // groups closed so far
	depth  int
}

// translatePOSIX returns the Go form of pattern and its number of
// parenthesized subexpressions.
func translatePOSIX(pattern string, opts posixOpts) (string, int, error) {
	p := &posixParser{s: pattern, opts: opts, closed: map[int]bool{}}
	body, err := p.alternation()
	if err != nil {
		return "", 0, err
	}
	if p.i < len(p.s) {
		// Only a BRE "\)" without "\(" can stop the top level early.
		return "", 0, errParen
	}
	prefix := "(?s)"
	if opts.newline {
		prefix = "(?m)"
	}
	if opts.icase {
		prefix += "(?i)"
	}
	return prefix + body, p.nsub, nil
}

func (p *posixParser) eof() bool { return p.i >= len(p.s) }

// atAlt reports whether the input is at an alternation operator.
func (p *posixParser) atAlt() bool {
	if p.opts.extended {
		return !p.eof() && p.s[p.i] == '|'
	}
	return strings.HasPrefix(p.s[p.i:], "\\|")
}

// atClose reports whether the input is at the end of a group.
func (p *posixParser) atClose() bool {
	if p.opts.extended {
		return p.depth > 0 && !p.eof() && p.s[p.i] == ')'
	}
	return strings.HasPrefix(p.s[p.i:], "\\)")
}

func (p *posixParser) alternation() (string, error) {
	var alts []string
	for {
		b, err := p.branch()
		if err != nil {
			return "", err
		}
		alts = append(alts, b)
		if !p.atAlt() {
			break
		}
		if p.opts.extended {
			p.i++
		} else {
			p.i += 2
		}
	}
	return strings.Join(alts, "|"), nil
}

// piece kinds, to check what a quantifier may follow.
const (
	pieceNone   = iota // start of a branch
	pieceAnchor        // ^ $ \b \B \< \> \` \'
	pieceAtom
)

func (p *posixParser) branch() (string, error) {
	var out strings.Builder
	last := pieceNone
	lastWord := false // previous atom is one literal word character
	var atom string
	flush := func() {
		out.WriteString(atom)
		atom = ""
	}
	for !p.eof() && !p.atAlt() && !p.atClose() {
		// Quantifiers.
		if q, n, ok, err := p.quantifier(last); err != nil {
			return "", err
		} else if ok {
			if last == pieceAnchor {
				return "", errBadRpt
			}
			if last == pieceNone {
				// A BRE '*' at the start is literal; quantifier()
				// only reports it for ERE.
				return "", errBadRpt
			}
			atom = "(?:" + atom + ")" + q
			p.i += n
			lastWord = false
			continue
		}
		flush()
		text, kind, word, err := p.atom(last, lastWord)
		if err != nil {
			return "", err
		}
		atom, last, lastWord = text, kind, word
	}
	flush()
	return out.String(), nil
}

// quantifier recognizes a repetition operator at the input; n is its
// length in the source.
func (p *posixParser) quantifier(last int) (q string, n int, ok bool, err error) {
	s := p.s[p.i:]
	ext := p.opts.extended
	switch {
	case ext && (s[0] == '*' || s[0] == '+' || s[0] == '?'):
		return s[:1], 1, true, nil
	case !ext && s[0] == '*':
		if last == pieceNone || last == pieceAnchor && p.i > 0 && p.s[p.i-1] == '^' {
			return "", 0, false, nil // literal '*'
		}
		if p.i > 0 && p.s[p.i-1] == '*' {
			return "", 0, false, errBadRpt
		}
		return "*", 1, true, nil
	case !ext && (strings.HasPrefix(s, "\\+") || strings.HasPrefix(s, "\\?")):
		return s[1:2], 2, true, nil
	case ext && s[0] == '{':
		return p.interval(s[1:], "}", 1)
	case !ext && strings.HasPrefix(s, "\\{"):
		return p.interval(s[2:], "\\}", 2)
	}
	return "", 0, false, nil
}

// interval reads "m}", "m,}", "m,n}" or ",n}" after the opening brace.
func (p *posixParser) interval(s, closing string, open int) (string, int, bool, error) {
	end := strings.Index(s, closing)
	if end < 0 {
		return "", 0, false, errBrace
	}
	body := s[:end]
	lo, hi, comma := body, "", false
	if k := strings.IndexByte(body, ','); k >= 0 {
		lo, hi, comma = body[:k], body[k+1:], true
	}
	if !allDigits(lo) || !allDigits(hi) || (lo == "" && !comma) {
		return "", 0, false, errBadBr
	}
	min, max := 0, -1
	if lo != "" {
		min = clampAtoi(lo)
	}
	if hi != "" {
		max = clampAtoi(hi)
	} else if !comma {
		max = min
	}
	if max >= 0 && min > max {
		return "", 0, false, errBadBr
	}
	if min > posixDupMax || max > posixDupMax {
		return "", 0, false, errTooBig
	}
	if min > 1000 || max > 1000 {
		return "", 0, false, unsupportedError("repeat count above 1000")
	}
	n := open + end + len(closing)
	switch {
	case max < 0:
		return fmt.Sprintf("{%d,}", min), n, true, nil
	case max == min:
		return fmt.Sprintf("{%d}", min), n, true, nil
	}
	return fmt.Sprintf("{%d,%d}", min, max), n, true, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func clampAtoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil || n > 1<<20 {
		return 1 << 20
	}
	return n
}

// atom reads one atom; it returns its Go text, kind, and whether it is a
// single literal word character.
func (p *posixParser) atom(last int, lastWord bool) (string, int, bool, error) {
	c := p.s[p.i]
	ext := p.opts.extended
	switch {
	case c == '(' && ext:
		return p.group(1)
	case c == '\\' && !ext && strings.HasPrefix(p.s[p.i:], "\\("):
		return p.group(2)
	case c == ')' && ext:
		p.i++
		return "\\)", pieceAtom, false, nil
	case ext && (c == '*' || c == '+' || c == '?' || c == '{'):
		return "", 0, false, errBadRpt
	case c == '.':
		p.i++
		if p.opts.newline {
			return "[^\\n]", pieceAtom, false, nil
		}
		return "(?s:.)", pieceAtom, false, nil
	case c == '^':
		if ext || last == pieceNone {
			p.i++
			return "^", pieceAnchor, false, nil
		}
	case c == '$':
		if ext || p.atBREEnd(p.i+1) {
			p.i++
			return "$", pieceAnchor, false, nil
		}
	case c == '[':
		return p.bracket()
	case c == '\\':
		return p.escape(lastWord)
	}
	return p.literal()
}

// atBREEnd reports whether a BRE '$' at i-1 is an anchor: at the end of
// the pattern, of a group or of an alternative.
func (p *posixParser) atBREEnd(i int) bool {
	r := p.s[i:]
	return r == "" || strings.HasPrefix(r, "\\)") || strings.HasPrefix(r, "\\|")
}

// literal copies one character (a whole UTF-8 sequence when valid).
func (p *posixParser) literal() (string, int, bool, error) {
	r, n := utf8.DecodeRuneInString(p.s[p.i:])
	p.i += n
	if r == utf8.RuneError && n <= 1 {
		return "\\x{fffd}", pieceAtom, false, nil
	}
	word := r < 0x80 && (isAlnum(byte(r)) || r == '_')
	if r >= 0x80 && p.opts.icase {
		// The C library folds case in the "C" locale: ASCII only.
		return "(?-i:" + quoteRune(r) + ")", pieceAtom, false, nil
	}
	return quoteRune(r), pieceAtom, word, nil
}

func quoteRune(r rune) string {
	if r < 0x80 && strings.ContainsRune(`\.+*?()|[]{}^$`, r) {
		return "\\" + string(r)
	}
	if r < 0x20 || r == 0x7f {
		return fmt.Sprintf("\\x{%x}", r)
	}
	return string(r)
}

// group reads a parenthesized subexpression; open is the length of its
// opening token.
func (p *posixParser) group(open int) (string, int, bool, error) {
	p.i += open
	p.nsub++
	n := p.nsub
	p.depth++
	inner, err := p.alternation()
	if err == nil && !p.atClose() {
		err = errParen
	}
	p.depth--
	if err != nil {
		return "", 0, false, err
	}
	p.i += open
	p.closed[n] = true
	return "(" + inner + ")", pieceAtom, false, nil
}

// neverMatch is a Go atom that matches no character.
const neverMatch = `[^\x00-\x{10FFFF}]`

// escape reads a backslash sequence.
func (p *posixParser) escape(lastWord bool) (string, int, bool, error) {
	if p.i+1 >= len(p.s) {
		return "", 0, false, errEscape
	}
	c := p.s[p.i+1]
	p.i += 2
	switch c {
	case 'w':
		return "[0-9A-Za-z_]", pieceAtom, false, nil
	case 'W':
		return "[^0-9A-Za-z_]", pieceAtom, false, nil
	case 's':
		return "[\\t\\n\\v\\f\\r ]", pieceAtom, false, nil
	case 'S':
		return "[^\\t\\n\\v\\f\\r ]", pieceAtom, false, nil
	case 'b':
		return "\\b", pieceAnchor, false, nil
	case 'B':
		return "\\B", pieceAnchor, false, nil
	case '`':
		return "\\A", pieceAnchor, false, nil
	case '\'':
		return "\\z", pieceAnchor, false, nil
	case '<':
		// A word start before a literal word character is a plain
		// word boundary.
		if p.i < len(p.s) && (isAlnum(p.s[p.i]) || p.s[p.i] == '_') &&
			(p.i+1 >= len(p.s) || !strings.ContainsRune("*?{\\", rune(p.s[p.i+1]))) {
			return "\\b", pieceAnchor, false, nil
		}
		return "", 0, false, unsupportedError("\\< not followed by a word character")
	case '>':
		if lastWord {
			return "\\b", pieceAnchor, false, nil
		}
		return "", 0, false, unsupportedError("\\> not preceded by a word character")
	}
	if c >= '1' && c <= '9' {
		if !p.closed[int(c-'0')] {
			return "", 0, false, errSubReg
		}
		return "", 0, false, unsupportedError("back-reference \\" + string(c))
	}
	if p.opts.icase && c >= 'a' && c <= 'z' {
		// The C library ignores case by turning the subject into upper
		// case, but an escaped character is kept as written: "\r" is
		// the letter r, which an upper-case subject never holds.
		return neverMatch, pieceAtom, false, nil
	}
	p.i--
	return p.literal()
}
