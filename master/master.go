package master

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/postfix-go/postfix/conf"
	"github.com/postfix-go/postfix/internal/getopt"
	"github.com/postfix-go/postfix/internal/maillog"
	"github.com/postfix-go/postfix/internal/msg"
	"golang.org/x/sys/unix"
)

// Environment variables between a detaching master and its background
// copy.
const (
	envDetached = "PFGO_MASTER_DETACHED" // set in the background copy
	envReadyFD  = "PFGO_MASTER_READY_FD" // descriptor to report readiness on (-w)
)

// Master is the running supervisor.
type Master struct {
	cfgDir   string
	cfg      *conf.Config
	queueDir string
	services []*service
	all      map[int]*process
	warned   map[string]bool // missing programs already reported
	events   chan any
	gen      uint32
	verbose  int
	fg       bool // children get -d
	stopping bool
	own      owner
	env      []string

	devnull, stdout, stderr uintptr
	locks                   []*os.File
}

type options struct {
	dir                  string
	debug, keepStdout    bool
	initMode, test, wait bool
	exitTime             int
	verbose              int
}

// Main runs the master command with args (argv without argv[0]) and
// returns its exit status; a running master only returns on a signal or
// -e, and usually exits on its own.
func Main(args []string) int {
	// One processor, as for the daemons (internal/server): master only
	// waits for events and starts processes.
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(1)
	}
	msg.SetProgName(progName())
	var o options
	_, ok := getopt.Parse(progName(), os.Stderr, args, "c:Dde:istvw", func(c byte, arg string) bool {
		switch c {
		case 'c':
			o.dir = arg
		case 'd':
			o.debug = true
		case 'D':
		case 'e':
			n, err := strconv.Atoi(arg)
			if err != nil || n < 0 {
				msg.Fatal("bad -e value: %s", arg)
			}
			o.exitTime = n
		case 'i':
			if os.Getpid() != 1 {
				msg.Fatal("-i is allowed only for PID 1")
			}
			o.initMode = true
		case 's':
			o.keepStdout = true
		case 't':
			o.test = true
		case 'v':
			o.verbose++
			msg.Verbose++
		case 'w':
			o.wait = true
		}
		return true
	})
	if !ok {
		msg.Fatal("usage: %s [-Ddistvw] [-c config_dir] [-e exit_time]", progName())
	}
	if o.dir != "" {
		os.Setenv("MAIL_CONFIG", o.dir)
	}
	dir := conf.ConfigDir()
	c, err := conf.Load(dir)
	if err != nil {
		msg.Fatal("%v", err)
	}
	if o.test {
		return testRunning(c)
	}
	foreground := o.debug || o.keepStdout || o.initMode
	if !foreground && os.Getenv(envDetached) == "" {
		return detach(o.wait)
	}
	m := &Master{cfgDir: dir, cfg: c, all: map[int]*process{}, warned: map[string]bool{}, events: make(chan any, 64),
		verbose: o.verbose, fg: o.debug}
	return m.run(o)
}

func progName() string {
	if len(os.Args) > 0 && os.Args[0] != "" {
		return filepath.Base(os.Args[0])
	}
	return "master"
}

// pidFiles returns the two lock files.
func pidFiles(c *conf.Config) (pidFile, lockFile string) {
	return filepath.Join(c.Get("queue_directory"), "pid", "master.pid"),
		filepath.Join(c.Get("data_directory"), "master.lock")
}

// testRunning implements -t.
func testRunning(c *conf.Config) int {
	if _, running := Running(c); running {
		return 1 // silently, as Postfix's master -t
	}
	return 0
}

// Running reports whether a master runs for configuration c (its lock
// file $queue_directory/pid/master.pid is locked) and, if so, its process
// id as written in that file.
func Running(c *conf.Config) (pid int, running bool) {
	pidFile, _ := pidFiles(c)
	f, err := os.OpenFile(pidFile, os.O_RDONLY, 0)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err == nil {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		return 0, false
	}
	b := make([]byte, 64)
	n, _ := f.Read(b)
	pid, _ = strconv.Atoi(strings.TrimSpace(string(b[:n])))
	return pid, true
}

// detach starts the real master in the background, in its own session,
// and, with wait, waits until it reports that it has initialised.
func detach(wait bool) int {
	exe, err := os.Executable()
	if err != nil {
		msg.Fatal("cannot find my own executable: %v", err)
	}
	devnull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		msg.Fatal("open %s: %v", os.DevNull, err)
	}
	defer devnull.Close()
	r, w, err := os.Pipe()
	if err != nil {
		msg.Fatal("pipe: %v", err)
	}
	env := append(os.Environ(), envDetached+"=1", envReadyFD+"=3")
	attr := &os.ProcAttr{Env: env, Files: []*os.File{devnull, devnull, devnull, w},
		Sys: &syscall.SysProcAttr{Setsid: true}}
	argv := append([]string{os.Args[0]}, os.Args[1:]...)
	p, err := os.StartProcess(exe, argv, attr)
	w.Close()
	if err != nil {
		msg.Fatal("start master: %v", err)
	}
	p.Release()
	if !wait {
		r.Close()
		return 0
	}
	r.SetReadDeadline(time.Now().Add(60 * time.Second))
	buf := make([]byte, 1)
	n, _ := io.ReadFull(r, buf)
	r.Close()
	if n == 1 && buf[0] == '0' {
		return 0
	}
	fmt.Fprintf(os.Stderr, "%s: fatal: daemon initialization failure\n", progName())
	return 1
}

// run is the master proper.
func (m *Master) run(o options) int {
	c := m.cfg
	maillog.Init("master", c)
	if o.debug {
		maillog.Stderr(isTerminal(2))
	}
	m.queueDir = c.Get("queue_directory")
	m.setOwner()
	devnull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		maillog.Fatal("open %s: %s", os.DevNull, errText(err))
	}
	m.devnull, m.stdout, m.stderr = devnull.Fd(), devnull.Fd(), devnull.Fd()
	if o.debug || o.keepStdout || o.initMode {
		m.stdout = 1
	}
	if o.debug || o.keepStdout || o.initMode {
		m.stderr = 2
	}
	if err := os.Chdir(m.queueDir); err != nil {
		maillog.Fatal("chdir(\"%s\"): %s", m.queueDir, errText(err))
	}
	m.makeDirs()
	m.lock()
	m.env = childEnv(c, m.cfgDir)
	signal.Ignore(syscall.SIGPIPE)
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT)
	if err := m.configure(true); err != nil {
		maillog.Fatal("%v", err)
	}
	maillog.Info("daemon started -- version %s, configuration %s", c.Get("mail_version"), m.cfgDir)
	if fd := os.Getenv(envReadyFD); fd != "" {
		if n, err := strconv.Atoi(fd); err == nil {
			f := os.NewFile(uintptr(n), "ready")
			f.Write([]byte("0"))
			f.Close()
		}
		os.Unsetenv(envReadyFD)
	}
	var exitTimer <-chan time.Time
	if o.exitTime > 0 {
		exitTimer = time.After(time.Duration(o.exitTime) * time.Second)
	}
	for {
		select {
		case sig := <-sigs:
			if sig == syscall.SIGHUP {
				m.reload()
				continue
			}
			m.terminate(sig.(syscall.Signal))
		case <-exitTimer:
			maillog.Info("master exit time has arrived")
			return 0
		case ev := <-m.events:
			switch ev := ev.(type) {
			case statusEvent:
				m.onStatus(ev)
			case exitEvent:
				m.onExit(ev)
			case readyEvent:
				m.onReady(ev.s)
			case wakeEvent:
				m.onWake(ev.s)
			case unthrottleEvent:
				ev.s.throttled = false
				m.rearm(ev.s)
			}
		}
	}
}

// setOwner decides who owns sockets and master.lock.
func (m *Master) setOwner() {
	m.own = owner{uid: -1, gid: -1}
	if os.Geteuid() != 0 {
		return
	}
	name := m.cfg.Get("mail_owner")
	u, err := user.Lookup(name)
	if err != nil {
		maillog.Fatal("file %s/main.cf: parameter mail_owner: unknown user name value: %s", m.cfgDir, name)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if uid == 0 {
		maillog.Fatal("file %s/main.cf: parameter mail_owner: user %s has privileged user ID", m.cfgDir, name)
	}
	m.own = owner{uid: uid, gid: gid}
}

// makeDirs creates the directories master itself needs when missing.
func (m *Master) makeDirs() {
	for _, d := range []struct {
		name string
		mode os.FileMode
		own  bool
	}{{"pid", 0755, false}, {"public", 0710, true}, {"private", 0700, true}} {
		p := filepath.Join(m.queueDir, d.name)
		if _, err := os.Stat(p); err == nil {
			continue
		}
		if err := os.Mkdir(p, d.mode); err != nil {
			maillog.Fatal("mkdir %s: %s", p, errText(err))
		}
		if d.own {
			chown(p, m.own)
		}
	}
	if dd := m.cfg.Get("data_directory"); dd != "" {
		if _, err := os.Stat(dd); err != nil {
			if err := os.MkdirAll(dd, 0700); err != nil {
				maillog.Fatal("mkdir %s: %s", dd, errText(err))
			}
			chown(dd, m.own)
		}
	}
}

// lock takes the two lock files and writes the process id into them.
func (m *Master) lock() {
	pidFile, lockFile := pidFiles(m.cfg)
	for i, path := range []string{pidFile, lockFile} {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0600)
		if err != nil {
			maillog.Fatal("open lock file %s: %s", path, errText(err))
		}
		if i == 1 {
			chown(path, m.own)
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			maillog.Fatal("open lock file %s: unable to set exclusive lock: %s", path, errText(err))
		}
		syscall.CloseOnExec(int(f.Fd()))
		f.Truncate(0)
		f.WriteAt([]byte(fmt.Sprintf("%32d\n", os.Getpid())), 0)
		m.locks = append(m.locks, f)
	}
}

// childEnv is the environment of every child: import_environment,
// MAIL_CONFIG and MAIL_LOGTAG, and GOMAXPROCS=1 unless import_environment
// gave a GOMAXPROCS (spawn adds GENERATION).
//
// GOMAXPROCS=1 is ours, not Postfix's: a Go daemon sizes its runtime from
// the environment before any of its code runs, and one processor from the
// first instruction makes its start-up (paid every max_use clients)
// cheaper than shrinking to one later (as server.Run does for a daemon
// started otherwise), the more so the more processors the machine has.
// Commands that daemons run do not see it: local gives them only
// export_environment.
func childEnv(c *conf.Config, dir string) []string {
	var env []string
	procs := false
	for _, item := range c.List("import_environment") {
		if strings.Contains(item, "=") {
			env = append(env, item)
		} else if v, ok := os.LookupEnv(item); ok {
			env = append(env, item+"="+v)
		} else {
			continue
		}
		procs = procs || strings.HasPrefix(env[len(env)-1], "GOMAXPROCS=")
	}
	env = setEnv(env, "MAIL_CONFIG", dir)
	env = setEnv(env, "MAIL_LOGTAG", c.Get("syslog_name"))
	if !procs {
		env = append(env, "GOMAXPROCS=1")
	}
	return env
}

func setEnv(env []string, name, value string) []string {
	out := env[:0]
	for _, e := range env {
		if !strings.HasPrefix(e, name+"=") {
			out = append(out, e)
		}
	}
	return append(out, name+"="+value)
}

// terminate ends the master on sig, passing it to the children.
func (m *Master) terminate(sig syscall.Signal) {
	maillog.Info("terminating on signal %d", int(sig))
	m.stopping = true
	for pid, p := range m.all {
		p.killed = true
		syscall.Kill(pid, sig)
	}
	signal.Reset(sig)
	syscall.Kill(os.Getpid(), sig)
	time.Sleep(time.Second)
	os.Exit(1)
}

func isTerminal(fd int) bool {
	_, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	return err == nil
}
