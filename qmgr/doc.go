// Package qmgr is the queue manager, Postfix's qmgr(8): it moves mail from
// the incoming and deferred queues into the active queue, asks
// trivial-rewrite where each recipient goes, hands the recipients to the
// delivery agents, and decides afterwards whether a message is removed,
// bounced, or deferred for a later attempt.
//
// # Triggers
//
// qmgr is a trigger server on public/qmgr (master.cf: "qmgr unix n - n
// 300 1 qmgr"). Each byte of a request is one command: 'I' scan the
// incoming queue (cleanup sends it after queueing a message), 'D' scan the
// deferred queue, 'A' scan both and ignore the deferred files' retry times
// (postqueue -f), 'F' forget that destinations and transports were
// unreachable, 'W' the periodic wake-up from master (scan incoming). The
// deferred queue is also scanned every queue_run_delay. The hold queue is
// never scanned. At start-up, files left in the active queue by a previous
// queue manager go back to the incoming queue, as Postfix does.
//
// # One message
//
// A ready queue file (mode 0700) is renamed into the active queue and
// locked exclusively while it is read (a delivery agent of an earlier
// queue manager that still holds its shared lock makes the file wait in
// the incoming queue for a minute: "QUEUEID: skipped, still being
// delivered"). A file that is not a complete queue file is moved to the
// corrupt queue with Postfix's warnings. The manager logs
//
//	QUEUEID: from=<sender>, size=N, nrcpt=N (queue active)
//
// removes the defer log of an earlier attempt, and resolves each recipient
// still to be delivered (answers of trivial-rewrite are remembered for
// ten seconds, failures never, as Postfix's resolve client remembers its
// last one). As in Postfix 3.7, a resolver failure sends the
// recipient to the retry service with "4.3.0 address resolver failure", a
// syntax error to the error service with "5.1.3 bad address syntax",
// transports in defer_transports to the retry service with "4.3.2 deferred
// transport", recipients of an unreachable transport or destination to the
// retry service with the reason it was given up, and mail for the local
// $double_bounce_sender is discarded here ("undeliverable postmaster
// notification discarded").
//
// A message with a content filter (the L record that cleanup writes for
// content_filter or a header_checks FILTER action; the last one counts)
// is not resolved: every recipient goes to the filter's
// "transport:nexthop" (split at the first colon); without a nexthop,
// default_filter_nexthop is used, else the recipient's domain, else
// $myhostname. Address probes (sendmail -bv, verify) bypass the filter.
// A message with a redirect target (the > record of a header_checks
// REDIRECT action) is delivered once: its first recipient in Postfix's
// order (domain, then address) is replaced by the target, rewritten to
// canonical form with trivial-rewrite's "local" ruleset and then
// resolved; its log lines keep that recipient's original address. The
// other recipients are not delivered and go away with the queue file. A
// redirect overrides a filter. With VERP (the V record of sendmail -V or
// -XV, two delimiters from verp_delimiter_filter) each request carries
// one recipient and the sender "local+rcptlocal=rcptdomain@domain", made
// from the original recipient; a bad or null-sender request is ignored
// with Postfix's warning. A message with a content inspection transport
// (I record) is sent with only the bounce flag, as Postfix does.
//
// Recipients are grouped per transport and destination queue (the next
// hop; for a transport whose recipient limit is 1, such as local, the
// recipient's local part without extension "@" the next hop, lower case)
// into requests of at most TRANSPORT_destination_recipient_limit
// recipients, and sent over the deliver protocol (internal/deliver) to
// private/TRANSPORT.
//
// A message with many recipients is read in chunks: at most
// qmgr_message_recipient_limit recipients of all active messages are in
// memory, a message gets what is left but at least
// qmgr_message_recipient_minimum, and the next chunk is read when the
// deliveries of the previous one are done. A redirected message has only
// its first chunk.
//
// # Concurrency
//
// At most the transport's master.cf maxproc requests (default
// $default_process_limit) run at once per transport. Per destination, the
// window starts at initial_destination_concurrency and grows by
// 1/window with each successful request up to
// TRANSPORT_destination_concurrency_limit (default
// $default_destination_concurrency_limit); a request whose agent reports
// the next hop unusable shrinks it by 1/window and adds 1/window to the
// destination's failed cohorts, and when those reach
// default_destination_concurrency_failed_cohort_limit the destination is
// suspended for minimal_backoff_time: its waiting recipients go to the
// retry service with "delivery temporarily suspended: REASON".
//
// With TRANSPORT_destination_rate_delay (default
// $default_destination_rate_delay) above zero, a destination of that
// transport gets one delivery at a time, and after each one it pauses
// for the delay, without deferring anything: mail trickles out.
//
// A transport whose socket cannot be reached ("warning: connect to
// transport private/NAME: ...") is suspended for transport_retry_time
// and its recipients go to the retry service with "4.3.0 mail transport
// unavailable". When the retry service cannot be reached either, the
// queue manager defers such recipients itself (log lines with relay=none,
// as Postfix's). An
// agent that dies during a request ("warning: private/NAME socket:
// malformed response", as Postfix 3.7 logs it) leaves the message
// deferred: the recipients it did not mark done are tried again later,
// the ones it did never are. An agent that hangs up before announcing
// the protocol (one exiting after max_use) counts as unreachable.
//
// Every recipient of an activated message ends in one of those outcomes:
// delivered, bounced, deferred, or still waiting in a destination queue;
// the scheduler looks at its queues at least once a second, so mail for a
// destination whose suspension or pause has ended goes out then.
//
// # After delivery
//
// When all requests for a message are done: a bounce log is turned into a
// non-delivery notice by the bounce service; a trace log (DSN
// NOTIFY=SUCCESS, sendmail -v) into a delivery report; if recipients are
// left, a message older than maximal_queue_lifetime
// (bounce_queue_lifetime for the null sender) is logged "QUEUEID:
// from=<sender>, status=expired, returned to sender" and its defer log
// returned to the sender; else, once its delay warning time (the W record
// cleanup writes when delay_warning_time is set) has passed, the sender is
// warned once. A message with recipients left moves to the deferred queue
// with its modification time set to the next attempt, its time in the
// queue bounded by minimal_backoff_time and maximal_backoff_time (so the
// interval doubles); otherwise the file is removed ("QUEUEID: removed").
//
// # Security
//
// qmgr runs as mail_owner, may be chrooted to the queue directory, and
// trusts nothing in a queue file: malformed files go to the corrupt
// queue, and pointer records cannot make it loop.
//
// Parameters read: queue_directory and the queue layout,
// default_process_limit (and master.cf maxproc), default_ and
// TRANSPORT_destination_concurrency_limit, default_ and
// TRANSPORT_destination_recipient_limit, default_ and
// TRANSPORT_destination_rate_delay, initial_destination_concurrency,
// default_destination_concurrency_failed_cohort_limit,
// minimal_backoff_time, maximal_backoff_time, maximal_queue_lifetime,
// bounce_queue_lifetime, queue_run_delay, transport_retry_time,
// qmgr_message_active_limit, qmgr_message_recipient_limit,
// qmgr_message_recipient_minimum, defer_transports, double_bounce_sender,
// recipient_delimiter, default_filter_nexthop, verp_delimiter_filter,
// and the parameters of internal/deliver and
// internal/bouncelog.
package qmgr
