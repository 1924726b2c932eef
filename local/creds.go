package local

import (
	"runtime"
	"syscall"
	"unsafe"
)

// Credentials. Postfix's local(8) runs as root with the effective ids of
// mail_owner and switches its effective ids to the recipient's for each
// delivery. In Go, syscall.Seteuid and friends change every thread of
// the process (glibc interrupts each thread with a signal to do it), which
// made each switch cost a signal storm. A delivery instead runs on one
// locked OS thread (lockThread) and switches only that thread's ids with
// the raw system calls: on Linux, credentials belong to threads, and every
// file the delivery opens is opened by its own thread. The thread returns
// to mail_owner's ids before it is unlocked; the rest of the process keeps
// mail_owner's ids throughout (set process-wide once, at start).

// lockThread pins the calling goroutine to its OS thread so that
// setEugid changes only that thread; unlockThread returns the thread to
// mail_owner's ids and unpins it.
func (a *Agent) lockThread() {
	if !a.Root {
		return
	}
	runtime.LockOSThread()
	a.perThread = true
}

func (a *Agent) unlockThread() {
	if !a.Root {
		return
	}
	a.setEugid(a.ownerUID, a.ownerGID)
	a.perThread = false
	runtime.UnlockOSThread()
}

// noChange is (uid_t)-1: "leave this id as it is".
const noChange = ^uintptr(0)

func threadSetresuid(euid int) error {
	if _, _, e := syscall.RawSyscall(syscall.SYS_SETRESUID, noChange, uintptr(euid), noChange); e != 0 {
		return e
	}
	return nil
}

func threadSetresgid(egid int) error {
	if _, _, e := syscall.RawSyscall(syscall.SYS_SETRESGID, noChange, uintptr(egid), noChange); e != 0 {
		return e
	}
	return nil
}

func threadSetgroups(gid int) error {
	g := [1]uint32{uint32(gid)}
	if _, _, e := syscall.RawSyscall(syscall.SYS_SETGROUPS, 1, uintptr(unsafe.Pointer(&g[0])), 0); e != 0 {
		return e
	}
	return nil
}

// credOps are the calls setEugid makes: process-wide ones outside a
// delivery, this thread's inside one.
type credOps struct {
	seteuid, setegid, setgroups func(int) error
}

var processCreds = credOps{
	seteuid:   syscall.Seteuid,
	setegid:   syscall.Setegid,
	setgroups: func(gid int) error { return syscall.Setgroups([]int{gid}) },
}

var threadCreds = credOps{seteuid: threadSetresuid, setegid: threadSetresgid, setgroups: threadSetgroups}

// geteuid returns the effective uid of the calling thread (the raw call:
// Go's syscall.Geteuid reads the same, as credentials are per thread).
func geteuid() int {
	r, _, _ := syscall.RawSyscall(syscall.SYS_GETEUID, 0, 0, 0)
	return int(r)
}
