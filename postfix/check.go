package postfixcmd

import (
	"bytes"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"github.com/postfix-go/postfix/internal/maillog"
)

// dirSpec is one directory of Postfix's postfix-files that
// create-missing and set-permissions handle.
type dirSpec struct {
	path      string
	owner     string // user name; "root" or mail_owner
	group     string // "" = leave
	mode      os.FileMode
	recursive bool // set-permissions changes the owner of the contents too
}

// dirSpecs lists the directories as Postfix's postfix-files does.
func (c *cmd) dirSpecs() []dirSpec {
	q := c.c.Get("queue_directory")
	owner := c.c.Get("mail_owner")
	sg := c.c.Get("setgid_group")
	specs := []dirSpec{
		{path: c.c.Get("data_directory"), owner: owner, mode: 0700},
		{path: q, owner: "root", mode: 0755},
	}
	for _, d := range []string{"active", "bounce", "corrupt", "defer", "deferred", "flush", "hold", "incoming"} {
		specs = append(specs, dirSpec{path: filepath.Join(q, d), owner: owner, mode: 0700, recursive: true})
	}
	specs = append(specs,
		dirSpec{path: filepath.Join(q, "private"), owner: owner, mode: 0700},
		dirSpec{path: filepath.Join(q, "maildrop"), owner: owner, group: sg, mode: 0730},
		dirSpec{path: filepath.Join(q, "public"), owner: owner, group: sg, mode: 0710},
		dirSpec{path: filepath.Join(q, "pid"), owner: "root", mode: 0755},
		dirSpec{path: filepath.Join(q, "saved"), owner: owner, mode: 0700, recursive: true},
		dirSpec{path: filepath.Join(q, "trace"), owner: owner, mode: 0700, recursive: true},
	)
	return specs
}

// ids returns the numeric user and group of names ("" group: -1).
func ids(owner, group string) (int, int, bool) {
	u, err := user.Lookup(owner)
	if err != nil {
		return 0, 0, false
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid := -1
	if group != "" {
		g, err := user.LookupGroup(group)
		if err != nil {
			return 0, 0, false
		}
		gid, _ = strconv.Atoi(g.Gid)
	}
	return uid, gid, true
}

// createMissing makes the missing directories with their owners and
// modes; with all, it also sets them on existing directories (and the
// recursive ones' contents) and on postqueue and postdrop.
func (c *cmd) createMissing(all bool) bool {
	root := os.Geteuid() == 0
	for _, d := range c.dirSpecs() {
		_, err := os.Lstat(d.path)
		missing := os.IsNotExist(err)
		if !missing && !all {
			continue
		}
		if missing {
			if err := os.MkdirAll(d.path, d.mode); err != nil {
				c.fatal("unable to create missing queue directories")
				return false
			}
		}
		if root {
			uid, gid, ok := ids(d.owner, d.group)
			if !ok {
				c.fatal("unknown user or group: %s %s", d.owner, d.group)
				return false
			}
			os.Lchown(d.path, uid, gid)
			if all && d.recursive {
				filepath.WalkDir(d.path, func(p string, _ fs.DirEntry, err error) error {
					if err == nil {
						os.Lchown(p, uid, gid)
					}
					return nil
				})
			}
		}
		os.Chmod(d.path, d.mode)
	}
	if all {
		sg := c.c.Get("setgid_group")
		for _, name := range []string{"postqueue", "postdrop"} {
			p := filepath.Join(c.c.Get("command_directory"), name)
			if _, err := os.Stat(p); err != nil {
				continue
			}
			if root {
				if _, gid, ok := ids("root", sg); ok {
					os.Chown(p, 0, gid)
				}
			}
			os.Chmod(p, 0755|os.ModeSetgid)
		}
	}
	return true
}

// checkFatal is postfix-script's check-fatal: create what is missing and
// insist on master.cf.
func (c *cmd) checkFatal() bool {
	if !c.createMissing(false) {
		return false
	}
	if _, err := os.Stat(filepath.Join(c.dir, "master.cf")); err != nil {
		c.fatal("no %s/master.cf file found", c.dir)
		return false
	}
	return true
}

// checker accumulates warnings in postfix-script's words.
type checker struct {
	root bool // ownership checks apply
}

func (k *checker) warn(format string, args ...any) { maillog.Warn(format, args...) }

func stat(p string) (*syscall.Stat_t, bool) {
	var st syscall.Stat_t
	if err := syscall.Lstat(p, &st); err != nil {
		return nil, false
	}
	return &st, true
}

func uidOf(name string) int {
	u, err := user.Lookup(name)
	if err != nil {
		return -2
	}
	n, _ := strconv.Atoi(u.Uid)
	return n
}

func gidOf(name string) int {
	g, err := user.LookupGroup(name)
	if err != nil {
		return -2
	}
	n, _ := strconv.Atoi(g.Gid)
	return n
}

// walk lists dir (given as "DIR/.") and everything below it in pre-order,
// entries sorted, as paths beginning with dir.
func walk(dir string) []string {
	out := []string{dir}
	var rec func(d string)
	rec = func(d string) {
		ents, err := os.ReadDir(d)
		if err != nil {
			return
		}
		names := make([]string, 0, len(ents))
		for _, e := range ents {
			names = append(names, e.Name())
		}
		sort.Strings(names)
		for _, n := range names {
			p := d + "/" + n
			out = append(out, p)
			if st, ok := stat(p); ok && st.Mode&syscall.S_IFMT == syscall.S_IFDIR {
				rec(p)
			}
		}
	}
	rec(dir)
	return out
}

// writable reports whether p (following symbolic links) is group or
// world writable.
func writable(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().Perm()&0022 != 0
}

// checkWarn is postfix-script's check-warn.
func (c *cmd) checkWarn() {
	k := &checker{root: os.Geteuid() == 0}
	q := c.c.Get("queue_directory")
	owner := c.c.Get("mail_owner")
	ownerUID := uidOf(owner)
	sg := c.c.Get("setgid_group")
	sgGID := gidOf(sg)

	// Root-owned directories of the queue.
	top := []string{q + "/.", q + "/pid"}
	for _, p := range top {
		if st, ok := stat(p); ok && k.root && st.Uid != 0 {
			k.warn("not owned by root: %s", p)
		}
	}
	for _, p := range top {
		if _, ok := stat(p); ok && writable(p) {
			k.warn("group or other writable: %s", p)
		}
	}

	// Root-owned trees: configuration, programs.
	todoSet := map[string]bool{c.dir + "/.": true}
	for _, param := range []string{"daemon_directory", "meta_directory", "shlib_directory"} {
		if d := c.c.Get(param); d != "" && d != "no" {
			if _, err := os.Stat(d); err == nil {
				todoSet[d+"/."] = true
			}
		}
	}
	var todo []string
	for d := range todoSet {
		todo = append(todo, d)
	}
	sort.Strings(todo)
	var trees [][]string
	for _, d := range todo {
		trees = append(trees, walk(d))
	}
	if k.root {
		for _, tree := range trees {
			for _, p := range tree {
				if st, ok := stat(p); ok && st.Uid != 0 {
					k.warn("not owned by root: %s", p)
				}
			}
		}
	}
	for _, tree := range trees {
		for _, p := range tree {
			if writable(p) {
				k.warn("group or other writable: %s", p)
			}
		}
	}
	for _, tree := range trees {
		for _, p := range tree {
			st, ok := stat(p)
			if !ok || st.Mode&syscall.S_IFMT != syscall.S_IFLNK || p == "/etc/postfix/./makedefs.out" {
				continue
			}
			if target, err := os.Readlink(p); err == nil && strings.Contains(target, "/") {
				k.warn("symlink leaves directory: %s", p)
			}
		}
	}

	// mail_owner-owned trees.
	data := walk(c.c.Get("data_directory") + "/.")
	if k.root {
		for _, p := range data {
			if st, ok := stat(p); ok && int(st.Uid) != ownerUID {
				k.warn("not owned by %s: %s", owner, p)
			}
		}
	}
	for _, p := range data {
		if writable(p) {
			k.warn("group or other writable: %s", p)
		}
	}
	if k.root {
		queues := map[string]bool{"saved": true, "incoming": true, "active": true, "defer": true,
			"deferred": true, "bounce": true, "hold": true, "trace": true, "corrupt": true,
			"public": true, "private": true, "flush": true}
		ents, _ := os.ReadDir(q)
		for _, e := range ents {
			if !queues[e.Name()] {
				continue
			}
			for _, p := range walk(q + "/" + e.Name()) {
				st, ok := stat(p)
				if !ok {
					continue
				}
				t := st.Mode & syscall.S_IFMT
				if t != syscall.S_IFIFO && t != syscall.S_IFSOCK && int(st.Uid) != ownerUID {
					k.warn("not owned by %s: %s", owner, p)
				}
			}
		}
		if st, ok := stat(q + "/maildrop"); ok && int(st.Uid) != ownerUID {
			k.warn("not owned by %s: %s/maildrop", owner, q)
		}
	}

	// setgid_group-owned files.
	cmdDir := c.c.Get("command_directory")
	setgid := []string{cmdDir + "/postqueue", cmdDir + "/postdrop"}
	if k.root {
		for _, p := range append(append([]string(nil), setgid...), q+"/public", q+"/maildrop") {
			if st, ok := stat(p); ok && int(st.Gid) != sgGID {
				k.warn("not owned by group %s: %s", sg, p)
			}
		}
	}
	for _, p := range setgid {
		if !k.root {
			break // no set-gid programs in unprivileged mode
		}
		if st, ok := stat(p); ok && st.Mode&02111 != 02111 {
			k.warn("not set-gid or not owner+group+world executable: %s", p)
		}
	}

	// The chroot copies of system files.
	for _, d := range []string{"bin", "etc", "lib", "sbin", "usr"} {
		if st, ok := stat(q + "/" + d); !ok || st.Mode&syscall.S_IFMT != syscall.S_IFDIR {
			continue
		}
		tree := walk(q + "/" + d)
		if k.root {
			for _, p := range tree {
				if st, ok := stat(p); ok && st.Uid != 0 {
					k.warn("not owned by root: %s", p)
				}
			}
		}
		for _, p := range tree {
			if st, err := os.Stat(p); err != nil || !st.Mode().IsRegular() {
				continue
			}
			rel := strings.TrimPrefix(p, q+"/")
			orig, err := os.ReadFile("/" + rel)
			if err != nil {
				continue
			}
			if mine, err := os.ReadFile(p); err != nil || !bytes.Equal(mine, orig) {
				k.warn("%s/%s and /%s differ", q, rel, rel)
			}
		}
	}

	// Damaged messages.
	for _, p := range walk(q + "/corrupt")[1:] {
		if st, err := os.Lstat(p); err == nil && st.Mode().IsRegular() {
			k.warn("damaged message: %s", strings.TrimPrefix(p, q+"/"))
		}
	}

	// Remnants of another MTA.
	a, errA := os.ReadFile("/usr/sbin/sendmail")
	b, errB := os.ReadFile("/usr/lib/sendmail")
	if errA == nil && errB == nil && !bytes.Equal(a, b) {
		k.warn("/usr/lib/sendmail and /usr/sbin/sendmail differ")
		k.warn("Replace one by a symbolic link to the other")
	}
}
