// Package tlsutil gives Go servers Postfix's TLS behaviour: the
// *tls.Config that Postfix's TLS parameters describe, and the texts Postfix
// writes about an established TLS connection (the log line and the
// Received header comment).
//
// # Configuration
//
// ServerConfig reads the parameters of one side with its prefix ("smtpd";
// the code is prefix-neutral so that "smtp" and "lmtp" can follow):
//
//   - PREFIX_tls_chain_files (Postfix 3.4 form, wins when set): PEM files
//     each holding one or more private keys, each followed by its
//     certificate chain, leaf first.
//   - PREFIX_tls_cert_file with PREFIX_tls_key_file (which defaults to the
//     certificate file, so one file may hold both), and
//     PREFIX_tls_eccert_file with PREFIX_tls_eckey_file; RSA and ECDSA keys
//     in PKCS#1, SEC 1 or PKCS#8 form; in a file that holds both, key and
//     certificates may come in any order (in chain files the key comes
//     first). PREFIX_tls_dcert_file (DSA) is not supported by Go and is
//     ignored.
//   - PREFIX_tls_protocols, or PREFIX_tls_mandatory_protocols at security
//     level encrypt and in wrapper mode (PREFIX_tls_wrappermode, as Postfix
//     does): both syntaxes, "!SSLv2, !SSLv3, !TLSv1" exclusions, plain
//     names to include, and ">=TLSv1.2", "<=TLSv1.3" bounds (names or
//     hexadecimal versions). The result is a set of versions, holes
//     allowed ("!TLSv1.2"): like OpenSSL's server, ours agrees to the
//     highest version both sides allow. An unknown word disables TLS with
//     Postfix's warning. SSLv2/SSLv3 do not exist in Go.
//   - PREFIX_tls_ciphers / _mandatory_ciphers (export, low, medium, high,
//     null) select tls_GRADE_cipherlist, an OpenSSL cipher string, which is
//     evaluated with OpenSSL's rules (checked against `openssl ciphers`)
//     over the suites Go implements; PREFIX_tls_exclude_ciphers (and
//     _mandatory_exclude_ciphers) are appended as "!word", as Postfix does.
//     With Debian's OpenSSL 3, export, low, medium and high all yield the
//     same TLS 1.2 suites (RC4 and 3DES are gone), and so they do here.
//     Go has no NULL, anonymous, DHE, CCM, ARIA, CAMELLIA, PSK or SRP
//     suites: words naming them select nothing here, and a list that
//     selects only such suites ("null") leaves TLS 1.3 alone, as it does
//     with OpenSSL. TLS 1.3 suites are not affected by these lists, in Go
//     as in Postfix.
//   - tls_preempt_cipherlist: for TLS 1.2 and older the suite is chosen as
//     OpenSSL chooses it, the client's first acceptable one (or with "yes"
//     the server list's first that the client offers), not by Go's own
//     order. For TLS 1.3 Go's choice cannot be steered: it takes
//     TLS_AES_128_GCM_SHA256 where OpenSSL follows the client (OpenSSL
//     clients put TLS_AES_256_GCM_SHA384 first), so a session Postfix logs
//     with TLS_AES_256_GCM_SHA384 is logged here with
//     TLS_AES_128_GCM_SHA256 (256/256 versus 128/128 bits). This is the
//     one known difference in the texts.
//   - tls_eecdh_auto_curves: the key exchange groups (X448 is not in Go and
//     is skipped; Go's post-quantum hybrid is not offered, as OpenSSL 3.0
//     does not offer it). As with Postfix 3.7 on OpenSSL 3 (checked),
//     PREFIX_tls_eecdh_grade "strong", "ultra" or "none" changes nothing.
//   - The certificate: with several (RSA and ECDSA), TLS 1.3 takes the
//     first of the client's signature algorithms that one of them can
//     make, as OpenSSL does; TLS 1.2 takes the one the chosen suite needs.
//   - PREFIX_tls_ask_ccert (and _req_ccert at level encrypt) asks for a
//     client certificate; it is checked against PREFIX_tls_CAfile and
//     _CApath with PREFIX_tls_ccert_verifydepth, but an untrusted one does
//     not fail the handshake (Postfix logs it "Untrusted"; enforcing
//     _req_ccert is the server's job, see Info.PeerTrusted).
//   - PREFIX_tls_session_cache_timeout: Postfix's session cache becomes
//     Go session tickets that are refused after that time; 0 turns
//     resumption off. Tickets are per process (Postfix shares its keys
//     through tlsmgr).
//   - tls_server_sni_maps (smtpd only): the SNI name, then its parent
//     domains as ".domain", map to chain files in the
//     smtpd_tls_chain_files format, or to their contents as "postmap -F"
//     stores them.
//
// The returned configuration has an empty Certificates field: every
// handshake goes through its GetCertificate, and Certificates(cfg) returns
// the default certificates.
//
// Errors are *Error values holding the lines Postfix logs, checked against
// Debian's smtpd: most mean that Postfix answers STARTTLS with "454 4.7.0
// TLS not available due to local problem"; cipher setting errors
// (Error.Session) are logged by Postfix per STARTTLS, after which the
// handshake fails. A missing chain file is reported here as an Error,
// while Postfix offers TLS and fails each handshake.
//
// # Texts
//
// DescribeConn (after the handshake of a connection made with a
// ServerConfig configuration) turns the connection's state into an Info,
// with OpenSSL's cipher names, the cipher's bits, and for TLS 1.3 the key
// exchange group and the server's (and client's) signature as Postfix 3.7
// with OpenSSL 3 logs them (for TLS 1.2 Postfix logs none of these);
// Describe and DescribeConfig do the same from a tls.ConnectionState
// alone, guessing the server certificate when there are several;
// Info.LogLine is smtpd's "Anonymous TLS connection established from
// host[addr]: TLSv1.3 with cipher …" line and Info.Received the comment
// lines of the Received header with smtpd_tls_received_header = yes.
//
// Client certificates: Info.PeerTrusted and Info.VerifyError say how the
// certificate fared against the CAs; with smtpd_tls_req_ccert,
// Info.VerifyLine is the "certificate verification failed for …" line and
// Info.RequireTrusted gives the "NOQUEUE: abort: TLS from …" line and the
// 421 reply Postfix sends before it hangs up. A failed handshake:
// HandshakeFailure gives the "SSL_accept error from host[addr]: …" line
// and, for the common causes, OpenSSL's error line as Postfix logs it.
//
// Known differences from Postfix with OpenSSL: the TLS 1.3 suite (see
// above); no DHE suites (a client that offers only DHE suites, which
// Postfix accepts with its built-in DH parameters, fails here); per
// process session tickets; SSLv3 does not exist.
//
// # Security
//
// Keys are read when ServerConfig runs, so a daemon calls it before it
// drops privileges. Nothing here touches the network.
package tlsutil
