package local

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/postfix-go/postfix/internal/address"
	"github.com/postfix-go/postfix/internal/record"
)

// What mailCopy adds around the message (Postfix's MAIL_COPY_* flags).
const (
	copyQuote      = 1 << iota // prefix ">" to lines starting with "From "
	copyToFile                 // fsync at the end; the caller truncates on error
	copyFrom                   // the "From sender  date" line
	copyDelivered              // Delivered-To:
	copyReturnPath             // Return-Path:
	copyDot                    // double leading dots
	copyBlank                  // an empty line after the message
	copyOrigRcpt               // X-Original-To:
)

// copyMbox is what a mailbox file gets.
const copyMbox = copyFrom | copyQuote | copyToFile | copyDelivered | copyReturnPath | copyBlank | copyOrigRcpt

// copyError says whether mailCopy failed reading the queue file (corrupt)
// or writing the destination.
type copyError struct {
	read bool
	err  error
}

func (e *copyError) Error() string { return e.err.Error() }

// mailCopy writes the message to w with the envelope lines flags ask for,
// as Postfix's mail_copy does: "From SENDER  Mon Jan  2 15:04:05 2006",
// "Return-Path: <SENDER>", "X-Original-To: ORIG", "Delivered-To: ADDR",
// then the content, with "From " lines quoted for mailboxes. Addresses
// are printed in external (quoted) form.
func (j *job) mailCopy(s state, w io.Writer, flags int) *copyError {
	bw := bufio.NewWriterSize(w, 64*1024)
	sender := address.External(s.sender)
	if flags&copyFrom != 0 {
		from := sender
		if s.sender == "" {
			from = "MAILER-DAEMON"
		}
		bw.WriteString("From " + from + "  " + time.Now().Format("Mon Jan _2 15:04:05 2006") + "\n")
	}
	if flags&copyReturnPath != 0 {
		if s.sender == "" {
			sender = ""
		}
		bw.WriteString("Return-Path: <" + sender + ">\n")
	}
	if flags&copyOrigRcpt != 0 && s.rcpt.Orig != "" {
		bw.WriteString("X-Original-To: " + address.External(s.rcpt.Orig) + "\n")
	}
	if flags&copyDelivered != 0 {
		bw.WriteString("Delivered-To: " + address.External(s.delivered) + "\n")
	}
	rd, err := j.content()
	if err != nil {
		return &copyError{read: true, err: err}
	}
	defer rd.Close()
	br := bufio.NewReaderSize(rd, 64*1024)
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			if flags&copyQuote != 0 && len(line) >= 5 && line[0] == 'F' && string(line[:5]) == "From " {
				bw.WriteByte('>')
			}
			if flags&copyDot != 0 && line[0] == '.' {
				bw.WriteByte('.')
			}
			if _, werr := bw.Write(line); werr != nil {
				return &copyError{err: werr}
			}
		}
		if err == bufio.ErrBufferFull {
			// A long line: the rest follows without quoting.
			for err == bufio.ErrBufferFull {
				line, err = br.ReadSlice('\n')
				if _, werr := bw.Write(line); werr != nil {
					return &copyError{err: werr}
				}
			}
		}
		if err == io.EOF {
			if len(line) > 0 && line[len(line)-1] != '\n' {
				bw.WriteByte('\n')
			}
			break
		}
		if err != nil {
			return &copyError{read: true, err: err}
		}
	}
	if flags&copyBlank != 0 {
		bw.WriteByte('\n')
	}
	if err := bw.Flush(); err != nil {
		return &copyError{err: err}
	}
	return nil
}

// limitWriter fails with EFBIG once a file would grow beyond max bytes
// (mailbox_size_limit; 0 means no limit), as the file size limit Postfix
// sets does.
type limitWriter struct {
	w    io.Writer
	size int64
	max  int64
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if l.max > 0 && l.size+int64(len(p)) > l.max {
		n := int(l.max - l.size)
		if n > 0 {
			n, _ = l.w.Write(p[:n])
			l.size += int64(n)
		}
		return n, syscall.EFBIG
	}
	n, err := l.w.Write(p)
	l.size += int64(n)
	return n, err
}

// errnoText returns the strerror text of err as Postfix's %m prints it
// (glibc's wording: Go's with a capital first letter).
func errnoText(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		t := errno.Error()
		if t != "" {
			t = strings.ToUpper(t[:1]) + t[1:]
		}
		return t
	}
	return strings.TrimSpace(err.Error())
}

// errnoOf returns the errno inside err, 0 when there is none.
func errnoOf(err error) syscall.Errno {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno
	}
	return 0
}

// queueContent reads the message text of the queue file f from offset:
// text records, continued lines joined, pointer records followed and
// padding skipped, up to the extracted-section or end record. Local keeps
// the queue file open from the start of the request, as Postfix does, so
// that deliveries running with a user's rights can still read it.
type queueContent struct {
	f    *os.File
	off  int64
	buf  []byte
	done bool
	err  error
	hops int
}

func (q *queueContent) Read(p []byte) (int, error) {
	for len(q.buf) == 0 && !q.done {
		if err := q.fill(); err != nil {
			q.done, q.err = true, err
		}
	}
	if len(q.buf) > 0 {
		n := copy(p, q.buf)
		q.buf = q.buf[n:]
		return n, nil
	}
	if q.err != nil {
		return 0, q.err
	}
	return 0, io.EOF
}

func (q *queueContent) Close() error { return nil }

// fill decodes records into buf until it holds some text or the content
// ends.
func (q *queueContent) fill() error {
	rr := record.NewReader(bufio.NewReaderSize(io.NewSectionReader(q.f, q.off, 1<<62), 64*1024), 0)
	base := q.off
	for len(q.buf) < 32*1024 {
		t, data, err := rr.Next()
		if err != nil {
			if err == io.EOF {
				return fmt.Errorf("%s: premature end of queue file", q.f.Name())
			}
			return fmt.Errorf("%s: %v", q.f.Name(), err)
		}
		q.off = base + rr.Offset()
		switch t {
		case record.Norm:
			q.buf = append(append(q.buf, data...), '\n')
		case record.Cont:
			q.buf = append(q.buf, data...)
		case record.Padding:
		case record.Pointer:
			to, err := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64)
			if err != nil || to <= 0 {
				return fmt.Errorf("%s: bad pointer record %q", q.f.Name(), data)
			}
			if to == q.off {
				continue
			}
			if q.hops++; q.hops > 10000 {
				return fmt.Errorf("%s: pointer record loop", q.f.Name())
			}
			q.off = to
			return nil
		case record.Xtra, record.End:
			q.done = true
			return nil
		default:
			return fmt.Errorf("%s: unexpected record type %d in message content", q.f.Name(), t)
		}
	}
	return nil
}
