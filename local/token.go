package local

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"

	"github.com/postfix-go/postfix/internal/address"
	"github.com/postfix-go/postfix/internal/deliver"
	"github.com/postfix-go/postfix/internal/maillog"
)

// deliverTokenString delivers to each address of an alias value or a
// line of a .forward or :include: file. The text is parsed as an RFC 822
// address list, as Postfix does, so "|command args" and "/file name" with
// white space need double quotes. count grows by the number of addresses.
func (j *job) deliverTokenString(s state, usr userAttr, text string, count *int) int {
	status := 0
	for _, dest := range destinations(text) {
		if count != nil {
			*count++
		}
		status |= j.deliverToken(s, usr, dest)
	}
	return status
}

// destinations returns the addresses of a destination list in internal
// form.
func destinations(text string) []string {
	var out []string
	for _, tok := range address.Parse(text) {
		if tok.Type == address.Group {
			out = append(out, address.Internalize(tok.Sub))
		}
	}
	return out
}

// deliverTokenStream delivers to each line of a .forward or :include:
// file; lines starting with '#' are comments. It stops at the first line
// whose delivery failed.
func (j *job) deliverTokenStream(s state, usr userAttr, r io.Reader, count *int) int {
	limit := j.a.Config.Int("line_length_limit")
	if limit <= 0 {
		limit = 2048
	}
	br := bufio.NewReader(r)
	for {
		line, err := readBoundedLine(br, limit)
		if line != "" && line[0] != '#' {
			if st := j.deliverTokenString(s, usr, line, count); st != 0 {
				return st
			}
		}
		if err != nil {
			return 0
		}
	}
}

// readBoundedLine reads one line of at most limit bytes (the rest of a
// longer line comes back as the next line, as vstring_fgets_bound does).
func readBoundedLine(br *bufio.Reader, limit int) (string, error) {
	var b strings.Builder
	for b.Len() < limit {
		c, err := br.ReadByte()
		if err != nil {
			if b.Len() > 0 {
				return b.String(), nil
			}
			return "", err
		}
		if c == '\n' {
			return b.String(), nil
		}
		b.WriteByte(c)
	}
	return b.String(), nil
}

// deliverToken delivers to one destination: /file, ~/file, |command,
// :include:/file, or an address.
func (j *job) deliverToken(s state, usr userAttr, dest string) int {
	switch {
	case strings.HasPrefix(dest, "/"):
		return j.deliverFile(s, usr, dest)
	case strings.HasPrefix(dest, "~"):
		return j.deliverTokenHome(s, usr, dest)
	case strings.HasPrefix(dest, "|"):
		if j.a.allowCommands&s.expType == 0 {
			return j.bounce(s, "5.7.1", "mail to command is restricted")
		}
		return j.deliverCommand(s, usr, dest[1:])
	case len(dest) >= 9 && strings.EqualFold(dest[:9], ":include:"):
		return j.deliverInclude(s, usr, dest[9:])
	default:
		return j.deliverResolveAddr(s, usr, dest)
	}
}

// deliverTokenHome delivers to ~/file in the home directory of the user
// whose rights apply; ~user/file is not allowed.
func (j *job) deliverTokenHome(s state, usr userAttr, dest string) int {
	switch {
	case len(dest) < 2 || dest[1] != '/':
		return j.bounce(s, "5.1.1", "bad home directory syntax for: %s", dest)
	case usr.home == "":
		return j.bounce(s, "5.1.1", "unknown home directory for: %s", dest)
	case usr.home == "/":
		return j.deliverFile(s, usr, dest[1:])
	default:
		return j.deliverFile(s, usr, usr.home+dest[1:])
	}
}

// deliverDotforward delivers to the addresses in the user's .forward
// file: the first name in forward_path (after $home, $user, $extension,
// ... expansion with forward_expansion_filter) that exists. The file is
// read with the user's rights and must be a regular file owned by the
// user (or root) and not world-writable; otherwise it is ignored with a
// warning and mail goes to the mailbox. It reports whether the file took
// the mail.
func (j *job) deliverDotforward(s state, usr userAttr) (bool, int) {
	s.level++
	a := j.a
	if strings.TrimSpace(a.forwardPath) == "" {
		return false, 0
	}
	pw, err := a.lookupUser(s.user)
	if err != nil || pw == nil {
		return false, 0
	}
	if !a.frozenDelivered {
		s.delivered = s.rcpt.Address
	}
	usr = a.userAttrOf(pw)
	s.expType = expForward
	s.owner = s.user

	var path string
	var st syscall.Stat_t
	found := false
	for _, lhs := range strings.FieldsFunc(a.forwardPath, func(r rune) bool {
		return r == ',' || r == ' ' || r == '\t' || r == '\r' || r == '\n'
	}) {
		p, xs := localExpand(lhs, s, usr, a.fwdFilter)
		if xs&(expandError|expandUndef) != 0 {
			continue
		}
		a.setEugid(usr.uid, usr.gid)
		err := syscall.Lstat(p, &st)
		a.setEugid(a.ownerUID, a.ownerGID)
		if err == nil {
			if xs&expandExtMatched != 0 || a.extProp&propForward == 0 {
				s.unmatched = ""
			}
			path, found = p, true
			break
		}
	}
	if !found {
		return false, 0
	}
	if j.r.Flags&deliver.FlagMTAVerify != 0 {
		return true, j.sent(s, "2.0.0", "forward via file: %s", path)
	}
	if j.beenHere("forward " + path) {
		return j.checkOnly("forward-done " + path), 0
	}
	s.expFrom = s.local
	switch {
	case st.Mode&syscall.S_IFMT != syscall.S_IFREG:
		maillog.Warn("file %s is not a regular file", path)
		return false, 0
	case st.Uid != 0 && int(st.Uid) != usr.uid:
		maillog.Warn("file %s has bad owner uid %d", path, st.Uid)
		return false, 0
	case st.Mode&0o002 != 0:
		maillog.Warn("file %s is world writable", path)
		return false, 0
	}
	a.setEugid(usr.uid, usr.gid)
	f, err := os.Open(path)
	a.setEugid(a.ownerUID, a.ownerGID)
	if err != nil {
		maillog.Warn("cannot open file %s: %s", path, errnoText(err))
		return false, 0
	}
	defer f.Close()
	saved := s.rcpt.Notify
	s.rcpt.Notify = withoutSuccess(saved)
	count := 0
	status := j.deliverTokenStream(s, usr, f, &count)
	if count > 0 {
		j.beenHere("forward-done " + path)
		return true, status
	}
	return false, status
}

// deliverInclude delivers to the addresses listed in an :include: file.
// The file must be given by absolute path, be a regular file and not be
// world-writable. When a root-owned alias names a file owned by someone
// else, that owner's rights apply to |command and /file entries in it.
// Every address in the file is forwarded as a new message.
func (j *job) deliverInclude(s state, usr userAttr, path string) int {
	s.level++
	a := j.a
	if s.level > 100 {
		maillog.Warn(":include: nesting limit exceeded for %s", path)
		return j.bounce(s, "5.4.6", ":include: nesting limit exceeded")
	}
	if j.beenHere(fmt.Sprintf("include %d %s", usr.uid, path)) {
		return 0
	}
	s.expFrom = s.local
	if !strings.HasPrefix(path, "/") {
		maillog.Warn(":include:%s uses a relative path", path)
		return j.bounce(s, "5.3.5", "mail system configuration error")
	}
	var st syscall.Stat_t
	a.setEugid(usr.uid, usr.gid)
	err := syscall.Stat(path, &st)
	a.setEugid(a.ownerUID, a.ownerGID)
	switch {
	case err != nil:
		maillog.Warn("unable to lookup :include: file %s: %s", path, errnoText(err))
		return j.bounce(s, "5.3.5", "mail system configuration error")
	case st.Mode&syscall.S_IFMT != syscall.S_IFREG:
		maillog.Warn(":include: file %s is not a regular file", path)
		return j.bounce(s, "5.3.5", "mail system configuration error")
	case st.Mode&0o002 != 0:
		maillog.Warn(":include: file %s is world writable", path)
		return j.bounce(s, "5.3.5", "mail system configuration error")
	}
	s.expType = expInclude
	if usr.uid == 0 && a.Root {
		pw, err := a.lookupUID(int(st.Uid))
		if err != nil || pw == nil {
			maillog.Warn("cannot find username for uid %d", st.Uid)
			maillog.Warn("%s: cannot find :include: file owner username", path)
			return j.deferf(s, "4.3.5", "mail system configuration error")
		}
		if pw.uid != 0 {
			usr = a.userAttrOf(pw)
		}
	}
	if s.owner == "" {
		s.owner = s.rcpt.Address
	}
	a.setEugid(usr.uid, usr.gid)
	f, err := os.Open(path)
	a.setEugid(a.ownerUID, a.ownerGID)
	if err != nil {
		maillog.Warn("cannot open include file %s: %s", path, errnoText(err))
		return j.bounce(s, "5.3.5", "mail system configuration error")
	}
	defer f.Close()
	if a.extProp&propInclude == 0 {
		s.unmatched = ""
	}
	return j.deliverTokenStream(s, usr, f, nil)
}
