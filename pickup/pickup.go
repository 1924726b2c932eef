// Package pickup is the pickup(8) daemon: it moves messages that
// postdrop(1) left in the maildrop queue to the cleanup(8) service.
//
// # Triggers
//
// pickup is a trigger server (internal/server): any request on
// public/$pickup_service_name (postdrop writes "W"), and master's periodic
// wake-up, make it scan the maildrop directory. It keeps scanning until a
// pass removes no file, so a burst of submissions is taken in one go.
//
// # What it does with a file
//
// A maildrop file is taken when its name is a queue ID, it is a regular
// file and its owner permissions are rwx (postdrop sets the execute bit
// last, when the file is complete); a file with several links is
// reported. pickup opens it without following symbolic links, connects to
// public/$cleanup_service_name (internal/submit) with the flags Postfix's
// pickup uses (bounce, plus header/body checks, milters, BCC and address
// mapping unless receive_override_options turns them off; automatic
// SMTPUTF8 detection for local submissions), and copies it record by
// record: the envelope (a T record from the file's time when it has none;
// content_filter as an L record; leftover content filter and redirect
// records from postsuper -r are dropped), then a Received: header
//
//	Received: by $myhostname ($mail_name, from userid UID)
//		id QUEUEID; DATE
//
// and the content, then the extracted recipients, and E. It logs
// "QUEUEID: uid=UID from=<SENDER>" (with orig_id=MAILDROPID for a message
// requeued by postsuper -r, that is a file owned by mail_owner and not
// readable by others).
//
// The maildrop file is removed only after cleanup answered with success:
// the message is then safely in the incoming queue. A file whose records
// are not what postdrop writes is removed with the warning
// "uid=UID: unexpected or malformed record type N" (Postfix's behaviour: a
// user cannot make pickup loop on a bad file); so is a file without a
// sender ("QUEUEID: uid=UID: no envelope sender") and one that cleanup
// refused as malformed or without recipients. When cleanup cannot be
// reached or fails temporarily (a table it cannot read makes it answer
// "queue file write error"), the file stays for the next scan: that of
// the next trigger request (postdrop's, a flush) or of master's wakeup
// (the master.cf wakeup column, 60 seconds). As in Postfix, each trigger
// request makes one scan, also one that was already waiting when the
// daemon started or while it scanned, and nothing else starts one.
//
// # Security
//
// pickup runs chrooted (per master.cf) as mail_owner and treats maildrop
// files as untrusted input from local users: every record is checked
// against the set allowed in its section and limited to line_length_limit.
//
// Parameters read: content_filter, receive_override_options, mail_owner,
// myhostname, mail_name, line_length_limit, smtputf8_enable,
// smtputf8_autodetect_classes, cleanup_service_name, info_log_address_format,
// and what internal/server reads.
package pickup

import (
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/postfix-go/postfix/conf"
	"github.com/postfix-go/postfix/internal/ipc"
	"github.com/postfix-go/postfix/internal/maillog"
	"github.com/postfix-go/postfix/internal/queue"
	"github.com/postfix-go/postfix/internal/server"
)

// Main runs the pickup daemon under the server skeleton.
func Main() {
	var p *Pickup
	server.Run("pickup", server.Options{
		Mode: server.Trigger,
		PostJail: func(s *server.Service) error {
			p = New(s.Config, ".")
			return nil
		},
		Trigger: func(s *server.Service, _ []byte) {
			p.Scan()
		},
	})
}

// Pickup holds what a scan needs.
type Pickup struct {
	c        *conf.Config
	dir      string // the queue directory ("." inside the daemon)
	ownerUID int
	flags    int // cleanup flags for ordinary submissions
	// Dial opens the cleanup stream; tests replace it.
	Dial func(flags int) (Cleanup, error)
	now  func() time.Time
}

// New returns a Pickup for the queue directory dir.
func New(c *conf.Config, dir string) *Pickup {
	p := &Pickup{c: c, dir: dir, ownerUID: -1, now: time.Now}
	if u, err := user.Lookup(c.Get("mail_owner")); err == nil {
		p.ownerUID, _ = strconv.Atoi(u.Uid)
	}
	p.flags = cleanupFlags(c)
	p.Dial = func(flags int) (Cleanup, error) { return openSubmit(c, flags) }
	return p
}

// Scan moves every finished maildrop file to cleanup, and repeats while
// files are being removed.
func (p *Pickup) Scan() {
	for {
		removed := 0
		for _, id := range readDir(filepath.Join(p.dir, queue.Maildrop)) {
			path := filepath.Join(p.dir, queue.Maildrop, id)
			st, ok := openOK(path, id)
			if !ok {
				continue
			}
			if p.file(path, id, st) == removeFile {
				if err := os.Remove(path); err != nil {
					maillog.Warn("remove %s: %s", relName(id), ipc.ErrnoText(err))
				} else {
					removed++
				}
			}
		}
		if removed == 0 {
			return
		}
	}
}

func relName(id string) string { return queue.Maildrop + "/" + id }

// readDir lists a directory in directory order.
func readDir(dir string) []string {
	d, err := os.Open(dir)
	if err != nil {
		return nil
	}
	defer d.Close()
	names, _ := d.Readdirnames(-1)
	return names
}

// openOK checks a maildrop entry as Postfix's mail_open_ok does.
func openOK(path, id string) (fs.FileInfo, bool) {
	if !queue.ValidName(id) {
		return nil, false
	}
	st, err := os.Lstat(path)
	if err != nil {
		if !os.IsNotExist(err) {
			maillog.Warn("%s: %s", relName(id), ipc.ErrnoText(err))
		}
		return nil, false
	}
	uid, nlink, ctime := statInfo(st)
	if !st.Mode().IsRegular() {
		maillog.Warn("%s: uid %d: not a regular file", relName(id), uid)
		return nil, false
	}
	if st.Mode().Perm()&0o700 != 0o700 {
		return nil, false
	}
	if nlink > 1 && ctime.Before(time.Now().Add(-time.Minute)) {
		maillog.Warn("%s: uid %d: file has %d links", relName(id), uid, nlink)
	}
	return st, true
}

func statInfo(st fs.FileInfo) (uid int, nlink uint64, ctime time.Time) {
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		return int(sys.Uid), uint64(sys.Nlink), time.Unix(sys.Ctim.Unix())
	}
	return -1, 1, time.Time{}
}
