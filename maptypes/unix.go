package maptypes

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"strings"
	"sync"
)

// unix:passwd.byname and unix:group.byname look names up in /etc/passwd
// and /etc/group and return the whole entry, as getpwnam/getgrnam would.
// The file is read when the table is opened and at every lookup; when it
// can no longer be opened (a daemon chrooted to the queue directory after
// opening its tables, as smtpd is with Debian's master.cf, where Postfix
// would ask proxymap) lookups answer from the copy read last.

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
	last  *unixCopy
}

// unixCopy is the content of the file as last read.
type unixCopy struct {
	mu   sync.Mutex
	data []byte
	ok   bool
}

func openUnix(name string, flags OpenFlags) (Table, error) {
	var t unixTable
	switch name {
	case "passwd.byname":
		t = unixTable{file: PasswdFile, flags: flags}
	case "group.byname":
		t = unixTable{file: GroupFile, group: true, flags: flags}
	default:
		return nil, errors.New("unknown table: unix:" + name)
	}
	t.last = &unixCopy{}
	_, _ = t.read()
	return t, nil
}

// read returns the file's content, or the copy read last when the file
// cannot be opened.
func (t unixTable) read() ([]byte, error) {
	data, err := os.ReadFile(t.file)
	t.last.mu.Lock()
	defer t.last.mu.Unlock()
	if err == nil {
		t.last.data, t.last.ok = data, true
		return data, nil
	}
	if t.last.ok {
		return t.last.data, nil
	}
	return nil, err
}

func (t unixTable) Lookup(key string) (string, bool, error) {
	key = fixedFold(key, t.flags)
	data, err := t.read()
	if err != nil {
		return "", false, retryf(errText(err))
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
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
