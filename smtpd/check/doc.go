// Package check implements the SMTP server's access restrictions, Postfix's
// smtpd_check: the restriction lists that decide, command by command,
// whether smtpd accepts a client, its HELO name, the sender and each
// recipient, DATA, the end of a message and ETRN.
//
// New parses every list once per process (before chroot, opening the
// lookup tables and policy clients they name) and fails with Postfix's
// fatal text when relay control is missing ("in parameter
// smtpd_relay_restrictions or smtpd_recipient_restrictions, specify at
// least one working instance of: ...") or a restriction class has no
// definition. The engine (package smtpd) keeps a Session per connection,
// fills its exported fields and calls the stage function of each command:
//
//	Connect    smtpd_client_restrictions (only with smtpd_delay_reject = no)
//	Helo       smtpd_helo_restrictions   (only with smtpd_delay_reject = no)
//	Mail       smtpd_sender_restrictions (only with smtpd_delay_reject = no)
//	           and the implicit reject_unlisted_sender
//	Rcpt/Vrfy  with smtpd_delay_reject: the client, helo and sender lists
//	           again, then smtpd_relay_restrictions and
//	           smtpd_recipient_restrictions, then the implicit
//	           reject_unlisted_recipient (smtpd_reject_unlisted_recipient)
//	Data       smtpd_data_restrictions
//	EndOfData  smtpd_end_of_data_restrictions
//	Etrn       smtpd_etrn_restrictions
//
// At XCLIENT the engine calls Connect again with Stage "XCLIENT" (the log
// line then says "XCLIENT from"). RewriteContext applies
// local_header_rewrite_clients; BadAddress is smtpd_check_addr.
//
// Testing: every reply and log line in testdata/golden.txt was recorded
// from Debian's smtpd 3.7.11 (TestRecordReference, PFGO_RECORD=1, inside a
// network namespace with a test DNS server); TestGolden plays the same
// dialogues against this package.
//
// A stage returns nil to go on or the Reply to send ("554 5.7.1
// <x@example.net>: Relay access denied"). The check logs what Postfix logs:
// "NOQUEUE: reject: RCPT from host[addr]: REPLY; from=<s> to=<r>
// proto=ESMTP helo=<h>", and reject_warning, warn, info, hold, discard,
// filter, redirect, bcc and (smtpd_log_access_permit_actions) permit lines;
// the engine adds smtpd_reject_footer, counts errors and sleeps.
//
// Restrictions: permit, reject, defer, warn_if_reject, defer_if_permit,
// defer_if_reject, sleep, reject_unauth_pipelining (Session.Pipelined),
// reject_plaintext_session, permit_mynetworks, permit_inet_interfaces,
// permit_sasl_authenticated, permit_tls_clientcerts,
// permit_tls_all_clientcerts, reject_unknown_client_hostname,
// reject_unknown_reverse_client_hostname, check_client_access,
// check_reverse_client_hostname_access, check_ccert_access,
// check_sasl_access, the _mx_access/_ns_access/_a_access forms of the
// client, reverse client, helo, sender and recipient checks, reject_rbl_client,
// permit_dnswl_client, reject_rhsbl_client, _reverse_client, _helo,
// _sender, _recipient, permit_rhswl_client, check_helo_access,
// reject_invalid_helo_hostname, reject_unknown_helo_hostname,
// reject_non_fqdn_helo_hostname, check_sender_access,
// reject_unknown_sender_domain, reject_non_fqdn_sender,
// reject_unlisted_sender, reject_sender_login_mismatch and its
// authenticated/known/unauthenticated forms, check_recipient_access,
// permit_auth_destination, reject_unauth_destination,
// defer_unauth_destination, check_relay_domains (deprecated, with
// Postfix's warning), permit_mx_backup,
// reject_unknown_recipient_domain, reject_non_fqdn_recipient,
// reject_unlisted_recipient, reject_multi_recipient_bounce,
// check_etrn_access, check_policy_service, smtpd_restriction_classes, and
// a bare "type:table" (an access table of the list's own kind). An
// unknown name logs "unknown smtpd restriction" and replies "451 4.3.5
// Server configuration error". reject_unverified_* needs the verify
// service, which this project does not have yet: they act as if it
// failed (450 "address verification problem", by the tempfail action).
//
// Access tables follow access(5): the search orders of check_*_access
// (names with parent domains, addresses with shorter prefixes, addresses
// with extension stripping, the smtpd_null_access_lookup_key for <>),
// and the actions OK, all-digits, REJECT, DEFER, 4NN/5NN text, DUNNO,
// DEFER_IF_PERMIT, DEFER_IF_REJECT, WARN, INFO, HOLD, DISCARD, FILTER,
// REDIRECT, BCC, PREPEND and restriction lists. HOLD, DISCARD, FILTER,
// REDIRECT, BCC and PREPEND are recorded in the Session for the engine.
//
// Addresses are classified by trivial-rewrite (Deps.Rewrite: rewritten in
// the "local" context, then resolved): relay control treats an address
// with routing operators (%, !, a quoted @, a source route) as not local
// unless allow_untrusted_routing is set, so such a recipient gets "Relay
// access denied" as in Postfix. Recipient tables are local_recipient_maps
// (for $mydestination), virtual_mailbox_maps, relay_recipient_maps, with
// canonical and virtual alias entries counting as known; "proxy:" tables
// are read through proxymap(8) when the system runs it (maptypes).
//
// Tables that fail behave as in Postfix (maptypes.Reported): a table that
// cannot be opened is logged once by New ("error: open database
// /etc/postfix/access.db: No such file or directory", Deps.Error) and
// stands in with lookups that log "warning: TYPE:NAME is unavailable.
// WHY"; a failed lookup adds "warning: TYPE:NAME lookup error for "KEY"";
// an empty value logs "TITLE lookup of KEY returns an empty string
// result" and "TITLE should return NO RESULT in case of NOT FOUND" (TITLE
// is the table in a restriction, the parameter for a *_maps table) and
// counts as a configuration error. An access table that fails answers
// "451 4.3.5 <name>: ... rejected: Server configuration error"; a
// recipient or sender table (reject_unlisted_*) "451 4.3.0 <addr>:
// Temporary lookup failure", or "451 4.3.5 Server configuration error"
// for an empty value; local_header_rewrite_clients (RewriteContext)
// "451 4.3.0 Temporary lookup error" or "451 4.3.5 Server configuration
// error".
//
// DNS comes from Deps.Resolver (RBL/RHSBL/DNSWL queries with "=127.0.0.x"
// and "[a..b;c]" result filters, rbl_reply_maps and default_rbl_reply with
// $rbl_* and session variables; unknown host and domain checks; MX/NS
// lookups). Policy servers are asked with the attributes of Postfix 3.7's
// policy delegation protocol; when a server fails, its default_action
// applies.
//
// Parameters read: smtpd_{client,helo,sender,relay,recipient,data,
// end_of_data,etrn}_restrictions, smtpd_restriction_classes (and each
// class), smtpd_delay_reject, mynetworks, relay_domains,
// permit_mx_backup_networks, parent_domain_matches_subdomains,
// smtpd_null_access_lookup_key, smtpd_log_access_permit_actions,
// smtpd_reject_unlisted_recipient, smtpd_reject_unlisted_sender,
// local_recipient_maps, virtual_alias_maps, virtual_mailbox_maps,
// relay_recipient_maps, canonical_maps, recipient_canonical_maps,
// show_user_unknown_table_name, double_bounce_sender, recipient_delimiter,
// allow_untrusted_routing, soft_bounce, smtpd_client_port_logging,
// rbl_reply_maps, default_rbl_reply, maps_rbl_reject_code,
// smtpd_sender_login_maps, relay_clientcerts, smtpd_tls_fingerprint_digest,
// inet_interfaces, proxy_interfaces, mydestination, myhostname, the
// smtpd_policy_service_* defaults, and the reply codes
// unknown_client_reject_code, invalid_hostname_reject_code,
// unknown_hostname_reject_code, unknown_address_reject_code,
// relay_domains_reject_code, access_map_reject_code,
// access_map_defer_code, reject_code, defer_code, non_fqdn_reject_code,
// multi_recipient_bounce_reject_code, unknown_local_recipient_reject_code,
// unknown_relay_recipient_reject_code, unknown_virtual_alias_reject_code,
// unknown_virtual_mailbox_reject_code, plaintext_reject_code, and the
// *_tempfail_action parameters.
//
// Security: the checks see only what the client sent and what DNS and
// tables say; every reply text is made printable (a space for each
// control byte, and for each 8-bit byte unless it is UTF-8 and
// smtputf8_enable is on) but, as in Postfix 3.7, not shortened; an
// access table value that names a lookup table is refused, and recursion
// through table values is bounded.
package check
