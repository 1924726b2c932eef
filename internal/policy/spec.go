package policy

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/postfix-go/postfix/conf"
)

// Settings are one policy client's endpoint and limits: main.cf's
// smtpd_policy_service_* values, overridden per service by the "{ … }"
// form of check_policy_service.
type Settings struct {
	// Endpoint is the server: "inet:host:port", "unix:path" or
	// "local:path"; a relative unix path is taken from the queue directory.
	Endpoint string
	// Timeout bounds connecting, writing and reading (timeout).
	Timeout time.Duration
	// MaxIdle closes a connection unused that long (max_idle).
	MaxIdle time.Duration
	// MaxTTL closes a connection that old (max_ttl).
	MaxTTL time.Duration
	// RetryDelay is the pause between tries (retry_delay).
	RetryDelay time.Duration
	// RequestLimit closes a connection after that many requests; 0: no limit
	// (request_limit).
	RequestLimit int
	// TryLimit is how often a request is tried before giving up (try_limit).
	TryLimit int
	// DefaultAction is what the caller applies when the service fails
	// (default_action).
	DefaultAction string
	// PolicyContext is sent as policy_context (policy_context).
	PolicyContext string
}

// SpecError is a check_policy_service specification Postfix refuses; its
// text is Postfix's fatal error message (without "fatal: ").
type SpecError struct{ Msg string }

func (e *SpecError) Error() string { return e.Msg }

func specErr(format string, args ...any) error { return &SpecError{Msg: fmt.Sprintf(format, args...)} }

// chars that separate list items, as Postfix's CHARS_COMMA_SP.
const sepChars = ", \t\r\n"

// ParseSpec parses the operand of check_policy_service: an endpoint, or
// "{ endpoint, name=value, { name = value with spaces }, … }" whose names
// are the smtpd_policy_service_* parameters without that prefix. Defaults
// come from c's smtpd_policy_service_* parameters. Errors are *SpecError
// with Postfix's fatal text.
func ParseSpec(c *conf.Config, spec string) (Settings, error) {
	s := Settings{
		Timeout:       c.Time("smtpd_policy_service_timeout", 's'),
		MaxIdle:       c.Time("smtpd_policy_service_max_idle", 's'),
		MaxTTL:        c.Time("smtpd_policy_service_max_ttl", 's'),
		RetryDelay:    c.Time("smtpd_policy_service_retry_delay", 's'),
		RequestLimit:  c.Int("smtpd_policy_service_request_limit"),
		TryLimit:      c.Int("smtpd_policy_service_try_limit"),
		DefaultAction: c.Get("smtpd_policy_service_default_action"),
		PolicyContext: c.Get("smtpd_policy_service_policy_context"),
	}
	if strings.HasPrefix(spec, "{") {
		inner, ok := extpar(spec)
		if !ok {
			return s, specErr("policy service syntax error: %s", inner)
		}
		rest := inner
		name, rest := nextToken(rest)
		if name == "" {
			return s, specErr("empty policy service: \"%s\"", spec)
		}
		s.Endpoint = name
		for {
			var item string
			item, rest = nextToken(rest)
			if item == "" {
				break
			}
			if err := s.override(item); err != nil {
				return s, err
			}
		}
	} else {
		s.Endpoint = spec
	}
	if s.RequestLimit < 0 {
		return s, specErr("attr_clnt_control: bad request limit: %d", s.RequestLimit)
	}
	if s.TryLimit < 1 {
		return s, specErr("attr_clnt_control: bad retry limit: %d", s.TryLimit)
	}
	transport, endpoint, found := strings.Cut(s.Endpoint, ":")
	if !found || transport == "" || endpoint == "" {
		return s, specErr("need service transport:endpoint instead of \"%s\"", s.Endpoint)
	}
	switch transport {
	case "inet", "unix", "local":
	default:
		return s, specErr("invalid transport name: %s in service: %s", transport, s.Endpoint)
	}
	return s, nil
}

// balanced returns the length of the brace group text starts with, or 0
// when its closing brace is missing (Postfix's balpar).
func balanced(text string) int {
	level := 0
	for i := 0; i < len(text); i++ {
		switch text[i] {
		case '{':
			level++
		case '}':
			level--
			if level == 0 {
				return i + 1
			}
		}
	}
	return 0
}

// extpar strips the braces around text (which starts with "{"). ok is
// false when they do not balance or something follows the closing one;
// inner is then what Postfix reports.
func extpar(text string) (inner string, ok bool) {
	n := balanced(text)
	if n == 0 {
		return text[1:], false
	}
	return text[1 : n-1], n == len(text)
}

// nextToken returns the next item of a list separated by commas and
// white space, a brace group counting as one item (Postfix's mystrtokq).
func nextToken(text string) (tok, rest string) {
	i := 0
	for i < len(text) && strings.IndexByte(sepChars, text[i]) >= 0 {
		i++
	}
	if i == len(text) {
		return "", ""
	}
	start, level := i, 0
	for ; i < len(text); i++ {
		ch := text[i]
		if ch == '{' {
			level++
		} else if ch == '}' {
			if level > 0 {
				level--
			}
		} else if level == 0 && strings.IndexByte(sepChars, ch) >= 0 {
			break
		}
	}
	return text[start:i], text[i:]
}

// splitNameval splits "name = value" as Postfix's split_nameval does.
func splitNameval(text string) (name, value, problem string) {
	t := strings.TrimLeft(text, " \t\r\n")
	if t == "" || t[0] == '=' {
		return "", "", "missing attribute name"
	}
	end := strings.IndexAny(t, " \t\r\n=")
	if end < 0 {
		return "", "", "missing '=' after attribute name"
	}
	name, rest := t[:end], strings.TrimLeft(t[end:], " \t\r\n")
	if rest == "" || rest[0] != '=' {
		return "", "", "missing '=' after attribute name"
	}
	value = strings.Trim(rest[1:], " \t\r\n")
	return name, value, ""
}

// override applies one "name=value" or "{ name = value }" item.
func (s *Settings) override(item string) error {
	if strings.HasPrefix(item, "{") {
		inner, ok := extpar(item)
		if !ok {
			return specErr("%s in \"%s\" in \"%s\"", braceProblem(item), item, inner)
		}
		item = inner
	}
	name, value, problem := splitNameval(item)
	if problem != "" {
		return specErr("malformed option: %s: \"...%s...\"", problem, item)
	}
	switch name {
	case "default_action", "policy_context":
		if value == "" {
			return specErr("bad string length 0 < 1: %s = %s", name, value)
		}
		if name == "default_action" {
			s.DefaultAction = value
		} else {
			s.PolicyContext = value
		}
	case "request_limit", "try_limit":
		n, err := strconv.ParseInt(value, 10, 32)
		if err != nil {
			return specErr("bad numerical configuration: %s = %s", name, value)
		}
		min := 0
		if name == "try_limit" {
			min = 1
		}
		if min > 0 && int(n) < min {
			return specErr("invalid %s parameter value %d < %d", name, n, min)
		}
		if name == "try_limit" {
			s.TryLimit = int(n)
		} else {
			s.RequestLimit = int(n)
		}
	case "timeout", "max_idle", "max_ttl", "retry_delay":
		d, ok := convTime(value, 's')
		if !ok {
			return specErr("%s: bad time value or unit: %s", name, value)
		}
		if d < 1 {
			return specErr("invalid %s: %d (min 1)", name, d)
		}
		dur := time.Duration(d) * time.Second
		switch name {
		case "timeout":
			s.Timeout = dur
		case "max_idle":
			s.MaxIdle = dur
		case "max_ttl":
			s.MaxTTL = dur
		default:
			s.RetryDelay = dur
		}
	default:
		return specErr("unknown option: \"%s = %s\"", name, value)
	}
	return nil
}

// braceProblem words an unbalanced or trailing-text brace group.
func braceProblem(item string) string {
	if balanced(item) == 0 {
		return "missing '}'"
	}
	return "syntax error after '}'"
}

// convTime converts a Postfix time value to seconds as Postfix's
// conv_time does: a decimal number (strtol syntax) and a unit letter (s, m,
// h, d, w; defUnit when none). Only the first character after the number
// counts, so "10sx" is ten seconds, as in Postfix.
func convTime(v string, defUnit byte) (int64, bool) {
	if v == "" {
		return 0, false
	}
	i := 0
	for i < len(v) && (v[i] == ' ' || (v[i] >= '\t' && v[i] <= '\r')) {
		i++
	}
	neg := false
	if i < len(v) && (v[i] == '+' || v[i] == '-') {
		neg = v[i] == '-'
		i++
	}
	start := i
	var n int64
	for i < len(v) && v[i] >= '0' && v[i] <= '9' {
		n = n*10 + int64(v[i]-'0')
		if n > 1<<31-1 {
			return 0, false
		}
		i++
	}
	if i == start { // no digits: strtol leaves the end at the start
		i, n = 0, 0
	}
	if neg && n > 0 {
		return 0, false
	}
	unit := defUnit
	if i < len(v) {
		unit = v[i]
	}
	mult := map[byte]int64{'s': 1, 'm': 60, 'h': 3600, 'd': 86400, 'w': 604800}[unit]
	if mult == 0 || n >= (1<<31-1)/mult && mult > 1 {
		return 0, false
	}
	return n * mult, true
}
