package server

import (
	"encoding/binary"
	"fmt"
	"github.com/postfix-go/postfix/maptypes"
	"io"
	"net"
	"os"
	"os/user"
	"runtime"
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
)

// Mode says how a daemon takes its work.
type Mode int

// The three skeletons, as Postfix's.
const (
	// Single serves one connection at a time per process (local, smtp, smtpd).
	Single Mode = iota
	// Multi serves many concurrent connections per process (cleanup,
	// trivial-rewrite, bounce, showq).
	Multi
	// Trigger accepts a connection (or reads the fifo), reads up to 1024
	// bytes, closes, and calls Options.Trigger (pickup, qmgr).
	Trigger
)

// Descriptor numbers shared with master.
const (
	FlowReadFD  = 3 // flow control pipe, read end
	FlowWriteFD = 4 // flow control pipe, write end
	StatusFD    = 5 // status socket
	ListenFD    = 6 // first listener
)

// Status values a child reports on StatusFD.
const (
	StatusTaken = 0 // the child has taken work
	StatusAvail = 1 // the child is ready for work
)

// StatusSize is the size of one status message.
const StatusSize = 12

// Status is one status message from a child to master.
type Status struct {
	Pid    int    // the child's process id
	Gen    uint32 // master's generation the child was started in
	Status int    // StatusAvail or StatusTaken
}

// Encode returns the wire form of s.
func (s Status) Encode() []byte {
	b := make([]byte, StatusSize)
	binary.LittleEndian.PutUint32(b[0:], uint32(int32(s.Pid)))
	binary.LittleEndian.PutUint32(b[4:], s.Gen)
	binary.LittleEndian.PutUint32(b[8:], uint32(int32(s.Status)))
	return b
}

// DecodeStatus parses one status message of StatusSize bytes.
func DecodeStatus(b []byte) Status {
	return Status{
		Pid:    int(int32(binary.LittleEndian.Uint32(b[0:]))),
		Gen:    binary.LittleEndian.Uint32(b[4:]),
		Status: int(int32(binary.LittleEndian.Uint32(b[8:]))),
	}
}

// Service is what a daemon knows about the master.cf service it serves.
type Service struct {
	Name   string       // the master.cf service name (-n): "local", "rewrite"
	Type   string       // the master.cf type (-t): unix, inet, fifo, pass, unix-dgram
	Config *conf.Config // main.cf with this service's -o overrides
	Layout queue.Layout // from Config, with Dir "." (the working directory is queue_directory)
	Root   bool         // started as root (privileged mode); false = unprivileged mode
	// Args are the master.cf arguments that are not skeleton options
	// (pipe's "flags=… argv=…", for example).
	Args []string
	// Chroot and Unpriv are the master.cf chroot and unprivileged columns
	// (-c, -u).
	Chroot, Unpriv bool
	// MaxProc is 1 with -l, 0 with -z, and -1 when unknown.
	MaxProc int
}

// Options are what a daemon plugs into the skeleton.
type Options struct {
	Mode Mode
	// PreJail runs as root (in privileged mode), before chroot: open
	// tables, files, keys.
	PreJail func(s *Service) error
	// PostJail runs after chroot and the privilege drop; goroutines may
	// start here.
	PostJail func(s *Service) error
	// Conn serves one connection (Single, Multi) and returns; the skeleton
	// closes the connection afterwards.
	Conn func(s *Service, c net.Conn)
	// Trigger handles one trigger request (Trigger mode); calls are
	// serialised.
	Trigger func(s *Service, data []byte)
	// KeepRoot keeps root privileges even with -u (local, pipe, virtual
	// switch users per delivery).
	KeepRoot bool
	// Exit, when set, runs when a Single or Multi server ends by itself
	// (max_use, max_idle, master gone), before the process exits
	// (Postfix's MAIL_SERVER_EXIT; anvil logs its statistics there).
	Exit func(s *Service)
	// Abandon makes a Multi server exit as soon as master goes away,
	// without waiting for its clients to finish (as Postfix's do): anvil
	// must not keep counting for the clients of an old generation.
	Abandon bool
}

// args is the parsed command line.
type args struct {
	chroot, unpriv, standalone bool
	service, typ               string
	listeners                  int
	maxproc                    int
	overrides                  []conf.MasterParam
	operands                   []string
}

// parseArgs parses the skeleton's options; the first operand ends them.
func parseArgs(name string, argv []string) (*args, error) {
	a := &args{listeners: 1, maxproc: -1, service: name, typ: "unix"}
	var bad string
	var stderr strings.Builder
	ops, ok := getopt.Parse(name, &stderr, argv, "cdDilm:n:o:s:St:uvVz", func(c byte, arg string) bool {
		switch c {
		case 'c':
			a.chroot = true
		case 'u':
			a.unpriv = true
		case 'l':
			a.maxproc = 1
		case 'z':
			a.maxproc = 0
		case 'n':
			a.service = arg
		case 't':
			a.typ = arg
		case 's':
			n, err := strconv.Atoi(arg)
			if err != nil || n < 1 {
				bad = "invalid socket_count: " + arg
				return false
			}
			a.listeners = n
		case 'S':
			a.standalone = true
		case 'o':
			n, v, _ := strings.Cut(arg, "=")
			a.overrides = append(a.overrides, conf.MasterParam{Name: strings.TrimSpace(n), Value: strings.TrimSpace(v)})
		case 'v':
			msg.Verbose++
		}
		return true
	})
	if !ok {
		if bad == "" {
			bad = strings.TrimSpace(stderr.String())
		}
		return nil, fmt.Errorf("%s", bad)
	}
	a.operands = ops
	return a, nil
}

// LocalZone is the local time zone's name, looked up before chroot
// (looking it up loads /etc/localtime, which the jail does not have).
var LocalZone string

// Run starts the daemon name (the command name, used in its log tag) with
// opts; see the package comment. It never returns.
func Run(name string, opts Options) {
	// One processor, like Postfix's single-threaded daemons: a daemon's
	// work is I/O and hand-offs between a few goroutines, and with more
	// processors the Go scheduler spends more CPU waking and parking
	// threads than the work itself takes (make bench: sendmail to
	// Maildir went from x0.93 to x0.99 of Postfix's rate). Concurrency
	// comes from master's processes, as in Postfix. A GOMAXPROCS in the
	// environment (import_environment) still wins. Under master the
	// environment already says GOMAXPROCS=1 (master's childEnv), so the
	// runtime starts on one processor; this is for daemons run otherwise.
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(1)
	}
	a, err := parseArgs(name, os.Args[1:])
	if err != nil {
		msg.Fatal("%v", err)
	}
	dir := conf.ConfigDir()
	c, err := conf.Load(dir)
	if err != nil {
		msg.Fatal("%v", err)
	}
	c = c.ForService(&conf.MasterEntry{Service: a.service, Type: a.typ, Command: name, Params: a.overrides})
	maillog.Init(name, c)
	// Lookup tables report connection trouble and bad source lines
	// through these hooks; a daemon logs them, as Postfix's do.
	maptypes.Warn = func(text string) { maillog.Warn("%s", text) }
	maptypes.TableWarn = maptypes.Warn
	if !a.standalone && !isSocket(StatusFD) {
		maillog.Fatal("%s: no status descriptor from master: this program is run by master(8), or by hand with -S", name)
	}
	s := &Service{Name: a.service, Type: a.typ, Config: c, Layout: queue.FromConfig(c),
		Root: os.Geteuid() == 0, Args: a.operands, Chroot: a.chroot, Unpriv: a.unpriv, MaxProc: a.maxproc}
	c.Warm()
	startProfile(name)
	qdir := c.Get("queue_directory")
	if err := os.Chdir(qdir); err != nil {
		maillog.Fatal("chdir(\"%s\"): %s", qdir, ipc.ErrnoText(err))
	}
	ipc.SetInQueueDir()
	// Queue paths are relative to the working directory, which is the
	// queue directory both before and after chroot, so a Layout taken in
	// PreJail keeps working in the jail. Daemons must not change directory.
	s.Layout.Dir = "."
	if opts.PreJail != nil {
		if err := opts.PreJail(s); err != nil {
			maillog.Fatal("%v", err)
		}
	}
	// Load the local time zone now: /etc/localtime is not in the jail.
	LocalZone, _ = time.Now().Zone()
	if s.Root {
		if err := jail(s, opts.KeepRoot); err != nil {
			maillog.Fatal("%v", err)
		}
		if s.Chroot {
			// In the jail the queue directory is "/": a queue path
			// taken from the configuration from now on must say so.
			c.Set("queue_directory", "/")
		}
	}
	if opts.PostJail != nil {
		if err := opts.PostJail(s); err != nil {
			maillog.Fatal("%v", err)
		}
	}
	if a.standalone {
		exit(standalone(s, opts))
	}
	code := serve(s, opts, a.listeners)
	if opts.Exit != nil {
		opts.Exit(s)
	}
	exit(code)
}

// jail chroots (with -c) and drops to mail_owner (with -u, unless keepRoot).
func jail(s *Service, keepRoot bool) error {
	var uid, gid int
	drop := s.Unpriv && !keepRoot
	if drop {
		owner := s.Config.Get("mail_owner")
		u, err := user.Lookup(owner)
		if err != nil {
			return fmt.Errorf("unknown mail_owner account: %s", owner)
		}
		uid, _ = strconv.Atoi(u.Uid)
		gid, _ = strconv.Atoi(u.Gid)
		if uid == 0 {
			return fmt.Errorf("mail_owner account %s has privileged user ID", owner)
		}
	}
	if s.Chroot {
		if err := syscall.Chroot("."); err != nil {
			return fmt.Errorf("chroot(%s): %s", s.Config.Get("queue_directory"), ipc.ErrnoText(err))
		}
		if err := syscall.Chdir("/"); err != nil {
			return fmt.Errorf("chdir(/): %s", ipc.ErrnoText(err))
		}
		// The working directory is the jail's root, which is
		// queue_directory: relative socket paths keep working.
	}
	if drop {
		if err := syscall.Setgroups([]int{gid}); err != nil {
			return fmt.Errorf("setgroups: %s", ipc.ErrnoText(err))
		}
		if err := syscall.Setgid(gid); err != nil {
			return fmt.Errorf("setgid(%d): %s", gid, ipc.ErrnoText(err))
		}
		if err := syscall.Setuid(uid); err != nil {
			return fmt.Errorf("setuid(%d): %s", uid, ipc.ErrnoText(err))
		}
	}
	return nil
}

// isSocket reports whether fd is an open socket.
func isSocket(fd int) bool {
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		return false
	}
	return st.Mode&syscall.S_IFMT == syscall.S_IFSOCK
}

// stdioConn is standard input and output as one connection.
type stdioConn struct {
	net.Conn
	r io.Reader
	w io.Writer
}

func (c stdioConn) Read(p []byte) (int, error)  { return c.r.Read(p) }
func (c stdioConn) Write(p []byte) (int, error) { return c.w.Write(p) }
func (c stdioConn) Close() error                { return nil }
func (c stdioConn) LocalAddr() net.Addr         { return &net.UnixAddr{Name: "stdin", Net: "unix"} }
func (c stdioConn) RemoteAddr() net.Addr        { return &net.UnixAddr{Name: "stdin", Net: "unix"} }

// SetDeadline and its two variants are not supported on standard
// input/output and do nothing.
func (c stdioConn) SetDeadline(time.Time) error      { return nil }
func (c stdioConn) SetReadDeadline(time.Time) error  { return nil }
func (c stdioConn) SetWriteDeadline(time.Time) error { return nil }

// standalone serves standard input/output once (-S) and returns the exit
// status.
func standalone(s *Service, opts Options) int {
	if opts.Mode == Trigger {
		data, _ := io.ReadAll(io.LimitReader(os.Stdin, 1024))
		if opts.Trigger != nil {
			opts.Trigger(s, data)
		}
		return 0
	}
	var conn net.Conn
	if isSocket(0) {
		if c, err := net.FileConn(os.Stdin); err == nil {
			conn = c
		}
	}
	if conn == nil {
		conn = stdioConn{r: os.Stdin, w: os.Stdout}
	}
	if opts.Conn != nil {
		opts.Conn(s, conn)
	}
	conn.Close()
	return 0
}
