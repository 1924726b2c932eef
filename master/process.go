package master

import (
	"bufio"
	"io"
	"os"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/postfix-go/postfix/internal/ipc"
	"github.com/postfix-go/postfix/internal/maillog"
	"github.com/postfix-go/postfix/internal/server"
	"golang.org/x/sys/unix"
)

// process is one child.
type process struct {
	pid      int
	gen      uint32
	svc      *service
	avail    bool
	useCount int
	status   *os.File // master's end of the status socket
	killed   bool     // master sent it a signal
}

// Events delivered to the master's loop.
type (
	statusEvent struct {
		p  *process
		st server.Status
	}
	exitEvent struct {
		p  *process
		ws syscall.WaitStatus
	}
	readyEvent      struct{ s *service }
	wakeEvent       struct{ s *service }
	unthrottleEvent struct{ s *service }
)

// poller watches a service's listeners for pending work while the master
// wants to know (no process available); it then sends one readyEvent.
type poller struct {
	fds   []int
	armed atomic.Bool
	kick  chan struct{}
	stop  chan struct{}
	done  chan struct{}
	wake  [2]int // a pipe that interrupts poll(2) when the poller stops
}

func newPoller(fds []int) *poller {
	p := &poller{fds: fds, kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	if err := unix.Pipe2(p.wake[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
		p.wake = [2]int{-1, -1}
	}
	return p
}

// shutdown stops the poller and waits until it no longer uses the
// listeners: a descriptor inside poll(2) keeps its socket alive.
func (p *poller) shutdown() {
	close(p.stop)
	if p.wake[1] >= 0 {
		unix.Write(p.wake[1], []byte{0})
	}
	<-p.done
	if p.wake[0] >= 0 {
		unix.Close(p.wake[0])
		unix.Close(p.wake[1])
	}
}

// arm turns watching on or off.
func (p *poller) arm(on bool) {
	if p.armed.Swap(on) != on && on {
		select {
		case p.kick <- struct{}{}:
		default:
		}
	}
}

func (p *poller) run(s *service, events chan<- any) {
	defer close(p.done)
	pfds := make([]unix.PollFd, len(p.fds), len(p.fds)+1)
	for i, fd := range p.fds {
		pfds[i] = unix.PollFd{Fd: int32(fd), Events: unix.POLLIN}
	}
	if p.wake[0] >= 0 {
		pfds = append(pfds, unix.PollFd{Fd: int32(p.wake[0]), Events: unix.POLLIN})
	}
	for {
		select {
		case <-p.stop:
			return
		default:
		}
		if !p.armed.Load() {
			select {
			case <-p.kick:
			case <-p.stop:
				return
			}
			continue
		}
		n, err := unix.Poll(pfds, 1000)
		if err != nil && err != unix.EINTR {
			time.Sleep(200 * time.Millisecond)
			continue
		}
		ready := false
		for _, pf := range pfds[:len(p.fds)] {
			if pf.Revents != 0 {
				ready = true
			}
		}
		if n > 0 && ready && p.armed.Swap(false) {
			select {
			case events <- readyEvent{s}:
			case <-p.stop:
				return
			}
		}
	}
}

// spawn starts one process for s.
func (m *Master) spawn(s *service) {
	pair, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		maillog.Warn("socketpair: %s", errText(err))
		return
	}
	var flow [2]int
	if err := syscall.Pipe2(flow[:], syscall.O_CLOEXEC); err != nil {
		syscall.Close(pair[0])
		syscall.Close(pair[1])
		maillog.Warn("pipe: %s", errText(err))
		return
	}
	// Our daemons never write to standard error, but the Go runtime does
	// when one crashes: in the background, master logs those lines.
	stderr, errPipe := m.stderr, [2]int{-1, -1}
	if m.stderr == m.devnull && syscall.Pipe2(errPipe[:], syscall.O_CLOEXEC) == nil {
		stderr = uintptr(errPipe[1])
	}
	files := []uintptr{m.devnull, m.stdout, stderr, uintptr(flow[0]), uintptr(flow[1]), uintptr(pair[1])}
	for _, fd := range s.fds {
		files = append(files, uintptr(fd))
	}
	env := append(append([]string(nil), m.env...), "GENERATION="+strconv.FormatUint(uint64(m.gen), 8))
	pid, err := syscall.ForkExec(s.path, s.argv, &syscall.ProcAttr{Env: env, Files: files, Dir: m.queueDir})
	syscall.Close(pair[1])
	syscall.Close(flow[0])
	syscall.Close(flow[1])
	if errPipe[1] >= 0 {
		syscall.Close(errPipe[1])
		if err != nil {
			syscall.Close(errPipe[0])
		} else {
			go logStderr(s.path, pid, os.NewFile(uintptr(errPipe[0]), "stderr"))
		}
	}
	if err != nil {
		syscall.Close(pair[0])
		maillog.Warn("%s: %s -- throttling", s.path, errText(err))
		m.throttle(s)
		return
	}
	// Non-blocking, so that the runtime poller owns it: closing it (to
	// retire the process) then really closes it even while the reader
	// below waits, and the child sees end of file at once.
	syscall.SetNonblock(pair[0], true)
	p := &process{pid: pid, gen: m.gen, svc: s, avail: true, status: os.NewFile(uintptr(pair[0]), "status")}
	s.procs[pid] = p
	m.all[pid] = p
	s.avail++
	s.used = true
	maillog.Debug("spawn: %s pid %d", s.path, pid)
	go func() {
		buf := make([]byte, server.StatusSize)
		for {
			if _, err := io.ReadFull(p.status, buf); err != nil {
				return
			}
			m.events <- statusEvent{p, server.DecodeStatus(buf)}
		}
	}()
	go func() {
		// os.Process waits through a pidfd and the runtime poller, so
		// hundreds of children do not each hold a thread in wait4(2).
		var ws syscall.WaitStatus
		if proc, err := os.FindProcess(pid); err == nil {
			if st, err := proc.Wait(); err == nil {
				ws, _ = st.Sys().(syscall.WaitStatus)
			}
		}
		m.events <- exitEvent{p, ws}
	}()
}

// maxStderrLines bounds what one child's standard error puts in the log.
const maxStderrLines = 200

// logStderr logs what a child writes on standard error (a Go runtime crash
// report), line by line, as warnings naming the process.
func logStderr(path string, pid int, f *os.File) {
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 4096), 64*1024)
	n := 0
	for sc.Scan() {
		if n++; n > maxStderrLines {
			continue
		}
		maillog.Warn("process %s pid %d: %s", path, pid, sc.Text())
	}
}

// onStatus handles a status message.
func (m *Master) onStatus(ev statusEvent) {
	p := ev.p
	s := p.svc
	if m.all[p.pid] != p || s.procs[p.pid] != p {
		return // retired or gone
	}
	switch ev.st.Status {
	case server.StatusTaken:
		p.useCount++
		if p.avail {
			p.avail = false
			s.avail--
		}
	case server.StatusAvail:
		if !p.avail {
			p.avail = true
			s.avail++
		}
	}
	m.rearm(s)
}

// onExit handles a child's end.
func (m *Master) onExit(ev exitEvent) {
	p := ev.p
	delete(m.all, p.pid)
	p.status.Close()
	s := p.svc
	current := s.procs[p.pid] == p
	if current {
		delete(s.procs, p.pid)
		if p.avail {
			s.avail--
		}
	}
	ws := ev.ws
	if !(ws.Exited() && ws.ExitStatus() == 0) && !p.killed {
		if ws.Exited() {
			maillog.Warn("process %s pid %d exit status %d", s.path, p.pid, ws.ExitStatus())
		} else if ws.Signaled() {
			maillog.Warn("process %s pid %d killed by signal %d", s.path, p.pid, int(ws.Signal()))
		}
		if current && p.useCount == 0 && !s.throttled {
			maillog.Warn("%s: bad command startup -- throttling", s.path)
			m.throttle(s)
		}
	}
	if current {
		m.rearm(s)
	}
}

// throttle stops starting processes for s for service_throttle_time.
func (m *Master) throttle(s *service) {
	s.throttled = true
	d := m.cfg.Time("service_throttle_time", 's')
	time.AfterFunc(d, func() { m.events <- unthrottleEvent{s} })
	m.rearm(s)
}

// rearm decides whether s's listeners must be watched for new work.
func (m *Master) rearm(s *service) {
	if s.poller == nil {
		return
	}
	want := !m.stopping && !s.throttled && s.avail <= 0 &&
		(!s.atLimit() || s.limitWarnDue())
	s.poller.arm(want)
}

// limitWarnInterval is how often a service that keeps its clients waiting
// at its process limit is reported.
const limitWarnInterval = 1000 * time.Second

// atLimit reports whether s runs as many processes as it may.
func (s *service) atLimit() bool { return s.maxProc > 0 && len(s.procs) >= s.maxProc }

// limitWarnDue reports whether a client waiting at the process limit
// should be reported now. Services of one process (qmgr, pickup) are
// never reported: their clients always wait for them.
func (s *service) limitWarnDue() bool {
	return s.maxProc > 1 && time.Since(s.limitWarned) >= limitWarnInterval
}

// endpoint names a service's listener as Postfix's warnings do: the port
// or address of an inet service, "private/NAME" or "public/NAME" else.
func (s *service) endpoint() string {
	if s.typ == "inet" {
		return s.name
	}
	if s.private {
		return "private/" + s.name
	}
	return "public/" + s.name
}

// onReady starts a process when s still needs one.
func (m *Master) onReady(s *service) {
	if !m.isCurrent(s) || m.stopping {
		return
	}
	switch {
	case s.throttled || s.avail > 0:
	case !s.atLimit():
		m.spawn(s)
	case s.limitWarnDue():
		// A client waits and every process is busy.
		s.limitWarned = time.Now()
		maillog.Warn("service \"%s\" (%s) has reached its process limit \"%d\": new clients may experience noticeable delays", s.name, s.endpoint(), s.maxProc)
		maillog.Warn("to avoid this condition, increase the process count in master.cf or reduce the service time per client")
		maillog.Warn("see http://www.postfix.org/STRESS_README.html for examples of stress-adapting configuration settings")
	}
	m.rearm(s)
}

// scheduleWakeup arranges the next wakeup of s after d.
func (m *Master) scheduleWakeup(s *service, d time.Duration) {
	time.AfterFunc(d, func() { m.events <- wakeEvent{s} })
}

// onWake sends s its periodic "W" trigger.
func (m *Master) onWake(s *service) {
	if !m.isCurrent(s) || m.stopping {
		return
	}
	m.wake(s, false)
}

// wake sends s its "W" trigger, unless its wake-up is conditional and it
// has not been used yet, and arms the next one. The trigger goes out in
// the background, or at once when now is set: a service's first wake-up
// is sent as the service starts, before master reports that it runs, as
// Postfix's master does (so pickup's first scan does not come after the
// first message and make it try a refused file twice).
func (m *Master) wake(s *service, now bool) {
	if !s.condWake || s.used {
		path := s.addrs[0]
		send := func() {
			if err := ipc.TriggerPath(path, []byte{ipc.Wakeup}); err != nil {
				maillog.Warn("service %s(public/%s): %v", s.key(), s.name, err)
			}
		}
		if now {
			send()
		} else {
			go send()
		}
	}
	m.scheduleWakeup(s, time.Duration(s.wakeup)*time.Second)
}

// retire tells the processes of s to finish up (reload): master closes its
// end of their status sockets and stops counting them.
func (m *Master) retire(s *service, kill bool) {
	for pid, p := range s.procs {
		delete(s.procs, pid)
		if kill {
			p.killed = true
			syscall.Kill(pid, syscall.SIGTERM)
		}
		p.status.Close()
	}
	s.avail = 0
}

func (m *Master) isCurrent(s *service) bool {
	for _, x := range m.services {
		if x == s {
			return true
		}
	}
	return false
}
