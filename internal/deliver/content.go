package deliver

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/postfix-go/postfix/internal/record"
)

// Content opens the queue file read-only and returns the message text,
// starting at DataOffset: headers, empty line and body, each line ended by
// "\n". Continued-line records are joined, pointer records followed and
// padding skipped; the text stops at the extracted-section or end record.
func (r *Request) Content() (io.ReadCloser, error) {
	f, err := os.Open(r.Layout().Path(r.QueueName, r.QueueID))
	if err != nil {
		return nil, err
	}
	// No record length limit beyond the format's own: a queue file taken
	// over from elsewhere may have been written with another
	// line_length_limit.
	return &contentReader{f: f, off: r.DataOffset}, nil
}

// contentReader turns content records into text on demand.
type contentReader struct {
	f    *os.File
	off  int64 // offset of the next record
	max  int
	buf  bytes.Buffer
	done bool
	err  error
	hops int // pointer records followed (bounded against loops)
}

func (c *contentReader) Read(p []byte) (int, error) {
	for c.buf.Len() == 0 && !c.done {
		if err := c.fill(); err != nil {
			c.done, c.err = true, err
		}
	}
	if c.buf.Len() > 0 {
		return c.buf.Read(p)
	}
	if c.err != nil {
		return 0, c.err
	}
	return 0, io.EOF
}

// fill decodes records into buf until it holds some text, a pointer
// record moves the read position, or the content ends.
func (c *contentReader) fill() error {
	rr := record.NewReader(io.NewSectionReader(c.f, c.off, 1<<62), c.max)
	defer func() { c.off += rr.Offset() }()
	for c.buf.Len() < 32*1024 {
		t, data, err := rr.Next()
		if err == io.EOF {
			return fmt.Errorf("%s: premature end of queue file", c.f.Name())
		}
		if err != nil {
			return fmt.Errorf("%s: %v", c.f.Name(), err)
		}
		switch t {
		case record.Norm:
			c.buf.Write(data)
			c.buf.WriteByte('\n')
		case record.Cont:
			c.buf.Write(data)
		case record.Pointer:
			to, err := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64)
			if err != nil || to < 0 {
				return fmt.Errorf("%s: bad pointer record %q", c.f.Name(), data)
			}
			if c.hops++; c.hops > 10000 {
				return fmt.Errorf("%s: too many pointer records", c.f.Name())
			}
			if to > 0 {
				c.off = to - rr.Offset() // the deferred update lands on to
				return nil
			}
		case record.Xtra, record.End:
			c.done = true
			return nil
		}
	}
	return nil
}

func (c *contentReader) Close() error { return c.f.Close() }
