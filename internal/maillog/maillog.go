// Package maillog writes a program's log lines the way Postfix 3.7 does.
//
// Every line has Postfix's shape: a time stamp, the host name, the tag
// "$syslog_name/PROGRAM[PID]:" and the text, with "warning: ", "error: ",
// "fatal: " or "panic: " in front of the text for those severities.
//
// Where lines go (chosen by Init from main.cf):
//
//   - maillog_file set: each line is appended to that file with one write(2)
//     on a descriptor opened with O_APPEND, so lines from many processes never
//     interleave. The line format is the one Debian's postlog(1) and
//     postlogd(8) write, checked against them:
//     "Jan 05 08:00:00 host postfix/cleanup[1234]: TEXT" — the month as three
//     letters, the day of month as two digits (zero-padded), local time, and
//     the first label of $myhostname. The file is opened by Init, which the
//     daemon skeleton calls before chroot, so a chrooted daemon keeps logging.
//     A process that is not root and may not open the file (a user's
//     sendmail) logs to syslog instead, where Postfix would use postlogd.
//     As in Postfix, maillog_file must start with one of maillog_file_prefixes
//     ("fatal: maillog_file value '...' does not match any prefix in
//     maillog_file_prefixes"); unlike Postfix, a file under the system's
//     temporary directory is always accepted, so tests need no extra setting.
//     Where Postfix sends lines through its postlogd(8) service, each of our
//     processes appends to the file itself.
//   - otherwise: lines go to the local syslog socket /dev/log with facility
//     $syslog_facility, formatted as glibc's syslog(3) formats them
//     ("<PRI>Mmm dd hh:mm:ss TAG[PID]: TEXT"). When no syslog socket can be
//     reached, lines go to standard error instead of being lost.
//
// Every text is masked as Postfix masks it (msg.Printable): bytes that are
// not printable ASCII become '?'; with smtputf8_enable = yes, which Init
// passes to msg.SetUTF8, UTF-8 sequences are kept.
//
// As in Postfix, the text of a line sent to maillog_file or syslog is cut
// after its first 2000 bytes (MaxText), silently: no marker is added, the
// "warning: " and like prefixes do not count, and the cut is by bytes, so
// with smtputf8_enable = yes it may split a UTF-8 sequence, as Postfix's
// does. The copy on standard error (Stderr) is not cut, as Postfix's is
// not.
//
// Init also routes the internal/msg diagnostics (msg.Warn, msg.Fatal, the
// configuration warnings of package conf) into the log. A command run by a
// person (postfix, postqueue, sendmail, postdrop) additionally keeps its
// diagnostics on standard error as "PROGRAM: warning: TEXT", as Postfix's
// msg_vstream does: Stderr(true) asks for that.
//
// Parameters read: maillog_file, maillog_file_prefixes, syslog_name,
// syslog_facility, myhostname, smtputf8_enable.
package maillog

import (
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/postfix-go/postfix/conf"
	"github.com/postfix-go/postfix/internal/msg"
)

// Severity levels, as syslog numbers them.
const (
	sevCrit    = 2
	sevErr     = 3
	sevWarning = 4
	sevInfo    = 6
)

var (
	mu        sync.Mutex
	tag       = "postfix/" + filepath.Base(os.Args[0])
	host      = shortHost("")
	file      *os.File // maillog_file, when set
	syslogC   net.Conn // /dev/log, when reachable
	syslogFac = 2 << 3 // mail
	stderr    bool     // also print on stderr
	stderrTag string   // prefix of stderr lines; "" = argv[0]
	lazy      bool     // open maillog_file at the first line (OpenLazily)
	lazyPath  string   // maillog_file still to be opened
	inited    bool
	exitFn              = os.Exit
	now                 = time.Now
	errOut    io.Writer = os.Stderr
	// pid is the process id in every line; a Go process never forks
	// without exec, so it cannot change.
	pid = os.Getpid()
	// lineBuf is reused for each line (mu is held while it is built).
	lineBuf []byte
)

// MaxText is the most bytes of a line's text (after the "warning: " or
// like prefix) that go to maillog_file or syslog; the rest is dropped, as
// Postfix drops it.
const MaxText = 2000

// Init starts logging for program name ("cleanup"): the tag becomes
// "$syslog_name/name". See the package comment for where lines go. It may
// be called again (master does after reload); the previous file or socket is
// closed. A maillog_file that cannot be used is fatal, as in Postfix.
func Init(name string, c *conf.Config) {
	mu.Lock()
	if file != nil {
		file.Close()
		file = nil
	}
	if syslogC != nil {
		syslogC.Close()
		syslogC = nil
	}
	lazyPath = ""
	tag = c.Get("syslog_name") + "/" + name
	host = shortHost(c.Get("myhostname"))
	syslogFac = facility(c.Get("syslog_facility"))
	utf8, err := conf.ParseBool(c.Get("smtputf8_enable"))
	msg.SetUTF8(err == nil && utf8)
	inited = true
	path := c.Get("maillog_file")
	var problem string
	if path != "" {
		if !allowedPath(path, c.List("maillog_file_prefixes")) {
			problem = fmt.Sprintf("maillog_file value '%s' does not match any prefix in maillog_file_prefixes", path)
		} else if lazy {
			lazyPath = path
		} else {
			f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0600)
			switch {
			case err == nil:
				file = f
			case os.Geteuid() == 0:
				problem = fmt.Sprintf("open logfile '%s': cannot open file: %s", path, errnoText(err))
			default:
				// A user's command (sendmail, postqueue) may not write
				// the file; Postfix's would log through postlogd. Fall
				// back to syslog rather than fail the user's mail.
			}
		}
	}
	if file == nil && lazyPath == "" {
		syslogC = dialSyslog()
	}
	mu.Unlock()
	msg.SetOutput(msgWriter{})
	msg.SetProgName(progName())
	if problem != "" {
		Fatal("%s", problem)
	}
}

// Stderr says whether diagnostics are also printed on standard error as
// "PROGRAM: TEXT" (PROGRAM is argv[0]), as Postfix's commands do.
func Stderr(on bool) {
	mu.Lock()
	stderr = on
	mu.Unlock()
}

// StderrName sets the prefix of the lines Stderr asks for ("" means
// argv[0]); postfix(1) uses its log tag ("postfix/postfix-script"), as
// postlog(1) does on a terminal.
func StderrName(name string) {
	mu.Lock()
	stderrTag = name
	mu.Unlock()
}

// SetExit replaces os.Exit for Fatal and Panic (tests use it) and returns
// the previous function.
func SetExit(f func(int)) func(int) {
	mu.Lock()
	defer mu.Unlock()
	old := exitFn
	exitFn = f
	return old
}

// Tag returns the current log tag ("postfix/cleanup").
func Tag() string {
	mu.Lock()
	defer mu.Unlock()
	return tag
}

// Level is the severity of a log line.
type Level int

// The levels, with the prefix each puts before the text.
const (
	LevelInfo    Level = iota // "TEXT"
	LevelWarning              // "warning: TEXT"
	LevelError                // "error: TEXT"
	LevelFatal                // "fatal: TEXT"
	LevelPanic                // "panic: TEXT"
)

// levels gives each Level its syslog severity and its prefix.
var levels = [...]struct {
	sev    int
	prefix string
}{
	LevelInfo:    {sevInfo, ""},
	LevelWarning: {sevWarning, "warning: "},
	LevelError:   {sevErr, "error: "},
	LevelFatal:   {sevCrit, "fatal: "},
	LevelPanic:   {sevCrit, "panic: "},
}

// Log writes one line at level l and, unlike Fatal and Panic, returns:
// postfix(1) logs "fatal: ..." and then chooses its exit status itself.
func Log(l Level, format string, args ...any) {
	lv := levels[LevelInfo]
	if l >= 0 && int(l) < len(levels) {
		lv = levels[l]
	}
	emit(lv.sev, lv.prefix, fmt.Sprintf(format, args...))
}

// Info logs "TEXT".
func Info(format string, args ...any) { emit(sevInfo, "", fmt.Sprintf(format, args...)) }

// Warn logs "warning: TEXT".
func Warn(format string, args ...any) { emit(sevWarning, "warning: ", fmt.Sprintf(format, args...)) }

// Error logs "error: TEXT".
func Error(format string, args ...any) { emit(sevErr, "error: ", fmt.Sprintf(format, args...)) }

// Debug logs "TEXT" only when verbose logging was asked for (-v).
func Debug(format string, args ...any) {
	if msg.Verbose > 0 {
		Info(format, args...)
	}
}

// Fatal logs "fatal: TEXT" and exits with status 1.
func Fatal(format string, args ...any) {
	emit(sevCrit, "fatal: ", fmt.Sprintf(format, args...))
	exit(1)
}

// Panic logs "panic: TEXT" and exits with status 2: a broken internal
// contract, never bad input.
func Panic(format string, args ...any) {
	emit(sevCrit, "panic: ", fmt.Sprintf(format, args...))
	exit(2)
}

func exit(code int) {
	mu.Lock()
	f := exitFn
	mu.Unlock()
	f(code)
	panic(msg.FatalExit{})
}

// emit writes one line at severity sev; prefix is "warning: " and the like.
// The text goes through msg.Printable first, as all of Postfix's log
// output does: no control character from a client reaches the file, the
// syslog socket or a terminal.
func emit(sev int, prefix, text string) {
	text = msg.Printable(text)
	mu.Lock()
	defer mu.Unlock()
	if stderr || !inited {
		name := stderrTag
		if name == "" {
			name = progName()
		}
		fmt.Fprintf(errOut, "%s: %s%s\n", name, prefix, text)
		if !inited {
			return
		}
	}
	writeLog(sev, prefix, text)
}

// OpenLazily makes the next Init open maillog_file only when the first
// line is written, as postlog(1) does; postfix(1) needs this so that it
// does not create the file that "postfix logrotate" is about to move.
// Daemons must not use it: they open the file before chroot.
func OpenLazily() {
	mu.Lock()
	lazy = true
	mu.Unlock()
}

// writeLog sends one line to the file or syslog; mu is held. prefix is
// "warning: " and the like, text the masked text, cut here at MaxText.
func writeLog(sev int, prefix, text string) {
	if len(text) > MaxText {
		text = text[:MaxText]
	}
	t := now()
	if file == nil && lazyPath != "" {
		if f, err := os.OpenFile(lazyPath, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0600); err == nil {
			file = f
		} else {
			syslogC = dialSyslog()
		}
		lazyPath = ""
	}
	if file != nil {
		line := fileLine(t, prefix, text)
		if _, err := file.Write(line); err != nil {
			errOut.Write(line)
		}
		return
	}
	// glibc's syslog(3) form: "<PRI>Mmm dd hh:mm:ss TAG[PID]: TEXT".
	b := append(lineBuf[:0], '<')
	b = strconv.AppendInt(b, int64(syslogFac|sev), 10)
	b = append(b, '>')
	b = t.AppendFormat(b, "Jan _2 15:04:05")
	b = appendTail(b, prefix, text)
	lineBuf = b
	if syslogC != nil {
		if _, err := syslogC.Write(b); err == nil {
			return
		}
		syslogC.Close()
		syslogC = dialSyslog()
		if syslogC != nil {
			if _, err := syslogC.Write(b); err == nil {
				return
			}
		}
	}
	errOut.Write(fileLine(t, prefix, text))
}

// fileLine formats a maillog_file line, newline included, into lineBuf:
// "Mmm dd hh:mm:ss HOST TAG[PID]: TEXT".
func fileLine(t time.Time, prefix, text string) []byte {
	b := t.AppendFormat(lineBuf[:0], "Jan 02 15:04:05")
	b = append(b, ' ')
	b = append(b, host...)
	b = appendTail(b, prefix, text)
	b = append(b, '\n')
	lineBuf = b
	return b
}

// appendTail appends " TAG[PID]: PREFIXTEXT".
func appendTail(b []byte, prefix, text string) []byte {
	b = append(b, ' ')
	b = append(b, tag...)
	b = append(b, '[')
	b = strconv.AppendInt(b, int64(pid), 10)
	b = append(b, "]: "...)
	b = append(b, prefix...)
	return append(b, text...)
}

// syslogPath is the local syslog socket (tests replace it).
var syslogPath = "/dev/log"

// dialSyslog connects to the local syslog socket, or returns nil.
func dialSyslog() net.Conn {
	for _, network := range []string{"unixgram", "unix"} {
		c, err := net.DialTimeout(network, syslogPath, time.Second)
		if err == nil {
			return c
		}
	}
	return nil
}

// msgWriter receives what internal/msg prints ("PROG: warning: TEXT\n")
// and logs it.
type msgWriter struct{}

func (msgWriter) Write(p []byte) (int, error) {
	for _, line := range strings.Split(strings.TrimSuffix(string(p), "\n"), "\n") {
		text := line
		if i := strings.Index(line, ": "); i >= 0 {
			text = line[i+2:]
		}
		// The severity goes apart from the text, which alone is cut at
		// MaxText.
		lv := levels[LevelInfo]
		for _, x := range levels[LevelWarning:] {
			if strings.HasPrefix(text, x.prefix) {
				lv = x
				break
			}
		}
		emit(lv.sev, lv.prefix, text[len(lv.prefix):])
	}
	return len(p), nil
}

func progName() string {
	if len(os.Args) > 0 && os.Args[0] != "" {
		return os.Args[0]
	}
	return "postfix"
}

// shortHost returns the first label of myhostname, or of the kernel's
// host name when myhostname is empty.
func shortHost(h string) string {
	if h == "" {
		h, _ = os.Hostname()
	}
	if i := strings.IndexByte(h, '.'); i > 0 {
		h = h[:i]
	}
	if h == "" {
		h = "localhost"
	}
	return h
}

// allowedPath reports whether path starts with one of prefixes (or lies in
// the temporary directory, see the package comment).
func allowedPath(path string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(path, p) {
			return true
		}
	}
	tmp := filepath.Clean(os.TempDir()) + "/"
	return strings.HasPrefix(filepath.Clean(path), tmp) || strings.HasPrefix(path, "/tmp/")
}

// facility maps a syslog_facility name to its number shifted into place.
func facility(name string) int {
	names := map[string]int{"kern": 0, "user": 1, "mail": 2, "daemon": 3, "auth": 4,
		"syslog": 5, "lpr": 6, "news": 7, "uucp": 8, "cron": 9, "authpriv": 10, "ftp": 11,
		"local0": 16, "local1": 17, "local2": 18, "local3": 19, "local4": 20,
		"local5": 21, "local6": 22, "local7": 23}
	if n, ok := names[strings.ToLower(name)]; ok {
		return n << 3
	}
	return 2 << 3
}

// errnoText returns the system error text of err, capitalised as
// glibc's strerror.
func errnoText(err error) string {
	if pe, ok := err.(*os.PathError); ok {
		err = pe.Err
	}
	t := err.Error()
	if t != "" && t[0] >= 'a' && t[0] <= 'z' {
		t = string(t[0]-'a'+'A') + t[1:]
	}
	return t
}

// Borrow makes the lines logged from now on carry program name (the tag
// becomes "$syslog_name/name" and standard error lines "name: ..."), for a
// command that does another program's job in its own process (sendmail
// writing the maildrop file as postdrop would). The returned function
// restores the previous names.
func Borrow(name string) (restore func()) {
	mu.Lock()
	oldTag, oldStderr := tag, stderrTag
	prefix := tag
	if i := strings.LastIndexByte(prefix, '/'); i >= 0 {
		prefix = prefix[:i]
	}
	tag, stderrTag = prefix+"/"+name, name
	mu.Unlock()
	oldProg := msg.ProgName()
	msg.SetProgName(name)
	return func() {
		mu.Lock()
		tag, stderrTag = oldTag, oldStderr
		mu.Unlock()
		msg.SetProgName(oldProg)
	}
}
