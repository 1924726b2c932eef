package qmgr

import (
	"bytes"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/postfix-go/postfix/internal/deliver"
	"github.com/postfix-go/postfix/internal/queue"
)

// lockedFile answers ReadAt exactly as os.File does, for files smaller
// and larger than what it reads at once.
func TestLockedFileReadAt(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewSource(1))
	for _, size := range []int{0, 1, 100, headSize - 1, headSize, headSize + 1, 3*headSize + 17} {
		data := make([]byte, size)
		rng.Read(data)
		path := filepath.Join(t.TempDir(), "f")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		lf, err := openLocked(path)
		if err != nil {
			t.Fatal(err)
		}
		of, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 2000; i++ {
			n := rng.Intn(9000)
			off := int64(rng.Intn(size + 10))
			if i%7 == 0 {
				off = int64(headSize - rng.Intn(20)) // around the edge of the head
			}
			a, b := make([]byte, n), make([]byte, n)
			na, ea := lf.ReadAt(a, off)
			nb, eb := of.ReadAt(b, off)
			if na != nb || (ea == nil) != (eb == nil) || (ea == io.EOF) != (eb == io.EOF) || !bytes.Equal(a[:na], b[:nb]) {
				t.Fatalf("size %d: ReadAt(%d bytes, %d) = %d, %v; os.File: %d, %v", size, n, off, na, ea, nb, eb)
			}
		}
		of.Close()
		if err := lf.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// A file someone else holds a lock on is errLocked; a missing one is
// fs.ErrNotExist.
func TestOpenLockedErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if _, err := openLocked(filepath.Join(dir, "missing")); !os.IsNotExist(err) {
		t.Fatalf("missing file: %v", err)
	}
	path := filepath.Join(dir, "f")
	if err := os.WriteFile(path, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	a, err := openLocked(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := openLocked(path); err != errLocked {
		t.Fatalf("second lock: %v, want errLocked", err)
	}
	a.Close()
	b, err := openLocked(path)
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	b.Close()
}

// An agent that answers "done" but leaves recipients undone in the queue
// file does not make the queue manager drop them: the message is kept
// and only those recipients are tried again, whether the message was read
// in one go (the recipients' offsets are checked) or in chunks (the file
// is read again).
func TestUndoneRecipientsKept(t *testing.T) {
	t.Parallel()
	for _, chunked := range []bool{false, true} {
		var params []string
		if chunked {
			params = []string{"qmgr_message_recipient_limit", "2", "qmgr_message_recipient_minimum", "1"}
		}
		e := newEnv(t, params...)
		var mu sync.Mutex
		lazy := true
		var retried []string
		e.agent("smtp", func(r *deliver.Request) int {
			mu.Lock()
			defer mu.Unlock()
			if lazy {
				// Mark only b done, and claim success for all.
				for i := range r.Recipients {
					if r.Recipients[i].Address == "b@r.example" {
						r.Sent(&r.Recipients[i], "test", deliverStatus("2.0.0", "ok"))
					}
				}
				return deliver.StatFinal
			}
			for _, rc := range r.Recipients {
				retried = append(retried, rc.Address)
			}
			return sent(r)
		})
		id := e.submit("s@example.com", "a@r.example", "b@r.example", "c@r.example")
		e.run("I")
		if !e.exists(queue.Deferred, id) {
			t.Fatalf("chunked=%v: message with undone recipients not deferred", chunked)
		}
		mu.Lock()
		lazy = false
		mu.Unlock()
		e.run("FA")
		if e.exists(queue.Deferred, id) {
			t.Fatalf("chunked=%v: message not delivered on retry", chunked)
		}
		mu.Lock()
		got := retried
		mu.Unlock()
		if len(got) != 2 || got[0] == "b@r.example" || got[1] == "b@r.example" {
			t.Errorf("chunked=%v: retried %v, want a and c only", chunked, got)
		}
	}
}

// pendingAt reads only the recipients' stretch of the file and agrees
// with pendingRecipients.
func TestPendingAt(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.submit("s@example.com", "a@r.example", "b@r.example", "c@r.example")
	path := e.l.Path(queue.Incoming, id)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := readMessage(f, id, path)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	var offs []int64
	for _, rc := range msg.rcpts {
		offs = append(offs, rc.Offset)
	}
	if err := deliver.MarkDone(path, offs[1]); err != nil {
		t.Fatal(err)
	}
	got, err := pendingAt(path, offs)
	if err != nil {
		t.Fatal(err)
	}
	want, err := pendingRecipients(path, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || len(want) != 2 || !got[offs[0]] || !got[offs[2]] || !want[offs[0]] || !want[offs[2]] {
		t.Errorf("pendingAt %v, pendingRecipients %v; want offsets %d and %d", got, want, offs[0], offs[2])
	}
	if _, err := pendingAt(path, []int64{0, maxOffsetSpan + 1}); err != errSpan {
		t.Errorf("far apart: %v, want errSpan", err)
	}
}
