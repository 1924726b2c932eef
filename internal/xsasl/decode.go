package xsasl

import (
	"encoding/base64"
	"strings"
)

// Texts of the replies to client responses that are not base64, as Postfix's backends give them.
const (
	ReasonCyrusBase64Short   = "another step is needed in authentication" // Cyrus: 1-3 characters left over
	ReasonDovecotBadInitial  = "Invalid base64 data in initial response"
	ReasonDovecotBadContinue = "Invalid base64 data in continued response"
)

// Decode decodes a client's base64 text — the initial response of AUTH (initial=true; "=" is an
// empty response) or a line sent after a 334 challenge — the way the session's backend does in
// Postfix. When the text is not acceptable it returns the finished Result that Postfix's smtpd
// answers with (through Reply), and smtpd ends the AUTH dialogue:
//
//   - cyrus (Cyrus's decoder): a bad character or bad padding in a whole group of four
//     characters, or anything after padding, fails with "bad protocol / cancel"; otherwise
//     one to three characters left over (this includes "=" and "a*b") fail with "another step
//     is needed in authentication"; text starting with a carriage return fails with "generic
//     failure".
//   - dovecot (Postfix checks, Dovecot decodes): a character outside the base64 alphabet fails
//     with "Invalid base64 data in initial response" (or "continued response", status Form);
//     anything else is passed on to Dovecot as the client wrote it by the Start or Next call
//     that follows, and Dovecot judges it (the bytes returned are a lenient decoding, "="
//     being empty).
//
// With cyrus a failed initial response also forgets the user name of an earlier AUTH (Postfix
// logs "sasl_username=(unavailable)"); with dovecot it is kept, as Postfix keeps it.
// s may be nil (no backend session): then the cyrus rules apply.
func Decode(s Session, text string, initial bool) ([]byte, *Result) {
	switch s := s.(type) {
	case *dovecotSession:
		// Postfix's dovecot backend keeps the user name of Dovecot's last reply.
		b, bad := decodeDovecot(text, initial)
		s.raw, s.hasRaw = text, bad == nil
		return b, bad
	case *cyrusSession:
		if initial {
			// A new AUTH command: Cyrus starts afresh, so no user name is known.
			s.user, s.mech = "", nil
		}
	}
	return decodeCyrus(text)
}

// decodeCyrus decodes as Cyrus's decoder does: it works through whole groups of four characters
// first, so a bad character or a misplaced "=" in any whole group is a protocol error; only then
// do leftover characters (fewer than four, not checked themselves) count, as a protocol error
// after padding and as "another step is needed" otherwise. A group's unused low bits need not
// be zero. Text that starts with a carriage return fails at once ("generic failure").
func decodeCyrus(text string) ([]byte, *Result) {
	if strings.HasPrefix(text, "\r") {
		return nil, &Result{Status: Fail, Reason: ReasonFail}
	}
	badProt := &Result{Status: Fail, Reason: ReasonBadProt}
	out := make([]byte, 0, len(text)/4*3)
	padded := false
	for ; len(text) >= 4; text = text[4:] {
		if padded {
			return nil, badProt // data after padding
		}
		var v [4]byte
		n := 4 // characters before padding
		for i := 0; i < 4; i++ {
			c := text[i]
			switch d := base64Value(c); {
			case d >= 0 && n == 4:
				v[i] = byte(d)
			case c == '=' && i >= 2:
				if n == 4 {
					n = i
				}
			default: // not base64, "=" too early, or a character after "="
				return nil, badProt
			}
		}
		padded = n < 4
		out = append(out, v[0]<<2|v[1]>>4)
		if n > 2 {
			out = append(out, v[1]<<4|v[2]>>2)
		}
		if n > 3 {
			out = append(out, v[2]<<6|v[3])
		}
	}
	if len(text) > 0 {
		if padded {
			return nil, badProt
		}
		return nil, &Result{Status: Fail, Reason: ReasonCyrusBase64Short}
	}
	return out, nil
}

// base64Value is c's value in the base64 alphabet, or -1.
func base64Value(c byte) int {
	switch {
	case c >= 'A' && c <= 'Z':
		return int(c - 'A')
	case c >= 'a' && c <= 'z':
		return int(c-'a') + 26
	case c >= '0' && c <= '9':
		return int(c-'0') + 52
	case c == '+':
		return 62
	case c == '/':
		return 63
	}
	return -1
}

func decodeDovecot(text string, initial bool) ([]byte, *Result) {
	for i := 0; i < len(text); i++ {
		c := text[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '=') {
			reason := ReasonDovecotBadContinue
			if initial {
				reason = ReasonDovecotBadInitial
			}
			return nil, &Result{Status: Form, Reason: reason}
		}
	}
	return lenientBase64(text), nil
}

// lenientBase64 decodes as Dovecot's decoder does for text made of base64 characters: '='
// ends the data, and a trailing partial group yields the whole bytes it holds.
func lenientBase64(text string) []byte {
	if i := strings.IndexByte(text, '='); i >= 0 {
		text = text[:i]
	}
	if len(text)%4 == 1 {
		text = text[:len(text)-1]
	}
	// Only alphabet characters are left and the length is not 1 mod 4, so this cannot fail;
	// RawStdEncoding (not Strict) also ignores non-zero trailing bits, as Dovecot does.
	b, _ := base64.RawStdEncoding.DecodeString(text)
	return b
}
