// Package cleanup is the cleanup(8) daemon: it receives each new message
// from pickup(8), smtpd(8), bounce(8) and other clients over Postfix's
// cleanup protocol (internal/submit), makes it complete and canonical,
// writes it to a queue file and tells the queue manager.
//
// For each connection cleanup creates a queue file in incoming/ (its name
// is the queue ID sent to the client), then reads the client's records:
//
//   - the envelope: the arrival time (and a create_time attribute of its
//     own), attributes (rewrite_context chooses how header addresses are
//     rewritten: "local", or "remote" only when remote_header_rewrite_domain
//     is set), the sender and the recipients. Envelope addresses are
//     rewritten by trivial-rewrite(8) in the "local" context, then (with
//     the client's address mapping flag) by sender_canonical_maps or
//     recipient_canonical_maps and canonical_maps as the *_classes
//     parameters say, masqueraded (masquerade_domains, masquerade_exceptions,
//     masquerade_classes) and, for recipients, expanded through
//     virtual_alias_maps (virtual_alias_recursion_limit,
//     virtual_alias_expansion_limit). Each recipient is written with its
//     original form (an O record, enable_original_recipient) and DSN
//     attributes; duplicates are dropped (duplicate_filter_limit).
//     sender_bcc_maps, recipient_bcc_maps and always_bcc add recipients
//     when the client allows automatic BCC.
//   - the content: primary headers are unfolded (RFC 5322), limited to
//     header_size_limit, run through header_checks (mime_header_checks for
//     MIME headers), counted for hopcount_limit (Received: and
//     Delivered-To:), stripped per message_drop_headers, and their addresses
//     rewritten as above in the header context. Missing Message-Id:, Date:
//     and From: (or their Resent- forms) are added for local mail or with
//     always_add_missing_headers, and undisclosed_recipients_header when
//     there is no To:, Cc: or Bcc:. A message without any Received: header
//     is refused (every Postfix client adds one). The body is followed
//     through its MIME structure (unless disable_mime_input_processing):
//     body-part headers go through mime_header_checks, the headers of an
//     attached message through nested_header_checks (both default to
//     header_checks), every other line, boundaries included, through
//     body_checks (body_checks_size_limit per part).
//     A carriage return inside a content line becomes a space before
//     anything else looks at the line, as in Postfix; then
//     message_reject_characters refuse and message_strip_characters remove
//     characters in any content line. Non-ASCII headers and envelope
//     addresses are noted in the size record's SMTPUTF8 field (and turn on
//     SMTPUTF8 when the client asked for autodetection).
//   - the extracted section (recipients that sendmail -t took from the
//     headers arrive there), to which FILTER, REDIRECT and BCC actions and
//     always_bcc add their records, and the end record.
//
// When the client sets the bounce flag (pickup does), a refused message is
// returned to its sender: cleanup leaves the queue file as far as it got
// (mode 0600, so the queue manager ignores it; after a REJECT the whole
// message, for a message over message_size_limit the first
// message_size_limit bytes with the size record still zero), reads the
// recipients back from it, has the bounce service
// ($bounce_service_name) log each one as failed, logging "ID: to=<r>,
// relay=none, ..., status=bounced (reason)" itself, and asks for the
// notice, which carries only the headers of a rejected or over-size
// message. It then removes the file and tells the client that all went
// well (status 0, with the reason). A message is found too big where
// Postfix finds it: when the file grows past the 4096-byte write buffer
// that holds the limit, or at the end.
//
// Content actions are those Postfix 3.7's cleanup knows: REJECT, WARN,
// INFO, HOLD, DISCARD, REDIRECT, FILTER, BCC, IGNORE, PREPEND, REPLACE,
// DUNNO and OK, logged in Postfix's words ("ID: reject: header Subject: x
// from local; from=<a> to=<b>: 5.7.1 text", where the origin is the
// client's log_message_origin attribute, "local" without one, and the
// recipient is the last envelope recipient); anything else (DEFER, 4NN/5NN
// text) is "unknown command in header_checks map", as in Postfix. REJECT
// with a 4.X.Y text defers the message. After REJECT, DISCARD or REDIRECT
// no more checks apply to the message (later headers are kept as they
// are). REDIRECT and BCC need a user@domain address, FILTER a
// transport:destination, PREPEND and REPLACE a text; otherwise cleanup
// warns and ignores the action, with Postfix's words.
//
// A message is acknowledged (status 0) only after its queue file is fully
// written and synced to disk under its final name in incoming/ (or
// hold/). As Postfix's, the file has that name from the start, mode 0600
// (qmgr leaves it alone) until it is complete; then it is made mode 0700
// and synced. The clients of one cleanup process that finish at the same
// moment share the sync (group commit, queue.GroupSync): a lone file is
// fsync'ed, several are made durable together by one syncfs of the queue
// file system. qmgr is then woken through public/$queue_service_name;
// clients that finish while a wake-up is being sent share the next one.
// Answers of trivial-rewrite are remembered for a few seconds. Any problem — a
// table that cannot be read, a rewriting failure, a write error — makes the
// reply a failure status (internal/submit's Stat* bits) and removes the
// file, so the client keeps the message; a table error never lets mail
// through unmapped. cleanup logs "ID: message-id=<...>" for each message.
//
// Tables are logged as Postfix's cleanup logs them. Each "type:name" is
// opened once per process, however many parameters name it (header_checks
// and the MIME and nested header parameters that default to it); one that
// cannot be opened is logged once ("error: WHY") and each lookup in it
// then logs "TYPE:NAME is unavailable. WHY". A failed lookup is followed
// by "TYPE:NAME lookup error for "KEY"", an empty result by "PARAM lookup
// of KEY returns an empty string result" and "PARAM should return NO
// RESULT in case of NOT FOUND"; then cleanup says "ID: PARAM map lookup
// problem [for ADDRESS] -- message not accepted, try again later" and
// fails the message with "queue file write error" (virtual alias
// expansion: "4.6.0 Alias expansion error"), so pickup keeps it in
// maildrop and smtpd answers 451.
//
// Security: cleanup runs chrooted or not as master.cf says, as mail_owner;
// it trusts its clients only as far as the protocol: bad records are
// reported and refused, never a panic.
//
// Main parameters read: the ones named above, plus myhostname, myorigin,
// mydestination, message_size_limit, line_length_limit, ipc_timeout,
// delay_warning_time, recipient_delimiter, propagate_unmatched_extensions,
// empty_address_recipient, queue_file_attribute_count_limit,
// message_drop_headers, soft_bounce, queue_service_name,
// bounce_service_name. receive_override_options is applied by the
// clients (they choose the flags), not by cleanup, as in Postfix.
package cleanup
