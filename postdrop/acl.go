package postdrop

import (
	"os"
	"os/user"
	"strconv"
	"strings"

	"github.com/postfix-go/postfix/conf"
	"github.com/postfix-go/postfix/internal/maillog"
	"github.com/postfix-go/postfix/maptypes"
)

// CheckUserACL applies the user list in parameter param (for example
// authorized_submit_users) to the user with the given uid, as Postfix's
// check_user_acl_byuid does. It returns the user's login name ("unknown"
// when the uid has none) and whether the list denies that user. The
// default "static:anyone" allows everyone without looking the user up.
//
// A list holds login names, "!name" (deny), "type:table" (the user matches
// when the table has the login name as key) and "/file" (a file of such
// items); the first matching item decides and no match denies.
func CheckUserACL(c *conf.Config, param string, uid int) (name string, denied bool) {
	acl := c.Get(param)
	if acl == "static:anyone" {
		return "", false
	}
	name = "unknown"
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil {
		name = u.Username
	}
	match, _ := matchList(conf.SplitList(acl), name, 0)
	return name, !match
}

// matchList reports whether name matches items, and whether an item
// decided (a negated match decides "no").
func matchList(items []string, name string, depth int) (match, decided bool) {
	for _, it := range items {
		neg := false
		for strings.HasPrefix(it, "!") {
			neg = !neg
			it = strings.TrimPrefix(it, "!")
		}
		var hit bool
		switch {
		case strings.HasPrefix(it, "/") && depth < 5:
			data, err := readFileItems(it)
			if err != nil {
				continue
			}
			m, d := matchList(data, name, depth+1)
			if !d {
				continue
			}
			hit = m
		case strings.Contains(it, ":"):
			t, err := maptypes.Open(it, 0)
			if err != nil {
				continue
			}
			_, found, err := t.Lookup(name)
			hit = err == nil && found
		default:
			hit = strings.EqualFold(it, name)
		}
		if hit {
			return !neg, true
		}
	}
	return false, false
}

// readFileItems reads the list items of a "/file" list entry.
func readFileItems(path string) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var items []string
	for _, line := range strings.Split(string(data), "\n") {
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		items = append(items, conf.SplitList(line)...)
	}
	return items, nil
}

// CheckConfigDir refuses a non-default configuration directory in a
// set-gid (or set-uid) process unless the default main.cf lists it in
// alternate_config_directories or multi_instance_directories, as Postfix's
// mail_conf_checkdir does: otherwise any user could make postdrop or
// postqueue, with their group privileges, read a main.cf of the user's
// own making.
func CheckConfigDir(dir string) {
	// Postfix's unsafe(): the super-user is trusted; anyone else is not
	// when the process has privileges that are not the user's own.
	if os.Getuid() == 0 && os.Geteuid() == 0 {
		return
	}
	if os.Getuid() == os.Geteuid() && os.Getgid() == os.Getegid() {
		return
	}
	if dir == conf.DefaultConfigDir {
		return
	}
	clean := strings.TrimRight(dir, "/")
	if def, err := conf.Load(conf.DefaultConfigDir); err == nil {
		for _, p := range []string{"alternate_config_directories", "multi_instance_directories"} {
			for _, d := range def.List(p) {
				if strings.TrimRight(d, "/") == clean {
					return
				}
			}
		}
	}
	maillog.Error("unauthorized configuration directory name: %s", dir)
	maillog.Fatal("specify \"alternate_config_directories = %s\" or \"multi_instance_directories = %s\" in %s/main.cf",
		dir, dir, conf.DefaultConfigDir)
}
