package xsasl

import (
	"bufio"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Dovecot's authentication client protocol (what Postfix's smtpd speaks to Dovecot's auth
// service): lines of tab-separated fields ending in LF.
//
//	client: VERSION\t1\t0            server: VERSION\t1\t2
//	client: CPID\t<pid>              server: MECH\t<name>[\t<flag>...]  (one per mechanism)
//	                                 server: SPID / CUID / COOKIE lines, then DONE
//	client: AUTH\t<id>\t<mech>\tservice=smtp\tnologin\tlip=<addr>\trip=<addr>[\tsecured][\tresp=<b64>]
//	server: CONT\t<id>\t<b64 challenge> | OK\t<id>\t<params> | FAIL\t<id>\t<params>
//	client: CONT\t<id>\t<b64 response>
//
// Parameters are "name=value" or bare words (FAIL's "temp"); values escape TAB, LF, CR and
// \001 as \001t, \001n, \001r and \0011.

// DovecotMech is one mechanism the Dovecot server offers, with its flags (anonymous, plaintext,
// dictionary, active, forward-secrecy, mutual-auth, private).
type DovecotMech struct {
	Name  string
	Flags []string
}

// DovecotHandshake is what the server said before DONE.
type DovecotHandshake struct {
	Major, Minor int
	Mechs        []DovecotMech
}

// ReadDovecotHandshake reads the server's handshake up to and including DONE. Lines it does not
// know are skipped, as Postfix skips them; a missing or wrong VERSION is an error.
func ReadDovecotHandshake(r *bufio.Reader, maxLine int) (DovecotHandshake, error) {
	var h DovecotHandshake
	sawVersion := false
	for {
		line, err := readDovecotLine(r, maxLine)
		if err != nil {
			return h, err
		}
		f := strings.Split(line, "\t")
		switch f[0] {
		case "VERSION":
			if len(f) < 3 {
				return h, fmt.Errorf("bad VERSION line: %q", line)
			}
			maj, err1 := strconv.Atoi(f[1])
			min, err2 := strconv.Atoi(f[2])
			if err1 != nil || err2 != nil {
				return h, fmt.Errorf("bad VERSION line: %q", line)
			}
			if maj != 1 {
				return h, fmt.Errorf("bad major version: %d", maj)
			}
			h.Major, h.Minor, sawVersion = maj, min, true
		case "MECH":
			if len(f) >= 2 && f[1] != "" {
				m := DovecotMech{Name: strings.ToUpper(f[1])}
				for _, fl := range f[2:] {
					m.Flags = append(m.Flags, strings.ToLower(fl))
				}
				h.Mechs = append(h.Mechs, m)
			}
		case "DONE":
			if !sawVersion {
				return h, errors.New("no VERSION line from the authentication server")
			}
			return h, nil
		}
	}
}

// DovecotReply is one server reply to an AUTH or CONT request.
type DovecotReply struct {
	Kind   string // "OK", "CONT", "FAIL"
	ID     uint32
	Data   string            // CONT: the base64 challenge
	Params map[string]string // OK, FAIL: name → value ("" for bare words such as "temp")
}

// ParseDovecotReply parses one reply line (without its LF). Other server lines (a second
// handshake, unknown commands) give Kind "" and no error, so the caller can skip them.
func ParseDovecotReply(line string) (DovecotReply, error) {
	f := strings.Split(line, "\t")
	switch f[0] {
	case "OK", "CONT", "FAIL":
	default:
		return DovecotReply{}, nil
	}
	if len(f) < 2 {
		return DovecotReply{}, fmt.Errorf("bad %s line: %q", f[0], line)
	}
	id, err := strconv.ParseUint(f[1], 10, 32)
	if err != nil {
		return DovecotReply{}, fmt.Errorf("bad %s line: %q", f[0], line)
	}
	r := DovecotReply{Kind: f[0], ID: uint32(id)}
	if r.Kind == "CONT" {
		if len(f) >= 3 {
			r.Data = f[2]
		}
		return r, nil
	}
	r.Params = map[string]string{}
	for _, p := range f[2:] {
		name, val, _ := strings.Cut(p, "=")
		if _, dup := r.Params[name]; !dup {
			r.Params[name] = TabUnescape(val)
		}
	}
	return r, nil
}

// readDovecotLine reads one line without its LF; a line longer than maxLine is an error.
func readDovecotLine(r *bufio.Reader, maxLine int) (string, error) {
	var b []byte
	for {
		chunk, err := r.ReadSlice('\n')
		b = append(b, chunk...)
		if len(b) > maxLine {
			return "", errors.New("line too long from the authentication server")
		}
		if err == nil {
			return strings.TrimSuffix(string(b[:len(b)-1]), "\r"), nil
		}
		if err != bufio.ErrBufferFull {
			return "", err
		}
	}
}

// TabEscape escapes a protocol value: \001 → \0011, TAB → \001t, LF → \001n, CR → \001r.
func TabEscape(s string) string {
	if !strings.ContainsAny(s, "\x01\t\n\r") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case 1:
			b.WriteString("\x011")
		case '\t':
			b.WriteString("\x01t")
		case '\n':
			b.WriteString("\x01n")
		case '\r':
			b.WriteString("\x01r")
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// TabUnescape undoes TabEscape; an unknown escape keeps the character after \001.
func TabUnescape(s string) string {
	if !strings.Contains(s, "\x01") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != 1 || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		i++
		switch s[i] {
		case '1':
			b.WriteByte(1)
		case 't':
			b.WriteByte('\t')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String()
}
