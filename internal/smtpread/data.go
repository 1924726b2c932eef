package smtpread

import (
	"bytes"
	"errors"
	"io"
)

// Sink receives message content one line (or line piece) at a time,
// without line end; partial is true for a piece that continues in the
// next call (record.Cont) and false for a line's last piece (record.Norm).
// line is only valid during the call.
type Sink func(line []byte, partial bool) error

// DataResult describes content read by ReadData or ReadChunk.
type DataResult struct {
	// Size is the content size as smtpd counts it against
	// $message_size_limit: each line piece after dot-unstuffing plus 2.
	Size int64
	// BareNewline says a line ended in a bare <LF>.
	BareNewline bool
	// Lines is the number of line pieces handed to the sink.
	Lines int
}

// ReadData reads DATA content up to the end-of-data line, dot-unstuffing.
// Only "." on a line of its own between two <CR><LF> ends the content: a
// "." line after or before a bare <LF> does not, and is dropped as
// Postfix 3.7 drops it under "normalize", so no second message can be
// smuggled. Once the sink returns an error it is not
// called again; the content is still read to its end and the sink's error
// returned, so the session stays in sync. Under "reject" a bare <LF> gives
// a *Error after the content was read. A read error (EOF, timeout) is
// returned as it is, with io.ErrUnexpectedEOF for end of input.
func (r *Reader) ReadData(sink Sink) (DataResult, error) {
	var res DataResult
	var sinkErr error
	prevEnd := endCRLF // the DATA command line ended the previous line
	prevPartial := false
	for {
		piece, end, err := r.readPiece()
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return res, err
		}
		if end == endEOF {
			return res, io.ErrUnexpectedEOF
		}
		if end == endLF {
			res.BareNewline = true
		}
		line := piece
		if !prevPartial && len(line) > 0 && line[0] == '.' {
			if len(line) == 1 && end != endPartial {
				if end == endCRLF && prevEnd == endCRLF {
					break
				}
				// A "." line next to a bare <LF> is not the end of
				// the data; Postfix (normalize) drops it.
				prevEnd = end
				continue
			}
			line = line[1:]
		}
		partial := end == endPartial
		res.Size += int64(len(line)) + 2
		res.Lines++
		if sinkErr == nil {
			sinkErr = sink(line, partial)
		}
		prevPartial = partial
		if !partial {
			prevEnd = end
		}
	}
	if sinkErr != nil {
		return res, sinkErr
	}
	if res.BareNewline && r.reject {
		return res, r.bareLFError(false)
	}
	return res, nil
}

// ReadChunk reads one BDAT chunk of n bytes (no dot-unstuffing), keeping a
// partial last line across chunks; with last, that line is delivered at
// the end. Lines are split at LineLimit as in ReadData. The chunk is
// always read to its end; the first sink error is returned after it, and
// under "reject" a bare <LF> gives a *Error after the chunk.
func (r *Reader) ReadChunk(n int64, last bool, sink Sink) (DataResult, error) {
	var res DataResult
	var sinkErr error
	limit := r.opts.LineLimit
	emit := func(line []byte, partial bool) {
		res.Size += int64(len(line)) + 2
		res.Lines++
		if sinkErr == nil {
			sinkErr = sink(line, partial)
		}
	}
	for n > 0 {
		if _, err := r.br.Peek(1); err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return res, err
		}
		m := r.br.Buffered()
		if int64(m) > n {
			m = int(n)
		}
		data, _ := r.br.Peek(m)
		for len(data) > 0 {
			i := bytes.IndexByte(data, '\n')
			take := data
			if i >= 0 {
				take = data[:i]
			}
			room := limit - len(r.bdatLine)
			if len(take) > room {
				// The line reaches the limit: emit a piece.
				r.bdatLine = append(r.bdatLine, take[:room]...)
				emit(r.bdatLine, true)
				r.bdatLine = r.bdatLine[:0]
				data = data[room:]
				continue
			}
			r.bdatLine = append(r.bdatLine, take...)
			if i < 0 {
				break
			}
			line := r.bdatLine
			if len(line) > 0 && line[len(line)-1] == '\r' {
				line = line[:len(line)-1]
			} else {
				res.BareNewline = true
			}
			emit(line, false)
			r.bdatLine = r.bdatLine[:0]
			data = data[i+1:]
		}
		_, _ = r.br.Discard(m)
		n -= int64(m)
	}
	if last {
		if len(r.bdatLine) > 0 {
			emit(r.bdatLine, false)
		}
		r.bdatLine = r.bdatLine[:0]
	}
	if sinkErr != nil {
		return res, sinkErr
	}
	if res.BareNewline && r.reject {
		return res, r.bareLFError(false)
	}
	return res, nil
}

// ResetChunks forgets a partial line kept from earlier BDAT chunks (after
// RSET or an aborted transaction).
func (r *Reader) ResetChunks() { r.bdatLine = r.bdatLine[:0] }
