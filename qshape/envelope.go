package qshape

import (
	"bufio"
	"fmt"
	"io"
	"math"

	"github.com/postfix-go/postfix/internal/record"
)

// result tells what reading one file gave.
type result int

const (
	// skipped: not a queue file, or one without what qshape needs.
	skipped result = iota
	// unknown: the first record is none qshape knows (for example the
	// time record sendmail writes first into maildrop files). Postfix's
	// script still counts such a file as a message with no arrival time
	// (age since the epoch), no recipients and an empty sender; so do we.
	unknown
	// found: a complete envelope.
	found
)

// envelope is what qshape takes from a queue file.
type envelope struct {
	arrival    float64 // seconds since the epoch
	timeText   string  // the time record's first field
	timeRecord bool    // the arrival time is from the time record
	noRecord   bool    // unknown: not even a first record could be read
	sender     string
	recipients []string
}

// recReader reads records the way Postfix's script does, which is more
// lenient and more limited than internal/record: at most three length
// bytes (records up to 2 MB), a type byte '0' reads as the end of the
// file, and a length cut short by the end of the file is taken as it
// stands. Pointer records make it seek, so it keeps its own offset.
type recReader struct {
	f   io.ReadSeeker
	br  *bufio.Reader
	pos int64
	// seen holds the pointer targets followed, per reading mode: coming
	// back to one would loop forever, as Postfix's script does; we give
	// up on the file instead.
	seen map[[2]int64]bool
}

func newRecReader(f io.ReadSeeker) *recReader {
	return &recReader{f: f, br: bufio.NewReader(f)}
}

// next returns the next record; ok is false at the end of the file or on
// a record that cannot be read.
func (r *recReader) next() (typ byte, data string, ok bool) {
	t, err := r.br.ReadByte()
	if err != nil || t == '0' {
		return 0, "", false
	}
	r.pos++
	length, shift := 0, 0
	for {
		b, err := r.br.ReadByte()
		if err != nil {
			break
		}
		r.pos++
		length |= int(b&0x7f) << shift
		if b&0x80 == 0 {
			break
		}
		shift += 7
		if shift > 14 {
			return 0, "", false
		}
	}
	if length == 0 {
		return t, "", true
	}
	buf := make([]byte, length)
	n, _ := io.ReadFull(r.br, buf)
	r.pos += int64(n)
	if n != length {
		return 0, "", false
	}
	return t, string(buf), true
}

// seek moves to offset, from the start (whence 0) or from the current
// record position (whence 1).
func (r *recReader) seek(off float64, whence int) bool {
	if whence == 1 {
		off += float64(r.pos)
	}
	if math.IsNaN(off) || off < 0 || off >= 1<<63 {
		return false
	}
	abs := int64(off)
	if _, err := r.f.Seek(abs, io.SeekStart); err != nil {
		return false
	}
	r.br.Reset(r.f)
	r.pos = abs
	return true
}

// followPointer seeks to the offset of a pointer record when it is
// positive, as Postfix's script does.
func (r *recReader) followPointer(data string, warn warnFunc, line int) bool {
	v, numeric := perlNum(data)
	if !numeric {
		warn(fmt.Sprintf("Argument \"%s\" isn't numeric in numeric gt (>)", perlDisplay(data)), line)
	}
	if v > 0 {
		if v < 1<<62 {
			key := [2]int64{int64(v), int64(line)}
			if r.seen[key] {
				return false
			}
			if r.seen == nil {
				r.seen = map[[2]int64]bool{}
			}
			r.seen[key] = true
		}
		return r.seek(perlInt(v), 0)
	}
	return true
}

// warnFunc prints one of the warnings Perl gives Postfix's script, with
// the line of the script it names.
type warnFunc func(text string, line int)

// Lines of Postfix's script named by Perl's warnings about queue files.
const (
	lineFirstC   = 223
	lineFirstSF  = 232
	linePointer  = 250
	linePointerM = 262
	lineAge      = 282
	lineLower    = 294
)

// readEnvelope reads a queue file. mtime is the file's modification time,
// the arrival time of a maildrop file, which has no time record. warn
// gets Perl's warnings about odd records.
func readEnvelope(f io.ReadSeeker, mtime int64, warn warnFunc) (envelope, result) {
	var (
		env        envelope
		haveTime   bool
		haveSender bool
		dlen       float64
		haveDlen   bool
	)
	r := newRecReader(f)
	typ, data, ok := r.next()
	switch {
	case ok && typ == byte(record.Size):
		// A file written by cleanup: the size record, then the time.
		if v, ok := contentLength(data); ok {
			dlen, haveDlen = v, true
		}
		typ, data, ok = r.next()
		if !ok || typ != byte(record.Time) {
			return env, skipped
		}
		if first, ok := firstField(data); ok {
			env.arrival, _ = perlNum(first)
			env.timeText, env.timeRecord = first, true
			haveTime = true
		}
	case ok && (typ == byte(record.From) || typ == byte(record.FullName)):
		// A maildrop file: perhaps the full name, then the sender.
		env.arrival, haveTime = float64(mtime), true
		if typ != byte(record.From) {
			typ, data, ok = r.next()
			if !ok || typ != byte(record.From) {
				return env, skipped
			}
		}
		env.sender, haveSender = data, true
	default:
		if !ok {
			// Perl compares the missing record type with "C", "S"
			// and "F".
			warn("Use of uninitialized value $r in string eq", lineFirstC)
			warn("Use of uninitialized value $r in string eq", lineFirstSF)
			warn("Use of uninitialized value $r in string eq", lineFirstSF)
		}
		return envelope{noRecord: !ok}, unknown
	}
	for {
		typ, data, ok := r.next()
		if !ok {
			return env, skipped
		}
		if typ == byte(record.Pointer) && !r.followPointer(data, warn, linePointer) {
			return env, skipped
		}
		switch record.Type(typ) {
		case record.Rcpt:
			env.recipients = append(env.recipients, data)
		case record.From:
			env.sender, haveSender = data, true
		case record.Mesg:
			if !haveSender {
				return env, skipped
			}
			if haveDlen {
				if !r.seek(dlen, 1) {
					return env, skipped
				}
				typ, _, ok = r.next()
			} else {
				for {
					typ, data, ok = r.next()
					if !ok || (typ != byte(record.Norm) && typ != byte(record.Cont) && typ != byte(record.Pointer)) {
						break
					}
					if typ == byte(record.Pointer) && !r.followPointer(data, warn, linePointerM) {
						return env, skipped
					}
				}
			}
			if !ok || typ != byte(record.Xtra) {
				return env, skipped
			}
		case record.End:
			if !haveTime || !haveSender || len(env.recipients) == 0 {
				return env, skipped
			}
			return env, found
		}
	}
}

// contentLength takes the first number of a size record when the record
// starts with three numbers.
func contentLength(data string) (float64, bool) {
	i := 0
	for i < len(data) && perlSpace(data[i]) {
		i++
	}
	var nums [3]string
	for k := range nums {
		if k > 0 {
			j := i
			for i < len(data) && perlSpace(data[i]) {
				i++
			}
			if i == j {
				return 0, false
			}
		}
		j := i
		for i < len(data) && data[i] >= '0' && data[i] <= '9' {
			i++
		}
		if i == j {
			return 0, false
		}
		nums[k] = data[j:i]
	}
	v, _ := perlNum(nums[0])
	return v, true
}

// firstField is the first field of Perl's split(/\s+/, data): "" when data
// starts with whitespace, none when data is empty or all whitespace.
func firstField(data string) (string, bool) {
	if onlySpace(data) {
		return "", false
	}
	i := 0
	for i < len(data) && !perlSpace(data[i]) {
		i++
	}
	return data[:i], true
}
