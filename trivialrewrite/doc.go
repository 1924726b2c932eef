// Package trivialrewrite is the trivial-rewrite(8) daemon: Postfix's
// address rewriting and resolving service.
//
// # What it does
//
// cleanup(8) asks it to rewrite addresses into the standard
// user@fully.qualified.domain form; qmgr(8) asks it where each recipient
// goes (transport, nexthop, recipient); smtpd(8) and verify(8) ask it to
// classify recipient domains. The work itself is done by package
// internal/rewrite (Engine); this package plugs it into the multi-client
// server skeleton (internal/server): one process serves many clients at
// once, and each client keeps its connection open for many requests.
//
// Rewriting ("rewrite" requests, rule sets "local" and "remote"): strip a
// source route (@a,@b:user@domain → user@domain); with swap_bangpath,
// site!user → user@site; with allow_percent_hack, user%domain →
// user@domain; with append_at_myorigin, append @$myorigin to a bare user
// ("local") or @$remote_header_rewrite_domain ("remote", nothing when
// that is empty); with append_dot_mydomain, append .$mydomain (or the
// remote domain) to a domain without dots; drop one trailing dot.
//
// Resolving ("resolve" and "verify" requests): local domains
// ($mydestination, and [address] literals of $inet_interfaces and
// $proxy_interfaces) are stripped from the end of the address, routing
// operators left in the local part are rewritten, and the domain that
// remains picks the address class: local ($local_transport), virtual alias
// ("error" with "5.1.1 User unknown"), virtual mailbox
// ($virtual_transport), relay ($relay_transport) or default
// ($default_transport, or $sender_dependent_default_transport_maps).
// Off-host classes go to $relayhost or the sender-dependent relay host,
// else to the recipient domain. A "transport:nexthop" main.cf value sets
// the nexthop; then $transport_maps (address, address without extension,
// domain and parent domains, "*") and $relocated_maps have the last word.
// "verify" uses the address_verify_* variants of those parameters. A table
// that cannot be read sets the FAIL flag in the reply, so that callers try
// again later rather than bounce or misroute mail (qmgr defers it:
// "4.3.0 address resolver failure"). As in Postfix, a table is opened once
// per process; one that cannot be opened is logged once ("error: WHY")
// and each lookup then logs "TYPE:NAME is unavailable. WHY"; a failed
// lookup in transport_maps, relocated_maps or a sender-dependent table
// (sender_dependent_default_transport_maps,
// sender_dependent_relayhost_maps and their address_verify_ variants)
// adds "TYPE:NAME lookup error for "KEY"", an empty result "PARAM lookup
// of KEY returns an empty string result" and "PARAM should return NO
// RESULT in case of NOT FOUND", both then "PARAM lookup failure". "*" is
// looked up in transport_maps and address_verify_transport_maps when the
// daemon starts. In the domain lists (mydestination, relay_domains,
// virtual_alias_domains, virtual_mailbox_domains) a failed lookup logs
// "LIST: TYPE:NAME: table lookup problem", then "LIST lookup failure"
// (not for mydestination: the request fails there before the recipient
// is worked out, and the reply's recipient is "NEXTRCPT NOT UPDATED"); a
// list's /file/name that cannot be read is logged once as "error: open
// file PATH: WHY" and stands in as the table "non-existent:PATH" whose
// lookups fail.
//
// # Protocol
//
// Postfix's own, over private/$rewrite_service_name with the attribute
// protocol's "0" encoding: the server announces
// protocol=trivial_rewrite_protocol; each request is request=rewrite,
// rule, address (external form) → flags, address; or request=resolve or
// verify, sender, address (internal form) → flags, transport, nexthop,
// recipient, flags (the address class and RESOLVE_FLAG_* bits). Debian's
// Postfix clients and ours interoperate with it byte for byte.
//
// # Logging and security
//
// Nothing is logged per request, only warnings (table failures, bad
// requests, configuration problems), as Postfix does. The daemon opens its
// tables before chroot and runs as $mail_owner. When a table file changes
// it exits ("table NAME has changed -- restarting") so that master starts
// a fresh process.
//
// # Configuration parameters
//
// append_at_myorigin, append_dot_mydomain, allow_percent_hack,
// swap_bangpath, myorigin, mydomain, myhostname, remote_header_rewrite_domain,
// mydestination, inet_interfaces, inet_protocols, proxy_interfaces,
// relay_domains, parent_domain_matches_subdomains, virtual_alias_domains,
// virtual_mailbox_domains, local_transport, virtual_transport,
// relay_transport, default_transport, relayhost, transport_maps,
// sender_dependent_relayhost_maps, sender_dependent_default_transport_maps,
// empty_address_relayhost_maps_lookup_key,
// empty_address_default_transport_maps_lookup_key, relocated_maps,
// resolve_dequoted_address, resolve_null_domain, resolve_numeric_domain,
// empty_address_recipient, show_user_unknown_table_name, allow_min_user,
// recipient_delimiter, helpful_warnings, smtputf8_enable, ipc_timeout, the
// address_verify_* transport, relayhost and map parameters, and those of
// the server skeleton (max_use, max_idle, queue_directory, mail_owner).
package trivialrewrite
