package smtpd

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/postfix-go/postfix/internal/maillog"
	"github.com/postfix-go/postfix/internal/smtpread"
)

// readBufSize is the session's read buffer: small, so that idle sessions
// stay cheap; a longer line is still read whole by internal/smtpread.
const readBufSize = 1024

// session is one SMTP session.
type session struct {
	srv  *Server
	p    *params
	conn net.Conn
	br   *bufio.Reader
	in   *countReader // under br: counts the bytes read from the client
	bw   *bufio.Writer
	rd   *smtpread.Reader

	// The client as smtpd sees it (XCLIENT may replace it).
	name, reverseName, addr, port string
	nameStatus, reverseStatus     int
	serverAddr, serverPort        string
	ip                            netip.Addr
	standalone                    bool

	helo     string
	protocol string // "SMTP" or "ESMTP"
	ehlo     bool   // the client said EHLO

	where                            string // the last command, for "lost connection after …"
	errors                           int
	junk                             int
	stats                            [numCmds]cmdStat
	unknown                          cmdStat
	illegalPipelining                bool
	accessDenied                     bool // smtpd_client_restrictions refused the client at connect time
	seqno                            int  // mail transactions so far (policy instance)
	hangup                           bool // a restriction asked to end the session after its reply
	xauthDone, xclientOK, xforwardOK bool
	pipelined                        bool // more input was waiting before the current reply

	tx        transaction
	overshoot int // recipients refused beyond smtpd_recipient_limit

	tlsActive bool
	tlsInfo   *tlsInfoText
	auth      authState
	fwd       forwardState

	anvilConnected bool
	check          *checkSession
}

// cmdStat counts one command's uses for the disconnect line.
type cmdStat struct{ ok, total int }

func newSession(srv *Server, c net.Conn) *session {
	s := &session{srv: srv, p: &srv.p, conn: c, protocol: "SMTP", where: "CONNECT"}
	s.in = &countReader{r: c}
	s.br = bufio.NewReaderSize(s.in, readBufSize)
	s.bw = bufio.NewWriterSize(c, 512)
	s.peer()
	s.rd = smtpread.NewReader(s.br, s.readerOptions())
	return s
}

// readerOptions are the client reader's settings for this session.
func (s *session) readerOptions() smtpread.Options {
	o := smtpread.Options{LineLimit: s.p.lineLimit, BareNewline: s.p.bareNewline,
		RejectCode: s.p.bareRejectCode, Hostname: s.p.hostname}
	if o.BareNewline == "reject" {
		s.srv.bareOnce.Do(func() {
			s.srv.bareExempt = newMatcher(s.srv.c, "smtpd_forbid_bare_newline_exclusions")
		})
		o.Exempt = s.srv.bareExempt.match(s)
	}
	return o
}

// peer fills in the client's and server's names and addresses.
func (s *session) peer() {
	s.name, s.reverseName, s.addr, s.port = "localhost", "localhost", "127.0.0.1", "unknown"
	s.nameStatus, s.reverseStatus = 2, 2
	s.serverAddr, s.serverPort = "127.0.0.1", "unknown"
	ra, ok := s.conn.RemoteAddr().(*net.TCPAddr)
	if !ok {
		// Stand-alone on a pipe (sendmail -bs): the client is the local host.
		s.standalone = true
		s.ip = netip.MustParseAddr("127.0.0.1")
		return
	}
	if os.Getenv("PFGO_SMTPD_STANDALONE") != "" {
		s.standalone = true
	}
	ip, _ := netip.AddrFromSlice(ra.IP)
	s.ip = ip.Unmap()
	s.addr = s.ip.String()
	s.port = strconv.Itoa(ra.Port)
	if la, ok := s.conn.LocalAddr().(*net.TCPAddr); ok {
		lip, _ := netip.AddrFromSlice(la.IP)
		s.serverAddr = lip.Unmap().String()
		s.serverPort = strconv.Itoa(la.Port)
	}
	s.name, s.reverseName = "unknown", "unknown"
	s.nameStatus, s.reverseStatus = 5, 5
	if s.p.peerLookup {
		s.name, s.reverseName, s.nameStatus, s.reverseStatus = s.srv.res.ClientName(s.ip)
	}
}

// namaddr is "name[addr]" as Postfix logs the client.
func (s *session) namaddr() string { return s.name + "[" + s.addr + "]" }

// run is the session from greeting to disconnect.
func (s *session) run() {
	defer s.finish()
	maillog.Info("connect from %s", s.namaddr())
	if !s.connectLimits() {
		return
	}
	if s.srv.tls.wrapper {
		if !s.wrapperTLS() {
			return
		}
	}
	if r := s.checkConnect(); r != "" {
		// smtpd_client_restrictions without smtpd_delay_reject: the
		// greeting is replaced by the reject, and every command but
		// QUIT is refused.
		s.accessDenied = true
		s.errors++
		s.reply(r)
	} else {
		s.greet()
	}
	s.loop()
}

// greet sends the 220 banner (one line per line of $smtpd_banner).
func (s *session) greet() {
	lines := strings.Split(s.p.banner, "\n")
	for i, l := range lines {
		sep := "-"
		if i == len(lines)-1 {
			sep = " "
		}
		s.bw.WriteString("220" + sep + l + "\r\n")
	}
}

// loop reads and runs commands until QUIT, a hang-up or a fatal error.
func (s *session) loop() {
	for {
		if s.errors >= s.p.hardErr {
			s.reply(fmt.Sprintf("421 4.7.0 %s Error: too many errors", s.p.hostname))
			maillog.Info("too many errors after %s from %s", s.where, s.namaddr())
			return
		}
		line, err := s.readCommand()
		if err != nil {
			var re *smtpread.Error
			if errors.As(err, &re) {
				s.errors++
				s.logBareLF(re)
				s.reply(re.Reply)
				if re.Hangup {
					return
				}
				continue
			}
			s.readError(err, s.where)
			return
		}
		line, ok := s.screenLine(line)
		if !ok {
			continue
		}
		verb, arg := smtpread.Split(line)
		if verb == "" {
			s.errors++
			s.reply("500 5.5.2 Error: bad syntax")
			continue
		}
		c := lookupCmd(verb)
		if c == nil && s.forbidden(line) {
			s.unknown.total++
			maillog.Warn("non-SMTP command from %s: %s", s.namaddr(), cBytes(escapeText(line), 100))
			s.reply("221 2.7.0 Error: I can break rules, too. Goodbye.")
			return
		}
		if c == nil {
			s.where = "UNKNOWN"
			s.unknown.total++
			s.errors++
			if s.accessDenied {
				// Postfix refuses unknown commands of a refused
				// client as it refuses known ones.
				s.reply("503 5.7.0 Error: access denied for " + s.namaddr())
				continue
			}
			s.reply("500 5.5.2 Error: command not recognized")
			continue
		}
		st := &s.stats[c.id]
		st.total++
		s.pipelined = s.br.Buffered() > 0
		// Pipelining is improper after a command that must end a group,
		// and after any command of a client that was not offered
		// PIPELINING (no EHLO, or the keyword discarded).
		mayPipeline := s.ehlo && !s.discardKeyword("PIPELINING")
		if (c.last || !mayPipeline) && s.pipelined && !s.illegalPipelining && !s.standalone {
			s.illegalPipelining = true
			maillog.Info("improper command pipelining after %s from %s: %s", c.name, s.namaddr(), pendingText(s.br))
		}
		if s.accessDenied && c.name != "QUIT" {
			s.errors++
			s.reply("503 5.7.0 Error: access denied for " + s.namaddr())
			continue
		}
		// A refused command is not "the last command" of a lost
		// connection or a timeout (an unknown one is).
		s.where = c.name
		if s.p.heloRequired && s.helo == "" && c.needHelo {
			s.errors++
			s.reply("503 5.5.1 Error: send HELO/EHLO first")
			continue
		}
		if c.needTLS && s.srv.tls.enforce && !s.tlsActive {
			s.errors++
			s.reply("530 5.7.0 Must issue a STARTTLS command first")
			continue
		}
		res := c.fn(s, arg)
		switch res {
		case cmdOK, cmdQuit:
			st.ok++
		case cmdUncounted:
		default:
			s.errors++
		}
		if c.junk {
			if s.junk > s.p.junkLimit {
				s.errors++
			}
			s.junk++
		}
		if res == cmdQuit || res == cmdHangup || s.hangup {
			return
		}
	}
}

// Command results.
const (
	cmdOK        = iota // success
	cmdError            // a 4xx/5xx reply: counts as an error
	cmdQuit             // QUIT: end the session after success
	cmdHangup           // end the session after an error
	cmdUncounted        // success that the disconnect line does not count as ok
)

// readCommand flushes pending replies when the client has nothing more
// queued and reads the next command line.
func (s *session) readCommand() (string, error) {
	if s.br.Buffered() == 0 {
		if err := s.flush(); err != nil {
			return "", err
		}
	}
	s.conn.SetReadDeadline(time.Now().Add(s.p.timeout))
	return s.rd.ReadCommand()
}

// flush writes the buffered replies.
func (s *session) flush() error {
	if s.bw.Buffered() == 0 {
		return nil
	}
	s.conn.SetWriteDeadline(time.Now().Add(s.p.timeout))
	return s.bw.Flush()
}

// readError logs a lost connection or a timeout while reading after the
// command where; a timeout gets Postfix's 421.
func (s *session) readError(err error, where string) {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		s.reply(fmt.Sprintf("421 4.4.2 %s Error: timeout exceeded", s.p.hostname))
		maillog.Info("timeout after %s from %s", where, s.namaddr())
		s.flush()
		return
	}
	// A client that hangs up right after a finished message is not
	// reported: Postfix's smtpd logs nothing there (only a timeout).
	if where == "END-OF-MESSAGE" {
		return
	}
	if err != nil {
		maillog.Info("lost connection after %s from %s", where, s.namaddr())
	}
}

// reply sends one reply (text may hold "\n" for a multi-line reply) after
// the error-sleep, with the reject footer on 4xx/5xx (footer.go). Every
// line carries the code and the enhanced status code of the first. With
// soft_bounce = yes every 5xx reply goes out as 4xx, as in Postfix.
func (s *session) reply(text string) {
	if s.errors >= s.p.softErr && s.p.errSleep > 0 {
		s.flush()
		time.Sleep(s.p.errSleep)
	}
	code, rest := text, ""
	if len(text) > 3 {
		code, rest = text[:3], text[4:]
	}
	dsn := ""
	if d, r, ok := splitDSN(rest); ok {
		dsn, rest = d+" ", r
	}
	parts := strings.Split(rest, "\n")
	lines := make([]string, len(parts))
	for i, l := range parts {
		sep := "-"
		if i == len(parts)-1 {
			sep = " "
		}
		lines[i] = code + sep + dsn + l
	}
	for _, l := range s.addFooter(lines) {
		if s.p.softBounce && l[0] == '5' {
			// soft_bounce: every 5xx line becomes 4xx, and a 5.x.x
			// status right after the code 4.x.x (the footer map
			// saw the reply as it was).
			b := []byte(l)
			b[0] = '4'
			if len(b) > 4 && b[4] == '5' {
				b[4] = '4'
			}
			l = string(b)
		}
		s.bw.WriteString(l + "\r\n")
	}
}

// splitDSN splits "X.Y.Z text" into the enhanced status code and the text.
func splitDSN(t string) (string, string, bool) {
	sp := strings.IndexByte(t, ' ')
	d := t
	if sp >= 0 {
		d = t[:sp]
	}
	if len(d) < 5 || (d[0] != '2' && d[0] != '4' && d[0] != '5') || d[1] != '.' {
		return "", t, false
	}
	dots := 0
	for i := 1; i < len(d); i++ {
		switch {
		case d[i] == '.':
			dots++
		case d[i] >= '0' && d[i] <= '9':
		default:
			return "", t, false
		}
	}
	if dots != 2 {
		return "", t, false
	}
	if sp < 0 {
		return d, "", true
	}
	return d, t[sp+1:], true
}

// pendingText is what the client sent ahead, as Postfix logs it.
func pendingText(br *bufio.Reader) string {
	n := br.Buffered()
	if n > 100 {
		n = 100
	}
	b, _ := br.Peek(n)
	var out strings.Builder
	for _, c := range b {
		switch {
		case c == '\r':
			out.WriteString(`\r`)
		case c == '\n':
			out.WriteString(`\n`)
		case c == '\t':
			out.WriteString(`\t`)
		case c < 0x20 || c >= 0x7f:
			fmt.Fprintf(&out, "\\%03o", c)
		default:
			out.WriteByte(c)
		}
	}
	return out.String()
}

// finish ends the session: the transaction is abandoned, and the
// disconnect line is logged.
func (s *session) finish() {
	s.flush()
	s.tx.abort()
	s.anvilDisconnect()
	s.auth.close()
	maillog.Info("disconnect from %s%s", s.namaddr(), s.statsText())
}

// statsText is the command summary of the disconnect line.
func (s *session) statsText() string {
	var b strings.Builder
	ok, total := 0, 0
	add := func(name string, st cmdStat) {
		if st.total == 0 {
			return
		}
		ok += st.ok
		total += st.total
		if st.ok == st.total {
			fmt.Fprintf(&b, " %s=%d", name, st.ok)
		} else {
			fmt.Fprintf(&b, " %s=%d/%d", name, st.ok, st.total)
		}
	}
	for i, c := range commands {
		add(strings.ToLower(c.name), s.stats[i])
	}
	add("unknown", s.unknown)
	if ok == total && total > 0 {
		fmt.Fprintf(&b, " commands=%d", ok)
	} else {
		fmt.Fprintf(&b, " commands=%d/%d", ok, total)
	}
	return b.String()
}

// forbidden reports whether an unknown command is one that shows the
// client does not speak SMTP at all: a message header, or a command of
// smtpd_forbidden_commands (HTTP's CONNECT, GET, POST).
func (s *session) forbidden(line string) bool {
	f := smtpread.Fields(line)
	if len(f) == 0 {
		return false
	}
	tok := f[0]
	return isHeaderName(tok) || s.srv.forbidden().match(tok)
}

// isHeaderName reports whether tok is "Name:" (a message header's start).
func isHeaderName(tok string) bool {
	i := strings.IndexByte(tok, ':')
	if i <= 0 {
		return false
	}
	for j := 0; j < i; j++ {
		if tok[j] <= ' ' || tok[j] >= 0x7f {
			return false
		}
	}
	return true
}

// logBareLF logs the reject of a bare <LF> (smtpd_forbid_bare_newline =
// reject), as Postfix does.
func (s *session) logBareLF(re *smtpread.Error) {
	if strings.Contains(re.Reply, "bare <LF> received") {
		s.logWhatsup("reject", "bare <LF> received")
	}
}

// countReader counts the bytes read through it.
type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// consumed is how many bytes of the client's input smtpd has used so far.
func (s *session) consumed() int64 { return s.in.n - int64(s.br.Buffered()) }
