package showq

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"

	"github.com/postfix-go/postfix/internal/attr"
	"github.com/postfix-go/postfix/internal/bouncelog"
	"github.com/postfix-go/postfix/internal/maillog"
	"github.com/postfix-go/postfix/internal/queue"
	"github.com/postfix-go/postfix/internal/record"
)

// report sends the sender and recipients of one open queue file.
func (r *reporter) report(q, id string, f *os.File, st fs.FileInfo) {
	size := st.Size()
	msgSize := size
	sizeOK := false
	sizeSeen := false
	var arrival int64
	senderSeen := 0
	var dup map[string]bool
	fr := &fileReader{f: f, rr: record.NewReader(f, 0)}
	defer func() {
		if senderSeen > 0 {
			r.end()
		}
	}()
	for {
		t, data, err := fr.next()
		if err != nil {
			return
		}
		text := string(data)
		switch t {
		case record.Time:
			if arrival == 0 {
				arrival = atol(text)
			}
		case record.Size:
			if !sizeSeen {
				sizeSeen = true
				sizeOK = strings.Trim(text, "0123456789 ") == "" && atol(text) >= 0
				if sizeOK {
					msgSize = atol(text)
				} else {
					maillog.Warn("%s: malformed size record: %.100s -- using file size instead", id, bouncelog.Printable(text))
					msgSize = size
				}
			}
		case record.From:
			if text == "" {
				text = r.empty
			}
			addr := bouncelog.Printable(bouncelog.QuoteLocal(text))
			if senderSeen > 0 {
				maillog.Warn("%s: duplicate sender address: %s -- skipping remainder of this file", id, addr)
				return
			}
			senderSeen++
			when := arrival
			if when <= 0 {
				when = st.ModTime().Unix()
			}
			expired := 0
			if st.Mode().Perm()&0o010 != 0 {
				expired = 1
			}
			r.put(false,
				attr.Str("queue_name", q),
				attr.Str("queue_id", id),
				attr.Long("time", uint64(when)),
				attr.Long("size", uint64(msgSize)),
				attr.Int("forced_expire", uint32(expired)),
				attr.Str("sender", addr))
			// Recipients with a defer log entry come first, with reasons.
			if entries, err := bouncelog.Read(r.l, queue.Defer, id); err == nil {
				dup = map[string]bool{}
				for _, e := range entries {
					if r.dupLimit == 0 || len(dup) < r.dupLimit {
						dup[e.Rcpt.Address] = true
					}
					r.put(false, attr.Str("recipient", e.Rcpt.Address), attr.Str("reason", e.Status.Reason))
				}
			} else if !errors.Is(err, fs.ErrNotExist) {
				maillog.Warn("%v", err)
			}
		case record.Rcpt:
			if senderSeen == 0 {
				maillog.Warn("%s: missing sender address: %s -- skipping remainder of this file", id, "")
				return
			}
			if text == "" {
				text = r.empty
			}
			addr := bouncelog.Printable(bouncelog.QuoteLocal(text))
			if dup == nil || !dup[addr] {
				r.put(false, attr.Str("recipient", addr), attr.Str("reason", ""))
			}
		case record.Mesg:
			if sizeOK {
				// Skip the message content, as Postfix seeks past it.
				if fr.seek(fr.offset()+msgSize) != nil {
					return
				}
			}
		case record.End:
		}
	}
}

// atol parses the leading decimal number of s as C's atol does.
func atol(s string) int64 {
	s = strings.TrimLeft(s, " \t")
	neg := false
	if s != "" && (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-'
		s = s[1:]
	}
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	n, _ := strconv.ParseInt(s[:i], 10, 64)
	if neg {
		n = -n
	}
	return n
}

// fileReader reads queue file records as Postfix's rec_get does: pointer
// records are followed and padding records skipped.
type fileReader struct {
	f     *os.File
	rr    *record.Reader
	base  int64
	jumps int
}

func (fr *fileReader) offset() int64 { return fr.base + fr.rr.Offset() }

func (fr *fileReader) seek(off int64) error {
	if _, err := fr.f.Seek(off, io.SeekStart); err != nil {
		return err
	}
	fr.base = off
	fr.rr = record.NewReader(fr.f, 0)
	return nil
}

func (fr *fileReader) next() (record.Type, []byte, error) {
	for {
		t, data, err := fr.rr.Next()
		if err != nil {
			return t, nil, err
		}
		switch t {
		case record.Padding:
			continue
		case record.Pointer:
			off := atol(string(data))
			if off <= 0 {
				continue
			}
			if fr.jumps++; fr.jumps > 10000 {
				return t, nil, errors.New("pointer loop")
			}
			if err := fr.seek(off); err != nil {
				return t, nil, err
			}
			continue
		}
		return t, data, nil
	}
}
