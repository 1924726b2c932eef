package postmap

import (
	"bufio"
	"io"
	"strings"
)

// isHeaderLine reports whether line starts like an RFC 5322 header
// ("name:" with printable name characters).
func isHeaderLine(line string) bool {
	i := 0
	for i < len(line) && line[i] > ' ' && line[i] < 0x7f && line[i] != ':' {
		i++
	}
	j := i
	for j < len(line) && (line[j] == ' ' || line[j] == '\t') {
		j++
	}
	return i > 0 && j < len(line) && line[j] == ':'
}

// messageKeys turns a message on r into lookup keys for -h (one key per
// logical header, continuation lines joined with newlines) and -b (one key
// per body line, the empty line after the headers included).
func (r *runner) messageKeys(in io.Reader, query func(string)) {
	br := bufio.NewReaderSize(in, 1<<16)
	inHeaders := true
	var hdr []string
	flushHeader := func() {
		if len(hdr) > 0 && r.o.header {
			query(strings.Join(hdr, "\n"))
		}
		hdr = hdr[:0]
	}
	for {
		line, err := br.ReadString('\n')
		if line == "" && err != nil {
			break
		}
		line = strings.TrimSuffix(line, "\n")
		line = strings.TrimSuffix(line, "\r")
		if inHeaders {
			if len(hdr) > 0 && line != "" && (line[0] == ' ' || line[0] == '\t') {
				hdr = append(hdr, line)
				continue
			}
			flushHeader()
			if isHeaderLine(line) {
				hdr = append(hdr, line)
				continue
			}
			inHeaders = false
			// The line that ends the headers is a body line; a body that
			// starts without the empty separator line gets one, as
			// Postfix's MIME processor inserts it.
			if line != "" && r.o.body {
				query("")
			}
		}
		if r.o.body {
			query(line)
		}
	}
	flushHeader()
}
