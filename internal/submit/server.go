package submit

import (
	"bufio"
	"net"
	"time"

	"github.com/postfix-go/postfix/internal/attr"
	"github.com/postfix-go/postfix/internal/record"
)

// Session is the cleanup side of one submission.
type Session struct {
	conn    net.Conn
	br      *bufio.Reader
	enc     *attr.Encoder
	dec     *attr.Decoder
	rd      *record.Reader
	timeout time.Duration
	last    time.Time // when the deadline was last set
	// Flags are the client's processing flags (Flag* bits).
	Flags int
	// FlagsErr is the error reading the flags record, or nil. Postfix's
	// cleanup then treats the message as bad (StatBad) but still reads
	// the stream and replies.
	FlagsErr error
}

// Accept runs the start of the protocol on a new client connection:
// announce the protocol and queueID, then read the client's flags. path
// names the client in diagnostics; timeout bounds each read (0: none);
// maxLen bounds one record (0: no limit). An error means the announcement
// could not be sent; a bad flags record is reported in FlagsErr.
func Accept(conn net.Conn, path, queueID string, timeout time.Duration, maxLen int) (*Session, error) {
	// The attribute decoder and the record reader share one buffer, so
	// records that follow the flags in the same segment are not lost.
	br := bufio.NewReaderSize(conn, 8192)
	s := &Session{
		conn: conn, br: br,
		enc:     attr.NewEncoder(conn, attr.Zero),
		dec:     attr.NewDecoder(br, attr.Zero),
		rd:      record.NewReader(br, maxLen),
		timeout: timeout,
	}
	s.dec.Path = path
	s.deadline()
	if err := s.enc.Write(attr.Str(attr.ProtocolAttr, Protocol), attr.Str(attrQueueID, queueID)); err != nil {
		return nil, err
	}
	if err := s.enc.Flush(); err != nil {
		return nil, err
	}
	var flags uint32
	if _, err := s.dec.Scan(attr.Strict, attr.WantInt(attrFlags, &flags)); err != nil {
		s.FlagsErr = err
	}
	s.Flags = int(flags)
	return s, nil
}

func (s *Session) deadline() {
	if s.timeout <= 0 {
		return
	}
	// Setting a deadline costs more than reading a record: move it on
	// only when a sixty-fourth of the timeout has passed since it was
	// last set, so a stalled client is cut off after between 63/64 of
	// the timeout and the whole of it.
	now := time.Now()
	if !s.last.IsZero() && now.Sub(s.last) < s.timeout/64 {
		return
	}
	s.last = now
	_ = s.conn.SetDeadline(now.Add(s.timeout))
}

// Next reads the next record from the client (see record.Reader.Next).
func (s *Session) Next() (record.Type, []byte, error) {
	s.deadline()
	return s.rd.Next()
}

// Reply sends the final status and reason.
func (s *Session) Reply(status int, reason string) error {
	s.deadline()
	if err := s.enc.Write(attr.Int(attrStatus, uint32(status)), attr.Str(attrReason, reason)); err != nil {
		return err
	}
	return s.enc.Flush()
}
