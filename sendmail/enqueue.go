package sendmail

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/postfix-go/postfix/internal/address"
	"github.com/postfix-go/postfix/internal/record"
)

// Submission is one message being turned into maildrop records.
type Submission struct {
	Opts *Options
	// Sender is the envelope sender in internal form ("" for <>).
	Sender string
	// FullName is the sender's full name; nil writes no F record.
	FullName *string
	// UID is the submitting user, for diagnostics ("sender(uid): ...").
	UID int
	// LineLimit is line_length_limit: longer lines become L records.
	LineLimit int
	// FixEOL is sendmail_fix_line_endings: always, strict or never.
	FixEOL string
	// HeaderLimit is header_size_limit, the longest header -t accepts.
	HeaderLimit int
}

// SubmitError is a fatal problem while writing a message; Text is the
// complete diagnostic.
type SubmitError struct{ Text string }

// Error returns the diagnostic.
func (e *SubmitError) Error() string { return e.Text }

func (s *Submission) fail(format string, args ...any) error {
	return &SubmitError{fmt.Sprintf("%s(%d): ", s.Sender, s.UID) + fmt.Sprintf(format, args...)}
}

// ParseSender returns the envelope sender of a -f argument: the first
// address of the argument parsed as an address list, internalized; ok is
// false when the argument held more than one address (Postfix warns).
func ParseSender(arg string) (sender string, ok bool) {
	list := address.ParseList(arg)
	if len(list) == 0 {
		return "", true
	}
	return list[0].Addr, len(list) == 1
}

// Write writes the message records for the content read from in to w, up
// to and including the E record. It returns a *SubmitError for a problem
// Postfix reports as fatal, or the error of w.
func (s *Submission) Write(w *record.Writer, in io.Reader) error {
	o := s.Opts
	if o.EnvID != "" {
		w.PutAttr("envelope_id", o.EnvID)
	}
	if o.Ret != 0 {
		w.PutAttr("ret_flags", strconv.Itoa(o.Ret))
	}
	w.PutAttr("rewrite_context", o.Context)
	if s.FullName != nil {
		w.PutString(record.FullName, *s.FullName)
	}
	w.PutString(record.From, s.Sender)
	if o.Verp != nil && s.Sender == "" {
		return s.fail("-V option requires non-null sender address")
	}
	if o.Encoding != "" {
		w.PutAttr("encoding", o.Encoding)
	}
	if tf := o.Flags & traceMask; tf != 0 {
		w.PutAttr("trace_flags", strconv.Itoa(tf))
	}
	if o.Verp != nil {
		w.PutString(record.Verp, *o.Verp)
	}
	rcpts := 0
	for _, arg := range o.Operands {
		list := address.ParseList(arg)
		for _, a := range list {
			if o.Notify != 0 {
				w.PutAttr("notify_flags", strconv.Itoa(o.Notify))
			}
			w.PutString(record.Rcpt, a.Addr)
			rcpts++
		}
		if len(list) == 0 {
			w.PutString(record.Rcpt, "")
			rcpts++
		}
	}
	w.PutString(record.Mesg, "")
	var hs *headerScan
	if o.Flags&FlagUsrVrfy != 0 {
		if o.Flags&FlagXRcpt != 0 {
			return s.fail("-t option cannot be used with -bv")
		}
		if s.Sender != "" {
			w.PutString(record.Norm, "From: "+s.Sender)
		}
		w.PutString(record.Norm, "Subject: probe")
		if len(o.Operands) > 0 {
			w.PutString(record.Cont, "To:")
			for i, arg := range o.Operands {
				sep := ","
				if i == len(o.Operands)-1 {
					sep = ""
				}
				w.PutString(record.Norm, "\t"+arg+sep)
			}
		}
	} else {
		if o.Flags&FlagXRcpt != 0 {
			hs = &headerScan{w: w, lineLimit: s.LineLimit, sizeLimit: s.HeaderLimit}
		}
		if err := s.copyContent(w, in, hs); err != nil {
			return err
		}
	}
	w.PutString(record.Xtra, "")
	if hs != nil {
		list := hs.rcpts
		if hs.resent {
			list = hs.resentRcpts
		}
		for _, r := range list {
			if o.Notify != 0 {
				w.PutAttr("notify_flags", strconv.Itoa(o.Notify))
			}
			w.PutString(record.Rcpt, r)
			rcpts++
		}
	}
	if rcpts == 0 {
		if o.Flags&FlagXRcpt != 0 {
			return s.fail("No recipient addresses found in message header")
		}
		return s.fail("Recipient addresses must be specified on the command line or via the -t option")
	}
	return w.PutString(record.End, "")
}

// Line end handling (sendmail_fix_line_endings).
const (
	stripUnknown = iota // strict: decide on the first line
	stripYes
	stripNo
)

// copyContent copies the message text: From_ lines dropped, CRs removed,
// the "." line honoured, headers scanned with -t.
func (s *Submission) copyContent(w *record.Writer, in io.Reader, hs *headerScan) error {
	var strip int
	switch s.FixEOL {
	case "always":
		strip = stripYes
	case "strict":
		strip = stripUnknown
	case "never":
		strip = stripNo
	default:
		return &SubmitError{"invalid sendmail_fix_line_endings value: " + s.FixEOL}
	}
	limit := s.LineLimit
	if limit <= 0 {
		limit = 2048
	}
	br := bufio.NewReaderSize(in, 64<<10)
	skipFrom := true
	var prev record.Type
	buf := make([]byte, 0, limit)
	for {
		t, line, err := readLine(br, limit, buf)
		if err != nil {
			return s.fail("error reading input: %v", err)
		}
		if t == 0 {
			break
		}
		if strip == stripUnknown && t == record.Norm {
			if len(line) > 0 && line[len(line)-1] == '\r' {
				strip = stripYes
			} else {
				strip = stripNo
			}
		}
		if skipFrom {
			if t == record.Norm && strings.HasPrefix(strings.TrimLeft(string(line), ">"), "From ") {
				prev = t
				continue
			}
			skipFrom = false
		}
		if strip == stripYes && t == record.Norm {
			for len(line) > 0 && line[len(line)-1] == '\r' {
				line = line[:len(line)-1]
			}
		}
		if s.Opts.Flags&FlagAEOF != 0 && prev != record.Cont && len(line) == 1 && line[0] == '.' {
			break
		}
		if hs != nil {
			if err := hs.update(t, line); err != nil {
				return s.fail("unable to extract recipients: %v", err)
			}
		} else if err := w.Put(t, line); err != nil {
			return s.fail("error writing queue file: %v", err)
		}
		prev = t
	}
	if hs != nil {
		if err := hs.finish(); err != nil {
			return s.fail("unable to extract recipients: %v", err)
		}
	}
	return nil
}

// readLine reads one line as Postfix's rec_streamlf_get does: up to limit
// bytes or a newline (dropped). It returns N for a complete line, L for a
// partial one (limit reached, or the input ends without a newline), and
// type 0 at the end of the input. It never waits for more input than the
// line needs, so a person typing a message ending with "." is served at
// once.
func readLine(br *bufio.Reader, limit int, line []byte) (record.Type, []byte, error) {
	line = line[:0]
	for len(line) < limit {
		if br.Buffered() == 0 {
			if _, err := br.Peek(1); err != nil {
				if errors.Is(err, io.EOF) {
					break
				}
				return 0, nil, err
			}
		}
		p, _ := br.Peek(min(br.Buffered(), limit-len(line)))
		if i := bytes.IndexByte(p, '\n'); i >= 0 {
			line = append(line, p[:i]...)
			br.Discard(i + 1)
			return record.Norm, line, nil
		}
		line = append(line, p...)
		br.Discard(len(p))
	}
	if len(line) > 0 {
		return record.Cont, line, nil
	}
	return 0, nil, nil
}
