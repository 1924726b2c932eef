// Package postdrop is the postdrop(1) command: it copies one message,
// written by sendmail(1) in Postfix's maildrop record format, from its
// standard input into a new file in the maildrop queue, and wakes up
// pickup(8).
//
// # Protocol (postdrop -r)
//
// postdrop speaks Postfix's own protocol with sendmail on its standard input
// and output, in the attribute protocol's "0" form (internal/attr):
//
//  1. postdrop creates the queue file and writes one record with the
//     attributes protocol=postdrop_protocol and queue_id=ID;
//  2. sendmail sends queue file records (internal/record): an envelope of
//     F, S, R, V and A records, M, the content as N and L records, X, the
//     extracted section (A and R records) and E;
//  3. postdrop writes a record with status (the cleanup status bits, 0 for
//     success) and reason, and exits with that status.
//
// postdrop writes its own T (arrival time) record first and refuses records
// a user may not send: a record type outside the set allowed in its section
// is fatal ("uid=N: unexpected record type: T"), and of the A records only
// encoding (7bit, 8bit or empty), envelope_id, notify_flags, ret_flags,
// dsn_orig_rcpt, create_time, smtputf8, rewrite_context (local or remote)
// and trace_flags are kept; others are dropped with a warning. A message
// without a sender or without a recipient is refused (status 1). When the
// input ends before the E record, or on SIGHUP, SIGINT, SIGQUIT or SIGTERM,
// the file is removed: the request was cancelled.
//
// The file is written under a temporary name, flushed, fsync'ed, given mode
// 0744 (the owner execute bit marks it complete; group and others may read
// it, so that pickup running as mail_owner can read a file the submitting
// user owns) and linked to its queue ID, and the directory is fsync'ed; only
// then does postdrop report success. It then writes "W" to
// public/$pickup_service_name; when pickup cannot be reached the file waits
// for pickup's next periodic scan ("warning: unable to look up
// public/pickup: No such file or directory").
//
// # Security
//
// In a real installation postdrop is set-group-ID postdrop, the group that
// may write the maildrop directory. It trusts nothing from its caller: the
// environment is not used beyond MAIL_CONFIG, -v works for root only, the
// time stamp is its own, and authorized_submit_users is enforced here (the
// check in sendmail only gives a friendlier message). Run unprivileged (make
// run), it simply writes the maildrop directory as the invoking user.
//
// # Options
//
//	-c config_dir   read main.cf from config_dir
//	-r              use the internal protocol (the only one; accepted for
//	                compatibility)
//	-v              verbose logging (root only)
//
// Diagnostics go to standard error and the mail log as "postdrop: ...",
// "postfix/postdrop[PID]: ...".
//
// Parameters read: queue_directory, authorized_submit_users,
// line_length_limit, message_size_limit, pickup_service_name,
// enable_long_queue_ids, hash_queue_names, hash_queue_depth, and what
// internal/maillog reads.
package postdrop

import (
	"errors"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/postfix-go/postfix/conf"
	"github.com/postfix-go/postfix/internal/attr"
	"github.com/postfix-go/postfix/internal/getopt"
	"github.com/postfix-go/postfix/internal/ipc"
	"github.com/postfix-go/postfix/internal/maillog"
	"github.com/postfix-go/postfix/internal/msg"
	"github.com/postfix-go/postfix/internal/queue"
	"github.com/postfix-go/postfix/internal/record"
	"github.com/postfix-go/postfix/internal/submit"
)

// Protocol is the name postdrop announces to its caller.
const Protocol = "postdrop_protocol"

// Cleanup status bits that postdrop reports (Postfix's CLEANUP_STAT_*,
// as in internal/submit).
const (
	StatBad   = submit.StatBad   // malformed or incomplete request
	StatWrite = submit.StatWrite // the queue file could not be written
)

// MaildropMode is the mode of a finished maildrop file.
const MaildropMode = 0744

// Segment record sets: the first letter of each ends the segment.
var segments = []string{"MFSRVAin", "XLN", "EAR"}

// cleanup removes the unfinished queue file on a fatal error or signal.
var cleanup struct {
	sync.Mutex
	file *queue.File
}

func abortFile() {
	cleanup.Lock()
	if cleanup.file != nil {
		cleanup.file.Abort()
		cleanup.file = nil
	}
	cleanup.Unlock()
}

// Main runs postdrop with the command line args (args[0] is ignored: the
// program always calls itself postdrop) and returns its exit status.
func Main(args []string, stdin io.Reader, stdout io.Writer) int {
	syscall.Umask(0o022)
	msg.SetProgName("postdrop")
	maillog.StderrName("postdrop")
	verbose := 0
	_, ok := getopt.Parse("postdrop", os.Stderr, args[1:], "c:rv", func(c byte, arg string) bool {
		switch c {
		case 'c':
			os.Setenv("MAIL_CONFIG", arg)
		case 'v':
			if os.Geteuid() == 0 {
				verbose++
			}
		}
		return true
	})
	if !ok {
		msg.Fatal("usage: postdrop [-c config_dir] [-v]")
	}
	CheckConfigDir(conf.ConfigDir())
	c, err := conf.Load(conf.ConfigDir())
	if err != nil {
		msg.Fatal("%v", err)
	}
	maillog.Init("postdrop", c)
	maillog.Stderr(true)
	msg.Verbose = verbose
	// A fatal error removes the unfinished file, as Postfix's cleanup
	// handler does.
	prevExit := maillog.SetExit(func(code int) {
		abortFile()
		os.Exit(code)
	})
	defer maillog.SetExit(prevExit)

	uid := os.Getuid()
	if user, denied := CheckUserACL(c, "authorized_submit_users", uid); denied {
		maillog.Fatal("User %s(%d) is not allowed to submit mail", user, uid)
	}
	qdir := c.Get("queue_directory")
	if err := os.Chdir(qdir); err != nil {
		maillog.Fatal("chdir %s: %s", qdir, ipc.ErrnoText(err))
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGTERM)
	go func() {
		s := <-sigs
		abortFile()
		os.Exit(128 + int(s.(syscall.Signal)))
	}()

	l := queue.FromConfig(c)
	status := drop(c, l, uid, stdin, stdout)
	signal.Stop(sigs)
	return status
}

// drop creates the maildrop file, copies the request into it and reports
// the outcome to the caller.
func drop(c *conf.Config, l queue.Layout, uid int, stdin io.Reader, stdout io.Writer) int {
	start := time.Now()
	f, err := l.Create(queue.Maildrop)
	if err != nil {
		maillog.Fatal("create file %s/%s: %s", queue.Maildrop, "tmp", ipc.ErrnoText(err))
	}
	f.ReadyMode = MaildropMode
	cleanup.Lock()
	cleanup.file = f
	cleanup.Unlock()
	enc := attr.NewEncoder(stdout, attr.Zero)
	if err := enc.Write(attr.Str(attr.ProtocolAttr, Protocol), attr.Str("queue_id", f.ID)); err == nil {
		_ = enc.Flush()
	}

	// Like Postfix's file size limit (setrlimit) on the queue file.
	w := record.NewWriter(&limitWriter{w: f, limit: c.Long("message_size_limit")})
	w.Putf(record.Time, "%d %d", start.Unix(), start.Nanosecond()/1000)
	res, err := copyRecords(w, stdin, c.Int("line_length_limit"), uid)
	if err != nil {
		maillog.Fatal("%v", err)
	}
	if res.cancelled {
		// The caller gave up: no reply, no file.
		abortFile()
		return 0
	}
	status := 0
	switch {
	case res.writeErr != nil:
		maillog.Warn("uid=%d: %s", uid, ipc.ErrnoText(res.writeErr))
		abortFile()
		status = writeStatus(res.writeErr)
	case res.senders == 0 || res.rcpts == 0:
		abortFile()
		status = StatBad
	default:
		err := w.Flush()
		if err == nil {
			err = f.Flush()
		}
		if err == nil {
			err = f.Commit()
		}
		cleanup.Lock()
		cleanup.file = nil
		cleanup.Unlock()
		if err != nil {
			maillog.Warn("uid=%d: %s", uid, ipc.ErrnoText(err))
			f.Abort()
			status = writeStatus(err)
		} else {
			wakePickup(c)
		}
	}
	if err := enc.Write(attr.Int("status", uint32(status)), attr.Str("reason", "")); err == nil {
		_ = enc.Flush()
	}
	return status
}

// writeStatus is the cleanup status for a queue file write error: a file
// over the size limit is "message file too big".
func writeStatus(err error) int {
	if errors.Is(err, syscall.EFBIG) {
		return submit.StatSize
	}
	return StatWrite
}

// limitWriter fails with EFBIG once more than limit bytes (0: no limit)
// were written, as a write beyond RLIMIT_FSIZE does.
type limitWriter struct {
	w     io.Writer
	limit int64
	n     int64
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if l.limit > 0 && l.n+int64(len(p)) > l.limit {
		room := max(0, l.limit-l.n)
		n, err := l.w.Write(p[:room])
		l.n += int64(n)
		if err == nil {
			err = syscall.EFBIG
		}
		return n, err
	}
	n, err := l.w.Write(p)
	l.n += int64(n)
	return n, err
}

// wakePickup triggers the pickup service, warning as Postfix's mail_trigger
// does when it cannot be reached.
func wakePickup(c *conf.Config) {
	name := c.Get("pickup_service_name")
	if err := ipc.Trigger(c, "public", name, []byte{ipc.Wakeup}); err != nil {
		// Like mail_trigger, complain only when the service is missing.
		if errors.Is(err, os.ErrNotExist) {
			maillog.Warn("unable to look up public/%s: %s", name, ipc.ErrnoText(err))
		}
	}
}

// copyResult is what copyRecords saw.
type copyResult struct {
	senders, rcpts int
	cancelled      bool  // input ended before the E record
	writeErr       error // the queue file could not be written
}

// copyRecords checks the caller's records and copies them to w. A
// malformed or forbidden record is an error (fatal for postdrop); an
// attribute a user may not set is dropped with a warning.
func copyRecords(w *record.Writer, in io.Reader, lineLimit, uid int) (copyResult, error) {
	var res copyResult
	r := record.NewReader(in, lineLimit)
	seg := 0
	for {
		t, data, err := r.Next()
		if err == io.EOF {
			// After a write error the input is only drained.
			res.cancelled = res.writeErr == nil
			return res, nil
		}
		if err != nil {
			var re *record.Error
			if errors.As(err, &re) {
				maillog.Warn("stdin: %s", re.Error())
			}
			return res, &inputError{uid: uid, text: "malformed input"}
		}
		if res.writeErr != nil {
			if t == record.End {
				return res, nil
			}
			continue
		}
		if !strings.ContainsRune(segments[seg], rune(t)) {
			return res, &inputError{uid: uid, text: "unexpected record type: " + strconv.Itoa(int(t))}
		}
		if byte(t) == segments[seg][0] && seg < len(segments)-1 {
			seg++
		}
		switch t {
		case record.From:
			res.senders++
		case record.Rcpt:
			res.rcpts++
		case record.Attr:
			name, value, problem := splitNameValue(string(data))
			if problem != "" {
				maillog.Warn("uid=%d: ignoring malformed record: %s: %.200s", uid, problem, data)
				continue
			}
			if !allowedAttr(name, value) {
				maillog.Warn("uid=%d: ignoring attribute record: %.200s=%.200s", uid, name, value)
				continue
			}
			data = []byte(name + "=" + value)
		}
		if res.writeErr == nil {
			if err := w.Put(t, data); err != nil {
				res.writeErr = err
			}
		}
		if t == record.End {
			return res, nil
		}
	}
}

// inputError is a fatal problem with the caller's records.
type inputError struct {
	uid  int
	text string
}

func (e *inputError) Error() string { return "uid=" + strconv.Itoa(e.uid) + ": " + e.text }

// allowedAttr reports whether a user may pass the named attribute.
func allowedAttr(name, value string) bool {
	switch name {
	case "encoding":
		return value == "7bit" || value == "8bit" || value == ""
	case "envelope_id", "notify_flags", "ret_flags", "dsn_orig_rcpt", "create_time", "smtputf8", "trace_flags":
		return true
	case "rewrite_context":
		return value == "local" || value == "remote"
	}
	return false
}

// splitNameValue splits "name = value" as Postfix's split_nameval does,
// returning the problem text for a malformed record.
func splitNameValue(s string) (name, value, problem string) {
	s = strings.TrimLeft(s, " \t\r\n")
	eq := strings.IndexByte(s, '=')
	if s == "" || eq == 0 {
		return "", "", "missing attribute name"
	}
	if eq < 0 {
		return "", "", "missing '=' after attribute name"
	}
	name = strings.TrimRight(s[:eq], " \t\r\n")
	if name == "" {
		return "", "", "missing attribute name"
	}
	value = strings.Trim(s[eq+1:], " \t\r\n")
	return name, value, ""
}
