package maptypes

// The access(5) result grammar: what the value found in an access table
// asks the SMTP server to do. ParseAccess turns a value into an
// AccessResult; the first word names the action and is matched without
// regard to case:
//
//	OK, or all digits        accept
//	REJECT [text]            reject with $access_map_reject_code
//	DEFER [text]             reject with $access_map_defer_code
//	DEFER_IF_REJECT [text]   defer if a later restriction rejects
//	DEFER_IF_PERMIT [text]   defer if a later restriction permits
//	DUNNO                    as if not found, and stop the search
//	4NN text, 5NN text       reply with that code and text (the code
//	                         must be followed by white space)
//	HOLD [text], DISCARD [text], FILTER transport:destination,
//	REDIRECT address, BCC address, PREPEND header: value,
//	WARN [text], INFO [text]
//	anything else            a list of restrictions (names of smtpd
//	                         restrictions or of smtpd_restriction_classes),
//	                         separated by white space or commas
//
// Text after OK and DUNNO is kept in Text but means nothing. A value that
// is all digits is OK even when it looks like a reply code ("450"). An
// empty value is an empty restriction list.
//
// Text after REJECT, DEFER, DEFER_IF_*, and after a numeric code may begin
// with an RFC 3463 enhanced status code (X.Y.Z, X one of 2, 4, 5), which is
// returned apart from the text.

import (
	"fmt"
	"strings"
)

// AccessAction is the kind of an access(5) result.
type AccessAction int

// The access(5) actions.
const (
	AccessRestrictions AccessAction = iota // a restriction list
	AccessOK
	AccessReject
	AccessDefer
	AccessDeferIfReject
	AccessDeferIfPermit
	AccessDunno
	AccessCode // 4NN text or 5NN text
	AccessHold
	AccessDiscard
	AccessFilter
	AccessRedirect
	AccessBCC
	AccessPrepend
	AccessWarn
	AccessInfo
)

var accessNames = [...]string{
	AccessRestrictions:  "RESTRICTIONS",
	AccessOK:            "OK",
	AccessReject:        "REJECT",
	AccessDefer:         "DEFER",
	AccessDeferIfReject: "DEFER_IF_REJECT",
	AccessDeferIfPermit: "DEFER_IF_PERMIT",
	AccessDunno:         "DUNNO",
	AccessCode:          "CODE",
	AccessHold:          "HOLD",
	AccessDiscard:       "DISCARD",
	AccessFilter:        "FILTER",
	AccessRedirect:      "REDIRECT",
	AccessBCC:           "BCC",
	AccessPrepend:       "PREPEND",
	AccessWarn:          "WARN",
	AccessInfo:          "INFO",
}

// String returns the action's keyword (RESTRICTIONS and CODE for the two
// forms without one).
func (a AccessAction) String() string {
	if a >= 0 && int(a) < len(accessNames) {
		return accessNames[a]
	}
	return fmt.Sprintf("AccessAction(%d)", int(a))
}

// accessKeywords maps an upper-case first word to its action.
var accessKeywords = map[string]AccessAction{
	"OK":              AccessOK,
	"REJECT":          AccessReject,
	"DEFER":           AccessDefer,
	"DEFER_IF_REJECT": AccessDeferIfReject,
	"DEFER_IF_PERMIT": AccessDeferIfPermit,
	"DUNNO":           AccessDunno,
	"HOLD":            AccessHold,
	"DISCARD":         AccessDiscard,
	"FILTER":          AccessFilter,
	"REDIRECT":        AccessRedirect,
	"BCC":             AccessBCC,
	"PREPEND":         AccessPrepend,
	"WARN":            AccessWarn,
	"INFO":            AccessInfo,
}

// AccessResult is a parsed access(5) value.
type AccessResult struct {
	Action AccessAction
	// Code is the SMTP reply code of a 4NN/5NN result, else 0.
	Code int
	// DSN is the enhanced status code at the start of the text, if any.
	DSN string
	// Text is the text or argument after the keyword or code (the
	// transport:destination of FILTER, the address of REDIRECT and BCC,
	// the header of PREPEND), without DSN.
	Text string
	// Restrictions are the words of a restriction list.
	Restrictions []string
	// Problem, when not empty, says why the value cannot be used as
	// written (an action that lacks its argument, a malformed FILTER or
	// PREPEND); callers log it as a warning and treat the result as a
	// temporary configuration error, as Postfix does.
	Problem string
}

// isAccessSpace is the white space that separates the action from its
// text.
func isAccessSpace(c byte) bool { return c == ' ' || c == '\t' }

// ParseAccess parses an access table value.
func ParseAccess(value string) AccessResult {
	v := strings.TrimLeft(value, " \t")
	n := strings.IndexFunc(v, func(r rune) bool { return r == ' ' || r == '\t' })
	if n < 0 {
		n = len(v)
	}
	word, rest := v[:n], strings.TrimLeft(v[n:], " \t")
	if act, ok := accessKeywords[strings.ToUpper(word)]; ok {
		return parseKeyword(act, rest)
	}
	if word != "" && allDigits(word) && rest == "" {
		return AccessResult{Action: AccessOK, Text: word}
	}
	if len(v) >= 3 && (v[0] == '4' || v[0] == '5') && isDigit(v[1]) && isDigit(v[2]) && len(v) > 3 && isAccessSpace(v[3]) {
		r := AccessResult{Action: AccessCode, Code: int(v[0]-'0')*100 + int(v[1]-'0')*10 + int(v[2]-'0')}
		r.DSN, r.Text = splitDSN(strings.TrimLeft(v[3:], " \t"))
		return r
	}
	return AccessResult{Action: AccessRestrictions, Restrictions: strings.FieldsFunc(v, isListSep)}
}

// parseKeyword finishes a result whose first word is a keyword.
func parseKeyword(act AccessAction, rest string) AccessResult {
	r := AccessResult{Action: act, Text: rest}
	switch act {
	case AccessReject, AccessDefer, AccessDeferIfReject, AccessDeferIfPermit:
		r.DSN, r.Text = splitDSN(rest)
	case AccessFilter:
		if i := strings.IndexByte(rest, ':'); i <= 0 {
			r.Problem = "FILTER action without transport:destination"
		}
	case AccessRedirect, AccessBCC:
		if rest == "" {
			r.Problem = act.String() + " action without address"
		}
	case AccessPrepend:
		if !validHeaderStart(rest) {
			r.Problem = "PREPEND action without valid header"
		}
	}
	return r
}

// validHeaderStart reports whether s is "name: value" with a header name
// of printable characters other than ':' and space.
func validHeaderStart(s string) bool {
	i := 0
	for i < len(s) && s[i] > ' ' && s[i] < 0x7f && s[i] != ':' {
		i++
	}
	j := i
	for j < len(s) && isAccessSpace(s[j]) {
		j++
	}
	return i > 0 && j < len(s) && s[j] == ':'
}

// splitDSN takes an RFC 3463 status code (class 2, 4 or 5, then 1-3 and
// 1-3 digits) off the front of text.
func splitDSN(text string) (dsn, rest string) {
	n := dsnLen(text)
	if n == 0 {
		return "", text
	}
	return text[:n], strings.TrimLeft(text[n:], " \t")
}

// dsnLen is the length of the status code at the start of s, 0 if none.
func dsnLen(s string) int {
	if len(s) < 5 || (s[0] != '2' && s[0] != '4' && s[0] != '5') || s[1] != '.' {
		return 0
	}
	i := 2
	for part := 0; part < 2; part++ {
		start := i
		for i < len(s) && isDigit(s[i]) && i-start < 4 {
			i++
		}
		if i == start || i-start > 3 {
			return 0
		}
		if part == 0 {
			if i >= len(s) || s[i] != '.' {
				return 0
			}
			i++
		}
	}
	if i < len(s) && !isAccessSpace(s[i]) {
		return 0
	}
	return i
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// String renders the result on one line (used by tests and logs).
func (r AccessResult) String() string {
	var b strings.Builder
	b.WriteString(r.Action.String())
	if r.Code != 0 {
		fmt.Fprintf(&b, " code=%d", r.Code)
	}
	if r.DSN != "" {
		b.WriteString(" dsn=" + r.DSN)
	}
	if r.Text != "" {
		fmt.Fprintf(&b, " text=%q", r.Text)
	}
	if r.Action == AccessRestrictions {
		fmt.Fprintf(&b, " list=%q", r.Restrictions)
	}
	if r.Problem != "" {
		b.WriteString(" problem=" + r.Problem)
	}
	return b.String()
}
