package local

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/postfix-go/postfix/internal/maillog"
)

// userAttrOf returns the delivery rights of a password entry. In
// unprivileged mode every delivery runs as the user running the mail
// system, so that user's ids replace the recipient's.
func (a *Agent) userAttrOf(pw *passwd) userAttr {
	u := userAttr{uid: pw.uid, gid: pw.gid, home: pw.home, shell: pw.shell, logname: pw.name}
	if !a.Root {
		u.uid, u.gid = os.Geteuid(), os.Getegid()
	}
	return u
}

// deliverMailbox delivers to the mailbox of a local user: through
// mailbox_transport_maps or mailbox_transport, mailbox_command_maps or
// mailbox_command, a maildir (home_mailbox or mail_spool_directory
// ending in "/"), or the mailbox file. It reports false when the user
// does not exist.
func (j *job) deliverMailbox(s state, usr userAttr) (bool, int) {
	s.level++
	if j.beenHere("mailbox " + s.local) {
		return true, 0
	}
	a := j.a
	if a.mboxTransportMaps.configured() {
		m, found, err := a.mboxTransportMaps.find(s.user)
		if err != nil {
			return true, j.deferf(s, "4.3.0", "table lookup failure")
		}
		if found {
			return true, a.pass(j.r, m, *report(s))
		}
	}
	if a.mailboxTransport != "" {
		return true, a.pass(j.r, a.mailboxTransport, *report(s))
	}
	pw, err := a.lookupUser(s.user)
	if err != nil {
		maillog.Warn("error looking up passwd info for %s: %v", s.user, err)
		return true, j.deferf(s, "4.0.0", "user lookup error")
	}
	if pw == nil {
		return false, 0
	}
	usr = a.userAttrOf(pw)
	if a.mboxCommandMaps.configured() {
		cmd, found, err := a.mboxCommandMaps.find(s.user)
		if err != nil {
			return true, j.deferf(s, "4.3.0", "table lookup failure")
		}
		if found {
			return true, j.deliverCommand(s, usr, cmd)
		}
	}
	switch {
	case a.mailboxCommand != "":
		return true, j.deliverCommand(s, usr, a.mailboxCommand)
	case strings.HasSuffix(a.homeMailbox, "/"):
		return true, j.deliverMaildir(s, usr, usr.home+"/"+a.homeMailbox)
	case strings.HasSuffix(a.spoolDir, "/"):
		return true, j.deliverMaildir(s, usr, a.spoolDir+s.user+"/")
	}
	return true, j.deliverMailboxFile(s, usr)
}

// deliverMailboxFile appends the message to the user's mailbox file,
// $home/$home_mailbox or $mail_spool_directory/$user, in mbox format.
//
// Rights: a home mailbox is written as the user. In the spool directory
// the file is written as the user when the directory is world-writable,
// as the user with the directory's group when it is group-writable
// (Debian's /var/mail: root:mail 2775), and otherwise as root, after
// which a new file is given to the user.
func (j *job) deliverMailboxFile(s state, usr userAttr) int {
	s.level++
	a := j.a
	if j.traceOnly() {
		return j.sent(s, "2.0.0", "delivers to mailbox")
	}
	if !a.frozenDelivered {
		s.delivered = s.rcpt.Address
	}
	var mailbox string
	spool := ""
	if a.homeMailbox != "" {
		mailbox = usr.home + "/" + a.homeMailbox
	} else {
		spool = a.spoolDir
		mailbox = spool + "/" + s.user
	}
	spoolUID, spoolGID := usr.uid, usr.gid
	if spool != "" {
		var st syscall.Stat_t
		if syscall.Stat(spool, &st) == nil && st.Mode&0o002 == 0 {
			if st.Mode&0o020 != 0 {
				spoolGID = int(st.Gid)
			} else {
				spoolUID, spoolGID = 0, 0
			}
		}
	}
	if !a.Root {
		spoolUID, spoolGID = usr.uid, usr.gid
	}
	chownUID, chownGID := -1, -1
	if spoolUID != usr.uid {
		chownUID, chownGID = usr.uid, usr.gid
	}
	flags := copyMbox
	if a.hdrMask&hdrFile == 0 {
		flags &^= copyDelivered
	}

	var cerr *copyError
	a.setEugid(spoolUID, spoolGID)
	mp, code, why := a.mboxOpen(mailbox, chownUID, chownGID, a.lockMask, "5.2.0")
	if mp != nil {
		switched := spoolUID != usr.uid || spoolGID != usr.gid
		if switched {
			a.setEugid(usr.uid, usr.gid)
		}
		switch {
		case mp.st.Mode&syscall.S_IFMT != syscall.S_IFREG:
			code, why = "5.2.0", "destination "+mailbox+" is not a regular file"
		case a.strictOwner && int(mp.st.Uid) != usr.uid:
			code, why = "4.2.0", "destination "+mailbox+" is not owned by recipient"
			maillog.Warn("specify \"strict_mailbox_ownership = no\" to ignore mailbox ownership mismatch")
		default:
			code, why, cerr = j.appendFile(s, mp.f, flags)
		}
		if switched {
			a.setEugid(spoolUID, spoolGID)
		}
		mp.release()
	}
	a.setEugid(a.ownerUID, a.ownerGID)

	switch {
	case cerr != nil && cerr.read:
		maillog.Warn("%s: %v", j.r.QueueID, cerr.err)
		return 1
	case code != "":
		return j.fail(s, code, "cannot update mailbox %s for user %s. %s", mailbox, s.user, why)
	}
	return j.sent(s, "2.0.0", "delivered to mailbox")
}

// appendFile copies the message to the end of f with fsync, cutting the
// file back to its old length when anything fails. It returns the status
// code and reason of a failure.
func (j *job) appendFile(s state, f *os.File, flags int) (string, string, *copyError) {
	end, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return "5.3.0", "cannot seek: " + errnoText(err), nil
	}
	lw := &limitWriter{w: f, size: end, max: j.a.mailboxLimit}
	cerr := j.mailCopy(s, lw, flags)
	if cerr == nil && flags&copyToFile != 0 {
		if err := f.Sync(); err != nil {
			cerr = &copyError{err: err}
		}
	}
	if cerr != nil {
		if flags&copyToFile != 0 {
			_ = f.Truncate(end)
		}
		if cerr.read {
			return "4.3.0", "error reading message: " + errnoText(cerr.err), cerr
		}
		return mboxDSN(cerr.err, "5.3.0"), "error writing message: " + errnoText(cerr.err), cerr
	}
	return "", "", nil
}

// deliverMaildir delivers into the maildir at path (ending in "/"), as
// the user: the message is written to tmp/TIME.PPID.HOST, then linked to
// new/TIME.VDEVIINODEMUSEC.HOST (the names Postfix uses, from
// cr.yp.to/proto/maildir.html) and the tmp name removed. Missing tmp,
// new and cur directories are created (mode 0700).
func (j *job) deliverMaildir(s state, usr userAttr, path string) int {
	s.level++
	a := j.a
	if j.traceOnly() {
		return j.sent(s, "2.0.0", "delivers to maildir")
	}
	if !a.frozenDelivered {
		s.delivered = s.rcpt.Address
	}
	flags := copyToFile | copyReturnPath | copyDelivered | copyOrigRcpt
	if a.hdrMask&hdrFile == 0 {
		flags &^= copyDelivered
	}
	newDir, tmpDir, curDir := path+"new/", path+"tmp/", path+"cur/"
	start := time.Now()
	host := maildirHost(a.hostname)

	code, why := "", ""
	var cerr *copyError
	var werr error
	a.setEugid(usr.uid, usr.gid)
	tmpFile := fmt.Sprintf("%s%d.P%d.%s", tmpDir, start.Unix(), os.Getpid(), host)
	f, err := createExcl(tmpFile)
	if err != nil && errors.Is(err, syscall.ENOENT) {
		if err = os.MkdirAll(tmpDir, 0o700); err == nil {
			f, err = createExcl(tmpFile)
		}
	}
	if err != nil {
		werr = err
		code, why = mboxDSN(err, "5.2.0"), fmt.Sprintf("create maildir file %s: %s", tmpFile, errnoText(err))
	} else {
		var st syscall.Stat_t
		if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
			fatalf("fstat %s: %v", tmpFile, err)
		}
		newFile := fmt.Sprintf("%s%d.V%xI%xM%d.%s", newDir, start.Unix(), uint64(st.Dev), st.Ino, start.Nanosecond()/1000, host)
		code, why, cerr = j.writeNew(s, f, flags)
		f.Close()
		if code == "" {
			err := os.Link(tmpFile, newFile)
			if err != nil && errors.Is(err, syscall.ENOENT) {
				_ = os.MkdirAll(curDir, 0o700)
				if err = os.MkdirAll(newDir, 0o700); err == nil {
					err = os.Link(tmpFile, newFile)
				}
			}
			if err != nil {
				werr = err
				code, why = mboxDSN(err, "5.2.0"), fmt.Sprintf("create maildir file %s: %s", newFile, errnoText(err))
			}
		} else if cerr != nil {
			werr = cerr.err
		}
		if err := os.Remove(tmpFile); err != nil {
			maillog.Warn("remove %s: %s", tmpFile, errnoText(err))
		}
	}
	a.setEugid(a.ownerUID, a.ownerGID)

	switch {
	case cerr != nil && cerr.read:
		maillog.Warn("%s: %v", j.r.QueueID, cerr.err)
		return 1
	case code != "":
		if errnoOf(werr) == syscall.EACCES {
			maillog.Warn("maildir access problem for UID/GID=%d/%d: %s", usr.uid, usr.gid, why)
			maillog.Warn("perhaps you need to create the maildirs in advance")
		}
		return j.fail(s, code, "maildir delivery failed: %s", why)
	}
	return j.sent(s, "2.0.0", "delivered to maildir")
}

// writeNew copies the message into a new file with fsync.
func (j *job) writeNew(s state, f *os.File, flags int) (string, string, *copyError) {
	lw := &limitWriter{w: f, max: j.a.mailboxLimit}
	cerr := j.mailCopy(s, lw, flags)
	if cerr == nil {
		if err := f.Sync(); err != nil {
			cerr = &copyError{err: err}
		}
	}
	if cerr != nil {
		if cerr.read {
			return "4.3.0", "error reading message: " + errnoText(cerr.err), cerr
		}
		return mboxDSN(cerr.err, "5.3.0"), "error writing message: " + errnoText(cerr.err), cerr
	}
	return "", "", nil
}

// createExcl creates a new file with mode 0600.
func createExcl(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
}

// maildirHost is the host name part of maildir file names, with "/" and
// ":" written as \057 and \072 as the maildir specification asks.
func maildirHost(h string) string {
	return strings.NewReplacer("/", `\057`, ":", `\072`).Replace(h)
}

// deliverFile appends the message to a file named in an alias, include
// or .forward file, in mbox format, with the rights of usr
// (default_privs when no user applies). A name ending in "/" is a
// maildir. Executable files are refused; a dotlock that cannot be made
// is not fatal.
func (j *job) deliverFile(s state, usr userAttr, path string) int {
	s.level++
	a := j.a
	if j.beenHere(fmt.Sprintf("file %d %s", usr.uid, path)) {
		return 0
	}
	if a.allowFiles&s.expType == 0 {
		return j.bounce(s, "5.7.1", "mail to file is restricted")
	}
	if usr.uid == 0 {
		usr.uid = a.defaultUID
	}
	if usr.gid == 0 {
		usr.gid = a.defaultGID
	}
	if strings.HasSuffix(path, "/") {
		return j.deliverMaildir(s, usr, path)
	}
	if j.traceOnly() {
		return j.sent(s, "2.0.0", "delivers to file: %s", path)
	}
	flags := copyMbox
	if a.hdrMask&hdrFile == 0 {
		flags &^= copyDelivered
	}
	var cerr *copyError
	a.setEugid(usr.uid, usr.gid)
	mp, code, why := a.mboxOpen(path, -1, -1, a.lockMask|lockDotMay, "5.2.0")
	if mp != nil {
		if mp.st.Mode&0o111 != 0 {
			code, why = "5.2.0", "destination file is executable"
		} else {
			f := flags
			if mp.st.Mode&syscall.S_IFMT != syscall.S_IFREG {
				f &^= copyToFile
			}
			code, why, cerr = j.appendFile(s, mp.f, f)
		}
		mp.release()
	}
	a.setEugid(a.ownerUID, a.ownerGID)
	switch {
	case cerr != nil && cerr.read:
		maillog.Warn("%s: %v", j.r.QueueID, cerr.err)
		return 1
	case code != "":
		return j.fail(s, code, "cannot append message to file %s: %s", path, why)
	}
	return j.sent(s, "2.0.0", "delivered to file: %s", path)
}
