package smtpread

import (
	"bufio"
	"bytes"
	"errors"
	"strings"
	"testing"
)

// FuzzCommand reads arbitrary client input as commands and splits them:
// no panic, no line end or NUL in a line, lines within the limit, and
// MAIL/RCPT arguments parse or give a reply line.
func FuzzCommand(f *testing.F) {
	f.Add([]byte("EHLO x\r\nMAIL FROM:<a@b> SIZE=10\r\nRCPT TO:<c@d> NOTIFY=NEVER\r\n"))
	f.Add([]byte("noop\nNO\x00OP\r\n\r\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		for _, mode := range []string{"no", "reject"} {
			r := NewReader(bufio.NewReader(bytes.NewReader(in)), Options{LineLimit: 64, BareNewline: mode})
			for {
				line, err := r.ReadCommand()
				if err != nil {
					var e *Error
					if errors.As(err, &e) && !e.Hangup {
						t.Fatalf("command error without hang-up: %v", err)
					}
					break
				}
				if strings.ContainsAny(line, "\n\x00") || len(line) > 64 {
					t.Fatalf("bad line %q", line)
				}
				verb, arg := Split(line)
				if verb != strings.ToUpper(verb) {
					t.Fatalf("verb %q not upper case", verb)
				}
				if verb == "MAIL" || verb == "RCPT" {
					checkPath(t, verb, arg)
				}
			}
		}
	})
}

// checkPath parses one MAIL/RCPT argument and checks the result's shape.
func checkPath(t *testing.T, verb, arg string) {
	p, err := ParsePath(verb, arg, PathOptions{})
	if err != nil {
		var e *Error
		if !errors.As(err, &e) || len(e.Reply) < 10 || e.Reply[3] != ' ' || !strings.ContainsAny(e.Reply[:1], "45") {
			t.Fatalf("ParsePath(%q, %q): bad error %v", verb, arg, err)
		}
		return
	}
	if verb == "RCPT" && p.Addr == "" {
		t.Fatalf("ParsePath(%q, %q): empty recipient accepted", verb, arg)
	}
	if p.Mail.Size < 0 {
		t.Fatalf("negative size")
	}
	if n := NotifyFlags(p.Rcpt.Notify); (n&NotifyNever != 0 && n != NotifyNever) || len(notifyWords(n)) != len(p.Rcpt.Notify) {
		t.Fatalf("ParsePath(%q, %q): NOTIFY %v", verb, arg, p.Rcpt.Notify)
	}
	// The internal form, quoted back, parses to the same address.
	if p.Addr != "" && allPrint(p.Addr) && !strings.ContainsAny(p.Addr, "\"\\<>()[],;: ") {
		q, err := ParsePath(verb, "FROM:<"+p.Addr+">", PathOptions{})
		if verb == "RCPT" {
			q, err = ParsePath(verb, "TO:<"+p.Addr+">", PathOptions{})
		}
		if err != nil || q.Addr != p.Addr {
			t.Fatalf("%q re-parsed as %q, %v", p.Addr, q.Addr, err)
		}
	}
}

// FuzzPath parses arbitrary MAIL and RCPT arguments.
func FuzzPath(f *testing.F) {
	for _, s := range []string{"FROM:<a@b> SIZE=10 BODY=8BITMIME", "TO:<\"a b\"@c> NOTIFY=SUCCESS,DELAY ORCPT=rfc822;a+2Bb",
		"FROM:<@x,@y:a@[1.2.3.4]>", "FROM: Name <a(comment)@b> ENVID=x+41", "TO:<a@b", "FROM:<>",
		"FROM:<a@[1.2.3.4>", "TO:a@b>", "FROM:<g:a@b;>", "FROM:<x <a@b> (c>", "TO:<a@b,>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, arg string) {
		checkPath(t, "MAIL", arg)
		checkPath(t, "RCPT", arg)
	})
}

// FuzzData checks ReadData two ways: arbitrary bytes followed by an
// end-of-data line never panic and leave the reader at the next command;
// and text lines, dot-stuffed and sent with <CR><LF>, come back as they
// were (long lines as pieces that join up again).
func FuzzData(f *testing.F) {
	f.Add([]byte("Subject: x\r\n\r\n.hello\r\n..\r\n"))
	f.Add([]byte("a\n.\nb\r.\rc\r\n.\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		// Raw input: ends at a CRLF.CRLF we append (or at one inside),
		// never later.
		raw := string(in) + "\r\n.\r\nQUIT\r\n"
		r := NewReader(bufio.NewReader(strings.NewReader(raw)), Options{LineLimit: 32})
		if _, err := r.ReadData(func([]byte, bool) error { return nil }); err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("ReadData: %v", err)
			}
		}
		// Round trip of text lines.
		text := strings.NewReplacer("\r", "", "\x00", "").Replace(string(in))
		lines := strings.Split(text, "\n")
		var enc strings.Builder
		for _, l := range lines {
			if strings.HasPrefix(l, ".") {
				enc.WriteString(".")
			}
			enc.WriteString(l + "\r\n")
		}
		enc.WriteString(".\r\n")
		r = NewReader(bufio.NewReader(strings.NewReader(enc.String())), Options{LineLimit: 32})
		var got []string
		var cur strings.Builder
		res, err := r.ReadData(func(line []byte, partial bool) error {
			cur.Write(line)
			if !partial {
				got = append(got, cur.String())
				cur.Reset()
			}
			return nil
		})
		if err != nil || res.BareNewline {
			t.Fatalf("ReadData: %v (bare newline %v)", err, res.BareNewline)
		}
		if strings.Join(got, "\n") != strings.Join(lines, "\n") || len(got) != len(lines) {
			t.Fatalf("round trip:\nsent %q\ngot  %q", lines, got)
		}
	})
}
