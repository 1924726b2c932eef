package deliver

import (
	"fmt"
	"os/user"
	"regexp"
	"strconv"
)

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }

func regexpMatch(re, s string) bool { return regexp.MustCompile(re).MatchString(s) }

// lookupIDs returns the uid and gid of a user.
func lookupIDs(name string) ([2]int, error) {
	u, err := user.Lookup(name)
	if err != nil {
		return [2]int{}, err
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return [2]int{uid, gid}, nil
}
