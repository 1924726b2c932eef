package maptypes

import (
	"bufio"
	"errors"
	"os"
	"strings"
)

// unix:passwd.byname and unix:group.byname look names up in /etc/passwd
// and /etc/group and return the whole entry, as getpwnam/getgrnam would.

func init() {
	Register("unix", openUnix)
	registerFixed("unix")
}

// Files read by the unix type (tests may point them elsewhere).
var (
	PasswdFile = "/etc/passwd"
	GroupFile  = "/etc/group"
)

type unixTable struct {
	file  string
	group bool
	flags OpenFlags
}

func openUnix(name string, flags OpenFlags) (Table, error) {
	switch name {
	case "passwd.byname":
		return unixTable{file: PasswdFile, flags: flags}, nil
	case "group.byname":
		return unixTable{file: GroupFile, group: true, flags: flags}, nil
	}
	return nil, errors.New("unknown table: unix:" + name)
}

func (t unixTable) Lookup(key string) (string, bool, error) {
	key = fixedFold(key, t.flags)
	f, err := os.Open(t.file)
	if err != nil {
		return "", false, retryf(errText(err))
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		name, _, _ := strings.Cut(line, ":")
		if name != key || strings.HasPrefix(line, "#") {
			continue
		}
		if t.group {
			// name:passwd:gid:members, as Postfix prints a struct group.
			parts := strings.SplitN(line, ":", 4)
			for len(parts) < 4 {
				parts = append(parts, "")
			}
			return strings.Join(parts, ":"), true, nil
		}
		return line, true, nil
	}
	return "", false, nil
}

func (t unixTable) Close() error { return nil }
