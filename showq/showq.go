// Package showq is the showq(8) daemon: it reports the contents of the mail
// queue to postqueue(1) (postqueue -p, postqueue -j, mailq, sendmail -bp).
//
// # Protocol
//
// showq speaks Postfix 3.7's mail_queue_list_protocol in the attribute
// protocol's "0" form (internal/attr). On each connection it sends:
//
//  1. a record with protocol=mail_queue_list_protocol;
//  2. per message, one record that is kept open: queue_name, queue_id,
//     time (arrival, seconds), size (the message content size from the C
//     record, or the file size for a maildrop file), forced_expire (0 or 1:
//     the group execute bit, set by postsuper -e), sender
//     (external form, quoted as needed, MAILER-DAEMON for <>), then per
//     recipient recipient and reason, and the end-of-record marker;
//  3. an empty record: the end of the list.
//
// postqueue formats this stream (postqueue -p as Sendmail's mailq, -j as
// JSON lines); showq never formats anything itself.
//
// Queues are read in Postfix's order: maildrop, active, incoming, deferred,
// hold; hashed subdirectories are walked. Only finished files are listed:
// a name that is a queue ID, a regular file ("warning: PATH: uid N: not a
// regular file" otherwise) whose owner permissions are rwx. For each
// message the recipients with a defer log entry come first, with the
// logged reason; then the recipients of the queue file that are not done
// and were not in the defer log (up to duplicate_filter_limit remembered),
// with an empty reason.
//
// A damaged file is reported as Postfix does ("QUEUEID: malformed size
// record: ... -- using file size instead", "QUEUEID: duplicate sender
// address: ... -- skipping remainder of this file") and never stops the
// listing.
//
// # Security
//
// showq runs chrooted (per master.cf) as mail_owner; its socket
// public/showq is reachable by every local user, so it only reads queue
// files and never trusts their contents beyond printing them safely
// (control characters and malformed UTF-8 become '?').
//
// Parameters read: duplicate_filter_limit, empty_address_recipient (the
// MAILER-DAEMON name), the queue layout (internal/queue) and what
// internal/server reads.
package showq

import (
	"bufio"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/postfix-go/postfix/conf"
	"github.com/postfix-go/postfix/internal/attr"
	"github.com/postfix-go/postfix/internal/ipc"
	"github.com/postfix-go/postfix/internal/maillog"
	"github.com/postfix-go/postfix/internal/queue"
	"github.com/postfix-go/postfix/internal/server"
)

// Protocol is the protocol name showq announces.
const Protocol = "mail_queue_list_protocol"

// Queues lists the queues showq reports, in its order.
var Queues = []string{queue.Maildrop, queue.Active, queue.Incoming, queue.Deferred, queue.Hold}

// Main runs the showq daemon under the server skeleton.
func Main() {
	server.Run("showq", server.Options{
		Mode: server.Multi,
		Conn: func(s *server.Service, c net.Conn) {
			l := s.Layout
			// The working directory is the queue directory, chrooted or not.
			l.Dir = "."
			_ = Report(c, l, s.Config)
		},
	})
}

// Report writes the queue listing of layout l to w.
func Report(w io.Writer, l queue.Layout, c *conf.Config) error {
	bw := bufio.NewWriter(w)
	r := &reporter{w: bw, l: l, empty: c.Get("empty_address_recipient"), dupLimit: c.Int("duplicate_filter_limit")}
	r.put(true, attr.Str(attr.ProtocolAttr, Protocol))
	for _, q := range Queues {
		for _, id := range listQueue(l, q) {
			r.file(q, id)
			if err := bw.Flush(); err != nil {
				return err
			}
		}
	}
	r.end()
	return bw.Flush()
}

// listQueue returns the names in queue q, walking hashed subdirectories
// (one-character directory names) as Postfix's mail_scan_dir_next does.
func listQueue(l queue.Layout, q string) []string {
	var ids []string
	var walk func(dir string, depth int)
	walk = func(dir string, depth int) {
		d, err := os.Open(dir)
		if err != nil {
			if depth == 0 {
				// As Postfix's scan_dir_open: a queue that cannot be read
				// means a broken installation.
				maillog.Fatal("open directory %s: %s", q, ipc.ErrnoText(err))
			}
			return
		}
		// Directory order, as Postfix's scan_dir sees it.
		ents, _ := d.ReadDir(-1)
		d.Close()
		for _, e := range ents {
			name := e.Name()
			if q != queue.Maildrop && depth < 16 && len(name) == 1 && e.IsDir() {
				walk(filepath.Join(dir, name), depth+1)
				continue
			}
			ids = append(ids, filepath.Join(dir, name))
		}
	}
	walk(filepath.Join(l.Dir, q), 0)
	return ids
}

// reporter writes showq's attribute stream.
type reporter struct {
	w        *bufio.Writer
	l        queue.Layout
	empty    string
	dupLimit int
}

// put writes attributes, with the end-of-record marker when end is set.
func (r *reporter) put(end bool, attrs ...attr.Attr) {
	b, err := attr.Marshal(attr.Zero, attrs...)
	if err != nil {
		// A value with a NUL cannot travel; Postfix would cut it there.
		for i := range attrs {
			attrs[i].S = strings.ReplaceAll(attrs[i].S, "\x00", "?")
		}
		if b, err = attr.Marshal(attr.Zero, attrs...); err != nil {
			return
		}
	}
	if !end {
		b = b[:len(b)-1]
	}
	r.w.Write(b)
}

// end writes a lone end-of-record marker.
func (r *reporter) end() { r.w.WriteByte(0) }

// file reports one queue file given by its path.
func (r *reporter) file(q, path string) {
	id := filepath.Base(path)
	if !queue.ValidName(id) {
		return
	}
	st, err := os.Lstat(path)
	if err != nil {
		if !os.IsNotExist(err) {
			maillog.Warn("%s: %v", relPath(r.l, path), ipc.ErrnoText(err))
		}
		return
	}
	uid := -1
	var ctime time.Time
	nlink := uint64(1)
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		uid = int(sys.Uid)
		ctime = time.Unix(sys.Ctim.Unix())
		nlink = uint64(sys.Nlink)
	}
	if !st.Mode().IsRegular() {
		maillog.Warn("%s: uid %d: not a regular file", relPath(r.l, path), uid)
		return
	}
	if st.Mode().Perm()&0o700 != 0o700 {
		return
	}
	if nlink > 1 && ctime.Before(time.Now().Add(-time.Minute)) {
		maillog.Warn("%s: uid %d: file has %d links", relPath(r.l, path), uid, nlink)
	}
	f, err := os.Open(path)
	if err != nil {
		if !os.IsNotExist(err) {
			maillog.Warn("open %s %s: %s", q, id, ipc.ErrnoText(err))
		}
		return
	}
	defer f.Close()
	r.report(q, id, f, st)
}

func relPath(l queue.Layout, path string) string {
	if rel, err := filepath.Rel(l.Dir, path); err == nil {
		return rel
	}
	return path
}
