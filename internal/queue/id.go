package queue

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Alphabet is the 52-character alphabet of long queue IDs: digits and the
// consonants, upper case then lower case. Inode numbers use its first 51
// characters, so that 'z', the last one, can separate them from the time.
const Alphabet = "0123456789BCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz"

// Field widths and bases of queue IDs.
const (
	shortUsecWidth = 5   // hex digits of microseconds in a short ID
	longSecWidth   = 6   // minimum base-52 digits of seconds in a long ID
	longUsecWidth  = 4   // exact base-52 digits of microseconds in a long ID
	longSep        = 'z' // separates the time from the inode in a long ID
	timeBase       = 52  // base of the time fields of a long ID
	inodeBase      = 51  // base of the inode field of a long ID
)

// ErrBadID reports a string that is not a queue ID of either form.
var ErrBadID = errors.New("malformed queue ID")

// ID is a decoded queue ID.
type ID struct {
	Long  bool   // long form (enable_long_queue_ids = yes)
	Sec   int64  // seconds of the creation time; long IDs only
	Usec  int    // microseconds of the creation time, 0..999999
	Inode uint64 // inode number of the queue file
}

// NewID returns the queue ID of a file with inode ino created at t: the
// short form is five upper-case hex digits of the microseconds then the
// inode in upper-case hex; the long form is the seconds in base 52 (at
// least six digits), the microseconds in base 52 (four digits), 'z', and the
// inode in base 51.
func NewID(t time.Time, ino uint64, long bool) string {
	usec := t.Nanosecond() / 1000
	if !long {
		return fmt.Sprintf("%05X%X", usec, ino)
	}
	b := make([]byte, 0, 24)
	b = appendBase(b, uint64(t.Unix()), timeBase, longSecWidth)
	b = appendBase(b, uint64(usec), timeBase, longUsecWidth)
	b = append(b, longSep)
	b = appendBase(b, ino, inodeBase, 1)
	return string(b)
}

func appendBase(b []byte, v uint64, base uint64, width int) []byte {
	var tmp [64]byte
	i := len(tmp)
	for v != 0 || len(tmp)-i < width {
		i--
		tmp[i] = Alphabet[v%base]
		v /= base
	}
	return append(b, tmp[i:]...)
}

func parseBase(s string, base int) (uint64, bool) {
	if s == "" {
		return 0, false
	}
	var v uint64
	for i := 0; i < len(s); i++ {
		d := strings.IndexByte(Alphabet[:base], s[i])
		if d < 0 {
			return 0, false
		}
		nv := v*uint64(base) + uint64(d)
		if nv/uint64(base) != v {
			return 0, false
		}
		v = nv
	}
	return v, true
}

// ParseID decodes a queue ID of either form. A short ID is at least six
// upper-case hex digits whose first five are at most 999999 microseconds;
// a long ID has a 'z' preceded by ten or more time digits.
func ParseID(s string) (ID, error) {
	if sep := strings.LastIndexByte(s, longSep); sep >= 0 {
		if sep < longSecWidth+longUsecWidth || sep == len(s)-1 {
			return ID{}, fmt.Errorf("%w: %q", ErrBadID, s)
		}
		sec, ok1 := parseBase(s[:sep-longUsecWidth], timeBase)
		usec, ok2 := parseBase(s[sep-longUsecWidth:sep], timeBase)
		ino, ok3 := parseBase(s[sep+1:], inodeBase)
		if !ok1 || !ok2 || !ok3 || usec > 999999 || sec > 1<<62 {
			return ID{}, fmt.Errorf("%w: %q", ErrBadID, s)
		}
		return ID{Long: true, Sec: int64(sec), Usec: int(usec), Inode: ino}, nil
	}
	if len(s) <= shortUsecWidth || len(s) > shortUsecWidth+16 {
		return ID{}, fmt.Errorf("%w: %q", ErrBadID, s)
	}
	var vals [2]uint64
	for i, part := range []string{s[:shortUsecWidth], s[shortUsecWidth:]} {
		for j := 0; j < len(part); j++ {
			c := part[j]
			var d byte
			switch {
			case c >= '0' && c <= '9':
				d = c - '0'
			case c >= 'A' && c <= 'F':
				d = c - 'A' + 10
			default:
				return ID{}, fmt.Errorf("%w: %q", ErrBadID, s)
			}
			vals[i] = vals[i]<<4 | uint64(d)
		}
	}
	if vals[0] > 999999 {
		return ID{}, fmt.Errorf("%w: %q", ErrBadID, s)
	}
	return ID{Usec: int(vals[0]), Inode: vals[1]}, nil
}

// String returns the queue ID in its own form.
func (id ID) String() string {
	return NewID(time.Unix(id.Sec, int64(id.Usec)*1000), id.Inode, id.Long)
}

// ValidName reports whether s may name a queue file as Postfix's
// mail_queue_id_ok check sees it: non-empty, at most 255 bytes, and only
// ASCII letters, digits and '_'. It is looser than ParseID and is what
// decides whether a file name in a queue directory is looked at at all.
func ValidName(s string) bool {
	if s == "" || len(s) > 255 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_') {
			return false
		}
	}
	return true
}

// HashKey returns the characters from which the hashed subdirectories of
// id are taken: the ID itself for a short ID, and for a long ID the
// creation microseconds as five upper-case hex digits, so that both forms
// of a file created at the same microsecond land in the same place.
func HashKey(id string) string {
	if sep := strings.LastIndexByte(id, longSep); sep >= longSecWidth+longUsecWidth {
		if usec, ok := parseBase(id[sep-longUsecWidth:sep], timeBase); ok {
			return fmt.Sprintf("%05X", usec)
		}
	}
	return id
}

// HashDirs returns the depth one-character subdirectory names under which
// a hashed queue keeps id: the first depth characters of HashKey(id), with
// '_' for positions past its end.
func HashDirs(id string, depth int) []string {
	key := HashKey(id)
	dirs := make([]string, depth)
	for i := range depth {
		if i < len(key) {
			dirs[i] = key[i : i+1]
		} else {
			dirs[i] = "_"
		}
	}
	return dirs
}
