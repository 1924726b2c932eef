// Package anvil is the anvil(8) daemon and its client: it counts, per
// (service, client) pair, the simultaneous sessions and the connection,
// message, recipient, new-TLS-session and AUTH rates that smtpd(8)
// limits with smtpd_client_connection_count_limit and the
// smtpd_client_*_rate_limit parameters.
//
// # Protocol
//
// Clients connect to private/anvil, read the announcement
// "protocol=anvil_protocol", and send plain attribute records (name=value
// lines, an empty line ends a record), each with request= and ident=,
// where ident is "SERVICE:ADDR" (for smtpd, "smtp:192.0.2.7"). The
// replies:
//
//	connect        status, count, rate   a session starts
//	disconnect     status                it ends
//	message        status, rate          a MAIL FROM
//	recipient      status, rate          a RCPT TO
//	newtls         status, rate          a new (uncached) TLS session
//	newtls_status  status, rate          the TLS rate, not counted
//	auth           status, rate          an AUTH command
//	lookup         status, count, rate, mail, rcpt, newtls, auth
//
// An unknown request is answered status=4294967295 (-1) with a warning
// ("unrecognized request: "bogus", ignored"); a malformed record ends the
// connection with the decoder's warning ("missing attribute ident in
// input from anvil socket"), except an extra attribute after request and
// ident, which Postfix answers anyway. When a connection that registered
// a session ends, anvil ends the session and sends a last "status=0"
// record, as Postfix's anvil does. Rates are counted from the
// first event of a period: once anvil_rate_time_unit has passed since
// then, every rate of the pair starts again from zero. A session is tied
// to the anvil connection that reported it: a second connect on the same
// connection ends the first session, and when the connection closes its
// session ends. A pair without sessions is forgotten
// anvil_rate_time_unit after its last disconnect.
//
// # Statistics
//
// Every anvil_status_update_time, and when the daemon exits, it logs the
// peaks seen since the last report, in Postfix's words:
//
//	statistics: max connection rate 3/60s for (smtp:192.0.2.7) at Nov 28 15:40:04
//	statistics: max connection count 2 for (smtp:192.0.2.7) at Nov 28 15:40:04
//	statistics: max cache size 1 at Nov 28 15:40:04
//
// (and "message", "recipient", "newtls", "auth" rates likewise).
//
// # Client
//
// Client is the side smtpd uses; see its documentation for how sessions
// map onto connections. Every client error wraps ErrUnavailable: smtpd
// then applies no limit, as Postfix's smtpd does when anvil is down, and
// the client has logged Postfix's warnings ("connect to private/anvil:
// No such file or directory", "problem talking to server private/anvil:
// ...").
//
// # Security
//
// anvil talks only to local processes, keeps all its state in memory and
// runs chrooted at fixed low privilege (master.cf: "anvil unix - - y - 1
// anvil"); one process serves all clients (maxproc 1), never exits after
// max_use, stays at least anvil_rate_time_unit when idle, and exits as
// soon as master goes away (postfix reload), dropping its clients, who
// reconnect to the new one.
//
// Parameters read: anvil_rate_time_unit, anvil_status_update_time,
// max_idle (raised to anvil_rate_time_unit), ipc_timeout, ipc_idle,
// ipc_ttl (client).
package anvil
