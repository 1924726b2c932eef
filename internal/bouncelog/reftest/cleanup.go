package reftest

import (
	"bufio"
	"net"
	"os"
	"strconv"
	"sync"
	"testing"

	"github.com/postfix-go/postfix/internal/attr"
	"github.com/postfix-go/postfix/internal/record"
)

// Record is one queue file record as a client sent it.
type Record struct {
	Type record.Type
	Data string
}

// Posting is one message submitted to the fake cleanup service.
type Posting struct {
	QueueID string
	Flags   uint32
	Records []Record
	Err     error // a protocol error, nil when the message ended with E
}

// FakeCleanup serves public/cleanup as cleanup(8) does on the wire
// (announces cleanup_protocol with the queue ID, reads the flags and the
// record stream, answers status 0), and keeps what it received.
type FakeCleanup struct {
	mu     sync.Mutex
	posts  []Posting
	seq    int
	status uint32
	active sync.WaitGroup
}

// Wait waits until every connection accepted so far has ended (a client
// that closed its side is recorded once the server sees it).
func (f *FakeCleanup) Wait() { f.active.Wait() }

// SetStatus sets the status returned to clients (0, the default: queued).
func (f *FakeCleanup) SetStatus(st uint32) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.status = st
}

// Postings returns the messages received so far.
func (f *FakeCleanup) Postings() []Posting {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Posting(nil), f.posts...)
}

// Reset forgets the messages received so far.
func (f *FakeCleanup) Reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.posts = nil
}

func listenCleanup(t testing.TB, path string) *FakeCleanup {
	t.Helper()
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o666); err != nil {
		t.Fatal(err)
	}
	f := &FakeCleanup{}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			f.active.Add(1)
			go func() {
				defer f.active.Done()
				f.serve(c)
			}()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return f
}

func (f *FakeCleanup) serve(c net.Conn) {
	defer c.Close()
	f.mu.Lock()
	f.seq++
	id := "NEWID" + strconv.Itoa(f.seq)
	status := f.status
	f.mu.Unlock()
	p := Posting{QueueID: id}
	recorded := false
	record1 := func() {
		if !recorded {
			recorded = true
			f.mu.Lock()
			f.posts = append(f.posts, p)
			f.mu.Unlock()
		}
	}
	defer record1()
	enc := attr.NewEncoder(c, attr.Zero)
	br := bufio.NewReader(c) // NewDecoder keeps using this very reader
	dec := attr.NewDecoder(br, attr.Zero)
	// Postfix 3.7's cleanup sends its protocol name and the queue ID in
	// one record.
	if err := enc.Write(attr.Str("protocol", "cleanup_protocol"), attr.Str("queue_id", id)); err != nil {
		p.Err = err
		return
	}
	if err := enc.Flush(); err != nil {
		p.Err = err
		return
	}
	if _, err := dec.Scan(attr.Strict, attr.WantInt("flags", &p.Flags)); err != nil {
		p.Err = err
		return
	}
	rr := record.NewReader(br, 1<<20)
	for {
		t, data, err := rr.Next()
		if err != nil {
			p.Err = err
			return
		}
		p.Records = append(p.Records, Record{t, string(data)})
		if t == record.End {
			break
		}
	}
	// Keep the message before answering, so that a client that has its
	// answer finds it recorded.
	record1()
	if err := enc.Write(attr.Int("status", status), attr.Str("reason", "")); err == nil {
		_ = enc.Flush()
	}
}
