// Package postqueue is the postqueue(1) command, Postfix's user interface
// to the queue: list it (-p, also mailq and sendmail -bp; -j as JSON), and
// ask for delivery (-f, -s site, -i queueid).
//
// # Listing (-p, -j)
//
// postqueue connects to public/$showq_service_name, checks the protocol
// announcement (mail_queue_list_protocol) and formats the stream the showq
// daemon sends (see package showq). -p prints Sendmail's mailq layout
// exactly as Postfix 3.7 does:
//
//	-Queue ID-  --Size-- ----Arrival Time---- -Sender/Recipient-------
//	4F1A31C0E2*     312 Sat Nov 28 13:12:43  sender@example.com
//	                                             (reason the recipient waits)
//	                                         rcpt@example.org
//
//	-- 0 Kbytes in 1 Request.
//
// ('*' marks the active queue, '!' the hold queue, '#' a message whose
// expiry was forced; with enable_long_queue_ids the columns are wider),
// or "Mail queue is empty". -j prints one JSON object per message, as
// Postfix 3.7's postqueue -j does. When the showq service cannot be reached
// and postqueue runs as root, it warns "Mail system is down -- accessing
// queue directly" and runs $daemon_directory/showq -u -S itself; other
// users get "Queue report unavailable - mail system is down". An
// unprivileged user (one who cannot read the queue) is thus served through
// the showq socket, which is the only way across the queue's protection.
//
// # Flushing (-f, -s, -i)
//
// -f writes "FADI" to public/$queue_service_name (forget dead
// destinations, scan all queues) and "W" to public/$pickup_service_name.
// -s site and -i queueid ask the flush(8) service (fast_flush_domains
// decides which sites may be flushed).
//
// Diagnostics go to standard error as "postqueue: ..." and to the mail log
// as "postfix/postqueue[PID]: ...". Every fatal error exits with status 69
// (EX_UNAVAILABLE), as Postfix's postqueue does.
//
// Parameters read: authorized_flush_users, authorized_mailq_users,
// daemon_directory, enable_long_queue_ids, fast_flush_domains,
// mail_name, mail_owner, pickup_service_name, queue_directory,
// queue_service_name, showq_service_name, flush_service_name, and what
// internal/maillog reads.
package postqueue

import (
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/postfix-go/postfix/conf"
	"github.com/postfix-go/postfix/internal/getopt"
	"github.com/postfix-go/postfix/internal/ipc"
	"github.com/postfix-go/postfix/internal/maillog"
	"github.com/postfix-go/postfix/internal/msg"
	"github.com/postfix-go/postfix/internal/queue"
	"github.com/postfix-go/postfix/postdrop"
)

// exUnavailable is the exit status of every fatal error.
const exUnavailable = 69

const usage = "usage: postqueue -f | postqueue -i queueid | postqueue -j | postqueue -p | postqueue -s site"

// Main runs postqueue with the command line args and returns its exit
// status.
func Main(args []string, stdout io.Writer) int {
	syscall.Umask(0o022)
	// A reader that goes away (mailq | head) is not an error.
	signal.Ignore(syscall.SIGPIPE)
	prog := filepath.Base(args[0])
	msg.SetProgName(prog)
	maillog.StderrName(prog)
	msg.SetExit(func(int) { os.Exit(exUnavailable) })
	maillog.SetExit(func(int) { os.Exit(exUnavailable) })
	mode := byte(0)
	var site, id string
	verbose := 0
	operands, ok := getopt.Parse(prog, os.Stderr, args[1:], "c:fi:jps:v", func(c byte, arg string) bool {
		switch c {
		case 'c':
			os.Setenv("MAIL_CONFIG", arg)
		case 'v':
			verbose++
		default:
			if mode != 0 {
				msg.Fatal("%s", usage)
			}
			mode = c
			site, id = arg, arg
		}
		return true
	})
	if !ok || len(operands) > 0 || mode == 0 {
		msg.Fatal("%s", usage)
	}
	postdrop.CheckConfigDir(conf.ConfigDir())
	c, err := conf.Load(conf.ConfigDir())
	if err != nil {
		msg.Fatal("%v", err)
	}
	maillog.Init("postqueue", c)
	maillog.Stderr(true)
	msg.Verbose = verbose
	qdir := c.Get("queue_directory")
	if err := os.Chdir(qdir); err != nil {
		maillog.Fatal("chdir %s: %s", qdir, ipc.ErrnoText(err))
	}
	switch mode {
	case 's':
		if !validSite(site) {
			more := ""
			if len(site) > 100 {
				site, more = site[:100], "..."
			}
			maillog.Fatal("Cannot flush mail queue - invalid destination: \"%s%s\"", site, more)
		}
	case 'i':
		if !queue.ValidName(id) {
			more := ""
			if len(id) > 100 {
				id, more = id[:100], "..."
			}
			maillog.Fatal("Cannot flush queue ID - invalid name: \"%s%s\"", id, more)
		}
	}
	switch mode {
	case 'p', 'j':
		showQueue(c, mode == 'j', stdout)
	case 'f':
		checkFlushACL(c)
		if ipcTrigger(c, c.Get("queue_service_name"), ipc.FlushDeferred) != nil ||
			ipcTrigger(c, c.Get("pickup_service_name"), []byte{ipc.Wakeup}) != nil {
			maillog.Fatal("Cannot flush mail queue - mail system is down")
		}
	case 's':
		checkFlushACL(c)
		flushSite(c, site)
	case 'i':
		checkFlushACL(c)
		flushFile(c, id)
	}
	return 0
}

// ipcTrigger sends a trigger, warning as Postfix's mail_trigger does when
// the service does not exist.
func ipcTrigger(c *conf.Config, name string, data []byte) error {
	err := ipc.Trigger(c, "public", name, data)
	if err != nil && errors.Is(err, os.ErrNotExist) {
		maillog.Warn("unable to look up public/%s: %s", name, ipc.ErrnoText(err))
	}
	return err
}

// isOwner reports whether the invoking user is root or mail_owner, who
// pass the authorized_*_users checks.
func isOwner(c *conf.Config) bool {
	uid := os.Getuid()
	if uid == 0 {
		return true
	}
	u, err := user.Lookup(c.Get("mail_owner"))
	return err == nil && u.Uid == strconv.Itoa(uid)
}

func checkFlushACL(c *conf.Config) {
	if isOwner(c) {
		return
	}
	uid := os.Getuid()
	if name, denied := postdrop.CheckUserACL(c, "authorized_flush_users", uid); denied {
		maillog.Fatal("User %s(%d) is not allowed to flush the mail queue", name, uid)
	}
}

// showQueue lists the queue through the showq service, or by running
// showq when the mail system is down and we are root.
func showQueue(c *conf.Config, jsonOut bool, stdout io.Writer) {
	uid := os.Getuid()
	if !isOwner(c) {
		if name, denied := postdrop.CheckUserACL(c, "authorized_mailq_users", uid); denied {
			maillog.Fatal("User %s(%d) is not allowed to view the mail queue", name, uid)
		}
	}
	format := Compat
	if jsonOut {
		format = JSON
	}
	name := c.Get("showq_service_name")
	conn, err := ipc.Dial(c, "public", name, 0)
	if err == nil {
		defer conn.Close()
		if err := format(conn, stdout, c.Bool("enable_long_queue_ids")); err != nil {
			failFormat(err)
		}
		return
	}
	if os.Geteuid() != 0 {
		maillog.Fatal("Queue report unavailable - mail system is down")
	}
	maillog.Warn("Mail system is down -- accessing queue directly (Connect to the %s %s service: %s)",
		c.Get("mail_name"), name, ipc.ErrnoText(err))
	argv := []string{"-u", "-S"}
	for i := 0; i < msg.Verbose; i++ {
		argv = append(argv, "-v")
	}
	cmd := exec.Command(filepath.Join(c.Get("daemon_directory"), name), argv...)
	cmd.Args[0] = name
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		maillog.Fatal("pipe: %v", err)
	}
	if err := cmd.Start(); err != nil {
		maillog.Fatal("execvp %s: %s", cmd.Path, ipc.ErrnoText(unwrapPath(err)))
	}
	ferr := format(out, stdout, c.Bool("enable_long_queue_ids"))
	if ferr != nil {
		_ = cmd.Process.Kill()
	}
	_ = cmd.Wait()
	if ferr != nil {
		failFormat(ferr)
	}
}

func failFormat(err error) {
	var oe *OutputError
	if errors.As(err, &oe) {
		maillog.Fatal("output write error: %s", ipc.ErrnoText(oe.Err))
	}
	maillog.Fatal("malformed showq server response")
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// validSite reports whether a -s destination is a host name or an address
// literal in brackets.
func validSite(s string) bool {
	if strings.HasPrefix(s, "[") {
		if !strings.HasSuffix(s, "]") {
			return false
		}
		inner := strings.TrimPrefix(s[1:len(s)-1], "IPv6:")
		return net.ParseIP(inner) != nil
	}
	if s == "" || len(s) > 255 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			ch := label[i]
			if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '-' || ch == '_') {
				return false
			}
		}
	}
	return true
}

// flushSite asks the flush service to deliver mail for site.
func flushSite(c *conf.Config, site string) {
	if !flushAllowed(c, site) {
		maillog.Fatal("Flush service is not configured for destination \"%s\"", site)
	}
	flushRequest(c, "send_site", "site", site)
}

// flushFile asks the flush service to deliver one queue file.
func flushFile(c *conf.Config, id string) {
	flushRequest(c, "send_file", "queue_id", id)
}

// Flush service reply codes (Postfix's FLUSH_STAT_*).
const (
	flushOK   = 0
	flushFail = 1
	flushBad  = 3
	flushDeny = 4
)

func flushRequest(c *conf.Config, req, name, value string) {
	svc := c.Get("flush_service_name")
	conn, err := ipc.Dial(c, "public", svc, 100*time.Second)
	if err != nil {
		maillog.Warn("connect to public/%s: %s", svc, ipc.ErrnoText(err))
		maillog.Fatal("Cannot flush mail queue - mail system is down")
	}
	defer conn.Close()
	status, err := flushCall(conn, req, name, value)
	if err != nil {
		status = flushFail
	}
	switch status {
	case flushOK:
	case flushBad:
		maillog.Fatal("Invalid request: \"%s\"", value)
	case flushFail:
		maillog.Fatal("Cannot flush mail queue - mail system is down")
	case flushDeny:
		maillog.Fatal("Flush service is not configured for destination \"%s\"", value)
	default:
		maillog.Fatal("Unknown flush server reply status %d", status)
	}
}

// flushAllowed applies fast_flush_domains to site as Postfix's domain
// lists match: the name itself, or a parent domain (fast_flush_domains is
// in parent_domain_matches_subdomains by default), or ".parent".
func flushAllowed(c *conf.Config, site string) bool {
	site = strings.ToLower(strings.Trim(site, "[]"))
	parentMatches := strings.Contains(c.Get("parent_domain_matches_subdomains"), "fast_flush_domains")
	for _, pat := range conf.SplitList(c.Get("fast_flush_domains")) {
		neg := strings.HasPrefix(pat, "!")
		pat = strings.ToLower(strings.Trim(strings.TrimPrefix(pat, "!"), "[]"))
		hit := site == pat ||
			(strings.HasPrefix(pat, ".") && strings.HasSuffix(site, pat)) ||
			(parentMatches && strings.HasSuffix(site, "."+pat))
		if hit {
			return !neg
		}
	}
	return false
}
