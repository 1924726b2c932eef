// Package deliver is the protocol between the queue manager and the
// delivery agents (local, error, retry, discard, smtp…), Postfix's
// deliver_request protocol, and the per-recipient bookkeeping every agent
// does after an attempt.
//
// # Protocol
//
// The queue manager connects to the agent's socket private/TRANSPORT. The
// agent speaks first, with the 0-form attribute record
// protocol=delivery_request_protocol. The queue manager then sends one
// request record with these attributes, in this order: flags, queue_name,
// queue_id, offset (of the message content), size (content length),
// nexthop, encoding, smtputf8, sender, envelope_id, ret_flags, time (the
// 88-byte message statistics: the arrival, active-queue, agent hand-off,
// connection set-up and delivery-done time stamps as seconds and
// microseconds, then the connection reuse count), the
// log_client_name, log_client_address, log_client_port, log_protocol_name,
// log_helo_name, sasl_method, sasl_username, sasl_sender, log_ident and
// rewrite_context strings, and recipient_count. One record per recipient
// follows: original_recipient, recipient, offset (of its R record in the
// queue file), dsn_orig_rcpt, notify_flags. Each connection carries one
// request; a queue manager may also hang up without sending one.
//
// The agent answers with one record: the hop status (status, diag_type,
// diag_text, mta_type, mta_mname, action, reason; all empty unless the
// whole next hop should be avoided for a while) and then a second status
// attribute, the request status: 0 when the fate of every recipient was
// recorded and none deferred, -1 (sent as 4294967295) otherwise (an agent
// that deferred a recipient answers -1, so that the queue manager keeps
// the message). The agent releases its lock on the queue file, answers,
// and waits for the queue manager to hang up. This is byte for byte what Postfix 3.7's
// agents and queue manager exchange; the tests run Debian's discard
// daemon against Dial and Deliver (and the qmgr tests Debian's qmgr
// against ServeConn).
//
// # Recording outcomes
//
// An agent reports each recipient with Sent, Defer or Bounce. Each writes
// Postfix's log line
//
//	QUEUEID: to=<rcpt>, orig_to=<orig>, relay=R, delay=D, delays=a/b/c/d, dsn=X.Y.Z, status=WORD (TEXT)
//
// where delay is the time since arrival and delays splits it into time
// before the queue manager, in the queue manager, connection set-up and
// transmission (FormatDelay gives the number format). Sent and Bounce mark
// the recipient done in the queue file (its R record becomes D, in place,
// as Postfix's deliver_completed does); Defer and Bounce append to the
// message's defer or bounce log (internal/bouncelog) first. The queue
// manager decides from the queue file and those logs what happens to the
// message next, so a recipient whose outcome was recorded is never tried
// again, even if the agent dies before it answers.
//
// An address probe (a request with FlagUserVerify, sendmail -bv)
// delivers nothing: Sent, Defer and Bounce append the result to the trace
// log with the action "deliverable" or "undeliverable", log
// status=deliverable or status=undeliverable, and mark the recipient
// done, as Postfix's agents do; a probe is never retried. (Postfix sends
// the result of a probe from the verify service, FlagMTAVerify, to that
// service; this package writes it to the trace log too.)
//
// # Security
//
// An agent opens only files named by a known queue and a valid queue ID
// below the queue directory, with a shared lock (the queue manager holds
// an exclusive one while it reads a file), and never follows a pointer
// record backwards into an endless loop.
//
// Parameters read: ipc_timeout, delay_logging_resolution_limit,
// soft_bounce, and the queue layout (queue_directory, hash_queue_names,
// hash_queue_depth).
package deliver
