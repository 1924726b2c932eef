package local

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/postfix-go/postfix/errorsvc"
	"github.com/postfix-go/postfix/internal/dsn"
	"github.com/postfix-go/postfix/internal/maillog"
)

// sysexits maps <sysexits.h> exit codes to an enhanced status code and
// Postfix's text for them; 4.x.x codes mean "try again later".
var sysexits = map[int][2]string{
	64: {"5.3.0", "command line usage error"},
	65: {"5.6.0", "data format error"},
	66: {"5.3.0", "cannot open input"},
	67: {"5.1.1", "user unknown"},
	68: {"5.1.2", "host name unknown"},
	69: {"5.3.0", "service unavailable"},
	70: {"5.3.0", "internal software error"},
	71: {"4.3.0", "system resource problem"},
	72: {"5.3.0", "critical OS file missing"},
	73: {"5.2.0", "can't create user output file"},
	74: {"5.3.0", "input/output error"},
	75: {"4.3.0", "temporary failure"},
	76: {"5.5.0", "remote error in protocol"},
	77: {"5.7.0", "permission denied"},
	78: {"5.3.5", "local configuration error"},
}

// shellOK are the characters of a command that can run without a shell.
const shellOK = "1234567890!@%-_=+:,./abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ \t"

// defaultPath is the PATH commands run with (_PATH_DEFPATH).
const defaultPath = "/usr/bin:/bin"

// outputLimit is how much command output is kept for the reason text.
const outputLimit = 4096

// deliverCommand pipes the message into command, run with the rights of
// usr (default_privs when no user applies) and the environment Postfix
// gives it: HOME, LOGNAME, USER, SENDER, RECIPIENT, LOCAL, SHELL, DOMAIN,
// EXTENSION, ORIGINAL_RECIPIENT and the CLIENT_* and SASL_* details, with
// characters outside command_expansion_filter made '_'. A command with
// shell meta characters runs under /bin/sh -c (or local_command_shell).
//
// Exit status 0 is success. A failure is reported with the enhanced
// status code the command printed ("4.2.2 mailbox full"), else through
// <sysexits.h> (75, EX_TEMPFAIL, defers), else as a permanent failure
// "Command died with status N: "command"", followed by
// ". Command output: TEXT" when it printed anything.
func (j *job) deliverCommand(s state, usr userAttr, command string) int {
	s.level++
	a := j.a
	if j.beenHere(fmt.Sprintf("command %s:%d %s", s.user, usr.uid, command)) {
		return 0
	}
	if j.traceOnly() {
		return j.sent(s, "2.0.0", "delivers to command: %s", command)
	}
	if usr.uid == 0 {
		usr.uid = a.defaultUID
	}
	if usr.gid == 0 {
		usr.gid = a.defaultGID
	}
	flags := copyFrom | copyReturnPath | copyOrigRcpt
	if a.hdrMask&hdrCommand != 0 {
		flags |= copyDelivered
	}
	env := j.commandEnv(s, usr)
	dir, xst := localExpand(a.execDir, s, usr, a.execFilter)
	if xst&expandError != 0 {
		return j.deferf(s, "4.3.5", "mail system configuration error")
	}
	st, corrupt := j.pipeCommand(s, usr, command, env, dir, flags)
	switch {
	case corrupt:
		return 1
	case st.Code == "":
		return j.sent(s, "2.0.0", "delivered to command: %s", command)
	}
	// Bounce or defer by the class of the code, as Postfix's
	// bounce_workaround does.
	return j.bounceWorkaround(s, st)
}

// commandEnv builds the environment of a command delivery.
func (j *job) commandEnv(s state, usr userAttr) []string {
	r := j.r
	var kv [][2]string
	add := func(k, v string) { kv = append(kv, [2]string{k, v}) }
	if usr.home != "" {
		add("HOME", usr.home)
	}
	add("LOGNAME", s.user)
	add("USER", s.user)
	add("SENDER", s.sender)
	add("RECIPIENT", s.rcpt.Address)
	add("LOCAL", s.local)
	if usr.shell != "" {
		add("SHELL", usr.shell)
	}
	if s.domain != "" {
		add("DOMAIN", s.domain)
	}
	if s.extension != "" {
		add("EXTENSION", s.extension)
	}
	if s.rcpt.Orig != "" {
		add("ORIGINAL_RECIPIENT", s.rcpt.Orig)
	}
	for _, p := range [][2]string{
		{"CLIENT_HOSTNAME", r.ClientName}, {"CLIENT_ADDRESS", r.ClientAddr},
		{"CLIENT_HELO", r.HeloName}, {"CLIENT_PROTOCOL", r.ClientProto},
		{"SASL_METHOD", r.SASLMethod}, {"SASL_SENDER", r.SASLSender},
		{"SASL_USERNAME", r.SASLUsername},
	} {
		if p[1] != "" {
			add(p[0], p[1])
		}
	}
	var env []string
	for _, name := range j.a.exportEnv {
		if v, ok := os.LookupEnv(name); ok {
			env = append(env, name+"="+v)
		}
	}
	env = append(env, "PATH="+defaultPath)
	for _, p := range kv {
		env = append(env, p[0]+"="+censor(p[1], j.a.cmdFilter))
	}
	return env
}

// pipeCommand runs command with the message on its standard input and
// returns a status with an empty Code on success, or the status of the
// failure (for a command that failed, with the "x-unix" diagnostic
// that Postfix's pipe_command reports); corrupt is set when the queue
// file could not be read.
func (j *job) pipeCommand(s state, usr userAttr, command string, env []string, dir string, flags int) (st dsn.Status, corrupt bool) {
	a := j.a
	var argv []string
	switch {
	case a.cmdShell != "":
		argv = append(strings.Fields(a.cmdShell), command)
	case strings.Trim(command, shellOK) == "" && strings.Trim(command, " \t") != "":
		argv = strings.Fields(command)
	default:
		argv = []string{"/bin/sh", "-c", command}
	}
	var out limitedBuffer
	path, err := findProgram(argv[0])
	if err != nil && errors.Is(err, fs.ErrNotExist) && a.cmdShell == "" && argv[0] != "/bin/sh" && !strings.Contains(argv[0], "/") {
		// A word not found on the path may be a shell builtin ("exit 1"):
		// like Postfix's exec_command, give the command to the shell.
		argv = []string{"/bin/sh", "-c", command}
		path, err = findProgram(argv[0])
	}
	if err != nil {
		// Postfix's child process logs a fatal error and exits with
		// EX_TEMPFAIL; its output is what the report shows.
		fmt.Fprintf(&out, "local: fatal: execvp %s: %s\n", argv[0], errnoText(err))
		return commandStatus(command, 75, -1, out.text())
	}
	if dir != "" {
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			if err == nil {
				err = syscall.ENOTDIR
			}
			fmt.Fprintf(&out, "local: fatal: cannot change directory to \"%s\" for uid=%d gid=%d: %s\n", dir, usr.uid, usr.gid, errnoText(err))
			return commandStatus(command, 75, -1, out.text())
		}
	}
	// WaitDelay: a command that leaves a background process holding its
	// output open is not waited for beyond its own exit.
	cmd := &exec.Cmd{Path: path, Args: argv, Env: env, Dir: dir, Stdout: &out, Stderr: &out, WaitDelay: time.Second}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if a.Root {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: uint32(usr.uid), Gid: uint32(usr.gid), Groups: []uint32{uint32(usr.gid)}}
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return dsn.New("4.3.0", "Delivery failed: "+errnoText(err)), false
	}
	// The child needs root to take the user's ids, as Postfix's child
	// regains it before set_ugid().
	a.setEugid(0, 0)
	err = cmd.Start()
	a.setEugid(a.ownerUID, a.ownerGID)
	if err != nil {
		fmt.Fprintf(&out, "local: fatal: %s\n", err)
		return commandStatus(command, 75, -1, out.text())
	}
	var timedOut bool
	var mu sync.Mutex
	timer := time.AfterFunc(a.cmdTimeLimit, func() {
		mu.Lock()
		timedOut = true
		mu.Unlock()
		maillog.Warn("pipe_command_wait_or_kill: child wait time limit exceeded")
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Process.Kill()
	})
	cerr := j.mailCopy(s, stdin, flags)
	stdin.Close()
	werr := cmd.Wait()
	timer.Stop()
	mu.Lock()
	expired := timedOut
	mu.Unlock()
	if expired {
		output := out.text()
		return unixStatus("5.3.0", fmt.Sprintf("Command time limit exceeded: \"%s\"%s", command, outputSuffix(output)),
			output, sysexits[exSoftware][1]), false
	}
	exitCode, sig := 0, -1
	if errors.Is(werr, exec.ErrWaitDelay) {
		werr = nil
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && (ws.Signaled() || ws.ExitStatus() != 0) {
			werr = &exec.ExitError{ProcessState: cmd.ProcessState}
		}
	}
	if werr != nil {
		var ee *exec.ExitError
		if !errors.As(werr, &ee) {
			return dsn.New("4.3.0", "Delivery failed: "+werr.Error()), false
		}
		ws, _ := ee.Sys().(syscall.WaitStatus)
		if ws.Signaled() {
			sig = int(ws.Signal())
		} else {
			exitCode = ws.ExitStatus()
		}
	}
	if exitCode != 0 || sig >= 0 {
		return commandStatus(command, exitCode, sig, out.text())
	}
	if cerr != nil {
		if cerr.read {
			return dsn.Status{}, true
		}
		if errnoOf(cerr.err) != syscall.EPIPE && !errors.Is(cerr.err, os.ErrClosed) {
			return dsn.New(mboxDSN(cerr.err, "5.3.0"), fmt.Sprintf("Command failed: error writing message: %s: \"%s\"", errnoText(cerr.err), command)), false
		}
	}
	return dsn.Status{}, false
}

// commandStatus turns a failed command's exit code (or signal, when sig
// >= 0) and output into a status, as Postfix's pipe_command does. The
// status carries the diagnostic "x-unix; TEXT" for the bounce report:
// TEXT is the command output or, when there was none, the <sysexits.h>
// text of the exit code ("unknown mail system error N" for other codes).
func commandStatus(command string, exitCode, sig int, output string) (st dsn.Status, corrupt bool) {
	if sig >= 0 {
		// Debian's Postfix 3.7 defers these (checked in reflocal_test.go).
		return unixStatus("4.3.0", fmt.Sprintf("Command died with signal %d: \"%s\"%s", sig, command, outputSuffix(output)),
			output, sysexits[exSoftware][1]), false
	}
	if dsnPrefixLen(output) > 0 {
		c, text := errorsvc.SplitDSN("5.3.0", output)
		return unixStatus(c, text, text, ""), false
	}
	if d, ok := sysexits[exitCode]; ok {
		return unixStatus(d[0], d[1]+outputSuffix(output), output, d[1]), false
	}
	return unixStatus("5.3.0", fmt.Sprintf("Command died with status %d: \"%s\"%s", exitCode, command, outputSuffix(output)),
		output, fmt.Sprintf("unknown mail system error %d", exitCode)), false
}

// exSoftware is EX_SOFTWARE, whose text stands in for the output of a
// command that was killed without printing anything.
const exSoftware = 70

// unixStatus is a failure status with an "x-unix" diagnostic: the
// command output, or def when there was none.
func unixStatus(code, reason, output, def string) dsn.Status {
	st := dsn.New(code, reason)
	st.DiagType, st.Diag = "x-unix", output
	if output == "" {
		st.Diag = def
	}
	return st
}

// dsnPrefixLen reports whether output starts with an enhanced status code.
func dsnPrefixLen(output string) int {
	c, _ := errorsvc.SplitDSN("", output)
	if c == "" || !strings.HasPrefix(output, c) {
		return 0
	}
	return len(c)
}

func outputSuffix(output string) string {
	if output == "" {
		return ""
	}
	return ". Command output: " + output
}

// findProgram finds argv[0] as execvp does with PATH=/usr/bin:/bin.
func findProgram(name string) (string, error) {
	if strings.Contains(name, "/") {
		if _, err := os.Stat(name); err != nil {
			return "", err
		}
		return name, nil
	}
	for _, dir := range filepath.SplitList(defaultPath) {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, nil
		}
	}
	return "", syscall.ENOENT
}

// limitedBuffer keeps the first outputLimit bytes written to it and
// discards the rest, so that a chatty command never blocks.
type limitedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if room := outputLimit - l.buf.Len(); room > 0 {
		l.buf.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

// text returns the output as the report shows it: tabs and newlines
// become spaces and other unprintable bytes '_'.
func (l *limitedBuffer) text() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := bytes.Clone(l.buf.Bytes())
	for i, c := range b {
		switch {
		case c == '\t' || c == '\n':
			b[i] = ' '
		case c < 0x20 || c == 0x7f:
			b[i] = '_'
		}
	}
	return string(b)
}

var _ io.Writer = (*limitedBuffer)(nil)
