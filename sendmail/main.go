package sendmail

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/postfix-go/postfix/conf"
	"github.com/postfix-go/postfix/internal/attr"
	"github.com/postfix-go/postfix/internal/ipc"
	"github.com/postfix-go/postfix/internal/maillog"
	"github.com/postfix-go/postfix/internal/msg"
	"github.com/postfix-go/postfix/internal/record"
	"github.com/postfix-go/postfix/internal/submit"
	"github.com/postfix-go/postfix/postdrop"
)

// exTempFail is the exit status of every fatal error (EX_TEMPFAIL).
const exTempFail = 75

// Main runs sendmail with the command line args and returns its exit
// status.
func Main(args []string, stdin io.Reader, stdout io.Writer) int {
	syscall.Umask(0o022)
	prog := filepath.Base(args[0])
	if prog == "." || prog == "/" {
		prog = "sendmail"
	}
	msg.SetProgName(prog)
	maillog.StderrName(prog)
	msg.SetExit(func(int) { os.Exit(exTempFail) })
	maillog.SetExit(func(int) { os.Exit(exTempFail) })
	if os.Geteuid() == 0 && os.Getuid() != 0 {
		msg.Warn("the Postfix sendmail command has set-uid root file permissions")
		msg.Warn("or the command is run from a set-uid root process")
		msg.Warn("the Postfix sendmail command must be installed without set-uid root file permissions")
		if err := syscall.Setuid(os.Getuid()); err != nil {
			msg.Fatal("setuid: %v", err)
		}
	}
	dir, complaints := ConfigDir(prog, args[1:])
	for _, c := range complaints {
		fmt.Fprintln(os.Stderr, c)
	}
	if dir != "" {
		os.Setenv("MAIL_CONFIG", dir)
	}
	c, err := conf.Load(conf.ConfigDir())
	if err != nil {
		msg.Fatal("%v", err)
	}
	maillog.Init("sendmail", c)
	maillog.Stderr(true)
	qdir := c.Get("queue_directory")
	if err := os.Chdir(qdir); err != nil {
		maillog.Fatal("chdir %s: %s", qdir, ipc.ErrnoText(err))
	}
	o, err := Parse(prog, args[1:], Params{
		VerpDelims: c.Get("default_verp_delimiters"),
		VerpFilter: c.Get("verp_delimiter_filter"),
	})
	for _, d := range o.Diags {
		switch d.Level {
		case "warning":
			maillog.Warn("%s", d.Text)
		case "info":
			maillog.Info("%s", d.Text)
		default:
			fmt.Fprintln(os.Stderr, d.Text)
		}
	}
	if err != nil {
		maillog.Fatal("%s", err.Error())
	}
	msg.Verbose = o.Verbose
	if o.QTime != "" && o.Mode != ModeDaemon {
		return 0
	}
	cmdDir := c.Get("command_directory")
	verbose := make([]string, o.Verbose)
	for i := range verbose {
		verbose[i] = "-v"
	}
	switch o.Mode {
	case ModeEnqueue:
		switch {
		case o.Site != "":
			if len(o.Operands) > 0 {
				maillog.Fatal("flush site requires no recipient")
			}
			replace(cmdDir, append([]string{"postqueue", "-s", o.Site}, verbose...))
		case o.QueueID != "":
			if len(o.Operands) > 0 {
				maillog.Fatal("flush queue_id requires no recipient")
			}
			replace(cmdDir, append([]string{"postqueue", "-i", o.QueueID}, verbose...))
		}
		enqueue(c, o, stdin, stdout)
		return 0
	case ModeMailq:
		if len(o.Operands) > 0 {
			maillog.Fatal("display queue mode requires no recipient")
		}
		replace(cmdDir, append([]string{"postqueue", "-p"}, verbose...))
	case ModeFlushq:
		if len(o.Operands) > 0 {
			maillog.Fatal("flush queue mode requires no recipient")
		}
		replace(cmdDir, append([]string{"postqueue", "-f"}, verbose...))
	case ModeDaemon:
		if len(o.Operands) > 0 {
			maillog.Fatal("daemon mode requires no recipient")
		}
		argv := append(append([]string{"postfix"}, verbose...), "start")
		cmd := exec.Command(filepath.Join(cmdDir, "postfix"), argv[1:]...)
		cmd.Args[0] = "postfix"
		if err := cmd.Start(); err != nil {
			maillog.Warn("fork: %v", err)
			return 1
		}
		_ = cmd.Process.Release()
		return 0
	case ModeNewAlias:
		if len(o.Operands) > 0 {
			maillog.Fatal("alias initialization mode requires no recipient")
		}
		maps := c.Get("alias_database")
		if o.AliasMaps != nil {
			maps = *o.AliasMaps
		}
		if maps == "" {
			return 0
		}
		argv := append([]string{"postalias"}, verbose...)
		argv = append(argv, strings.FieldsFunc(maps, func(r rune) bool { return strings.ContainsRune(", \t\r\n", r) })...)
		replace(cmdDir, argv)
	case ModeUser:
		if len(o.Operands) > 0 {
			maillog.Fatal("stand-alone mode requires no recipient")
		}
		uid := os.Getuid()
		if name, denied := postdrop.CheckUserACL(c, "authorized_submit_users", uid); denied {
			maillog.Fatal("User %s(%d) is not allowed to submit mail", name, uid)
		}
		replace(c.Get("daemon_directory"), append([]string{"smtpd", "-S"}, verbose...))
	case ModeIgnore:
		return 0
	}
	return 0
}

// replace runs dir/argv[0] in place of this process, as Postfix's
// mail_run_replace does.
func replace(dir string, argv []string) {
	path := filepath.Join(dir, argv[0])
	err := syscall.Exec(path, argv, os.Environ())
	maillog.Fatal("execv %s: %s", path, ipc.ErrnoText(err))
}

// enqueue posts one message through postdrop. It returns only on success.
func enqueue(c *conf.Config, o *Options, stdin io.Reader, stdout io.Writer) {
	uid := os.Getuid()
	if name, denied := postdrop.CheckUserACL(c, "authorized_submit_users", uid); denied {
		maillog.Fatal("User %s(%d) is not allowed to submit mail", name, uid)
	}
	s := &Submission{
		Opts: o, UID: uid, FullName: o.FullName,
		LineLimit:   c.Int("line_length_limit"),
		FixEOL:      c.Get("sendmail_fix_line_endings"),
		HeaderLimit: c.Int("header_size_limit"),
	}
	if o.Sender != nil {
		sender, ok := ParseSender(*o.Sender)
		if !ok {
			maillog.Warn("-f option specified malformed sender: %s", *o.Sender)
		}
		s.Sender = sender
	} else {
		u, err := user.LookupId(strconv.Itoa(uid))
		if err != nil {
			maillog.Fatal("no login name found for user ID %d", uid)
		}
		s.Sender = u.Username
	}
	if s.FullName == nil {
		if name, ok := fullName(uid); ok {
			s.FullName = &name
		}
	}

	cmdDir := c.Get("command_directory")
	command := filepath.Join(cmdDir, "postdrop") + " -r" + strings.Repeat(" -v", o.Verbose)
	var pd *postdropProc
	var err error
	if os.Getuid() == 0 && os.Geteuid() == 0 && o.Verbose == 0 {
		// Root may write the maildrop queue itself: do postdrop's job
		// in this process rather than start it (the same file, replies
		// and diagnostics; one program start less per message).
		pd, err = servePostdrop(c, uid)
	} else {
		pd, err = startPostdrop(cmdDir, o.Verbose)
	}
	if err != nil {
		// Postfix's text: its errno after the child's failure.
		maillog.Fatal("%s(%d): unable to execute %s: Application error", s.Sender, uid, command)
	}
	w := record.NewWriter(pd.in)
	if err := s.Write(w, stdin); err != nil {
		pd.abort()
		var se *SubmitError
		if errors.As(err, &se) {
			maillog.Fatal("%s", se.Text)
		}
		maillog.Fatal("%s(%d): error writing queue file: %s", s.Sender, uid, ipc.ErrnoText(err))
	}
	if err := w.Flush(); err != nil {
		pd.abort()
		maillog.Fatal("%s(%d): error writing queue file: %s", s.Sender, uid, ipc.ErrnoText(err))
	}
	status := pd.finish()
	if status != 0 {
		maillog.Fatal("%s(%d): %s", s.Sender, uid, submit.StatusText(status))
	}
	if o.Flags&traceMask != 0 {
		fmt.Fprintf(stdout, "Mail Delivery Status Report will be mailed to <%s>.\n", s.Sender)
	}
}

// fullName returns the sender's full name as Postfix's fullname() finds
// it: $NAME, else the GECOS field of the password file up to the first
// ',', ';' or '%', with '&' standing for the capitalized login name.
func fullName(uid int) (string, bool) {
	if v, ok := os.LookupEnv("NAME"); ok {
		return v, true
	}
	u, err := user.LookupId(strconv.Itoa(uid))
	if err != nil {
		return "", false
	}
	g := u.Name
	if i := strings.IndexAny(g, ",;%"); i >= 0 {
		g = g[:i]
	}
	if strings.Contains(g, "&") {
		login := u.Username
		if login != "" {
			login = strings.ToUpper(login[:1]) + login[1:]
		}
		g = strings.ReplaceAll(g, "&", login)
	}
	return g, true
}

// errNoPostdrop means postdrop did not start or did not announce itself.
var errNoPostdrop = errors.New("postdrop did not answer")

// postdropProc is a running postdrop -r: a child process, or postdrop's
// code in a goroutine of this process (done delivers its status).
type postdropProc struct {
	cmd  *exec.Cmd
	done chan int
	in   io.WriteCloser
	dec  *attr.Decoder
	ID   string
}

// servePostdrop runs postdrop's job in this process (postdrop.Serve) over
// in-memory pipes, speaking the same protocol as the program.
func servePostdrop(c *conf.Config, uid int) (*postdropProc, error) {
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	p := &postdropProc{done: make(chan int, 1), in: inW, dec: attr.NewDecoder(bufio.NewReader(outR), attr.Zero)}
	p.dec.Path = "postdrop"
	go func() {
		status := postdrop.Serve(c, uid, inR, outW)
		// Whatever postdrop did not read is the caller's to drop.
		inR.CloseWithError(syscall.EPIPE)
		outW.Close()
		p.done <- status
	}()
	var proto string
	n, err := p.dec.Scan(attr.Missing|attr.More, attr.WantStr(attr.ProtocolAttr, &proto), attr.WantStr("queue_id", &p.ID))
	if err == nil && n == 2 && proto == postdrop.Protocol {
		_, err = p.dec.Scan(0)
	}
	if err != nil || n != 2 || proto != postdrop.Protocol {
		inW.Close()
		<-p.done
		return nil, errNoPostdrop
	}
	return p, nil
}

// wait waits for postdrop to end; it reports whether it ended well.
func (p *postdropProc) wait() bool {
	if p.cmd == nil {
		// The program's exit status is postdrop's status.
		return <-p.done == 0
	}
	return p.cmd.Wait() == nil
}

// startPostdrop runs $command_directory/postdrop -r and reads its queue
// ID. Postfix's child prints its exec failure itself; we print the same.
func startPostdrop(cmdDir string, verbose int) (*postdropProc, error) {
	path := filepath.Join(cmdDir, "postdrop")
	args := append([]string{"-r"}, strings.Fields(strings.Repeat("-v ", verbose))...)
	cmd := exec.Command(path, args...)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	command := path + " -r" + strings.Repeat(" -v", verbose)
	if err := cmd.Start(); err != nil {
		maillog.Log(maillog.LevelFatal, "execvp %s: %s", path, ipc.ErrnoText(unwrapExec(err)))
		maillog.Warn("command \"%s\" exited with status 1", command)
		return nil, errNoPostdrop
	}
	p := &postdropProc{cmd: cmd, in: in, dec: attr.NewDecoder(bufio.NewReader(out), attr.Zero)}
	p.dec.Path = "postdrop"
	var proto string
	n, err := p.dec.Scan(attr.Missing|attr.More, attr.WantStr(attr.ProtocolAttr, &proto), attr.WantStr("queue_id", &p.ID))
	if err == nil && n == 2 && proto == postdrop.Protocol {
		_, err = p.dec.Scan(0)
	}
	if err != nil || n != 2 || proto != postdrop.Protocol {
		in.Close()
		if werr := cmd.Wait(); werr != nil {
			var ee *exec.ExitError
			if errors.As(werr, &ee) {
				maillog.Warn("command \"%s\" exited with status %d", command, ee.ExitCode())
			}
		}
		return nil, errNoPostdrop
	}
	return p, nil
}

func unwrapExec(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// abort closes postdrop's input before the E record: postdrop removes
// its file.
func (p *postdropProc) abort() {
	p.in.Close()
	p.wait()
}

// finish reads postdrop's completion status and waits for it. A missing
// or malformed reply counts as a write error, as in Postfix.
func (p *postdropProc) finish() int {
	var status uint32
	var reason string
	n, err := p.dec.Scan(attr.Strict, attr.WantInt("status", &status), attr.WantStr("reason", &reason))
	p.in.Close()
	if !p.wait() {
		// Postfix's words when postdrop's exit status is not zero.
		maillog.Warn("mail_stream_cleanup: close error")
	}
	if err != nil || n != 2 {
		return postdrop.StatWrite
	}
	return int(status)
}
