package smtpd

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/postfix-go/postfix/internal/maillog"
	"github.com/postfix-go/postfix/internal/smtpread"
)

// bdatState is a BDAT transfer in progress.
type bdatState struct {
	cw    *contentWriter
	total int64  // bytes received in all chunks
	fail  string // the reply every further chunk gets once one failed
}

func (s *session) bdatCmd(arg string) int {
	if s.discardKeyword("CHUNKING") {
		s.reply("521 5.5.1 Error: command not implemented")
		return cmdHangup
	}
	f := strings.Fields(arg)
	var n int64
	var err error
	last := false
	if len(f) >= 1 {
		n, err = strconv.ParseInt(f[0], 10, 64)
	}
	if len(f) == 2 && strings.EqualFold(f[1], "LAST") {
		last = true
	}
	if len(f) < 1 || len(f) > 2 || err != nil || n < 0 || !allDigits(f[0]) || len(f) == 2 && !last {
		id := s.tx.queueID
		if id == "" {
			id = "NOQUEUE"
		}
		maillog.Warn("%s: malformed BDAT command syntax from %s: %s", id, s.namaddr(), cBytes("BDAT "+arg, 100))
		s.reply("521 5.5.4 Syntax: BDAT count [LAST]")
		return cmdHangup
	}
	if len(s.tx.rcpts) == 0 {
		s.skipChunk(n)
		if !s.tx.active {
			s.reply("503 5.5.1 Error: need RCPT command")
		} else {
			s.reply("554 5.5.1 Error: no valid recipients")
		}
		return cmdError
	}
	b := s.tx.bdat
	if b == nil {
		if r := s.checkData(); r != "" {
			s.skipChunk(n)
			s.reply(r)
			return cmdError
		}
		s.startContent()
		b = &bdatState{cw: &contentWriter{s: s}}
		s.tx.bdat = b
	}
	s.where = "BDAT"
	s.conn.SetReadDeadline(time.Now().Add(s.p.timeout))
	start := s.consumed()
	_, err = s.rd.ReadChunk(n, last, b.cw.line)
	got := s.consumed() - start
	if err != nil {
		var re *smtpread.Error
		if errors.As(err, &re) {
			if b.fail == "" {
				b.fail = re.Reply
			}
			if re.Hangup {
				s.reply(re.Reply)
				return cmdHangup
			}
		} else {
			s.readError(err, fmt.Sprintf("BDAT (%d bytes)", b.total+got))
			return cmdHangup
		}
	}
	b.total += n
	if b.fail != "" {
		if last {
			s.where = "END-OF-MESSAGE"
			s.logBareLF(&smtpread.Error{Reply: b.fail})
			s.endTransaction()
		}
		s.reply(b.fail)
		return cmdError
	}
	if !last {
		s.reply(fmt.Sprintf("250 2.0.0 Ok: %d bytes", n))
		return cmdOK
	}
	return s.endContent(b.cw, fmt.Sprintf("%d bytes ", b.cw.size))
}

// skipChunk reads and drops a BDAT chunk that cannot be used.
func (s *session) skipChunk(n int64) {
	s.conn.SetReadDeadline(time.Now().Add(s.p.timeout))
	io.CopyN(io.Discard, s.br, n)
}
