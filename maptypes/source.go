package maptypes

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// LineReader returns the logical lines of a Postfix table source file:
// lines whose first non-blank character is '#' and blank lines are
// skipped, and a line that starts with white space continues the previous
// logical line (the white space is kept). A logical line that starts with
// white space is reported through Warn and skipped.
type LineReader struct {
	r    *bufio.Reader
	name string
	// Warn receives diagnostics without the "PROG: warning: " prefix.
	Warn func(text string)
	line int
	buf  []byte
	next []byte // a physical line read ahead, not yet used
	have bool
	eof  bool
}

// NewLineReader reads from r; name is the file name used in warnings.
func NewLineReader(r io.Reader, name string, warn func(string)) *LineReader {
	br, ok := r.(*bufio.Reader)
	if !ok {
		br = bufio.NewReaderSize(r, 1<<16)
	}
	if warn == nil {
		warn = func(string) {}
	}
	return &LineReader{r: br, name: name, Warn: warn}
}

// physical returns the next physical line without its newline.
func (lr *LineReader) physical() ([]byte, bool) {
	if lr.have {
		lr.have = false
		return lr.next, true
	}
	if lr.eof {
		return nil, false
	}
	line, err := lr.r.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		long := append([]byte(nil), line...)
		for err == bufio.ErrBufferFull {
			line, err = lr.r.ReadSlice('\n')
			long = append(long, line...)
		}
		line = long
	}
	if err != nil {
		lr.eof = true
		if len(line) == 0 {
			return nil, false
		}
	}
	lr.line++
	if n := len(line); n > 0 && line[n-1] == '\n' {
		line = line[:n-1]
	}
	// C strings end at a null byte.
	if i := indexNull(line); i >= 0 {
		line = line[:i]
	}
	return line, true
}

func indexNull(b []byte) int {
	for i, c := range b {
		if c == 0 {
			return i
		}
	}
	return -1
}

func isBlank(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

// skippable reports comment lines and blank lines.
func skippable(line []byte) bool {
	for _, c := range line {
		if !isBlank(c) {
			return c == '#'
		}
	}
	return true
}

// Next returns the next logical line and the number of its first
// physical line. The returned string is valid until the next call only
// when it is converted by the caller; it is a fresh string.
func (lr *LineReader) Next() (text string, lineno int, ok bool) {
	for {
		var line []byte
		for {
			l, ok := lr.physical()
			if !ok {
				return "", 0, false
			}
			if !skippable(l) {
				line = l
				break
			}
		}
		lineno = lr.line
		lr.buf = append(lr.buf[:0], line...)
		for {
			l, ok := lr.physical()
			if !ok {
				break
			}
			if skippable(l) {
				continue
			}
			if !isBlank(l[0]) {
				lr.next = append(lr.next[:0], l...)
				lr.have = true
				break
			}
			lr.buf = append(lr.buf, l...)
		}
		if isBlank(lr.buf[0]) {
			lr.Warn(fmt.Sprintf("%s: logical line must not start with whitespace: \"%s\"", lr.name, truncate(Printable(string(lr.buf)), 30)))
			continue
		}
		return string(lr.buf), lineno, true
	}
}

// truncate shortens s to n bytes followed by "..." as Postfix's "%.30s..."
// messages do.
func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// Entry is one key/value pair of a postmap(1) source file.
type Entry struct {
	Key, Value string
	Line       int
}

// SplitEntry splits a logical line into key and value as postmap(1) does.
// The key ends at the first white space outside double quotes; a
// backslash quotes the next character. The key is kept as written (quotes
// included). It returns a warning text (without file and line) when the
// line is ignored.
func SplitEntry(line string) (key, value, problem string) {
	inQuote := false
	end := len(line)
scan:
	for i := 0; i < len(line); i++ {
		switch c := line[i]; {
		case c == '\\':
			i++
			if i >= len(line) {
				break scan
			}
		case c == '"':
			inQuote = !inQuote
		case !inQuote && isBlank(c):
			end = i
			break scan
		}
	}
	if inQuote {
		return "", "", fmt.Sprintf("unbalanced '\"' in '%s' -- ignoring this line", line)
	}
	key = line[:end]
	rest := line[end:]
	rest = strings.TrimLeft(rest, " \t\n\r\v\f")
	rest = strings.TrimRight(rest, " \t\n\r\v\f")
	if rest == "" {
		return "", "", "expected format: key whitespace value"
	}
	return key, rest, ""
}

// ReadSource reads a postmap(1) source file and calls fn for each valid
// entry. Warnings ("FILE, line N: ...") go to warn. With utf8Check, a
// line that is not valid UTF-8 is reported and skipped, as Postfix does
// with smtputf8_enable = yes.
func ReadSource(r io.Reader, name string, utf8Check bool, warn func(string), fn func(Entry) error) error {
	lr := NewLineReader(r, name, warn)
	for {
		line, n, ok := lr.Next()
		if !ok {
			return nil
		}
		if utf8Check && !utf8.ValidString(line) {
			warn(fmt.Sprintf("%s, line %d: non-UTF-8 input \"%s\" -- ignoring this line", name, n, Printable(line)))
			continue
		}
		key, value, problem := SplitEntry(line)
		if problem != "" {
			warn(fmt.Sprintf("%s, line %d: %s", name, n, problem))
			continue
		}
		if strings.HasSuffix(key, ":") {
			warn(fmt.Sprintf("%s, line %d: record is in \"key: value\" format; is this an alias file?", name, n))
		}
		if err := fn(Entry{Key: key, Value: value, Line: n}); err != nil {
			return err
		}
	}
}
