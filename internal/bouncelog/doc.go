// Package bouncelog keeps the per-message delivery status logs of the
// bounce(8), defer and trace services, and speaks the bounce service's
// request protocol (Postfix's delivery_status_protocol) as a client.
//
// # Log files
//
// A log lives in $queue_directory/LOG/HASH/QUEUEID, where LOG is bounce
// (recipients that failed), defer (recipients that were delayed) or trace
// (the delivery record of a message sent with sendmail -v or probed with
// sendmail -bv), and HASH is the queue ID's hashed subdirectory when LOG
// is listed in hash_queue_names. The format is Postfix's own, so a queue
// written by Postfix can be taken over and the other way round. Each
// entry is a blank line, optionally an old-style line "<RECIPIENT>: REASON"
// (when backwards_bounce_logfile_compatibility = yes, the default), then
// one "name=value" line per attribute and a terminating blank line:
//
//	recipient=user@example.com
//	original_recipient=User@Example.com
//	offset=243
//	dsn_orig_rcpt=rfc822;user@example.com
//	notify_flags=8
//	status=5.1.1
//	action=failed
//	diag_type=smtp
//	diag_text=550 5.1.1 no such user
//	mta_type=dns
//	mta_mname=mx.example.com
//	reason=host mx.example.com said: 550 5.1.1 no such user
//
// The recipient is always present ("<>" for the null address) and written
// in external form (a local part that needs it is quoted); every other
// line is omitted when its value is empty or zero, and original_recipient
// also when it equals the recipient apart from case. Control characters
// and malformed UTF-8 are written as '?' (with smtputf8_enable = no, every
// non-ASCII byte is). Timestamps are not stored. Options carries the two
// main.cf settings that change the format; the zero value is Postfix's
// default, which Append and Read use.
// Append creates the file with mode 0600, takes an exclusive flock, writes
// the entry, fsyncs it, and truncates the file back to its old length when
// that fails; a root caller hands the new file to the owner of its
// directory (mail_owner), as the bounce daemon would have created it.
// Read parses a log as Postfix's bounce_log_read does: entries end at a
// blank line (an unterminated last entry is ignored), old-style lines are
// understood, unknown names and malformed lines produce Postfix's warnings,
// and missing fields get Postfix's placeholders.
//
// # Client requests
//
// The bounce daemon serves the services $bounce_service_name,
// $defer_service_name and $trace_service_name on private/ sockets. After
// the daemon's announcement (protocol "delivery_status_protocol", 0-form
// attributes), a client sends one request whose first attribute
// "nrequest" selects append (0), flush (1), warn (2), verp (3), one (4) or
// trace (5), and the daemon replies with one attribute "status", 0 for
// success. Flush, DeferFlush, Warn, Trace, One and AppendService send
// those requests; ReadRequest is the daemon's side. The attribute names
// and their order are Postfix's (checked against Debian's bounce daemon).
//
// Parameters read: queue_directory, hash_queue_names, hash_queue_depth
// (through queue.Layout), bounce_service_name, defer_service_name,
// trace_service_name, ipc_timeout. Callers that honour
// backwards_bounce_logfile_compatibility and smtputf8_enable pass them in
// Options.
package bouncelog
