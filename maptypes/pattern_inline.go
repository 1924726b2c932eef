package maptypes

import (
	"errors"
	"strings"

	"github.com/postfix-go/postfix/conf"
)

// This file reads inline pattern tables (Postfix 3.7 and later): a regexp,
// pcre or cidr table name that starts with "{" holds the rules themselves,
//
//	regexp:{ {/^a/ rule one}, {/^b/ rule two} }
//
// The rules are separated by commas or white space (space, tab, CR,
// newline; a vertical tab or form feed is not a separator), white space
// after the "{" and before the "}" of each rule is dropped, and
// each rule becomes one line of an in-memory source file that is then read
// like a file: "#" rules are comments, an empty rule is a blank line and
// warnings say "KIND map NAME, line N" where N counts the rules. Braces
// nest, so a rule may hold "{" and "}" as long as they balance. Bad
// nesting is an error worded as Postfix's fatal message ("KIND map:
// missing '}' in ...", "syntax error after '}' in ...", "no '{' at start
// of text in ...").

// isInlineName reports whether a pattern table name is inline text.
func isInlineName(name string) bool { return strings.HasPrefix(name, "{") }

// inlineSeparators end a rule at brace depth zero: conf.SplitList's
// separators, which the inline tables split their rules with.
const inlineSeparators = ", \t\r\n"

// braceEnd returns the index of the '}' that closes the '{' at s[0], or
// -1 when it is missing.
func braceEnd(s string) int {
	depth := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '{':
			depth++
		case '}':
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

// unbrace removes the braces around s (which starts with '{'); nothing
// may follow the closing brace. With strip, C-locale white space just
// inside the braces goes too (rules are stripped, the outer braces are
// not: only the separators are skipped there).
func unbrace(kind, s string, strip bool) (string, error) {
	end := braceEnd(s)
	if end < 0 {
		return "", errors.New(kind + " map: missing '}' in \"" + s + "\"")
	}
	if end != len(s)-1 {
		return "", errors.New(kind + " map: syntax error after '}' in \"" + s + "\"")
	}
	if !strip {
		return s[1:end], nil
	}
	return strings.TrimFunc(s[1:end], isSpaceRune), nil
}

// inlineSource turns the inline table name into the text of the
// equivalent source file, one line per rule.
func inlineSource(kind, name string) (string, error) {
	body, err := unbrace(kind, name, false)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	// Rules are split as a main.cf list is: separators outside braces.
	for _, rule := range conf.SplitList(body) {
		if rule[0] != '{' {
			return "", errors.New(kind + " map: no '{' at start of text in \"" + rule + "\"")
		}
		text, err := unbrace(kind, rule, true)
		if err != nil {
			return "", err
		}
		b.WriteString(text)
		b.WriteByte('\n')
	}
	return b.String(), nil
}
