// Package bounce is the bounce(8) daemon, which master(8) runs for the
// services bounce, defer and trace (one program; the master.cf service
// name, -n, names the per-message log directory it works on), together
// with the delivery status notification templates of bounce(5).
//
// # Requests
//
// Clients (the queue manager, delivery agents) connect to
// private/$bounce_service_name, private/$defer_service_name or
// private/$trace_service_name and send one request in Postfix's
// delivery_status_protocol (internal/bouncelog speaks it):
//
//   - append: add one recipient's status to the service's log
//     $queue_directory/SERVICE/QUEUEID, in Postfix's log format;
//   - flush: send the sender a non-delivery notice listing the logged
//     recipients, then remove the log (the bounce service for failed
//     recipients, the defer service for mail past maximal_queue_lifetime);
//   - verp: like flush, one notice per recipient, each sent to the sender
//     address with that recipient encoded in it by the VERP delimiters;
//   - warn: send a delay warning from the defer log, which is kept;
//   - trace: send the delivery report of the trace log (sendmail -v, the
//     verify template; sendmail -bv; DSN NOTIFY=SUCCESS, the success
//     template), then remove the log;
//   - one: send a non-delivery notice for one recipient given in the
//     request, without a log.
//
// The answer is one attribute, status: 0 when the work is done (notices
// queued, or nothing to send), non-zero otherwise. With the flag
// BOUNCE_FLAG_CLEAN, a failed request removes the log. With
// BOUNCE_FLAG_DELRCPT, the recipients of a sent notice are marked done in
// the original queue file.
//
// # Notices
//
// A notice is an RFC 3464 multipart/report laid out exactly as Postfix
// 3.7 lays it out, checked line by line against Debian's bounce daemon:
// the headers From and Subject of the template, To, Auto-Submitted,
// MIME-Version and the multipart/report Content-Type with the boundary
// QUEUEID.TIME/$myhostname; a text/plain part with the template text
// ($name expanded from main.cf, with the time conversions of bounce(5)
// such as $delay_warning_time_hours) and one wrapped line per recipient;
// a message/delivery-status part (message/global-delivery-status for
// SMTPUTF8 mail) with Reporting-MTA, Original-Envelope-Id (DSN ENVID),
// X-Postfix-Queue-ID, X-Postfix-Sender, Arrival-Date and per recipient
// Final-Recipient, Original-Recipient, Action, Status, Remote-MTA,
// Diagnostic-Code and, in delay warnings, Will-Retry-Until; and the
// original message, or only its headers when the sender asked for DSN
// RET=HDRS, for delay warnings and postmaster copies, and when the message
// is larger than bounce_size_limit.
//
// The sender's notice lists only the recipients whose DSN NOTIFY allows
// it (no NOTIFY, or FAILURE for non-delivery, DELAY for warnings). A
// postmaster copy (headers only, Postmaster-Subject, every recipient) goes
// from $double_bounce_sender to bounce_notice_recipient when
// notify_classes has "bounce", and to delay_notice_recipient for warnings
// when it has "delay". Mail from the null sender that fails is not
// bounced again: its notice goes, in full, to 2bounce_notice_recipient
// when notify_classes has "bounce" or "2bounce", and is dropped otherwise;
// a notice to the double-bounce address is discarded with a warning.
// Notices are submitted to the cleanup service from the null sender (or
// the double-bounce address) with the cleanup flags Postfix uses: address
// mapping, plus header/body checks and milters only when
// internal_mail_filter_classes lists "bounce". Each sent notice is logged
// as Postfix logs it, "QUEUEID: sender non-delivery notification: NEWID".
//
// # Templates
//
// The texts come from Postfix 3.7's built-in templates (template_gen.go,
// made by bounce/gen) or from bounce_template_file, read before the
// chroot and shared with "postconf -b/-t". A template file holds
// "name = <<MARK" ... "MARK" blocks (or "name = text") for
// failure_template, delay_template, success_template and verify_template.
// Each template starts with optional header lines (Charset, From,
// Subject, Postmaster-Subject); a missing header takes the built-in
// template's; an empty line ends them; the rest is the message text. A
// template with an unknown header, no text, or 8-bit text under a
// us-ascii charset is ignored with a warning, as Postfix does. In the
// text, $name is a main.cf parameter (characters other than printable
// ASCII become '_'), and delay_warning_time and maximal_queue_lifetime
// take a unit suffix (_seconds, _minutes, _hours, _days, _weeks), with
// Postfix's warnings when the result is 0 or over 999.
//
// # Security
//
// The daemon runs as mail_owner, chrooted when master.cf says so; the
// template file is read before the chroot. It reads queue files and logs
// under the queue directory only, and every name in a request (queue,
// queue ID, service) is checked to be a plain file name first. Text from
// requests and logs is stripped of control characters before it goes into
// a notice.
//
// # Parameters
//
// 2bounce_notice_recipient, backwards_bounce_logfile_compatibility,
// bounce_notice_recipient, bounce_size_limit, bounce_template_file,
// cleanup_service_name, delay_notice_recipient, delay_warning_time,
// double_bounce_sender, enable_threaded_bounces,
// internal_mail_filter_classes, ipc_timeout, mail_name,
// maximal_queue_lifetime, myhostname, notify_classes, queue_directory,
// smtputf8_autodetect_classes, smtputf8_enable, and every parameter a
// template names.
package bounce
