// Package local is the local(8) delivery agent: it delivers mail for the
// domains in $mydestination (the queue manager sends it every recipient
// that trivial-rewrite resolves to transport "local") to aliases, .forward
// files, mailboxes, maildirs, files and commands, as Postfix 3.7's local
// does.
//
// # What happens to a recipient
//
// The local part (folded to lower case; an extension after a
// recipient_delimiter character is split off) is looked up, in this order:
//
//  1. alias_maps, first with the whole local part, then without the
//     extension. The value is a list of destinations, parsed as an RFC 822
//     address list: user or user@domain (resolved again: addresses that come
//     back to this agent are delivered here, others are forwarded), /file
//     (mbox append; "/dir/" is a maildir), ~/file (in the home directory of
//     the user whose rights apply), |command, and :include:/path (a file
//     with one more such list per line, "#" comments). |command and /file are
//     allowed only from the sources in allow_mail_to_commands and
//     allow_mail_to_files. An alias that names itself delivers to the user.
//     An alias table that cannot be opened is logged once, when the agent
//     starts ("error: WHY"); a lookup in it, or one that fails, logs
//     "TYPE:NAME is unavailable. WHY" (the first case) and "TYPE:NAME:
//     lookup of 'NAME' failed", and the recipient is deferred with "alias
//     database unavailable" (4.3.0), as in Postfix; so is an alias with an
//     empty value ("no recipient in alias lookup result for NAME").
//  2. Mail that an alias with an owner- alias, a .forward file or an
//     :include: file sent to another local user is re-submitted through
//     cleanup as a new message (new queue ID), logged as
//     "status=sent (forwarded as QUEUEID)". The new message carries a
//     "Received: by $myhostname ($mail_name)" header and, with
//     prepend_delivered_header "forward", a Delivered-To: header. That
//     forwarder stays in effect through nested aliases without their own
//     owner- alias (unless reset_owner_alias is set), so an :include:
//     file's "postmaster" that is aliased to root is forwarded to root,
//     even when root also gets a direct copy.
//  3. The user's .forward file: the first existing name in forward_path,
//     after the expansion of $user, $home, $shell, $local, $domain,
//     $recipient, $extension, $recipient_delimiter (also ${name?text} and
//     ${name:text}); characters outside forward_expansion_filter become
//     "_". It must be a regular file owned by the user or root and not be
//     world-writable.
//  4. The mailbox: mailbox_transport_maps, mailbox_transport (the recipient
//     is handed to that agent), mailbox_command_maps, mailbox_command (run
//     as the user, see below), home_mailbox ending in "/" (a maildir in the
//     home directory), home_mailbox (an mbox file in the home directory),
//     mail_spool_directory ending in "/" (a maildir per user), or the mbox
//     file mail_spool_directory/USER.
//  5. Unknown users: fallback_transport_maps, fallback_transport,
//     luser_relay (expanded as forward_path is), else the recipient bounces
//     with "unknown user: "NAME"" (5.1.1). Without an alias, postmaster and
//     MAILER-DAEMON are discarded with a warning.
//
// mailbox_transport_maps, fallback_transport_maps and mailbox_command_maps
// are opened at the first delivery that needs them, as in Postfix; a table
// that cannot be opened is logged then ("error: WHY") and does not stop the
// agent. When one of their lookups fails (the table could not be opened:
// "TYPE:NAME is unavailable. WHY"; or its server does not answer: "TYPE:NAME
// lookup error for "USER"") or finds an empty value ("PARAM lookup of USER
// returns an empty string result"), the recipient is deferred with "table
// lookup failure" (4.3.0).
//
// A message whose Delivered-To: headers already name the recipient bounces
// with "mail forwarding loop for ADDRESS" (5.4.6); alias and include
// nesting stops at depth 100. Duplicates within one recipient's expansion
// are delivered once (duplicate_filter_limit).
//
// # Mailboxes
//
// An mbox delivery adds "From SENDER  DATE", Return-Path:, X-Original-To:
// (the original recipient) and Delivered-To: (prepend_delivered_header
// "file") lines, quotes body lines that start with "From " as ">From ",
// and ends the message with an empty line. The file is locked as
// mailbox_delivery_lock says (fcntl, flock, dotlock: PATH.lock, stale after
// stale_lock_time; deliver_lock_attempts tries, deliver_lock_delay apart),
// opened without following symbolic links, written with fsync and cut back
// to its old length when the delivery fails. mailbox_size_limit bounds the
// file size (and each maildir file). With strict_mailbox_ownership a
// mailbox not owned by the recipient defers delivery. A maildir delivery
// writes tmp/TIME.PPID.HOST and links it to new/TIME.VDEVIINODEMUSEC.HOST.
// Log texts: "delivered to mailbox", "delivered to maildir", "delivered to
// file: PATH", "delivered to command: CMD", "forwarded as QUEUEID".
//
// # Commands
//
// A command gets the message on standard input (From line, Return-Path:,
// X-Original-To:, Delivered-To: with prepend_delivered_header "command"),
// runs with PATH=/usr/bin:/bin, the variables of export_environment and
// HOME, LOGNAME, USER, SHELL, SENDER, RECIPIENT, LOCAL, DOMAIN, EXTENSION,
// ORIGINAL_RECIPIENT, CLIENT_HOSTNAME, CLIENT_ADDRESS, CLIENT_HELO,
// CLIENT_PROTOCOL, SASL_METHOD, SASL_SENDER, SASL_USERNAME (characters
// outside command_expansion_filter become "_"), in its own process group,
// in command_execution_directory, for at most command_time_limit. A
// command with shell meta characters runs under /bin/sh -c (or
// local_command_shell). A non-zero exit bounces, or defers when the
// command's output starts with a 4.X.Y status code or the exit status is
// a temporary <sysexits.h> code (75 EX_TEMPFAIL, 71 EX_OSERR); the reason
// is the sysexits text or "Command died with status N: "CMD"", followed by
// ". Command output: OUTPUT" (the first 4096 bytes, newlines and tabs as
// spaces). The bounce or delay report names the command output (or,
// when there was none, the <sysexits.h> text of the exit code, "unknown
// mail system error N" for other codes) as "Diagnostic-Code: x-unix;
// TEXT".
//
// # Security
//
// Started as root, the agent keeps root (server.Options.KeepRoot) but runs
// with the effective ids of mail_owner between deliveries. Each delivery
// switches the whole process (Go applies set*id calls to every thread; the
// agent handles one request at a time) to the rights it needs: the
// recipient's for the mailbox, maildir and .forward file; the alias table
// owner's for |command and /file entries of an alias (default_privs when
// root owns the table); the :include: file owner's when a root-owned alias
// names it. Commands run through exec with those credentials, never as
// root. Mailboxes in a spool directory that is not writable by the user
// are created as root and given to the user.
//
// Unprivileged mode (the mail system runs as an ordinary user, as with
// "make run"): every delivery runs as that user, mailboxes and maildirs are
// created as that user, and ownership checks compare against that user.
// Users are still looked up in the password database for their home
// directory and shell.
//
// When a table file (alias_maps, mailbox_transport_maps, ...) is rebuilt,
// the process exits after the request it is serving ("table has changed
// -- exiting") and master starts a fresh one.
//
// # Differences from Postfix
//
// biff notifications are not sent. An owner- alias does not get a
// separate single-recipient bounce (bounce_one); its failures go to the
// normal bounce log with the owner as sender of the expansion. The
// local_delivery_status_filter is not applied. The DSN SUCCESS "alias
// expanded" trace records are not written. An unreachable
// mailbox_transport or fallback_transport defers the recipient at once
// (Postfix retries the connection, then exits). See doc/DIFFERENCES.md.
//
// # Parameters
//
// alias_maps, allow_mail_to_commands, allow_mail_to_files,
// command_execution_directory, command_expansion_filter, command_time_limit,
// default_privs, deliver_lock_attempts, deliver_lock_delay,
// double_bounce_sender, duplicate_filter_limit, enable_original_recipient,
// execution_directory_expansion_filter, expand_owner_alias,
// export_environment, fallback_transport, fallback_transport_maps,
// forward_expansion_filter, forward_path, frozen_delivered_to, home_mailbox,
// line_length_limit, local_command_shell, luser_relay, mail_name,
// mail_owner, mail_spool_directory, mailbox_command, mailbox_command_maps,
// mailbox_delivery_lock, mailbox_size_limit, mailbox_transport,
// mailbox_transport_maps, message_size_limit, myhostname,
// owner_request_special, prepend_delivered_header,
// propagate_unmatched_extensions, recipient_delimiter, reset_owner_alias,
// soft_bounce, stale_lock_time, strict_mailbox_ownership, and those of the
// daemon skeleton and internal/deliver.
package local
