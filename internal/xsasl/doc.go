// Package xsasl is the server side of SMTP AUTH for smtpd: the two SASL implementations
// Postfix's smtpd can use (smtpd_sasl_type = cyrus or dovecot), with the mechanisms, replies
// and log texts of Debian's Postfix 3.7 smtpd, checked against it with a real saslauthd and a
// real Dovecot.
//
// # Use
//
// smtpd calls New once, before it enters its chroot jail; for each SMTP session that may
// authenticate it calls Backend.Session (its errors, ErrNoMechanisms and ErrSessionInit, are
// fatal in Postfix: "fatal: no SASL authentication mechanisms"), lists Session.Mechanisms after "250-AUTH", and runs the
// AUTH dialogue: Decode for the client's base64 text, Start and Next for the steps, "334 " plus
// the base64 of Result.Challenge while the status is More, and Reply for the final line.
// Session.Username gives the user name for the log ("sasl_username=", "(unavailable)" when it is
// "") and the Received header; after a failure it is what Postfix's backend reports then (cyrus:
// none after a malformed response or a new AUTH; dovecot: the user of Dovecot's last reply).
// smtpd itself owns the AUTH command syntax, the "*" abort, AUTH= in MAIL FROM and the
// "SASL … authentication failed: REASON, sasl_username=…" log line.
//
// Replies (Reply): 235 2.7.0 Authentication successful; 535 5.7.8 Error: authentication
// failed: REASON for Fail and Form (Postfix 3.7 answers bad base64 with 535 as well);
// 454 4.7.0 Temporary authentication failure: REASON for Temp.
//
// # cyrus: saslauthd
//
// smtpd_sasl_path (default "smtpd") names the Cyrus application file smtpd.conf. It is looked
// for where Debian's smtpd looks — $config_directory/sasl, then /usr/lib/sasl — and then in
// the directories of $cyrus_sasl_config_path and in /etc/sasl2 (see AppConfDirs). Keys read:
// pwcheck_method (only "saslauthd"; anything else is an error from New), mech_list (which of
// PLAIN and LOGIN to offer, in the order given; default PLAIN LOGIN), saslauthd_path (default
// /var/run/saslauthd/mux; inside Debian's chroot that is /var/spool/postfix/var/run/saslauthd/mux,
// which the administrator sets as /var/run/saslauthd/mux relative to the jail). Other keys
// (log_level, …) are accepted and ignored: Debian's smtpd logs the same warnings whatever
// log_level says. A malformed line makes New fail, as it makes Postfix's
// smtpd stop; each such line is logged with file and line.
//
// The mechanisms are ours: PLAIN (RFC 4616, parsed with github.com/emersion/go-sasl) and LOGIN
// ("Username:", "Password:"). As Cyrus does, user names are trimmed of white space and get
// "@$smtpd_sasl_local_domain" appended when they hold no '@', with PLAIN and LOGIN alike, and
// that canonical name is Session.Username (Debian's smtpd logs "sasl_username=alice@realm" for
// "alice"; username_test.go); an authorization identity must
// equal the authentication identity. The password is checked by saslauthd over its UNIX socket:
// four counted strings (2-byte big-endian length, then the bytes) — user, password, service
// ($smtpd_sasl_service), realm (the part after the user name's last '@') — answered by one
// counted string starting "OK" or "NO"; exactly what Debian's libsasl2 sends. A saslauthd that
// cannot be reached gives Temp ("generic failure"). The warnings Cyrus's library logs through
// Postfix ("SASL authentication failure: Password verification failed", "…: cannot connect to
// saslauthd server: No such file or directory", …) are logged the same way.
//
// # dovecot
//
// smtpd_sasl_path is Dovecot's auth client socket: "inet:host:port", "unix:path" or a path,
// which is relative to the current directory (the queue directory, or the jail's top), e.g.
// "private/auth". The protocol is described in dovecotproto.go; one connection is shared by the
// process's sessions (requests told apart by ID), made when the first session starts and again
// after Dovecot went away. Requests carry service=$smtpd_sasl_service, nologin, lip, rip,
// "secured" when the session is encrypted, and resp= for an initial response. Mechanisms are
// Dovecot's, whatever they are; reasons are Dovecot's reason= text or "(reason unavailable)";
// a lost connection gives Temp "Connection lost to authentication server".
//
// # Security options
//
// SecurityOptions returns smtpd_sasl_security_options, or smtpd_sasl_tls_security_options when
// the session is encrypted. With cyrus, any of noplaintext, noactive, nodictionary, mutual_auth
// and forward_secrecy hides PLAIN and LOGIN (they only promise noanonymous). With dovecot a
// mechanism is hidden when it carries the flag an option forbids (anonymous, plaintext,
// dictionary, active) or lacks one it requires (mutual-auth, forward-secrecy).
//
// # Security
//
// Passwords are held only for the one saslauthd or Dovecot request and never logged. Lines from
// Dovecot are bounded (64 KB); saslauthd and Dovecot answers are bounded in time
// ($ipc_timeout for Dovecot, 30 s for saslauthd).
//
// main.cf parameters read: smtpd_sasl_type, smtpd_sasl_path, cyrus_sasl_config_path,
// config_directory, ipc_timeout, smtpd_sasl_security_options, smtpd_sasl_tls_security_options
// (and, by smtpd for Params, smtpd_sasl_service and smtpd_sasl_local_domain).
//
// Package sasltest starts a real saslauthd and a real Dovecot for tests.
package xsasl
