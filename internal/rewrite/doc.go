// Package rewrite is Postfix's address rewriting and resolving logic and
// the client of the trivial-rewrite service.
//
// # Client
//
// Client talks to private/$rewrite_service_name with Postfix's own
// protocol (attribute encoding "0", announcement
// protocol=trivial_rewrite_protocol), so it works with our trivial-rewrite
// and with Debian's:
//
//	request=rewrite rule=local|remote address=EXTERNAL → flags address
//	request=resolve|verify sender address=INTERNAL → flags transport nexthop recipient flags
//
// The first "flags" of a reply is the server's (non-zero asks the client to
// reconnect); the second one of a resolve reply holds the RESOLVE_FLAG_*
// and RESOLVE_CLASS_* bits (Flag*, Class*). Rewrite takes and returns the
// internal (unquoted) form and quotes around the request, as Postfix's
// rewrite_clnt_internal does. A client is safe for concurrent use; it keeps
// one connection, closes it after $ipc_idle of idleness or $ipc_ttl of age,
// and redials once when an exchange fails. A Resolution with FlagFail means
// "a table could not be read: try again later". Cache sits in front of a
// client for a process that asks the same questions over and over
// (smtpd): it keeps answers, never failures, for CacheTTL.
//
// # Engine
//
// Engine is what the daemon (package trivialrewrite) runs: NewEngine reads
// main.cf and opens the tables; RewriteExternal, Resolve and Verify answer
// requests; Serve speaks the protocol on one connection. The rules follow
// Postfix 3.7 step by step, including its odd corners (see the package
// comment of trivialrewrite for the rules). The test suite sends the same
// requests to Debian's trivial-rewrite and to an Engine over well over a
// hundred generated configurations and compares the replies byte for byte.
//
// Warnings (table failures, configuration problems, bad requests) go to
// the Warn function; nothing is logged per request.
//
// Parameters read: those listed in package trivialrewrite, plus
// rewrite_service_name, ipc_timeout, ipc_idle and ipc_ttl for the client.
package rewrite
