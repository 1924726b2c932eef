// Package postfixcmd is the postfix(1) command: it starts, stops,
// reloads and checks the mail system, doing what Postfix's postfix(1) and
// its postfix-script do, with the same messages and exit statuses.
//
//	postfix [-Dv] [-c config_dir] command
//
// Commands: start (check, then start master(8) in the background and wait
// until it has initialised), start-fg (the same, with master in the
// foreground), stop (SIGTERM to master, wait up to five seconds, then kill
// its process group), abort (SIGTERM to master), reload (SIGHUP to master),
// status, flush (run "postqueue -f"; when this project's postqueue is not in
// $command_directory, the same triggers are sent directly), check (create
// missing queue directories, then report ownership and permission problems),
// set-permissions (create missing directories and set the queue
// directories' owners and modes, and those of postdrop and postqueue),
// upgrade-configuration (create missing directories), logrotate (rename
// maillog_file with the maillog_file_rotate_suffix time stamp, make the
// running master reload so that every process opens the new file, wait a
// second, then compress the old one with maillog_file_compressor).
//
// Messages are Postfix's: they are logged with the tag
// "$syslog_name/postfix-script" and, when standard error is a terminal,
// also printed there ("postfix/postfix-script: the Postfix mail system is not
// running"); a command that cannot be done exits with status 1. The running
// master is recognised by its locked $queue_directory/pid/master.pid, as
// "master -t" does.
//
// The check is postfix-script's: the queue directory and its pid directory
// must belong to root and not be group or world writable; the files under
// config_directory, daemon_directory, meta_directory and shlib_directory
// must belong to root, must not be group or world writable and must not be
// symbolic links out of their directory; data_directory and the queue
// directories must belong to mail_owner; public, maildrop, postqueue and
// postdrop must belong to setgid_group, and postqueue and postdrop must be
// set-gid; files in the chroot copies (bin, etc, lib, sbin, usr under
// queue_directory) must belong to root and match the originals; files in
// corrupt/ are damaged messages. Each problem is one warning naming the path
// ("warning: not owned by postfix: /var/spool/postfix/incoming/X"). Unlike
// postfix-script, warnings come in sorted order rather than directory order,
// and run by a user other than root (unprivileged mode), the ownership
// and set-gid checks are skipped: everything belongs to that user. Unlike Postfix, a
// maillog_file does not require a postlog service in master.cf (every
// process of this project writes the file itself), and "postfix check" does
// not run postsuper's queue file name check.
//
// Parameters read: config_directory, command_directory, daemon_directory,
// meta_directory, shlib_directory, queue_directory, data_directory,
// mail_owner, setgid_group, syslog_name and those of internal/maillog.
package postfixcmd

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/postfix-go/postfix/conf"
	"github.com/postfix-go/postfix/internal/getopt"
	"github.com/postfix-go/postfix/internal/ipc"
	"github.com/postfix-go/postfix/internal/maillog"
	"github.com/postfix-go/postfix/internal/msg"
	"github.com/postfix-go/postfix/master"
	"golang.org/x/sys/unix"
)

const usage = "Usage: postfix start (or stop, reload, abort, flush, check, status, set-permissions, upgrade-configuration, logrotate)"

// cmd is one run of postfix(1).
type cmd struct {
	c       *conf.Config
	dir     string
	verbose int
}

// Main runs postfix(1) with args (without argv[0]) and returns the exit
// status.
func Main(args []string) int {
	tty := isTerminal(2)
	var dir string
	c := &cmd{}
	operands, ok := getopt.Parse("postfix", os.Stderr, args, "c:Dv", func(o byte, arg string) bool {
		switch o {
		case 'c':
			dir = arg
		case 'v':
			c.verbose++
			msg.Verbose++
		}
		return true
	})
	if !ok {
		return 1
	}
	if dir != "" {
		os.Setenv("MAIL_CONFIG", dir)
	}
	c.dir = conf.ConfigDir()
	msg.SetProgName("postfix")
	if !tty {
		msg.SetOutput(discard{})
	}
	cfg, err := conf.Load(c.dir)
	if err != nil {
		msg.Fatal("%v", err)
	}
	c.c = cfg
	maillog.OpenLazily()
	maillog.Init("postfix-script", cfg)
	maillog.Stderr(tty)
	maillog.StderrName(maillog.Tag())
	op := ""
	if len(operands) > 0 {
		op = operands[0]
	}
	if code, ok := c.checkDirs(); !ok {
		return code
	}
	switch op {
	case "start", "start-fg":
		return c.start(op == "start-fg")
	case "stop":
		return c.stop()
	case "abort":
		return c.signal("aborting the Postfix mail system", syscall.SIGTERM)
	case "reload":
		return c.signal("refreshing the Postfix mail system", syscall.SIGHUP)
	case "status":
		return c.status()
	case "flush":
		return c.flush()
	case "check":
		if !c.checkFatal() {
			return 1
		}
		c.checkWarn()
		return 0
	case "set-permissions":
		if !c.createMissing(true) {
			return 1
		}
		return 0
	case "logrotate":
		if len(operands) != 1 {
			return c.fatal("usage postfix %s (no arguments)", op)
		}
		return c.logrotate()
	case "upgrade-configuration":
		if !c.createMissing(false) {
			return 1
		}
		return 0
	}
	return c.fatal("unknown command: '%s'. %s", op, usage)
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// fatal logs "fatal: TEXT" and returns exit status 1.
func (c *cmd) fatal(format string, args ...any) int {
	maillog.Log(maillog.LevelFatal, format, args...)
	return 1
}

// checkDirs verifies the directories postfix-script changes into.
func (c *cmd) checkDirs() (int, bool) {
	for _, d := range []struct{ param, what string }{
		{"command_directory", "command directory"},
		{"daemon_directory", "daemon directory"},
		{"config_directory", "configuration directory"},
		{"meta_directory", "meta directory"},
		{"queue_directory", "queue directory"},
	} {
		p := c.c.Get(d.param)
		if d.param == "config_directory" {
			p = c.dir
		}
		if st, err := os.Stat(p); err != nil || !st.IsDir() {
			return c.fatal("no Postfix %s %s!", d.what, p), false
		}
		if d.param == "daemon_directory" {
			if _, err := os.Stat(filepath.Join(p, "master")); err != nil {
				return c.fatal("no Postfix master program %s/master!", p), false
			}
		}
	}
	return 0, true
}

func (c *cmd) running() (int, bool) { return master.Running(c.c) }

// start implements start and start-fg.
func (c *cmd) start(fg bool) int {
	if _, ok := c.running(); ok {
		return c.fatal("the Postfix mail system is already running")
	}
	qs := filepath.Join(c.c.Get("queue_directory"), "quick-start")
	if _, err := os.Stat(qs); err == nil {
		os.Remove(qs)
	} else {
		if !c.checkFatal() {
			return c.fatal("Postfix integrity check failed!")
		}
		c.checkWarn()
	}
	maillog.Info("starting the Postfix mail system")
	m := filepath.Join(c.c.Get("daemon_directory"), "master")
	args := []string{"-w"}
	if fg {
		args = []string{"-s"}
		if os.Getpid() == 1 {
			args = []string{"-i"}
		}
	}
	for i := 0; i < c.verbose; i++ {
		args = append(args, "-v")
	}
	run := exec.Command(m, args...)
	run.Args[0] = m
	run.Dir = c.c.Get("queue_directory")
	run.Stdin, run.Stdout, run.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := run.Run(); err != nil {
		if fg {
			// As postfix-script's shell reports its foreground master.
			if ee, ok := err.(*exec.ExitError); ok {
				if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
					return 128 + int(ws.Signal())
				}
				return ee.ExitCode()
			}
			return 1
		}
		return c.fatal("mail system startup failed")
	}
	return 0
}

// stop implements stop.
func (c *cmd) stop() int {
	pid, ok := c.running()
	if !ok {
		return c.fatal("the Postfix mail system is not running")
	}
	maillog.Info("stopping the Postfix mail system")
	syscall.Kill(pid, syscall.SIGTERM)
	for i := 0; i < 5; i++ {
		// Postfix checks at once; a moment's grace avoids a needless
		// "waiting" line for a master that is exiting right now.
		for j := 0; j < 20; j++ {
			if _, ok := c.running(); !ok {
				return 0
			}
			time.Sleep(10 * time.Millisecond)
		}
		maillog.Info("waiting for the Postfix mail system to terminate")
		time.Sleep(time.Second)
	}
	maillog.Warn("stopping the Postfix mail system with force")
	syscall.Kill(-pid, syscall.SIGKILL)
	syscall.Kill(pid, syscall.SIGKILL)
	return 0
}

// signal implements abort and reload.
func (c *cmd) signal(text string, sig syscall.Signal) int {
	pid, ok := c.running()
	if !ok {
		return c.fatal("the Postfix mail system is not running")
	}
	maillog.Info("%s", text)
	if err := syscall.Kill(pid, sig); err != nil {
		return c.fatal("kill %d: %s", pid, ipc.ErrnoText(err))
	}
	return 0
}

// status implements status.
func (c *cmd) status() int {
	pid, ok := c.running()
	if !ok {
		maillog.Info("the Postfix mail system is not running")
		return 1
	}
	maillog.Info("the Postfix mail system is running: PID: %d", pid)
	return 0
}

// flush runs postqueue -f, or sends its triggers itself.
func (c *cmd) flush() int {
	qdir := c.c.Get("queue_directory")
	if err := os.Chdir(qdir); err != nil {
		return c.fatal("no Postfix queue directory %s!", qdir)
	}
	pq := filepath.Join(c.c.Get("command_directory"), "postqueue")
	if st, err := os.Stat(pq); err == nil && !st.IsDir() {
		run := exec.Command(pq, "-f")
		run.Stdin, run.Stdout, run.Stderr = os.Stdin, os.Stdout, os.Stderr
		if err := run.Run(); err != nil {
			if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() > 0 {
				return ee.ExitCode()
			}
			return 1
		}
		return 0
	}
	// As postqueue -f: the deferred and incoming queues, then maildrop.
	name := c.c.Get("queue_service_name")
	if err := ipc.Trigger(c.c, "public", name, ipc.FlushDeferred); err != nil {
		fmt.Fprintf(os.Stderr, "postqueue: warning: unable to look up public/%s: %s\n", name, ipc.ErrnoText(err))
		fmt.Fprintf(os.Stderr, "postqueue: fatal: Cannot flush mail queue - mail system is down\n")
		return 69
	}
	ipc.Trigger(c.c, "public", c.c.Get("pickup_service_name"), []byte{ipc.Wakeup})
	return 0
}

func isTerminal(fd int) bool {
	_, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	return err == nil
}
