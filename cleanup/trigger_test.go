package cleanup

import (
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// TestTriggerCoalesce: wake-ups asked for while one is being sent are
// sent as one more, after it; none is lost.
func TestTriggerCoalesce(t *testing.T) {
	t.Parallel()
	started := make(chan struct{}, 10)
	release := make(chan struct{})
	var mu sync.Mutex
	sent := 0
	d := &Daemon{wake: func() {
		started <- struct{}{}
		<-release
		mu.Lock()
		sent++
		mu.Unlock()
	}}
	first := make(chan struct{})
	go func() { d.trigger(); close(first) }()
	<-started // the first wake-up is being sent
	var wg sync.WaitGroup
	for range 9 {
		wg.Go(d.trigger) // these only ask for one more
	}
	wg.Wait()
	close(release)
	<-first
	mu.Lock()
	defer mu.Unlock()
	if sent != 2 || len(started) != 1 {
		t.Errorf("%d wake-ups sent, want 2 (the first and one for the nine clients that came meanwhile)", sent)
	}
	if d.trigBusy || d.trigAgain {
		t.Error("trigger state left busy")
	}
}

// TestTriggerSocket: the wake-up is Postfix's "W" and NUL on the queue
// manager's socket.
func TestTriggerSocket(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "qmgr")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	d := &Daemon{qmgrPath: path, Warn: t.Errorf}
	d.trigger()
	ln.(*net.UnixListener).SetDeadline(time.Now().Add(5 * time.Second))
	c, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 8)
	n, _ := c.Read(buf)
	if string(buf[:n]) != "W\x00" {
		t.Errorf("wake-up %q", buf[:n])
	}
}
