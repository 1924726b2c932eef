package local

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"syscall"
	"time"

	"github.com/postfix-go/postfix/internal/maillog"
)

// mbox is an open, locked mailbox file.
type mbox struct {
	f         *os.File
	path      string
	dotlocked bool
	st        syscall.Stat_t
}

// mboxDSN maps an errno to the enhanced status code of a mailbox problem,
// as Postfix's mbox_dsn does: lock contention is temporary, a full disk
// too, a quota or size limit is permanent.
func mboxDSN(err error, def string) string {
	switch errnoOf(err) {
	case syscall.EAGAIN, syscall.ESTALE:
		return "4.2.0"
	case syscall.ENOSPC:
		return "4.3.1"
	case syscall.EDQUOT, syscall.EFBIG:
		return "5.2.2"
	}
	return def
}

// mboxOpen opens (creating when needed) the mailbox file at path for
// appending and locks it with the methods in lockMask: a dotlock file
// PATH.lock before opening, then flock or fcntl on the open file, with
// deliver_lock_attempts tries deliver_lock_delay apart. A new file gets
// mode 0600 and, when chownUID >= 0, that owner. On failure it returns
// the enhanced status code and the reason.
func (a *Agent) mboxOpen(path string, chownUID, chownGID, lockMask int, defDSN string) (*mbox, string, string) {
	m := &mbox{path: path}
	if lockMask&lockDot != 0 {
		if err := a.dotLock(path); err != nil {
			reason := fmt.Sprintf("unable to create lock file %s.lock: %s", path, errnoText(err))
			if errnoOf(err) == syscall.EEXIST {
				return nil, mboxDSN(syscall.EAGAIN, defDSN), reason
			}
			if lockMask&lockDotMay == 0 {
				return nil, mboxDSN(err, defDSN), reason
			}
			maillog.Warn("%s", reason)
		} else {
			m.dotlocked = true
		}
	}
	f, reason, err := safeOpen(path, chownUID, chownGID, &m.st)
	if f == nil {
		m.unlockDot()
		return nil, mboxDSN(err, defDSN), reason
	}
	m.f = f
	if lockMask&(lockFlock|lockFcntl) != 0 {
		if err := a.fileLock(f, lockMask); err != nil {
			f.Close()
			m.unlockDot()
			return nil, mboxDSN(err, defDSN), "unable to lock for exclusive access: " + errnoText(err)
		}
	}
	return m, "", ""
}

// release closes the mailbox (dropping flock/fcntl locks) and removes
// the dotlock.
func (m *mbox) release() {
	if m.f != nil {
		m.f.Close()
	}
	m.unlockDot()
}

func (m *mbox) unlockDot() {
	if m.dotlocked {
		os.Remove(m.path + ".lock")
		m.dotlocked = false
	}
}

// dotLock creates PATH.lock exclusively, retrying while another process
// holds it and breaking a lock older than stale_lock_time.
func (a *Agent) dotLock(path string) error {
	lock := path + ".lock"
	tries := max(a.lockAttempts, 1)
	var err error
	for n := 1; ; n++ {
		var fd int
		fd, err = syscall.Open(lock, syscall.O_WRONLY|syscall.O_EXCL|syscall.O_CREAT|syscall.O_CLOEXEC, 0)
		if err == nil {
			syscall.Close(fd)
			return nil
		}
		if n >= tries || !errors.Is(err, syscall.EEXIST) {
			return err
		}
		var st syscall.Stat_t
		if syscall.Stat(lock, &st) == nil && time.Now().Unix() > st.Ctim.Sec+int64(a.lockStale/time.Second) {
			if rerr := syscall.Unlink(lock); rerr != nil && !errors.Is(rerr, syscall.ENOENT) {
				return err
			}
		}
		a.lockSleep()
	}
}

// fileLock takes an exclusive flock or fcntl lock without blocking,
// retrying as dotLock does.
func (a *Agent) fileLock(f *os.File, lockMask int) error {
	tries := max(a.lockAttempts, 1)
	for n := 1; ; n++ {
		var err error
		if lockMask&lockFcntl != 0 {
			lk := syscall.Flock_t{Type: syscall.F_WRLCK, Whence: 0}
			err = syscall.FcntlFlock(f.Fd(), syscall.F_SETLK, &lk)
			if errors.Is(err, syscall.EACCES) {
				err = syscall.EAGAIN
			}
		}
		if err == nil && lockMask&lockFlock != 0 {
			err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		}
		if err == nil {
			return nil
		}
		if n >= tries || !errors.Is(err, syscall.EAGAIN) {
			return err
		}
		a.lockSleep()
	}
}

// lockSleep waits deliver_lock_delay, give or take half, before the next
// try, as Postfix's rand_sleep does.
func (a *Agent) lockSleep() {
	d := a.lockDelay
	if d <= 0 {
		d = time.Second
	}
	time.Sleep(d/2 + time.Duration(rand.Int64N(int64(d))))
}

// safeOpen opens path for appending without following a symbolic link,
// or creates it exclusively, as Postfix's safe_open does: an existing
// file must not be a symlink, must have one link and must not change
// between the checks. A new file is given chownUID/chownGID when those
// are not -1. The returned reason is Postfix's wording.
func safeOpen(path string, chownUID, chownGID int, st *syscall.Stat_t) (*os.File, string, error) {
	const flags = syscall.O_WRONLY | syscall.O_APPEND | syscall.O_NONBLOCK | syscall.O_CLOEXEC
	for try := 0; try < 2; try++ {
		fd, err := syscall.Open(path, flags|syscall.O_NOFOLLOW, 0)
		if err == nil {
			var lst syscall.Stat_t
			if err := syscall.Fstat(fd, st); err != nil {
				syscall.Close(fd)
				return nil, "cannot fstat file: " + errnoText(err), err
			}
			if err := syscall.Lstat(path, &lst); err != nil {
				syscall.Close(fd)
				return nil, "file status changed unexpectedly", err
			}
			if st.Nlink != 1 && st.Mode&syscall.S_IFMT == syscall.S_IFREG {
				syscall.Close(fd)
				return nil, fmt.Sprintf("file has %d hard links", st.Nlink), syscall.EPERM
			}
			if lst.Dev != st.Dev || lst.Ino != st.Ino {
				syscall.Close(fd)
				return nil, "file status changed unexpectedly", syscall.EPERM
			}
			syscall.SetNonblock(fd, false)
			return os.NewFile(uintptr(fd), path), "", nil
		}
		if errors.Is(err, syscall.ELOOP) {
			return nil, "file is a symbolic link", err
		}
		if !errors.Is(err, syscall.ENOENT) {
			return nil, "cannot open file: " + errnoText(err), err
		}
		fd, err = syscall.Open(path, flags|syscall.O_CREAT|syscall.O_EXCL, 0o600)
		if errors.Is(err, syscall.EEXIST) {
			continue // raced with another creator: open the existing file
		}
		if err != nil {
			return nil, "cannot create file exclusively: " + errnoText(err), err
		}
		if chownUID != -1 || chownGID != -1 {
			if err := syscall.Fchown(fd, chownUID, chownGID); err != nil {
				syscall.Close(fd)
				return nil, "cannot change file ownership: " + errnoText(err), err
			}
		}
		if err := syscall.Fstat(fd, st); err != nil {
			syscall.Close(fd)
			return nil, "cannot fstat file: " + errnoText(err), err
		}
		syscall.SetNonblock(fd, false)
		return os.NewFile(uintptr(fd), path), "", nil
	}
	return nil, "file status changed unexpectedly", syscall.EAGAIN
}
