package xsasl

import (
	"encoding/base64"
	"strings"
)

// Texts of the replies to client responses that are not base64, as Postfix's backends give them.
const (
	ReasonCyrusBase64Short   = "another step is needed in authentication" // Cyrus: length not a multiple of 4
	ReasonDovecotBadInitial  = "Invalid base64 data in initial response"
	ReasonDovecotBadContinue = "Invalid base64 data in continued response"
)

// Decode decodes a client's base64 text — the initial response of AUTH (initial=true; "=" is an
// empty response) or a line sent after a 334 challenge — the way the session's backend does in
// Postfix. When the text is not acceptable it returns the finished Result that Postfix's smtpd
// answers with (through Reply), and smtpd ends the AUTH dialogue:
//
//   - cyrus (Cyrus's decoder): a length that is not a multiple of 4 (this includes "=") fails
//     with "another step is needed in authentication"; a bad character or bad padding fails with
//     "bad protocol / cancel".
//   - dovecot (Postfix checks, Dovecot decodes): a character outside the base64 alphabet fails
//     with "Invalid base64 data in initial response" (or "continued response", status Form);
//     anything else is decoded leniently, "=" being empty.
//
// With cyrus a failed initial response also forgets the user name of an earlier AUTH (Postfix
// logs "sasl_username=(unavailable)"); with dovecot it is kept, as Postfix keeps it.
// s may be nil (no backend session): then the cyrus rules apply.
func Decode(s Session, text string, initial bool) ([]byte, *Result) {
	switch s := s.(type) {
	case *dovecotSession:
		// Postfix's dovecot backend keeps the user name of Dovecot's last reply.
		return decodeDovecot(text, initial)
	case *cyrusSession:
		if initial {
			// A new AUTH command: Cyrus starts afresh, so no user name is known.
			s.user, s.mech = "", nil
		}
	}
	return decodeCyrus(text)
}

func decodeCyrus(text string) ([]byte, *Result) {
	if len(text)%4 != 0 {
		return nil, &Result{Status: Fail, Reason: ReasonCyrusBase64Short}
	}
	b, err := base64.StdEncoding.Strict().DecodeString(text)
	if err != nil || strings.ContainsAny(text, "\r\n") { // Go's decoder skips CR and LF; Cyrus's does not
		return nil, &Result{Status: Fail, Reason: ReasonBadProt}
	}
	return b, nil
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
