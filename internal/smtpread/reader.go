package smtpread

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strconv"
	"strings"
)

// Options are the main.cf settings a Reader applies.
type Options struct {
	// LineLimit is $line_length_limit (default 2048): longer command
	// lines are truncated, longer content lines are split into pieces.
	LineLimit int
	// BareNewline is $smtpd_forbid_bare_newline: "no" (default),
	// "normalize", "yes" (an alias of normalize) or "reject". Only
	// "reject" changes what the Reader accepts; see the package comment.
	BareNewline string
	// RejectCode is $smtpd_forbid_bare_newline_reject_code (default 550);
	// 521 makes the error a hang-up.
	RejectCode int
	// Exempt says the client matches
	// $smtpd_forbid_bare_newline_exclusions: "reject" does not apply.
	Exempt bool
	// Hostname is $myhostname, which the bare <LF> reply names.
	Hostname string
}

// Reader reads what an SMTP client sends; br is the session's buffered reader.
type Reader struct {
	br        *bufio.Reader
	opts      Options
	reject    bool   // bare <LF> is refused
	buf       []byte // line assembly when a line is not contiguous in br
	bdatLine  []byte // BDAT: the unfinished last line of the previous chunk
	truncated bool   // the last command line was cut at LineLimit
	cut       string // the last command line from its first NUL byte on
}

// NewReader returns a Reader on br with the given options.
func NewReader(br *bufio.Reader, opts Options) *Reader {
	if opts.LineLimit <= 0 {
		opts.LineLimit = 2048
	}
	if opts.RejectCode == 0 {
		opts.RejectCode = 550
	}
	r := &Reader{br: br, opts: opts}
	r.reject = strings.EqualFold(opts.BareNewline, "reject") && !opts.Exempt
	return r
}

// Error is a reply-bearing error: Reply is "CODE X.Y.Z text"; Hangup says
// that smtpd closes the session after sending it.
type Error struct {
	Reply  string
	Hangup bool
	Warn   bool // ParsePath: smtpd logs "Illegal address syntax from HOST in VERB command: RAW"
}

// Error returns the reply text.
func (e *Error) Error() string { return e.Reply }

// bareLFError is the reply for a bare <LF> under "reject"; Postfix hangs
// up after it for a command, and for content only with code 521.
func (r *Reader) bareLFError(command bool) *Error {
	code := r.opts.RejectCode
	return &Error{Reply: strconv.Itoa(code) + " 5.5.2 " + r.opts.Hostname + " Error: bare <LF> received",
		Hangup: command || code == 521}
}

// Line endings that readPiece reports.
const (
	endCRLF    = iota // the piece ends a line terminated by <CR><LF>
	endLF             // the piece ends a line terminated by a bare <LF>
	endPartial        // the line goes on in the next piece (LineLimit reached)
	endEOF            // input ended without a line end
)

// readPiece reads up to LineLimit bytes of one line. The returned slice
// is valid until the next read; the line end is not included (one <CR>
// before the <LF> is removed).
func (r *Reader) readPiece() ([]byte, int, error) {
	limit := r.opts.LineLimit
	r.buf = r.buf[:0]
	for {
		if _, err := r.br.Peek(1); err != nil {
			if len(r.buf) > 0 && errors.Is(err, io.EOF) {
				return r.buf, endEOF, nil
			}
			if errors.Is(err, io.EOF) && len(r.buf) == 0 {
				return nil, endEOF, io.EOF
			}
			return nil, endEOF, err
		}
		need := limit - len(r.buf)
		n := r.br.Buffered()
		if n > need+1 {
			n = need + 1
		}
		data, _ := r.br.Peek(n)
		scan := data
		if len(scan) > need {
			scan = scan[:need]
		}
		if i := bytes.IndexByte(scan, '\n'); i >= 0 {
			var line []byte
			if len(r.buf) == 0 {
				line = data[:i] // fast path: no copy
			} else {
				r.buf = append(r.buf, data[:i]...)
				line = r.buf
			}
			end := endLF
			if len(line) > 0 && line[len(line)-1] == '\r' {
				line = line[:len(line)-1]
				end = endCRLF
			}
			if len(r.buf) == 0 {
				// line aliases br's buffer: copy before Discard may refill.
				r.buf = append(r.buf, line...)
				line = r.buf
			}
			_, _ = r.br.Discard(i + 1)
			return line, end, nil
		}
		r.buf = append(r.buf, scan...)
		_, _ = r.br.Discard(len(scan))
		if len(r.buf) >= limit {
			// A <CR> that fills the piece and the <LF> after it still
			// end the line, as in Postfix.
			if r.buf[len(r.buf)-1] == '\r' {
				if next, err := r.br.Peek(1); err == nil && next[0] == '\n' {
					_, _ = r.br.Discard(1)
					return r.buf[:len(r.buf)-1], endCRLF, nil
				}
			}
			return r.buf, endPartial, nil
		}
	}
}

// errEOF is returned for input that ends inside a line.
func errEOF() error { return io.EOF }
