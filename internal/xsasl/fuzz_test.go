package xsasl

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"strings"
	"testing"
)

// FuzzParseAppConf: any smtpd.conf text parses without panic; every setting has a valid lower-case
// key and a trimmed non-empty value, and every refused line is named with file and line.
func FuzzParseAppConf(f *testing.F) {
	f.Add("pwcheck_method: saslauthd\nmech_list: plain login\n")
	f.Add("# c\n  MECH_LIST:  LOGIN \r\n:x\nbad line\nk:\n")
	f.Fuzz(func(t *testing.T, text string) {
		a := ParseAppConf("smtpd.conf", []byte(text))
		for k, v := range a.Values {
			for i := 0; i < len(k); i++ {
				if !isKeyByte(k[i]) || k[i] >= 'A' && k[i] <= 'Z' {
					t.Fatalf("bad key %q", k)
				}
			}
			if v == "" || strings.TrimFunc(v, isCSpace) != v {
				t.Fatalf("bad value %q", v)
			}
		}
		for _, e := range a.Errors {
			if !strings.HasPrefix(e, "smtpd.conf, line ") {
				t.Fatalf("error without file and line: %q", e)
			}
		}
	})
}

// FuzzDovecotReader: whatever a Dovecot server sends, the handshake reader and the reply parser
// return without panic, and replies keep their ID.
func FuzzDovecotReader(f *testing.F) {
	f.Add("VERSION\t1\t2\nMECH\tPLAIN\tplaintext\nMECH\tLOGIN\tplaintext\nSPID\t1\nCUID\t2\nCOOKIE\tab\nDONE\nOK\t1\tuser=alice\nFAIL\t2\tuser=bob\treason=no\x01tway\ttemp\nCONT\t3\tVXNlcm5hbWU6\n")
	f.Add("VERSION\t2\t0\nDONE\n")
	f.Add("MECH\nDONE\nFAIL\t99999999999\n")
	f.Fuzz(func(t *testing.T, text string) {
		br := bufio.NewReader(strings.NewReader(text))
		h, err := ReadDovecotHandshake(br, 1024)
		if err == nil && h.Major != 1 {
			t.Fatalf("accepted version %d", h.Major)
		}
		for {
			line, err := readDovecotLine(br, 1024)
			if err != nil {
				break
			}
			r, err := ParseDovecotReply(line)
			if err != nil || r.Kind == "" {
				continue
			}
			if !strings.HasPrefix(line, r.Kind+"\t") || (r.Kind != "CONT") != (r.Params != nil) {
				t.Fatalf("reply %+v from %q", r, line)
			}
		}
	})
}

// FuzzTabEscape: escaping round-trips and leaves no TAB or LF in a value.
func FuzzTabEscape(f *testing.F) {
	f.Add("a\tb\nc\rd\x01e")
	f.Fuzz(func(t *testing.T, s string) {
		e := TabEscape(s)
		if strings.ContainsAny(e, "\t\n\r") {
			t.Fatalf("escaped %q still has a separator: %q", s, e)
		}
		if u := TabUnescape(e); u != s {
			t.Fatalf("round trip %q → %q → %q", s, e, u)
		}
	})
}

// FuzzDecode: base64 decoding of client text never panics; what the cyrus rules accept is
// padded base64 that Go's decoder reads as the same bytes.
func FuzzDecode(f *testing.F) {
	f.Add("AGFsaWNlAHdvbmRlcg==")
	f.Add("=")
	f.Add("!!!!")
	f.Add("YWJj")
	f.Add("YR==")
	f.Add("<a b>")
	f.Add("ab==cd")
	f.Fuzz(func(t *testing.T, text string) {
		if b, bad := decodeCyrus(text); bad == nil {
			if want, err := base64.StdEncoding.DecodeString(text); err != nil || !bytes.Equal(b, want) {
				t.Fatalf("cyrus decoded %q as %q; Go: %q, %v", text, b, want, err)
			}
		} else if bad.Status != Fail {
			t.Fatalf("cyrus status %d", bad.Status)
		}
		if _, bad := decodeDovecot(text, true); bad != nil && bad.Status != Form {
			t.Fatalf("dovecot status %d", bad.Status)
		}
	})
}
