package policy

import "strconv"

// Request holds the values smtpd sends in an SMTPD access policy request
// (request=smtpd_access_policy). The caller fills what it knows; Attrs
// lays them out in the order and form Debian's Postfix 3.7 smtpd sends
// (checked by the differential test against its smtpd). An unknown value
// is left empty (a number zero): Postfix then sends "name=" or "name=0".
type Request struct {
	// ProtocolState is the SMTP stage: CONNECT, EHLO, HELO, MAIL, RCPT,
	// DATA (also for BDAT), END-OF-MESSAGE, VRFY or ETRN.
	ProtocolState string
	// ProtocolName is SMTP or ESMTP: SMTP until a HELO or EHLO has
	// succeeded (so also at the EHLO stage itself), as Postfix sends it.
	ProtocolName string
	// HeloName is the HELO/EHLO argument.
	HeloName string
	// QueueID is the queue ID once a queue file exists.
	QueueID string
	// Sender and Recipient are the envelope addresses in internal
	// (unquoted) form; Recipient also at DATA and END-OF-MESSAGE when the
	// message has exactly one recipient.
	Sender, Recipient string
	// RecipientCount is the number of accepted recipients (DATA and
	// END-OF-MESSAGE only; zero before).
	RecipientCount int
	// ClientAddress is the client IP address (no brackets, no "IPv6:").
	ClientAddress string
	// ClientName and ReverseClientName are the verified and the reverse
	// client host names ("unknown" when none).
	ClientName, ReverseClientName string
	// Instance identifies the mail transaction (same for every request
	// about one message).
	Instance string
	// SASLMethod, SASLUsername and SASLSender describe SASL
	// authentication (empty when none).
	SASLMethod, SASLUsername, SASLSender string
	// Size is the MAIL FROM SIZE= value, or the message size at
	// END-OF-MESSAGE.
	Size int64
	// CcertSubject, CcertIssuer (xtext-encoded), CcertFingerprint and
	// CcertPubkeyFingerprint describe a verified client certificate.
	CcertSubject, CcertIssuer, CcertFingerprint, CcertPubkeyFingerprint string
	// EncryptionProtocol, EncryptionCipher and EncryptionKeysize describe
	// TLS (empty and zero in plaintext).
	EncryptionProtocol, EncryptionCipher string
	EncryptionKeysize                    int
	// ETRNDomain is the ETRN argument.
	ETRNDomain string
	// Stress is "yes" under stress, else empty.
	Stress string
	// ClientPort, ServerAddress and ServerPort complete the endpoints.
	ClientPort, ServerAddress, ServerPort string
	// PolicyContext is the client's policy_context setting;
	// Client.QueryRequest fills it.
	PolicyContext string
}

// Attrs returns the request attributes in the order Postfix 3.7.11's
// smtpd sends them. (compatibility_level and mail_version are not sent:
// Postfix 3.7 does not send them.)
func (r *Request) Attrs() []Attr {
	return []Attr{
		{"request", "smtpd_access_policy"},
		{"protocol_state", r.ProtocolState},
		{"protocol_name", r.ProtocolName},
		{"client_address", r.ClientAddress},
		{"client_name", r.ClientName},
		{"client_port", r.ClientPort},
		{"reverse_client_name", r.ReverseClientName},
		{"server_address", r.ServerAddress},
		{"server_port", r.ServerPort},
		{"helo_name", r.HeloName},
		{"sender", r.Sender},
		{"recipient", r.Recipient},
		{"recipient_count", strconv.Itoa(r.RecipientCount)},
		{"queue_id", r.QueueID},
		{"instance", r.Instance},
		{"size", strconv.FormatInt(r.Size, 10)},
		{"etrn_domain", r.ETRNDomain},
		{"stress", r.Stress},
		{"sasl_method", r.SASLMethod},
		{"sasl_username", r.SASLUsername},
		{"sasl_sender", r.SASLSender},
		{"ccert_subject", r.CcertSubject},
		{"ccert_issuer", r.CcertIssuer},
		{"ccert_fingerprint", r.CcertFingerprint},
		{"ccert_pubkey_fingerprint", r.CcertPubkeyFingerprint},
		{"encryption_protocol", r.EncryptionProtocol},
		{"encryption_cipher", r.EncryptionCipher},
		{"encryption_keysize", strconv.Itoa(r.EncryptionKeysize)},
		{"policy_context", r.PolicyContext},
	}
}

// QueryRequest sets r.PolicyContext from the client's settings and sends r.
func (p *Client) QueryRequest(r *Request) (string, error) {
	r.PolicyContext = p.PolicyContext
	return p.Query(r.Attrs())
}
