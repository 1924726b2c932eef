package server

import (
	"errors"
	"net"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/postfix-go/postfix/internal/maillog"
)

// triggerReadTimeout bounds how long a trigger client may take to send
// its request.
const triggerReadTimeout = 10 * time.Second

// daemon is a running server process under master.
type daemon struct {
	s       *Service
	opts    Options
	status  *os.File
	gen     uint32
	maxUse  int
	maxIdle time.Duration

	lns   []net.Listener
	fifos []*os.File
	dgram []net.PacketConn

	statusMu sync.Mutex
	gone     chan struct{} // closed when master has gone away
}

// serve runs the service on the n listeners master passed and returns the
// exit status.
func serve(s *Service, opts Options, n int) int {
	d := &daemon{s: s, opts: opts, status: os.NewFile(StatusFD, "status"),
		maxUse: s.Config.Int("max_use"), maxIdle: s.Config.Time("max_idle", 's'),
		gone: make(chan struct{})}
	// Nothing master passed may leak into programs a daemon runs (local's
	// and pipe's commands): mark every inherited descriptor close-on-exec.
	for fd := FlowReadFD; fd < ListenFD+n; fd++ {
		syscall.CloseOnExec(fd)
	}
	if g, err := strconv.ParseUint(os.Getenv("GENERATION"), 8, 32); err == nil {
		d.gen = uint32(g)
	}
	for i := 0; i < n; i++ {
		f := os.NewFile(uintptr(ListenFD+i), "listener")
		switch s.Type {
		case "fifo":
			d.fifos = append(d.fifos, f)
		case "unix-dgram":
			pc, err := net.FilePacketConn(f)
			if err != nil {
				maillog.Fatal("%s: listener %d: %v", s.Name, i, err)
			}
			f.Close()
			d.dgram = append(d.dgram, pc)
		default:
			ln, err := net.FileListener(f)
			if err != nil {
				maillog.Fatal("%s: listener %d: %v", s.Name, i, err)
			}
			f.Close()
			d.lns = append(d.lns, ln)
		}
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM)
	go func() {
		<-sig
		exit(0)
	}()
	go d.watchMaster()
	d.notify(StatusAvail)
	switch opts.Mode {
	case Single:
		return d.single()
	case Multi:
		return d.multi()
	default:
		return d.trigger()
	}
}

// notify reports status to master.
func (d *daemon) notify(st int) {
	d.statusMu.Lock()
	defer d.statusMu.Unlock()
	d.status.Write(Status{Pid: os.Getpid(), Gen: d.gen, Status: st}.Encode())
}

// watchMaster closes d.gone when the status socket reaches end of file.
func (d *daemon) watchMaster() {
	buf := make([]byte, 64)
	for {
		if _, err := d.status.Read(buf); err != nil {
			break
		}
	}
	close(d.gone)
	// Wake up any Accept that is waiting.
	for _, ln := range d.lns {
		setDeadline(ln, time.Now())
	}
}

func (d *daemon) masterGone() bool {
	select {
	case <-d.gone:
		return true
	default:
		return false
	}
}

func setDeadline(ln net.Listener, t time.Time) {
	if dl, ok := ln.(interface{ SetDeadline(time.Time) error }); ok {
		dl.SetDeadline(t)
	}
}

// acceptOne waits for a connection on any listener until deadline (zero:
// none). It returns nil on timeout or when master is gone.
func (d *daemon) acceptOne(deadline time.Time, pending *[]net.Conn) net.Conn {
	if len(*pending) > 0 {
		c := (*pending)[0]
		*pending = (*pending)[1:]
		return c
	}
	if d.masterGone() {
		return nil
	}
	if len(d.lns) == 1 {
		setDeadline(d.lns[0], deadline)
		c, err := d.lns[0].Accept()
		if err != nil {
			return nil
		}
		return c
	}
	type result struct {
		c   net.Conn
		err error
	}
	ch := make(chan result, len(d.lns))
	for _, ln := range d.lns {
		setDeadline(ln, deadline)
		go func(ln net.Listener) {
			c, err := ln.Accept()
			ch <- result{c, err}
		}(ln)
	}
	var first net.Conn
	for i := range d.lns {
		r := <-ch
		if r.err == nil {
			if first == nil {
				first = r.c
			} else {
				*pending = append(*pending, r.c)
			}
		}
		if i == 0 {
			for _, ln := range d.lns {
				setDeadline(ln, time.Now())
			}
		}
	}
	return first
}

// single serves one connection at a time.
func (d *daemon) single() int {
	var pending []net.Conn
	for used := 0; d.maxUse <= 0 || used < d.maxUse; used++ {
		var deadline time.Time
		if d.maxIdle > 0 {
			deadline = time.Now().Add(d.maxIdle)
		}
		c := d.acceptOne(deadline, &pending)
		if c == nil {
			return 0
		}
		d.notify(StatusTaken)
		if d.opts.Conn != nil {
			d.opts.Conn(d.s, c)
		}
		c.Close()
		d.notify(StatusAvail)
	}
	return 0
}

// multi serves many connections at once.
func (d *daemon) multi() int {
	var mu sync.Mutex
	active, used := 0, 0
	idle := make(chan struct{}, 1) // a client finished and none is left
	conns := make(chan net.Conn)
	stop := make(chan struct{})
	// After max_use, the acceptors stop; a connection one of them had
	// already accepted is still served, so the process waits for them.
	var accepting sync.WaitGroup
	acceptorsDone := make(chan struct{})
	for _, ln := range d.lns {
		accepting.Add(1)
		go func(ln net.Listener) {
			defer accepting.Done()
			for {
				c, err := ln.Accept()
				if err != nil {
					var ne net.Error
					if errors.As(err, &ne) && ne.Timeout() {
						return
					}
					select {
					case <-stop:
						return
					case <-d.gone:
						return
					default:
					}
					time.Sleep(10 * time.Millisecond)
					continue
				}
				select {
				case conns <- c:
				case <-stop:
					conns <- c
					return
				}
			}
		}(ln)
	}
	go func() { accepting.Wait(); close(acceptorsDone) }()
	maxed, acceptDone := false, false
	var timer <-chan time.Time
	if d.maxIdle > 0 {
		timer = time.After(d.maxIdle)
	}
	finishing := false
	gone := d.gone
	for {
		select {
		case c := <-conns:
			mu.Lock()
			active++
			used++
			if d.maxUse > 0 && used >= d.maxUse && !finishing {
				// No more clients for this process: master must
				// start another one for the next.
				d.notify(StatusTaken)
				finishing = true
				maxed = true
				close(stop)
				for _, ln := range d.lns {
					setDeadline(ln, time.Now())
				}
			}
			mu.Unlock()
			timer = nil
			go func() {
				if d.opts.Conn != nil {
					d.opts.Conn(d.s, c)
				}
				c.Close()
				mu.Lock()
				active--
				last := active == 0
				mu.Unlock()
				if last {
					select {
					case idle <- struct{}{}:
					default:
					}
				}
			}()
		case <-idle:
			mu.Lock()
			n := active
			mu.Unlock()
			if n == 0 {
				if (finishing && (!maxed || acceptDone)) || d.masterGone() {
					return 0
				}
				if d.maxIdle > 0 && !finishing {
					timer = time.After(d.maxIdle)
				}
			}
		case <-acceptorsDone:
			acceptorsDone = nil
			acceptDone = true
			mu.Lock()
			n := active
			mu.Unlock()
			if maxed && n == 0 {
				return 0
			}
		case <-timer:
			mu.Lock()
			n := active
			mu.Unlock()
			if n == 0 {
				return 0
			}
		case <-gone:
			mu.Lock()
			n := active
			mu.Unlock()
			if n == 0 || d.opts.Abandon {
				return 0
			}
			finishing = true
			gone = nil // stop selecting on it; idle will end the process
		}
	}
}

// readTrigger reads one trigger request of up to 1024 bytes: what the
// client sends until it closes, or, for a client that waits for the server
// to close first (as Postfix's own trigger clients do), what arrives before
// a short pause.
func readTrigger(c net.Conn) []byte {
	buf := make([]byte, 1024)
	c.SetReadDeadline(time.Now().Add(triggerReadTimeout))
	n, err := c.Read(buf)
	for err == nil && n < len(buf) {
		c.SetReadDeadline(time.Now().Add(triggerPause))
		var m int
		m, err = c.Read(buf[n:])
		n += m
	}
	return buf[:n]
}

// triggerPause is how long a trigger client may pause within its request.
const triggerPause = 100 * time.Millisecond

// trigger serves trigger requests one after another.
func (d *daemon) trigger() int {
	reqs := make(chan []byte)
	for _, ln := range d.lns {
		go func(ln net.Listener) {
			for {
				c, err := ln.Accept()
				if err != nil {
					if d.masterGone() {
						return
					}
					time.Sleep(10 * time.Millisecond)
					continue
				}
				data := readTrigger(c)
				c.Close()
				reqs <- data
			}
		}(ln)
	}
	for _, f := range d.fifos {
		go func(f *os.File) {
			buf := make([]byte, 1024)
			for {
				n, err := f.Read(buf)
				if n > 0 {
					reqs <- append([]byte(nil), buf[:n]...)
				}
				if err != nil {
					return
				}
			}
		}(f)
	}
	for _, pc := range d.dgram {
		go func(pc net.PacketConn) {
			buf := make([]byte, 1024)
			for {
				n, _, err := pc.ReadFrom(buf)
				if n > 0 {
					reqs <- append([]byte(nil), buf[:n]...)
				}
				if err != nil {
					return
				}
			}
		}(pc)
	}
	for {
		select {
		case data := <-reqs:
			d.notify(StatusTaken)
			if d.opts.Trigger != nil {
				d.opts.Trigger(d.s, data)
			}
			d.notify(StatusAvail)
		case <-d.gone:
			return 0
		}
	}
}
