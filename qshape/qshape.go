package qshape

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/postfix-go/postfix/conf"
	"github.com/postfix-go/postfix/internal/ipc"
	"github.com/postfix-go/postfix/internal/msg"
)

// optionLetters are the options of Postfix's script; a letter followed by
// ':' takes a value. As with Perl's Getopt::Std, any character of this
// string is an option, ':' included.
const optionLetters = "lhc:psw:b:t:m:n:N:"

const usageText = `Usage: %[1]s [ -s ] [ -p ] [ -m <min_subdomains> ] [ -l ]
	[ -b <bucket_count> ] [ -t <bucket_time> ] [ -w <terminal_width> ]
	[ -N <batch_msg_count> ] [ -n <batch_top_domains> ]
	[ -c <config_directory> ] [ <queue_name> ... ]
The 's' option shows sender domain counts.
The 'p' option shows address counts by for parent domains.
Parent domains are shown with a leading '.' before the domain name.
Parent domains are only shown if the domain is not a TLD, and at
least <min_subdomains> (default 5) subdomains are shown in the output.

The bucket age ranges in units of <bucket_time> minutes are
[0,1), [1,2), [2,4), [4,8), [8, 16), ... i.e.:
	the first bucket is [0, bucket_time) minutes
	the second bucket is [bucket_time, 2*bucket_time) minutes
	the third bucket is [2*bucket_time, 4*bucket_time) minutes...
'-l' makes the ages linear, the number of buckets shown is <bucket_count>

The default summary is for the incoming and active queues. An explicit
list of queue names can be given on the command line. Non-absolute queue
names are interpreted relative to the Postfix queue directory. Use
<config_directory> to specify a non-default Postfix instance.  Values of
the main.cf queue_directory parameter that use variable expansions are
not supported. If necessary, use explicit absolute paths for all queues.
`

// Lines of Postfix's script that its Perl warnings name; our warnings name
// them too, so that standard error reads the same.
const (
	lineWidth   = 181
	lineBuckets = 182
	lineTick    = 183
	lineMinSub  = 184
	lineFind    = 375
)

// env is what one run depends on besides its arguments.
type env struct {
	prog     string // $0 of the script: the path the command was run by
	stdout   io.Writer
	stderr   io.Writer
	now      time.Time
	terminal bool   // standard output is a terminal
	clear    string // the terminal's clear-screen sequence
}

// Main runs qshape with args (args[0] is the program name) and returns the
// exit status.
func Main(args []string, stdout, stderr io.Writer) int {
	e := &env{prog: progPath(args[0]), stdout: stdout, stderr: stderr, now: time.Now()}
	if f, ok := stdout.(*os.File); ok {
		if _, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS); err == nil {
			e.terminal = true
		}
	}
	return run(args[1:], e)
}

// progPath is the name the script knows itself by: the path the shell
// found it at when it was run by a bare name.
func progPath(argv0 string) string {
	if argv0 == "" {
		return "qshape"
	}
	if !strings.Contains(argv0, "/") {
		if p, err := exec.LookPath(argv0); err == nil && filepath.IsAbs(p) {
			return p
		}
	}
	return argv0
}

// usageError prints an optional message and the usage text; the status
// is 255, Perl's for a die.
func (e *env) usageError(message string) int {
	if message != "" {
		fmt.Fprintf(e.stderr, "%s: %s", e.prog, message)
	}
	fmt.Fprintf(e.stderr, usageText, e.prog)
	return 255
}

// parseOptions reads the options as Getopt::Std does. opts maps a letter
// to its value (nil for a value missing at the end of the line). The
// remaining arguments are returned; unknown is the first letter that is
// not an option (0 for none): Postfix's script stops there.
func parseOptions(args []string) (opts map[byte]*string, rest []string, unknown byte) {
	opts = map[byte]*string{}
	for len(args) > 0 && len(args[0]) >= 2 && args[0][0] == '-' {
		a := args[0]
		if a == "--" {
			args = args[1:]
			break
		}
		c, tail := a[1], a[2:]
		pos := strings.IndexByte(optionLetters, c)
		if pos < 0 {
			if c == '-' && (tail == "help" || tail == "version") {
				// Getopt::Std prints its own banner here and goes
				// on; we go on without it.
				args = args[1:]
				continue
			}
			return opts, args, c
		}
		if pos+1 < len(optionLetters) && optionLetters[pos+1] == ':' {
			args = args[1:]
			if tail == "" {
				if len(args) == 0 {
					opts[c] = nil
					continue
				}
				tail, args = args[0], args[1:]
			}
			opts[c] = &tail
			continue
		}
		on := "1"
		opts[c] = &on
		if tail == "" {
			args = args[1:]
		} else {
			args[0] = "-" + tail
		}
	}
	return opts, args, 0
}

// number reads a numeric option as Perl does in "$opts{x} > min", with
// Perl's warning, and reports whether it is to be used.
func (e *env) number(opts map[byte]*string, c byte, name string, line int, min float64) (float64, bool) {
	p, ok := opts[c]
	if !ok {
		return 0, false
	}
	if p == nil {
		fmt.Fprintf(e.stderr, "Use of uninitialized value $opts{\"%s\"} in numeric gt (>) at %s line %d.\n", name, e.prog, line)
		return 0, false
	}
	v, numeric := perlNum(*p)
	if !numeric {
		fmt.Fprintf(e.stderr, "Argument \"%s\" isn't numeric in numeric gt (>) at %s line %d.\n", perlDisplay(*p), e.prog, line)
	}
	return v, v > min
}

// run is Main after the environment is set up.
func run(args []string, e *env) int {
	opts, queues, badOption := parseOptions(args)
	// Postfix's script prints the unknown option unless -h came first;
	// either way it ends with the usage.
	if _, help := opts['h']; help {
		return e.usageError("")
	}
	if badOption != 0 {
		return e.usageError(fmt.Sprintf("Unknown option: %c\n", badOption))
	}
	if len(queues) == 0 {
		queues = []string{"incoming", "active"}
	}

	// Relative queue names are inside queue_directory.
	qdir := ""
	for _, q := range queues {
		if strings.HasPrefix(q, "/") {
			continue
		}
		dir := conf.ConfigDir()
		if c, ok := opts['c']; ok {
			dir = ""
			if c != nil {
				dir = *c
			}
		}
		if dir == "" {
			// Postfix reads "" + "/main.cf".
			dir = "/"
		}
		// Postfix's script asks postconf(1), whose warnings about
		// main.cf start with "postconf".
		old := msg.ProgName()
		msg.SetProgName("postconf")
		cfg, err := conf.Load(dir)
		msg.SetProgName(old)
		if err != nil {
			fmt.Fprintf(e.stderr, "postconf: fatal: %v\n", err)
			fmt.Fprintf(e.stderr, "%s: postconf failed\n", e.prog)
			return 1
		}
		qdir, _ = cfg.Raw("queue_directory")
		if strings.Contains(qdir, "$") {
			return e.usageError(fmt.Sprintf("'queue_directory' variable expansion not supported: %s\n", qdir))
		}
		if st, err := os.Stat(qdir); err != nil || !st.IsDir() {
			if err == nil {
				err = syscall.ENOTDIR
			}
			errno := errnoOf(err)
			fmt.Fprintf(e.stderr, "%s: chdir(%s): %s\n", e.prog, qdir, strerror(errno))
			return int(errno)
		}
		break
	}

	set := settings{buckets: 10, tick: 5, width: 80, minSub: 5}
	if v, ok := e.number(opts, 'w', "w", lineWidth, 80); ok {
		set.width = v
	}
	if v, ok := e.number(opts, 'b', "b", lineBuckets, 0); ok {
		set.buckets = v
	}
	if v, ok := e.number(opts, 't', "t", lineTick, 0); ok {
		set.tick = v
	}
	if v, ok := e.number(opts, 'm', "m", lineMinSub, 0); ok {
		set.minSub = v
	}
	_, set.sender = opts['s']
	_, set.parent = opts['p']
	_, set.linear = opts['l']

	// On a terminal the results so far are shown every batch messages,
	// limited to the top rows.
	batch, top := 0.0, 0.0
	if e.terminal {
		batch, top = 1000, 20
		if p, ok := opts['N']; ok {
			batch = 0
			if p != nil {
				batch, _ = perlNum(*p)
			}
		}
		if p, ok := opts['n']; ok {
			top = 0
			if p != nil {
				top, _ = perlNum(*p)
			}
		}
		if e.clear == "" {
			cmd := exec.Command("clear")
			cmd.Stderr = e.stderr
			if out, err := cmd.Output(); err == nil {
				e.clear = string(out)
			}
		}
	}

	w := bufio.NewWriter(e.stdout)
	warn := func(text string, line int) {
		fmt.Fprintf(e.stderr, "%s at %s line %d.\n", text, e.prog, line)
	}
	t := newTally(set)
	t.warn = warn
	results := func() {
		if batch > 0 {
			w.WriteString(e.clear)
		}
		t.write(w, top)
		w.Flush()
	}
	messages := int64(0)
	wk := walker{prog: e.prog, stderr: e.stderr, visit: func(f *os.File, mtime int64) {
		m, res := readEnvelope(f, mtime, warn)
		if res == skipped {
			return
		}
		if res == unknown {
			warn("Use of uninitialized value $qt in subtraction (-)", lineAge)
		} else if _, numeric := perlNum(m.timeText); m.timeRecord && !numeric {
			warn(fmt.Sprintf("Argument \"%s\" isn't numeric in subtraction (-)", perlDisplay(m.timeText)), lineAge)
		}
		b := t.bucket(m.arrival, e.now.Unix())
		if set.sender {
			// A file of unknown form has no sender: it counts as "".
			if res == unknown {
				warn("Use of uninitialized value $_ in lc", lineLower)
			}
			t.add(b, []string{m.sender})
		} else {
			t.add(b, m.recipients)
		}
		messages++
		if n := int64(perlInt(batch)); batch > 0 && n > 0 && messages%n == 0 {
			results()
		}
	}}
	for _, q := range queues {
		path := q
		if !strings.HasPrefix(q, "/") {
			path = filepath.Join(qdir, q)
		}
		wk.top(q, path)
	}
	results()
	return 0
}

func errnoOf(err error) syscall.Errno {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno
	}
	return syscall.EIO
}

// strerror is the C library's text for err's error number, as Perl's $!
// prints it.
func strerror(err error) string { return ipc.ErrnoText(errnoOf(err)) }
