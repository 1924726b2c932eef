package postqueue

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/postfix-go/postfix/internal/attr"
	"github.com/postfix-go/postfix/internal/bouncelog"
	"github.com/postfix-go/postfix/showq"
)

// OutputError is a failure to write the listing (other than the reader
// going away, which ends the listing quietly).
type OutputError struct{ Err error }

// Error returns the diagnostic.
func (e *OutputError) Error() string { return "output write error: " + e.Err.Error() }

// errMalformed is any departure from the showq protocol.
var errMalformed = errors.New("malformed showq server response")

// Message is one queue entry as showq reports it.
type Message struct {
	Queue, ID     string
	Arrival, Size int64
	ForceExpired  bool
	Sender        string
	Recipients    []Recipient
}

// Recipient is one recipient with the reason it is delayed ("" if none).
type Recipient struct{ Address, Reason string }

// stream reads showq's records.
type stream struct {
	br  *bufio.Reader
	dec *attr.Decoder
}

func newStream(r io.Reader) (*stream, error) {
	br := bufio.NewReaderSize(r, 8192)
	s := &stream{br: br, dec: attr.NewDecoder(br, attr.Zero)}
	s.dec.Path = "showq"
	if err := s.dec.ReadProtocol(showq.Protocol); err != nil {
		return nil, errMalformed
	}
	return s, nil
}

// more reports whether another item follows, consuming the end-of-record
// marker when not (Postfix's attr_scan_more).
func (s *stream) more() (bool, error) {
	b, err := s.br.Peek(1)
	if err != nil {
		return false, errMalformed
	}
	if b[0] == 0 {
		s.br.ReadByte()
		return false, nil
	}
	return true, nil
}

// next reads the next message; ok is false at the end of the list.
func (s *stream) next() (m *Message, ok bool, err error) {
	if more, err := s.more(); err != nil || !more {
		return nil, false, err
	}
	m = &Message{}
	var t, size uint64
	var exp uint32
	n, err := s.dec.Scan(attr.Strict|attr.More,
		attr.WantStr("queue_name", &m.Queue), attr.WantStr("queue_id", &m.ID),
		attr.WantLong("time", &t), attr.WantLong("size", &size),
		attr.WantInt("forced_expire", &exp), attr.WantStr("sender", &m.Sender))
	if err != nil || n != 6 {
		return nil, false, errMalformed
	}
	m.Arrival, m.Size, m.ForceExpired = int64(t), int64(size), exp != 0
	for {
		more, err := s.more()
		if err != nil {
			return nil, false, err
		}
		if !more {
			return m, true, nil
		}
		var r Recipient
		n, err := s.dec.Scan(attr.Strict|attr.More, attr.WantStr("recipient", &r.Address), attr.WantStr("reason", &r.Reason))
		if err != nil || n != 2 {
			return nil, false, errMalformed
		}
		m.Recipients = append(m.Recipients, r)
	}
}

// writeOut writes to the user, treating a vanished reader as the end.
type writeOut struct {
	w      *bufio.Writer
	closed bool
}

func (o *writeOut) flush() error {
	if o.closed {
		return nil
	}
	if err := o.w.Flush(); err != nil {
		if errors.Is(err, syscall.EPIPE) {
			o.closed = true
			return nil
		}
		return &OutputError{unwrapPath(err)}
	}
	return nil
}

// asctime formats t as C's asctime does, without the newline.
func asctime(t int64) string {
	return time.Unix(t, 0).Format("Mon Jan _2 15:04:05 2006")
}

// Compat reads a showq stream from r and writes Sendmail's mailq layout
// to w; long selects the layout for long queue IDs.
func Compat(r io.Reader, w io.Writer, long bool) error {
	s, err := newStream(r)
	if err != nil {
		return err
	}
	out := &writeOut{w: bufio.NewWriter(w)}
	strFmt, senderFmt := "%-11s %7s %-20s %s\n", "%-11s %7d %20.20s %s\n"
	head := []any{"-Queue ID-", "--Size--", "----Arrival Time----", "-Sender/Recipient-------"}
	if long {
		strFmt, senderFmt = "%-17s %8s %-19s %s\n", "%-17s %8d %19.19s %s\n"
		head = []any{"----Queue ID-----", "--Size--", "---Arrival Time----", "--Sender/Recipient------"}
	}
	var files, total int64
	for {
		m, ok, err := s.next()
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		if out.closed {
			continue
		}
		if files > 0 {
			fmt.Fprint(out.w, "\n")
		} else {
			fmt.Fprintf(out.w, strFmt, head...)
		}
		id := m.ID
		switch m.Queue {
		case "active":
			id += "*"
		case "hold":
			id += "!"
		}
		if m.ForceExpired {
			id += "#"
		}
		fmt.Fprintf(out.w, senderFmt, id, m.Size, asctime(m.Arrival), m.Sender)
		reason := ""
		for _, rc := range m.Recipients {
			if rc.Reason != reason {
				reason = rc.Reason
				show := reason
				if show == "" {
					show = "reason unavailable"
				}
				fmt.Fprintf(out.w, "%*s(%s)\n", max(0, 76-len(show)), "", show)
			}
			fmt.Fprintf(out.w, strFmt, "", "", "", rc.Address)
		}
		total += m.Size
		files++
		if err := out.flush(); err != nil {
			return err
		}
	}
	if out.closed {
		return nil
	}
	if files == 0 {
		fmt.Fprint(out.w, "Mail queue is empty\n")
	} else {
		plural := "s"
		if files == 1 {
			plural = ""
		}
		fmt.Fprintf(out.w, "\n-- %d Kbytes in %d Request%s.\n", total/1024, files, plural)
	}
	return out.flush()
}

// JSON reads a showq stream from r and writes one JSON object per message
// to w, as postqueue -j does.
func JSON(r io.Reader, w io.Writer, _ bool) error {
	s, err := newStream(r)
	if err != nil {
		return err
	}
	out := &writeOut{w: bufio.NewWriter(w)}
	for {
		m, ok, err := s.next()
		if err != nil {
			return err
		}
		if !ok || out.closed {
			if !ok {
				return out.flush()
			}
			continue
		}
		b := out.w
		fmt.Fprintf(b, "{\"queue_name\": \"%s\", \"queue_id\": \"%s\", \"arrival_time\": %d, \"message_size\": %d, \"forced_expire\": %t, \"sender\": \"%s\", \"recipients\": [",
			jsonQuote(m.Queue), jsonQuote(m.ID), m.Arrival, m.Size, m.ForceExpired, jsonQuote(m.Sender))
		for i, rc := range m.Recipients {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(b, "{\"address\": \"%s\"", jsonQuote(rc.Address))
			if rc.Reason != "" {
				fmt.Fprintf(b, ", \"delay_reason\": \"%s\"", jsonQuote(rc.Reason))
			}
			b.WriteString("}")
		}
		b.WriteString("]}\n")
		if err := out.flush(); err != nil {
			return err
		}
	}
}

// jsonQuote escapes s for a JSON string as Postfix's json_quote does:
// short escapes for \b \f \n \r \t, \u00XX for other control characters,
// backslash and quote escaped, then anything unprintable made '?'.
func jsonQuote(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\b':
			b.WriteString(`\b`)
		case c == '\f':
			b.WriteString(`\f`)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\r':
			b.WriteString(`\r`)
		case c == '\t':
			b.WriteString(`\t`)
		case c < 0x20 || c == 0x7f:
			b.WriteString(`\u00` + strings.ToUpper(strconv.FormatInt(int64(c)+0x100, 16)[1:]))
		case c == '\\' || c == '"':
			b.WriteByte('\\')
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	return bouncelog.Printable(b.String())
}

// flushCall sends one request to the flush service and returns its
// status.
func flushCall(conn net.Conn, req, name, value string) (int, error) {
	_ = conn.SetDeadline(time.Now().Add(100 * time.Second))
	br := bufio.NewReader(conn)
	dec := attr.NewDecoder(br, attr.Zero)
	if _, err := dec.ReadRecord(); err != nil {
		return 0, err
	}
	enc := attr.NewEncoder(conn, attr.Zero)
	if err := enc.Write(attr.Str("request", req), attr.Str(name, value)); err != nil {
		return 0, err
	}
	if err := enc.Flush(); err != nil {
		return 0, err
	}
	var status uint32
	if _, err := dec.Scan(attr.Strict, attr.WantInt("status", &status)); err != nil {
		return 0, err
	}
	return int(status), nil
}
