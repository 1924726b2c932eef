package smtpd

import (
	"github.com/postfix-go/postfix/internal/maillog"
	"github.com/postfix-go/postfix/internal/smtpread"
	"strconv"
	"strings"
	"unicode/utf8"
)

// cmd is one SMTP command of the table, in Postfix's order (the order of
// the disconnect line's counters).
type cmd struct {
	id       int
	name     string
	fn       func(s *session, arg string) int
	junk     bool // counts against smtpd_junk_command_limit
	preTLS   bool // allowed before STARTTLS when TLS is enforced
	last     bool // must be the last of a pipelined group
	needHelo bool // refused before HELO/EHLO with smtpd_helo_required
	needTLS  bool
}

const numCmds = 15

var commands [numCmds]cmd

func init() {
	commands = [numCmds]cmd{
		{name: "HELO", fn: (*session).heloCmd, junk: true, preTLS: true, last: true},
		{name: "EHLO", fn: (*session).ehloCmd, junk: true, preTLS: true, last: true},
		{name: "XCLIENT", fn: (*session).xclientCmd},
		{name: "XFORWARD", fn: (*session).xforwardCmd},
		{name: "STARTTLS", fn: (*session).starttlsCmd, preTLS: true},
		{name: "AUTH", fn: (*session).authCmd},
		{name: "MAIL", fn: (*session).mailCmd, needHelo: true},
		{name: "RCPT", fn: (*session).rcptCmd},
		{name: "DATA", fn: (*session).dataCmd, last: true},
		{name: "BDAT", fn: (*session).bdatCmd},
		{name: "RSET", fn: (*session).rsetCmd, junk: true},
		{name: "NOOP", fn: (*session).noopCmd, junk: true, preTLS: true, last: true},
		{name: "VRFY", fn: (*session).vrfyCmd, junk: true, last: true},
		{name: "ETRN", fn: (*session).etrnCmd, junk: true},
		{name: "QUIT", fn: (*session).quitCmd, preTLS: true},
	}
	for i := range commands {
		commands[i].id = i
		commands[i].needTLS = !commands[i].preTLS
	}
}

// lookupCmd finds a command by its upper-case verb.
func lookupCmd(verb string) *cmd {
	for i := range commands {
		if commands[i].name == verb {
			return &commands[i]
		}
	}
	return nil
}

// heloReset forgets what HELO/EHLO and a transaction set.
func (s *session) heloReset() {
	s.tx.abort()
	s.tx = transaction{}
	s.fwd = forwardState{}
	// The restrictions forget the sender too: a later VRFY reject logs
	// no from=<>.
	s.checkReset()
	s.helo = ""
}

func (s *session) heloCmd(arg string) int {
	if arg == "" || strings.ContainsAny(arg, " \t") && strings.TrimSpace(arg) == "" {
		s.reply("501 Syntax: HELO hostname")
		return cmdError
	}
	if !s.acceptHelo(arg, false) {
		return cmdError
	}
	s.reply("250 " + s.p.hostname)
	return cmdOK
}

// acceptHelo starts a session over with a HELO (ehlo false) or EHLO name,
// and keeps the name when the restrictions accept it; false means they
// did not and the client has had its reply.
func (s *session) acceptHelo(arg string, ehlo bool) bool {
	s.heloReset()
	s.helo = heloName(arg)
	s.protocol = "SMTP"
	if ehlo {
		s.protocol = "ESMTP"
	}
	s.ehlo = ehlo
	if r := s.checkHelo(); r != "" {
		s.helo = ""
		s.reply(r)
		return false
	}
	s.helo = s.keptHelo(s.helo)
	return true
}

// heloName is the HELO/EHLO argument as Postfix checks it: its words
// joined by single spaces.
func heloName(arg string) string {
	return strings.Join(strings.FieldsFunc(arg, func(r rune) bool {
		return r == ' ' || r == '\t' || r == '\n' || r == '\v' || r == '\f' || r == '\r'
	}), " ")
}

// keptHelo is an accepted HELO/EHLO name as Postfix keeps it for the
// rest of the session (log lines, later restrictions, the Received
// header, the reject footer): non-printable bytes and each of
// ` <>()\";@` become '?'.
func (s *session) keptHelo(name string) string {
	var b strings.Builder
	for i := 0; i < len(name); {
		c := name[i]
		if c >= 0x80 {
			if r, n := utf8.DecodeRuneInString(name[i:]); s.p.smtputf8 && r != utf8.RuneError {
				b.WriteString(name[i : i+n])
				i += n
				continue
			}
			b.WriteByte('?')
			i++
			continue
		}
		if c < 0x20 || c == 0x7f || strings.IndexByte(" <>()\\\";@", c) >= 0 {
			c = '?'
		}
		b.WriteByte(c)
		i++
	}
	return b.String()
}

func (s *session) ehloCmd(arg string) int {
	if strings.TrimSpace(arg) == "" {
		s.reply("501 Syntax: EHLO hostname")
		return cmdError
	}
	if !s.acceptHelo(arg, true) {
		return cmdError
	}
	// As Postfix 3.7, no log line when ENHANCEDSTATUSCODES is among the
	// discarded keywords.
	if len(s.p.discardText) > 0 && !s.p.discardEHLO["SILENT-DISCARD"] && !s.p.discardEHLO["ENHANCEDSTATUSCODES"] {
		maillog.Info("discarding EHLO keywords: %s", strings.Join(s.p.discardText, " "))
	}
	lines := []string{s.p.hostname}
	add := func(kw, text string) {
		if !s.discardKeyword(kw) {
			lines = append(lines, text)
		}
	}
	add("PIPELINING", "PIPELINING")
	if s.p.sizeLimit > 0 {
		add("SIZE", "SIZE "+strconv.FormatInt(s.p.sizeLimit, 10))
	} else {
		add("SIZE", "SIZE")
	}
	if !s.p.noVRFY {
		add("VRFY", "VRFY")
	}
	add("ETRN", "ETRN")
	if s.srv.tls.offer(s) {
		add("STARTTLS", "STARTTLS")
	}
	if mechs := s.authMechanisms(); mechs != "" {
		add("AUTH", "AUTH "+mechs)
		if s.srv.sasl.broken {
			add("AUTH", "AUTH="+mechs)
		}
	}
	if s.xclientAllowed() {
		add("XCLIENT", "XCLIENT NAME ADDR PROTO HELO REVERSE_NAME PORT LOGIN DESTADDR DESTPORT")
	}
	if s.xforwardAllowed() {
		add("XFORWARD", "XFORWARD NAME ADDR PROTO HELO SOURCE PORT IDENT")
	}
	add("ENHANCEDSTATUSCODES", "ENHANCEDSTATUSCODES")
	add("8BITMIME", "8BITMIME")
	add("DSN", "DSN")
	if s.p.smtputf8 {
		add("SMTPUTF8", "SMTPUTF8")
	}
	add("CHUNKING", "CHUNKING")
	s.reply("250 " + strings.Join(lines, "\n"))
	return cmdOK
}

// discardKeyword reports whether an EHLO keyword is hidden from the client
// (smtpd_discard_ehlo_keywords).
func (s *session) discardKeyword(kw string) bool {
	return s.p.discardEHLO[kw]
}

func (s *session) rsetCmd(arg string) int {
	if arg != "" {
		s.reply("501 5.5.4 Syntax: RSET")
		return cmdError
	}
	s.tx.abort()
	s.tx = transaction{}
	s.fwd = forwardState{}
	s.checkReset()
	s.reply("250 2.0.0 Ok")
	return cmdOK
}

func (s *session) noopCmd(arg string) int {
	s.reply("250 2.0.0 Ok")
	return cmdOK
}

func (s *session) quitCmd(arg string) int {
	s.reply("221 2.0.0 Bye")
	s.flush()
	return cmdQuit
}

func (s *session) vrfyCmd(arg string) int {
	if s.p.noVRFY {
		s.reply("502 5.5.1 VRFY command is disabled")
		return cmdError
	}
	// The words of the argument are one address, joined with single
	// spaces, as Postfix joins them ("VRFY a  b" is "a b").
	raw, addr, _, err := smtpread.ParseVrfy(arg, s.p.smtputf8)
	if err != nil {
		if re, ok := err.(*smtpread.Error); ok && re.Warn {
			maillog.Warn("Illegal address syntax from %s in VRFY command: %s", s.namaddr(), raw)
		}
		return s.replyErr(err)
	}
	if r := s.checkVrfy(addr); r != "" {
		s.reply(r)
		return cmdError
	}
	s.reply("252 2.0.0 " + raw)
	return cmdOK
}

// etrnCmd answers ETRN as Postfix's smtpd does without a flush service
// for the domain: HELO first (smtpd_helo_required), no transaction, one
// word (Postfix's tokenizer), "@" or "#" before the domain dropped, a
// host name or address literal.
func (s *session) etrnCmd(arg string) int {
	if s.p.heloRequired && s.helo == "" {
		s.reply("503 Error: send HELO/EHLO first")
		return cmdError
	}
	if s.tx.active {
		s.reply("503 Error: MAIL transaction in progress")
		return cmdError
	}
	words := smtpread.Fields(arg)
	if len(words) != 1 {
		s.reply("500 Syntax: ETRN domain")
		return cmdError
	}
	dom := words[0]
	if dom[0] == '@' || dom[0] == '#' {
		dom = dom[1:]
	}
	if !smtpread.ValidDomain(dom) {
		s.reply("501 Error: invalid parameter syntax")
		return cmdError
	}
	if r := s.checkEtrn(dom); r != "" {
		s.reply(r)
		return cmdError
	}
	maillog.Warn("reject: ETRN %s... from %s", cBytes(dom, 100), s.namaddr())
	s.reply("459 <" + dom + ">: service unavailable")
	return cmdError
}
