package local

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"strconv"
	"strings"
	"syscall"

	"github.com/postfix-go/postfix/internal/deliver"
	"github.com/postfix-go/postfix/internal/dsn"
	"github.com/postfix-go/postfix/internal/maillog"
)

// deliverRecipient is a recipient as it travels through expansion: the
// current address, the original recipient of the queue file, and the DSN
// details that expansion may change.
type deliverRecipient = dsn.Recipient

// state holds the delivery attributes of one step of a recipient's
// expansion. It is passed by value, so that a step's changes never leak
// back to its caller (Postfix's LOCAL_STATE and DELIVER_ATTR).
type state struct {
	level int
	rcpt  deliverRecipient // current address; Offset is always -1 here

	user      string // local part without extension, folded
	local     string // whole local part, folded
	domain    string // domain of the current address, folded
	extension string // address extension ("" when none)
	delim     string // the delimiter character that split off extension
	unmatched string // extension still to be propagated ("" when none)

	delivered string // the Delivered-To address of copies made now
	owner     string // the forwarder (owner- alias, .forward user)
	sender    string // envelope sender (an owner- alias replaces it)
	envid     string // DSN ENVID
	ret       int    // DSN RET
	expType   int    // expAlias, expForward, expInclude; 0 at the top
	expFrom   string // the name being expanded, to catch self-references
}

// userAttr holds the rights deliveries run with (Postfix's USER_ATTR).
type userAttr struct {
	uid, gid int
	home     string
	shell    string
	logname  string
}

// setUser takes the rights of a password entry.
func (u *userAttr) setUser(pw *passwd) {
	u.uid, u.gid = pw.uid, pw.gid
	u.home, u.shell, u.logname = pw.home, pw.shell, pw.name
}

// job is the delivery of one top-level recipient of a request.
type job struct {
	a   *Agent
	r   *deliver.Request
	top *dsn.Recipient
	qf  *os.File // the queue file, opened before any change of rights

	dup      map[string]bool
	loop     map[string]bool // Delivered-To addresses in the message
	forwards []*forwardGroup
}

// content returns a reader of the message text.
func (j *job) content() (io.ReadCloser, error) {
	if j.qf == nil {
		return j.r.Content()
	}
	return &queueContent{f: j.qf, off: j.r.DataOffset}, nil
}

// beenHere reports whether key was seen before for this recipient, and
// remembers it (Postfix's been_here duplicate filter, bounded by
// duplicate_filter_limit).
func (j *job) beenHere(key string) bool {
	key = strings.ToLower(key)
	if j.dup[key] {
		return true
	}
	if j.a.dupLimit == 0 || len(j.dup) < j.a.dupLimit {
		j.dup[key] = true
	}
	return false
}

// checkOnly reports whether key was seen, without remembering it.
func (j *job) checkOnly(key string) bool { return j.dup[strings.ToLower(key)] }

// report returns the recipient as outcome records carry it: the current
// address with the original recipient, and offset -1 so that the outcome
// helpers leave the queue file alone until the whole expansion is done.
func report(s state) *dsn.Recipient {
	rc := s.rcpt
	rc.Offset = -1
	return &rc
}

// traceOnly reports whether the request is an address probe.
func (j *job) traceOnly() bool { return j.r.Flags&deliver.FlagTraceOnly != 0 }

// sent reports a successful delivery; the result is 0 when it was
// recorded.
func (j *job) sent(s state, code, format string, args ...any) int {
	st := dsn.New(code, fmt.Sprintf(format, args...))
	if err := j.r.Sent(report(s), j.a.Service, st); err != nil {
		maillog.Warn("%s: %v", j.r.QueueID, err)
		return 1
	}
	return 0
}

// deferf reports a temporary failure; the recipient stays in the queue,
// so the result is always non-zero.
func (j *job) deferf(s state, code, format string, args ...any) int {
	return j.deferStatus(s, dsn.New(code, fmt.Sprintf(format, args...)))
}

// deferStatus is deferf with a complete status (diagnostic included).
func (j *job) deferStatus(s state, st dsn.Status) int {
	_ = j.r.Defer(report(s), j.a.Service, st)
	return 1
}

// bounce reports a permanent failure; the result is 0 when it was
// recorded as a bounce (not deferred by soft_bounce or a log failure).
func (j *job) bounce(s state, code, format string, args ...any) int {
	return j.bounceStatus(s, dsn.New(code, fmt.Sprintf(format, args...)))
}

// bounceStatus is bounce with a complete status (diagnostic included).
func (j *job) bounceStatus(s state, st dsn.Status) int {
	if err := j.r.Bounce(report(s), j.a.Service, st); err != nil || j.a.softBounce {
		return 1
	}
	return 0
}

// fail bounces or defers by the class of code.
func (j *job) fail(s state, code, format string, args ...any) int {
	return j.failStatus(s, dsn.New(code, fmt.Sprintf(format, args...)))
}

// failStatus bounces or defers by the class of the status code.
func (j *job) failStatus(s state, st dsn.Status) int {
	if st.Temporary() {
		return j.deferStatus(s, st)
	}
	return j.bounceStatus(s, st)
}

// fatalf logs a fatal error and exits, as Postfix's msg_fatal.
func fatalf(format string, args ...any) {
	maillog.Fatal(format, args...)
	os.Exit(1)
}

// passwd is one entry of the password database.
type passwd struct {
	name       string
	uid, gid   int
	home       string
	shell      string
	fromSystem bool
}

// systemPasswd is where user entries are read first; users that only the
// system's name service knows (LDAP, NIS through NSS) are found through
// os/user, without a shell.
const systemPasswd = "/etc/passwd"

// lookupPasswd returns the password entry of name, nil when there is none,
// or an error when the database cannot be read (delivery is deferred).
func (a *Agent) lookupUser(name string) (*passwd, error) {
	return scanPasswd(a.passwdFile, func(p *passwd) bool { return p.name == name }, func() (*user.User, error) {
		return user.Lookup(name)
	})
}

// lookupUID returns the password entry of uid, as lookupUser.
func (a *Agent) lookupUID(uid int) (*passwd, error) {
	return scanPasswd(a.passwdFile, func(p *passwd) bool { return p.uid == uid }, func() (*user.User, error) {
		return user.LookupId(strconv.Itoa(uid))
	})
}

func scanPasswd(file string, match func(*passwd) bool, nss func() (*user.User, error)) (*passwd, error) {
	f, err := os.Open(file)
	if err == nil {
		defer f.Close()
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 4096), 1<<20)
		for sc.Scan() {
			p := parsePasswd(sc.Text())
			if p != nil && match(p) {
				return p, nil
			}
		}
		if err := sc.Err(); err != nil {
			return nil, err
		}
	}
	if file != systemPasswd {
		return nil, nil
	}
	u, err := nss()
	if err != nil {
		var unknownName user.UnknownUserError
		var unknownID user.UnknownUserIdError
		if errors.As(err, &unknownName) || errors.As(err, &unknownID) {
			return nil, nil
		}
		return nil, err
	}
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(u.Gid)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("bad user ids for %s", u.Username)
	}
	return &passwd{name: u.Username, uid: uid, gid: gid, home: u.HomeDir, fromSystem: true}, nil
}

// parsePasswd parses one passwd(5) line; nil for comments and bad lines.
func parsePasswd(line string) *passwd {
	if line == "" || line[0] == '#' || line[0] == '+' || line[0] == '-' {
		return nil
	}
	f := strings.Split(line, ":")
	if len(f) < 7 {
		return nil
	}
	uid, err1 := strconv.Atoi(f[2])
	gid, err2 := strconv.Atoi(f[3])
	if err1 != nil || err2 != nil {
		return nil
	}
	return &passwd{name: f[0], uid: uid, gid: gid, home: f[5], shell: f[6], fromSystem: true}
}

// fileOwner returns the uid owning path, 0 when it cannot be found.
func fileOwner(path string) int {
	var st syscall.Stat_t
	if syscall.Stat(path, &st) != nil {
		return 0
	}
	return int(st.Uid)
}

// setEugid gives the whole process the effective user and group ids
// uid/gid (and gid as its only supplementary group), as Postfix's
// set_eugid does. It does nothing in unprivileged mode. The local agent
// handles one request at a time, and Go applies these calls to every
// thread, so a delivery runs entirely with the recipient's rights.
func (a *Agent) setEugid(uid, gid int) {
	if !a.Root {
		return
	}
	// Changes that would leave the rights as they are are skipped.
	if a.eugidKnown && a.curUID == uid && a.curGID == gid {
		return
	}
	ops := processCreds
	if a.perThread {
		ops = threadCreds
	}
	if geteuid() != 0 {
		if err := ops.seteuid(0); err != nil {
			fatalf("seteuid(0): %v", err)
		}
	}
	if !a.eugidKnown || a.curGID != gid {
		if err := ops.setegid(gid); err != nil {
			fatalf("setegid(%d): %v", gid, err)
		}
		if err := ops.setgroups(gid); err != nil {
			fatalf("setgroups(1, [%d]): %v", gid, err)
		}
	}
	if uid != 0 {
		if err := ops.seteuid(uid); err != nil {
			fatalf("seteuid(%d): %v", uid, err)
		}
	}
	a.curUID, a.curGID, a.eugidKnown = uid, gid, true
}

// dropToOwner returns to the rights of mail_owner between deliveries.
func (a *Agent) dropToOwner() error {
	a.setEugid(a.ownerUID, a.ownerGID)
	return nil
}
