// Package smtptest holds the end-to-end tests of the SMTP server: the
// steps of the two guides the project grew from (port 25 for local mail,
// submission on 587 with STARTTLS and SASL AUTH through a real saslauthd
// or Dovecot, relay control, DNS blocklists, an extra smtpd service,
// postconf -e and postfix reload), a table of dialogues sent to Debian's
// Postfix 3.7 and to ours with the reply lines compared, and hostile
// input (long lines, NUL bytes, SMTP smuggling, STARTTLS injection,
// routed addresses, floods).
//
// Each scenario starts two private mail systems with internal/flowtest,
// one Debian's and one ours, with the same main.cf and master.cf (inet
// services on free loopback ports), talks to both with swaks or a raw
// socket, and compares replies and log lines with queue IDs, dates and
// process IDs masked; then it checks the outcome (mailbox, queue).
// PFGO_FLOW_SELFTEST=1 runs Debian's Postfix on both sides, which proves
// the harness itself (TestGuidePostconfM still compares our postconf).
// PFGO_SMTP_DUMP=DIR writes both sides of every difference to DIR.
//
// One difference is forgiven, in one place (maskCipher in
// harness_test.go): for the same client Debian's Postfix negotiates
// TLS_AES_256_GCM_SHA384 (256/256 bits) in TLS 1.3 and Go's crypto/tls
// TLS_AES_128_GCM_SHA256 (128/128 bits), with no setting to change it
// (doc/DIFFERENCES.md); goCipher asserts that ours names exactly the
// latter.
//
// Files by theme: guide_test.go, sasl_test.go, cert_test.go, rbl_test.go
// and admin_test.go follow the guides (ports 25/587/465, saslauthd and
// Dovecot from internal/xsasl/sasltest, openssl-made certificates,
// reject_rbl_client inside dnstest.InNamespace, postconf -e, postfix
// reload, an extra smtpd port, qshape — ours against Debian's); dialogue_test.go is the
// differential dialogue table (with a held queue file compared by
// Debian's postcat); hostile_test.go is bad input, smuggling and
// STARTTLS injection; limits_test.go is maxproc and the anvil limits;
// harness_test.go holds the pair of systems, masking and the dialogue
// runner (internal/flowtest has the reusable parts).
package smtptest
