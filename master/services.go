package master

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/postfix-go/postfix/conf"
	"github.com/postfix-go/postfix/internal/maillog"
)

// service is one master.cf entry as master runs it.
type service struct {
	entry    *conf.MasterEntry
	name     string // service name, as in master.cf
	typ      string // unix, inet, fifo, unix-dgram
	private  bool
	unpriv   bool
	chroot   bool
	wakeup   int  // seconds; 0: none
	condWake bool // "?" suffix: wake only after a process was started
	maxProc  int  // 0: unlimited
	command  string
	path     string   // $daemon_directory/command
	argv     []string // argv of a child, argv[0] included
	// addrs identify the listeners: socket paths, or host:port for inet.
	addrs []string

	// Run time state.
	fds       []int // listening descriptors, in addrs order
	procs     map[int]*process
	avail     int  // processes that said they are available
	used      bool // a process was started
	throttled bool
	poller    *poller
	// limitWarned is when clients waiting at the process limit were
	// last reported.
	limitWarned time.Time
}

// key names the service for reload matching.
func (s *service) key() string { return s.name + "/" + s.typ }

// identity is what must stay equal for a reloaded service to keep its
// listeners.
func (s *service) identity() string { return s.typ + " " + strings.Join(s.addrs, " ") }

// buildServices turns master.cf entries into services. Problems with one
// entry are warnings; the entry is skipped.
//
// A missing program is reported once per master lifetime (warned remembers
// which), not again at each reload.
func buildServices(c *conf.Config, mf *conf.MasterFile, verbose int, foreground bool, warned map[string]bool) []*service {
	ddir := c.Get("daemon_directory")
	qdir := c.Get("queue_directory")
	disabled := map[string]bool{}
	for _, d := range c.List("master_service_disable") {
		disabled[d] = true
	}
	var out []*service
	seen := map[string]bool{}
	for _, e := range mf.Entries {
		where := fmt.Sprintf("%s: line %d", filepath.Base(mf.Path), e.Line)
		if disabled[e.Type] || disabled[e.Name()] {
			continue
		}
		if seen[e.Name()] {
			maillog.Warn("%s: duplicate service name \"%s\" -- ignoring this entry", where, e.Name())
			continue
		}
		seen[e.Name()] = true
		s := &service{entry: e, name: e.Service, typ: e.Type, procs: map[int]*process{}}
		s.private = e.Private != "n"
		s.unpriv = e.Unpriv != "n"
		s.chroot = e.Chroot != "n"
		if e.Wakeup != "-" {
			w := strings.TrimSuffix(e.Wakeup, "?")
			s.condWake = w != e.Wakeup
			s.wakeup, _ = strconv.Atoi(w)
		}
		if e.Maxproc == "-" {
			s.maxProc = c.Int("default_process_limit")
		} else {
			s.maxProc, _ = strconv.Atoi(e.Maxproc)
		}
		// As in Postfix, the command is always taken from
		// daemon_directory, even when it looks like an absolute path.
		s.command = e.Command
		s.path = ddir + "/" + e.Command
		if st, err := os.Stat(s.path); err != nil || st.IsDir() || st.Mode()&0111 == 0 {
			if !warned[e.Name()+" "+s.path] {
				warned[e.Name()+" "+s.path] = true
				maillog.Warn("%s: service %s: program %s not found -- skipping this service", where, e.Name(), s.path)
			}
			continue
		}
		switch s.typ {
		case "unix", "unix-dgram", "fifo":
			class := "public"
			if s.private {
				class = "private"
			}
			s.addrs = []string{filepath.Join(qdir, class, s.name)}
		case "inet":
			addrs, err := inetAddrs(c, s.name)
			if err != nil {
				maillog.Warn("%s: service %s: %v -- skipping this service", where, e.Name(), err)
				continue
			}
			s.addrs = addrs
			if s.wakeup > 0 {
				maillog.Warn("%s: service %s: wakeup is not supported for inet services", where, e.Name())
				s.wakeup = 0
			}
		case "pass":
			maillog.Warn("%s: service %s: type pass is not supported yet -- skipping this service", where, e.Name())
			continue
		default:
			continue
		}
		s.argv = childArgv(s, verbose, foreground)
		out = append(out, s)
	}
	return out
}

// childArgv builds a child's command line the way Postfix's master does.
func childArgv(s *service, verbose int, foreground bool) []string {
	argv := []string{s.command}
	switch s.maxProc {
	case 1:
		argv = append(argv, "-l")
	case 0:
		argv = append(argv, "-z")
	}
	if s.name != s.command {
		argv = append(argv, "-n", s.name)
	}
	argv = append(argv, "-t", s.typ)
	if foreground {
		argv = append(argv, "-d")
	}
	for i := 0; i < verbose; i++ {
		argv = append(argv, "-v")
	}
	if s.unpriv {
		argv = append(argv, "-u")
	}
	if s.chroot {
		argv = append(argv, "-c")
	}
	if len(s.addrs) > 1 {
		argv = append(argv, "-s", strconv.Itoa(len(s.addrs)))
	}
	return append(argv, s.entry.Args...)
}

// inetAddrs returns the host:port addresses an inet service listens on.
func inetAddrs(c *conf.Config, name string) ([]string, error) {
	host, port := "", name
	if i := strings.LastIndexByte(name, ':'); i >= 0 {
		host, port = name[:i], name[i+1:]
		host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	}
	p, err := lookupPort(c, port)
	if err != nil {
		return nil, err
	}
	ps := strconv.Itoa(p)
	if host != "" {
		if host == "*" {
			host = ""
		}
		return []string{net.JoinHostPort(host, ps)}, nil
	}
	protos := c.Get("inet_protocols")
	v4 := strings.Contains(protos, "ipv4") || strings.Contains(protos, "all")
	v6 := strings.Contains(protos, "ipv6") || strings.Contains(protos, "all")
	var out []string
	for _, ifc := range c.List("inet_interfaces") {
		switch strings.ToLower(ifc) {
		case "all":
			switch {
			case v4 && v6:
				return []string{net.JoinHostPort("", ps)}, nil
			case v6:
				return []string{net.JoinHostPort("::", ps)}, nil
			default:
				return []string{net.JoinHostPort("0.0.0.0", ps)}, nil
			}
		case "loopback-only":
			if v4 {
				out = append(out, net.JoinHostPort("127.0.0.1", ps))
			}
			if v6 {
				out = append(out, net.JoinHostPort("::1", ps))
			}
		default:
			out = append(out, net.JoinHostPort(strings.Trim(ifc, "[]"), ps))
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no inet_interfaces to listen on")
	}
	return out, nil
}

// lookupPort resolves a port number or name: known_tcp_ports, then
// /etc/services.
func lookupPort(c *conf.Config, port string) (int, error) {
	if n, err := strconv.Atoi(port); err == nil && n > 0 && n < 65536 {
		return n, nil
	}
	// known_tcp_ports: "lmtp=24, smtp=25, smtps=submissions=465, submission=587"
	for _, item := range c.List("known_tcp_ports") {
		parts := strings.Split(item, "=")
		for _, name := range parts[:len(parts)-1] {
			if strings.TrimSpace(name) == port {
				if n, err := strconv.Atoi(strings.TrimSpace(parts[len(parts)-1])); err == nil {
					return n, nil
				}
			}
		}
	}
	n, err := net.LookupPort("tcp", port)
	if err != nil {
		return 0, fmt.Errorf("unknown service: %s/tcp", port)
	}
	return n, nil
}
