// Package queue keeps mail in Postfix's queue layout: queue file names
// (queue IDs), the queue directories and their hashed subdirectories, and
// the queue file itself, written the way Postfix's cleanup(8) writes it so
// that Debian's postcat(1), qshape(1) and a real Postfix can read it, and
// an existing Postfix queue can be taken over in place.
//
// Queue IDs come in two forms. The short form (enable_long_queue_ids = no)
// is the file's creation time in microseconds as five upper-case hex
// digits followed by the file's inode number in upper-case hex, for
// example 97F04988064. The long form (enable_long_queue_ids = yes) is the
// creation time in seconds in base 52 (six or more characters), the
// microseconds in base 52 (four characters), the letter 'z', and the inode
// number in base 51, for example 4jc9Bv41czz1SKrr; the alphabet is digits
// and consonants (see Alphabet).
//
// The queue directory (queue_directory) holds the queues maildrop,
// incoming, active, deferred, hold and corrupt, and the per-message log
// directories bounce, defer and trace, plus flush and saved. A queue named
// in hash_queue_names keeps each file hash_queue_depth levels down, in
// one-character directories taken from the start of the ID; for a long ID
// the microseconds are first turned into their five hex digits, so both
// forms hash alike. With the defaults (deferred and defer, depth 1) the
// short ID 97F04988064 lives in deferred/9/97F04988064.
//
// A queue file is written to a temporary name in the queue, flushed,
// made executable by its owner (mode 0700, which is how Postfix marks a
// finished file), fsync'ed, linked to its final name and the directory is
// fsync'ed; only then may the message be acknowledged (Create, Commit).
// cleanup writes as Postfix's cleanup does instead (CreateNamed): the
// file gets its queue ID name at once, mode 0600 until it is finished,
// then mode 0700 and fsync; several files committed at the same moment
// may share one sync (GroupSync).
//
// Parameters read (through FromConfig): queue_directory,
// hash_queue_names, hash_queue_depth, enable_long_queue_ids,
// line_length_limit.
package queue

import (
	"path/filepath"
	"slices"
	"strings"

	"github.com/postfix-go/postfix/conf"
)

// Queue and log directory names under queue_directory.
const (
	Maildrop = "maildrop" // postdrop output, read by pickup
	Incoming = "incoming" // new files from cleanup
	Active   = "active"   // files the queue manager has opened
	Deferred = "deferred" // files waiting for a retry
	Hold     = "hold"     // files put on hold
	Corrupt  = "corrupt"  // damaged files
	Bounce   = "bounce"   // per-message logs of failed recipients
	Defer    = "defer"    // per-message logs of delayed recipients
	Trace    = "trace"    // per-message delivery logs for tracing
	Flush    = "flush"    // fast flush logs
	Saved    = "saved"    // files saved by the queue manager
)

// Names lists every directory Layout.Create makes under the queue
// directory.
var Names = []string{Maildrop, Incoming, Active, Deferred, Hold, Corrupt, Bounce, Defer, Trace, Flush, Saved}

// Layout describes one queue directory tree.
type Layout struct {
	Dir    string   // queue_directory
	Hashed []string // hash_queue_names
	Depth  int      // hash_queue_depth
	Long   bool     // enable_long_queue_ids
	// LineLimit is line_length_limit: content lines longer than this are
	// split into continued-line records.
	LineLimit int
}

// DefaultLineLimit is Postfix's default line_length_limit.
const DefaultLineLimit = 2048

// FromConfig returns the layout main.cf describes.
func FromConfig(c *conf.Config) Layout {
	return Layout{
		Dir:       c.Get("queue_directory"),
		Hashed:    c.List("hash_queue_names"),
		Depth:     c.Int("hash_queue_depth"),
		Long:      c.Bool("enable_long_queue_ids"),
		LineLimit: c.Int("line_length_limit"),
	}
}

// IsHashed reports whether queue keeps its files in hashed subdirectories.
func (l Layout) IsHashed(queue string) bool {
	return l.Depth > 0 && slices.Contains(l.Hashed, queue)
}

// RelDir returns the directory, relative to the queue directory, that
// holds id in queue (for example "deferred/9").
func (l Layout) RelDir(queue, id string) string {
	if !l.IsHashed(queue) {
		return queue
	}
	return queue + "/" + strings.Join(HashDirs(id, l.Depth), "/")
}

// RelPath returns the path of id in queue relative to the queue directory,
// the form postcat -q prints (for example "deferred/9/97F04988064").
func (l Layout) RelPath(queue, id string) string {
	return l.RelDir(queue, id) + "/" + id
}

// Path returns the full path of id in queue.
func (l Layout) Path(queue, id string) string {
	return filepath.Join(l.Dir, filepath.FromSlash(l.RelPath(queue, id)))
}
