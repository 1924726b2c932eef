package smtpread

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files")

// goldenLines reads a golden input: one case per line, '#' comments,
// Go-quoted when the line starts with '"'.
func goldenLines(t *testing.T, name string) []string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		if strings.HasPrefix(l, "#") || l == "" {
			continue
		}
		if strings.HasPrefix(l, "\"") {
			u, err := strconv.Unquote(l)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			l = u
		}
		out = append(out, l)
	}
	return out
}

// describePath is the golden form of ParsePath's result for one command line.
func describePath(line string, o PathOptions) string {
	verb, arg := Split(line)
	p, err := ParsePath(verb, arg, o)
	var e *Error
	if errors.As(err, &e) {
		s := "reply " + e.Reply
		if e.Warn {
			s += " (warning: Illegal address syntax ... in " + verb + " command: " + p.Raw + ")"
		}
		return s
	}
	s := fmt.Sprintf("ok addr=<%s>", p.Addr)
	for _, pa := range p.Params {
		s += fmt.Sprintf(" %s", pa.Name)
		if pa.HasValue {
			s += "=" + strconv.Quote(pa.Value)
		}
	}
	if p.Mail.Size != 0 {
		s += fmt.Sprintf(" size=%d", p.Mail.Size)
	}
	if p.Mail.Body != "" {
		s += " body=" + string(p.Mail.Body)
	}
	if p.Mail.UTF8 {
		s += " smtputf8"
	}
	if p.Mail.Return != "" {
		s += " ret=" + string(p.Mail.Return)
	}
	if p.Mail.EnvelopeID != "" {
		s += " envid=" + strconv.Quote(p.Mail.EnvelopeID)
	}
	if p.HasAuth {
		s += " auth=" + strconv.Quote(p.AuthRaw)
	}
	if n := NotifyFlags(p.Rcpt.Notify); n != 0 {
		s += fmt.Sprintf(" notify=%d", n)
	}
	if p.Rcpt.OriginalRecipientType != "" {
		s += " orcpt=" + string(p.Rcpt.OriginalRecipientType) + ";" + strconv.Quote(p.Rcpt.OriginalRecipient)
	}
	return s
}

// optionsCase is the configuration of testdata/paths-options.in.
var optionsCase = PathOptions{StrictRFC821: true, NoDSN: true, NoSMTPUTF8: true}

const optionsMain = `strict_rfc821_envelopes = yes
smtpd_discard_ehlo_keywords = dsn, smtputf8
`

func TestPathGolden(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		o    PathOptions
	}{{"paths", PathOptions{}}, {"paths-options", optionsCase}} {
		var b strings.Builder
		for _, l := range goldenLines(t, "testdata/"+c.name+".in") {
			fmt.Fprintf(&b, "%s\n\t%s\n", strconv.Quote(l), describePath(l, c.o))
		}
		compareGolden(t, "testdata/"+c.name+".golden", b.String())
	}
}

func compareGolden(t *testing.T, name, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(name, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	if string(want) != got {
		wl, gl := strings.Split(string(want), "\n"), strings.Split(got, "\n")
		for i := 0; i < len(wl) && i < len(gl); i++ {
			if wl[i] != gl[i] {
				t.Fatalf("%s: line %d:\nwant %q\ngot  %q", name, i+1, wl[i], gl[i])
			}
		}
		t.Fatalf("%s: length differs (want %d lines, got %d)", name, len(wl), len(gl))
	}
}

// expectReply is what Debian's smtpd, configured by TestPathReference,
// replies to the command line when our ParsePath reads it.
func expectReply(line string, o PathOptions) string {
	verb, arg := Split(line)
	p, err := ParsePath(verb, arg, o)
	// smtpd's replies show control characters as spaces.
	p.Addr = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, p.Addr)
	var e *Error
	switch {
	case errors.As(err, &e):
		return e.Reply
	case p.Mail.Size > 10240000:
		return "552 5.3.4 Message size exceeds fixed limit"
	case verb == "RCPT" && strings.EqualFold(p.Addr, "postmaster"):
		return "250 2.1.5 Ok" // smtpd accepts unqualified postmaster before restrictions
	case verb == "MAIL":
		return "554 5.7.1 <" + p.Addr + ">: Sender address rejected: Access denied"
	default:
		return "554 5.7.1 <" + p.Addr + ">: Recipient address rejected: Access denied"
	}
}

// TestPathReference sends every line of testdata/paths.in to Debian's
// smtpd 3.7 and compares its reply with the one our parser leads to: a
// syntax error reply, or the restriction's reject naming the address as
// smtpd extracted it.
func TestPathReference(t *testing.T) {
	t.Parallel()
	pathReference(t, "testdata/paths.in", "", PathOptions{})
}

// TestPathReferenceOptions is TestPathReference with
// strict_rfc821_envelopes and DSN and SMTPUTF8 discarded.
func TestPathReferenceOptions(t *testing.T) {
	t.Parallel()
	pathReference(t, "testdata/paths-options.in", optionsMain, optionsCase)
}

func pathReference(t *testing.T, file, extraMain string, o PathOptions) {
	sys, addr := startReference(t, extraMain+`smtpd_error_sleep_time = 0
smtpd_soft_error_limit = 1000
smtpd_hard_error_limit = 1000
smtpd_delay_reject = no
smtpd_sender_restrictions = check_sender_access inline:{ok@ok.test=OK}, reject
smtpd_recipient_restrictions = reject
`)
	lines := goldenLines(t, file)
	got := make([]string, len(lines))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i, l := range lines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			pre := []string{"EHLO client.test"}
			if strings.HasPrefix(strings.ToUpper(l), "RCPT") {
				pre = append(pre, "MAIL FROM:<ok@ok.test>")
			}
			got[i] = dialogue(t, addr, pre, l)
		}()
	}
	wg.Wait()
	var warnings []string
	for i, l := range lines {
		if want := expectReply(l, o); got[i] != want {
			t.Errorf("%q: Postfix replied %q, ours leads to %q", l, got[i], want)
		}
		verb, arg := Split(l)
		p, err := ParsePath(verb, arg, o)
		if e, ok := err.(*Error); ok && e.Warn {
			raw := strings.Map(func(r rune) rune {
				if r < 0x20 || r == 0x7f {
					return '?'
				}
				return r
			}, p.Raw)
			warnings = append(warnings, "warning: Illegal address syntax from localhost[127.0.0.1] in "+verb+" command: "+raw)
		}
	}
	// Error.Warn is set exactly where Postfix logs its warning.
	var logged []string
	for try := 0; try < 50; try++ {
		logged = logged[:0]
		for _, line := range strings.Split(sys.LogText(), "\n") {
			if _, w, ok := strings.Cut(line, "]: "); ok && strings.HasPrefix(w, "warning: Illegal address syntax") {
				logged = append(logged, w)
			}
		}
		if len(logged) >= len(warnings) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	slices.Sort(logged)
	slices.Sort(warnings)
	if !slices.Equal(logged, warnings) {
		t.Errorf("warnings differ:\nPostfix: %q\nours:    %q", logged, warnings)
	}
}

// dialogue connects to addr, sends the pre lines (expecting 2xx), then
// line, and returns the reply to line (last line of a multi-line reply).
func dialogue(t *testing.T, addr string, pre []string, line string) string {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Error(err)
		return ""
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	br := bufio.NewReader(c)
	readReply := func() string {
		for {
			l, err := br.ReadString('\n')
			if err != nil {
				return "read error: " + err.Error()
			}
			l = strings.TrimRight(l, "\r\n")
			if len(l) < 4 || l[3] != '-' {
				return l
			}
		}
	}
	if r := readReply(); !strings.HasPrefix(r, "220") {
		return "banner: " + r
	}
	for _, p := range pre {
		fmt.Fprintf(c, "%s\r\n", p)
		if r := readReply(); !strings.HasPrefix(r, "2") {
			return p + ": " + r
		}
	}
	fmt.Fprintf(c, "%s\r\n", line)
	r := readReply()
	fmt.Fprintf(c, "QUIT\r\n")
	return r
}

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
