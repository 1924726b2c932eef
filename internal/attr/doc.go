// Package attr speaks Postfix's attribute protocol, the request/reply format
// that Postfix processes exchange over local sockets. This package is the
// only place in the project that knows how the bytes look on the wire.
//
// A record is a sequence of (name, value) attributes followed by an end
// marker. Three encodings exist:
//
//   - Zero ("0"): name NUL value NUL ... and a lone NUL ends the record.
//     Postfix 3.7's trivial-rewrite, verify, proxymap and scache use it.
//   - Plain: name=value LF ... and an empty line ends the record. anvil
//     uses it, and so does the SMTPD policy delegation protocol.
//   - Base64 ("64"): base64(name):base64(value) LF ... and an empty line
//     ends the record.
//
// Values are typed. Strings travel as they are (as base64 in the 64 form),
// int and long numbers as unsigned decimal text, data (arbitrary bytes) as
// base64 in every form, and a hash table as one attribute per entry. A
// string that cannot be represented (a NUL in the 0 form, a newline in the
// plain form, a name that contains the separator) is refused by the Encoder
// rather than corrupting the stream.
//
// A server announces its protocol name in a first record holding a single
// attribute "protocol" (for example trivial_rewrite_protocol or
// anvil_protocol); WriteProtocol and ReadProtocol handle that handshake.
//
// The Decoder scans a record against a list of wanted attributes in order,
// as Postfix does: with the Missing flag an absent attribute is an error,
// with the Extra flag an unexpected one is, and otherwise unwanted
// attributes are skipped. Malformed input never panics; it produces an
// *Error whose text is worded like Postfix's warning (for example
// "unexpected attribute service from anvil socket (expecting: ident)"),
// ready for msg.Warn. MaxLen bounds every name and value and MaxHash the
// number of hash entries, so a hostile peer cannot exhaust memory.
//
// Client wraps a net.Conn for the common request/reply exchange. The
// package reads no configuration parameters.
package attr
