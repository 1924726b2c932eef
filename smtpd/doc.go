// Package smtpd is the smtpd(8) daemon: the SMTP server that receives mail
// from the network, and from "sendmail -bs" (stand-alone, -S), and hands
// each message to cleanup(8).
//
// # Processes and sessions
//
// master starts smtpd for each inet service in master.cf (smtp on 25,
// submission, smtps with -o smtpd_tls_wrappermode=yes) with the service's
// -o overrides. Unlike Postfix, one smtpd process serves many SMTP sessions
// at once (internal/server Multi mode), one goroutine each. The service's
// maxproc column (read from master.cf when master did not pass -l or -z;
// "-" means $default_process_limit, 0 unlimited) still bounds the
// concurrent sessions of one process: a connection beyond it waits,
// unanswered, until a session ends. An idle session holds its socket, a
// 1 KB read buffer, a 512-byte write buffer and its state (under 10 KB
// with its goroutine; see TestIdleSessionMemory).
//
// # The dialogue
//
// Replies are Postfix 3.7's, byte for byte, as the differential tests
// check against Debian's smtpd: the 220 greeting ($smtpd_banner), the EHLO
// keyword list in Postfix's order (PIPELINING, SIZE, VRFY, ETRN, STARTTLS,
// AUTH, AUTH=, XCLIENT, XFORWARD, ENHANCEDSTATUSCODES, 8BITMIME, DSN,
// SMTPUTF8, CHUNKING) minus $smtpd_discard_ehlo_keywords (logged as
// "discarding EHLO keywords: …" unless ENHANCEDSTATUSCODES is among
// them; replies keep their enhanced status codes either way), the
// sequencing and syntax errors, "500
// 5.5.2 Error: command not recognized", "221 2.7.0 Error: I can break
// rules, too. Goodbye." for a message header or a command of
// $smtpd_forbidden_commands sent as a command, and the replies for the
// limits: message_size_limit (SIZE= and content), smtpd_recipient_limit
// (with smtpd_recipient_overshoot_limit), line_length_limit, smtpd_timeout
// ("421 4.4.2 HOST Error: timeout exceeded") and error counting: from
// $smtpd_soft_error_limit errors on each reply waits
// $smtpd_error_sleep_time, at $smtpd_hard_error_limit the session ends with
// "421 4.7.0 HOST Error: too many errors". HELO, EHLO, NOOP, VRFY, ETRN
// and RSET beyond $smtpd_junk_command_limit count as errors. Every 4xx and
// 5xx reply, protocol errors and the 421s included, gets a footer: the
// value $smtpd_reject_footer_maps gives for the whole reply text, else
// $smtpd_reject_footer ("\n" starts a reply line with the reply's codes,
// a leading "\c" continues the reply's last line; $client_address,
// $client, $helo_name, $sender, $recipient, $localtime, $server_name and
// the other session attributes are expanded; see footer.go). With
// soft_bounce = yes every 5xx line goes out as 4xx. An accepted HELO/EHLO
// name is kept with its words joined by one space and each of
// ` <>()\";@` and unprintable bytes turned into "?", as Postfix keeps it
// for the log lines, later restrictions and the footer. BDAT (CHUNKING) and DATA share the content path. Reading
// the client (command lines, MAIL/RCPT parameters, DATA and BDAT content,
// the bare-newline policy of smtpd_forbid_bare_newline) is
// internal/smtpread's job.
// Before a command line is split, a line cut at line_length_limit is
// masked with '?' as Postfix masks it, and with smtputf8_enable on a line
// that is not valid UTF-8 gets "500 5.5.2 Error: bad UTF-8 syntax" (an
// error, not a command; input.go). A restriction's reply shows each
// 8-bit byte of the client's text as a space when smtputf8_enable is off.
//
// XCLIENT and XFORWARD are accepted from $smtpd_authorized_xclient_hosts
// and $smtpd_authorized_xforward_hosts (decided for the real client at
// connect time; XCLIENT is allowed again only if the new client is
// authorized). XCLIENT forgets the HELO name, protocol and login unless it
// gives them, and runs smtpd_client_restrictions again for the new client
// (without smtpd_delay_reject a reject replaces its 220 greeting, as at
// connect time). XCLIENT NAME with a host name sets the reverse name too
// (until a later REVERSE_NAME); [TEMPUNAVAIL] stands for a temporary
// lookup failure, [UNAVAILABLE] for a permanent one. permit_inet_interfaces
// still judges the address the connection really comes from. XFORWARD
// attributes hold for one mail transaction (the message, RSET, HELO/EHLO
// or XCLIENT ends them) and go into the log_* queue file attributes and
// the client= log line; XFORWARD SOURCE=LOCAL or REMOTE (or [UNAVAILABLE],
// local) sets rewrite_context. An attribute without a value gets "501
// 5.5.4 Error: attribute=value expected".
//
// # Restrictions
//
// smtpd/check evaluates the restriction lists at CONNECT (without
// smtpd_delay_reject: the greeting is replaced by the reject and every
// command but QUIT, unknown ones too, gets "503 5.7.0 Error: access denied
// for …"), HELO/EHLO,
// MAIL, RCPT, DATA, END-OF-MESSAGE, VRFY and ETRN, and logs its reject,
// warn, hold and discard lines. smtpd applies what the access actions
// asked for to the message: HOLD and DISCARD as a cleanup flags record
// before the content, FILTER, REDIRECT and BCC recipients after it (as
// Postfix's smtpd writes them), and PREPEND headers above the Received:
// header. A client that sent commands ahead where it may not
// ("improper command pipelining after CMD from …: TEXT") is flagged for
// reject_unauth_pipelining.
//
// # Hand-off to cleanup
//
// The cleanup stream (internal/submit) is opened at the first accepted
// recipient (smtpd_delay_open_until_valid_rcpt = yes, the default; else at
// MAIL), and "QUEUEID: client=NAME[ADDR]" is logged then (with
// ", sasl_method=M, sasl_username=U" after AUTH, M as the client typed
// it, and ", sasl_sender=S" when the logged-in client gave MAIL
// AUTH=S other than <>, S as it wrote it in xtext; ", orig_queue_id=…,
// orig_client=…" after XFORWARD). The envelope is written as Postfix's
// smtpd writes it: arrival time, content_filter, log_ident,
// rewrite_context (local for local_header_rewrite_clients; not written by
// sendmail -bs, whose maildrop file pickup gives its own), SASL
// attributes, DSN envelope_id and ret_flags, the sender, the BODY=
// encoding, the client attributes for logging and for XCLIENT/XFORWARD,
// and per recipient its notify_flags and dsn_orig_rcpt before R. The
// content starts with Postfix's Received: header (with the TLS comment
// under smtpd_tls_received_header, "(Authenticated sender: …)" under
// smtpd_sasl_authenticated_header, "with ESMTPSA" and friends, "for <RCPT>"
// when there is one recipient). "250 2.0.0 Ok: queued as ID" is sent only
// after cleanup answered status 0, that is after the queue file was
// written and fsync'ed; any other status becomes Postfix's reply
// (submit.Detail), and a cleanup service that cannot be reached gives "451
// 4.3.0 Error: queue file write error".
//
// Stand-alone (-S, on a pipe: the client is localhost[127.0.0.1]) smtpd
// hands the message to "$command_directory/postdrop -r" instead, so it
// enters through the maildrop queue and pickup, as Postfix's does.
//
// # TLS and AUTH
//
// STARTTLS (internal/tlsutil) follows smtpd_tls_security_level
// none/may/encrypt (or the older smtpd_use_tls and smtpd_enforce_tls);
// at encrypt every command but HELO, EHLO, STARTTLS, NOOP and QUIT gets
// "530 5.7.0 Must issue a STARTTLS command first", and AUTH is offered
// only over TLS, as with smtpd_tls_auth_only. Whatever the client sent
// behind STARTTLS is discarded (CVE-2011-0411), and the session starts
// over (EHLO again). smtpd_tls_loglevel 1 logs "Anonymous TLS connection
// established from …". AUTH (internal/xsasl) runs the 334 loop with base64
// decoded as the backend's Postfix does, "*" aborts, and failures are
// logged as "warning: HOST[ADDR]: SASL MECH authentication failed: REASON,
// sasl_username=USER". smtpd_sasl_exceptions_networks only keeps EHLO
// from announcing AUTH to the clients it lists; the AUTH command still
// works for them, as in Postfix.
//
// # Rate limits
//
// When any smtpd_client_*_limit is set, the anvil service (package anvil)
// counts connections, their rate, messages, recipients, new TLS sessions
// and AUTH commands per client, except for
// $smtpd_client_event_limit_exceptions, with Postfix's replies ("421 4.7.0
// HOST Error: too many connections from ADDR") and warnings ("Connection
// rate limit exceeded: N from HOST[ADDR] for service SERVICE").
//
// # Log lines
//
// "connect from NAME[ADDR]", "lost connection after CMD from …", "timeout
// after CMD from …", "too many errors after CMD from …", "warning: …:
// request longer than 2048: …", "warning: Illegal address syntax from … in
// RCPT command: …", and "disconnect from NAME[ADDR] ehlo=1 mail=1 rcpt=1
// data=1 quit=1 commands=5" (a command that failed at times counts as
// ok/total).
//
// # Security
//
// smtpd talks to strangers. Lines are bounded by $line_length_limit,
// buffers stay small until a command needs more, pipelined plaintext never
// survives STARTTLS, DATA never ends on a bare-LF "." (internal/smtpread),
// and a message is acknowledged only once it is durably queued.
//
// Parameters read: smtpd_banner, myhostname, mail_name, smtpd_timeout,
// smtpd_helo_required, disable_vrfy_command, message_size_limit,
// smtpd_recipient_limit, smtpd_recipient_overshoot_limit,
// smtpd_soft_error_limit, smtpd_hard_error_limit, smtpd_error_sleep_time,
// smtpd_junk_command_limit, line_length_limit, smtpd_forbid_bare_newline,
// smtpd_forbid_bare_newline_reject_code,
// smtpd_forbid_bare_newline_exclusions, smtpd_forbidden_commands,
// smtpd_discard_ehlo_keywords, smtpd_reject_footer,
// smtpd_reject_footer_maps, smtpd_expansion_filter, soft_bounce,
// smtputf8_enable,
// strict_rfc821_envelopes, smtpd_peername_lookup,
// smtpd_delay_open_until_valid_rcpt, local_header_rewrite_clients,
// mynetworks, inet_interfaces, content_filter, receive_override_options,
// smtpd_authorized_xclient_hosts, smtpd_authorized_xforward_hosts,
// smtpd_tls_security_level, smtpd_use_tls, smtpd_enforce_tls,
// smtpd_tls_wrappermode, smtpd_tls_auth_only, smtpd_tls_loglevel,
// smtpd_tls_received_header, smtpd_sasl_auth_enable,
// broken_sasl_auth_clients, smtpd_sasl_service, smtpd_sasl_local_domain,
// smtpd_sasl_exceptions_networks, smtpd_sasl_authenticated_header,
// smtpd_client_connection_count_limit, smtpd_client_connection_rate_limit,
// smtpd_client_message_rate_limit, smtpd_client_recipient_rate_limit,
// smtpd_client_new_tls_session_rate_limit, smtpd_client_auth_rate_limit,
// smtpd_client_event_limit_exceptions, default_process_limit,
// command_directory, and what internal/server, internal/submit,
// internal/tlsutil, internal/xsasl, smtpd/check and anvil read.
package smtpd
