// Package privs changes a process's privileges the way Postfix's commands
// do. postmap and postalias, run as root on a source file that root does
// not own, build the table as the file's owner, so that a user cannot get
// root to write where only root may ("postmap -o" keeps root).
package privs

import (
	"fmt"
	"os"
	"syscall"
)

// DropToOwner makes the process run with the effective user and group ids
// of the file described by st, with that group as its only supplementary
// group, when the process runs as root and root does not own the file. It
// changes nothing otherwise. Go applies the change to every thread.
func DropToOwner(st os.FileInfo) error {
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok || os.Geteuid() != 0 || sys.Uid == 0 {
		return nil
	}
	uid, gid := int(sys.Uid), int(sys.Gid)
	if err := syscall.Setgroups([]int{gid}); err != nil {
		return fmt.Errorf("setgroups(1, [%d]): %v", gid, err)
	}
	if err := syscall.Setegid(gid); err != nil {
		return fmt.Errorf("setegid(%d): %v", gid, err)
	}
	if err := syscall.Seteuid(uid); err != nil {
		return fmt.Errorf("seteuid(%d): %v", uid, err)
	}
	return nil
}
