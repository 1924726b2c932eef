// Package policy is the client side of Postfix's SMTPD policy delegation
// protocol, what check_policy_service uses to ask an external server
// (postgrey, policyd-spf, …) about a client, sender or recipient.
//
// # Protocol
//
// A request is a list of name=value lines ended by an empty line; the
// reply is "action=ACTION" (other attributes are ignored) and an empty
// line. ACTION is anything an access(5) table may return (OK, DUNNO,
// REJECT text, DEFER_IF_PERMIT text, 450 4.7.1 text, …); interpreting it
// is smtpd/check's job. Request builds the smtpd_access_policy request
// from plain values, in the order Postfix 3.7's smtpd sends it.
//
// # Servers and settings
//
// check_policy_service takes "inet:host:port", "unix:/path" (or
// "local:"), "unix:private/policy" (relative to queue_directory, for
// services run by master), or a brace list that adds per-service settings:
//
//	check_policy_service { inet:127.0.0.1:10023, timeout=10s,
//	    default_action=DUNNO, { policy_context = x y } }
//
// The settings are the smtpd_policy_service_* parameters without that
// prefix: timeout, max_idle, max_ttl, retry_delay, request_limit,
// try_limit, default_action, policy_context. ParseSpec refuses what
// Postfix refuses, with Postfix's fatal text ("unknown option: "bogus =
// 1"", "timeout: bad time value or unit: 10x", "policy service syntax
// error: …").
//
// # Trouble
//
// A request is tried try_limit times, retry_delay apart, each time on a
// new connection. Postfix's warnings are logged: "connect to
// 127.0.0.1:10023: Connection refused", "missing attribute action in
// input from 127.0.0.1:10023" (a malformed reply; a server that hangs up
// or times out gets no warning of its own) and, after the last try or at
// once for errors other than a vanished socket, a reset or a hang-up,
// "problem talking to server 127.0.0.1:10023: Connection timed out" (or
// "Application error" when no system error is involved). Query then
// returns an error wrapping ErrFailed and the caller applies
// DefaultAction. An idle connection the server has closed is noticed
// before sending and replaced quietly.
//
// One Client serves many concurrent SMTP sessions: every request takes a
// connection of its own from a pool (one request at a time on each, as
// with Postfix's one-session smtpd processes), preferring the connection
// that carried the same "instance" before. Idle connections close after
// max_idle, every connection after max_ttl or request_limit requests.
//
// Parameters read: smtpd_policy_service_timeout, _max_idle, _max_ttl,
// _retry_delay, _request_limit, _try_limit, _default_action,
// _policy_context; queue_directory (relative unix paths).
package policy
