package pickup

import (
	"errors"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/postfix-go/postfix/internal/record"
)

// errEOF is the end of the file before the section ended.
var errEOF = errors.New("unexpected end of file")

// fileReader reads maildrop records as Postfix's rec_get does: pointer
// records are followed (for files requeued by postsuper -r) and padding
// records skipped; a record longer than the limit is an error.
type fileReader struct {
	f     *os.File
	rr    *record.Reader
	limit int
	jumps int
}

func newFileReader(f *os.File, limit int) *fileReader {
	return &fileReader{f: f, rr: record.NewReader(f, limit), limit: limit}
}

func (fr *fileReader) next() (record.Type, []byte, error) {
	for {
		t, data, err := fr.rr.Next()
		if err == io.EOF {
			return 0, nil, errEOF
		}
		if err != nil {
			return t, nil, err
		}
		switch t {
		case record.Padding:
			continue
		case record.Pointer:
			off, perr := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64)
			if perr != nil || off < 0 {
				return t, nil, errors.New("bad pointer record")
			}
			if off == 0 {
				continue
			}
			if fr.jumps++; fr.jumps > 10000 {
				return t, nil, errors.New("pointer loop")
			}
			if _, err := fr.f.Seek(off, io.SeekStart); err != nil {
				return t, nil, err
			}
			fr.rr = record.NewReader(fr.f, fr.limit)
			continue
		}
		return t, data, nil
	}
}
