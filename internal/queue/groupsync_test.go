package queue

import (
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// TestCreateNamedGroup writes many files at once the way cleanup does
// (CreateNamed, one GroupSync): each file is in place under its queue ID
// from the start, mode 0600 until Commit, 0700 after it, with its content.
func TestCreateNamedGroup(t *testing.T) {
	t.Parallel()
	l := Layout{Dir: t.TempDir(), Hashed: []string{Hold}, Depth: 1}
	if err := l.MakeDirs(); err != nil {
		t.Fatal(err)
	}
	var g GroupSync
	var mu sync.Mutex
	ids := map[string]string{}
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Go(func() {
			f, err := l.CreateNamed(Incoming)
			if err != nil {
				t.Error(err)
				return
			}
			f.Group = &g
			st, err := os.Stat(l.Path(Incoming, f.ID))
			if err != nil || st.Mode().Perm() != ModeWriting {
				t.Errorf("%s before commit: %v, %v", f.ID, st, err)
			}
			if i%10 == 0 {
				f.SetQueue(Hold) // moved at Commit, as cleanup holds mail
			}
			body := "message " + f.ID
			f.WriteString(body)
			if err := f.Commit(); err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			ids[f.Path()] = body
			mu.Unlock()
		})
	}
	wg.Wait()
	if len(ids) != 40 {
		t.Fatalf("%d files committed", len(ids))
	}
	for p, body := range ids {
		st, err := os.Stat(p)
		if err != nil || st.Mode().Perm() != ModeReady {
			t.Fatalf("%s: %v, %v", p, st, err)
		}
		if b, _ := os.ReadFile(p); string(b) != body {
			t.Errorf("%s holds %q, want %q", p, b, body)
		}
	}
	in, _ := os.ReadDir(filepath.Join(l.Dir, Incoming))
	if len(in) != 36 {
		t.Errorf("incoming holds %d files, want 36", len(in))
	}
}

// TestCreateNamedAbort: an aborted file leaves nothing behind.
func TestCreateNamedAbort(t *testing.T) {
	t.Parallel()
	l := Layout{Dir: t.TempDir()}
	l.MakeDirs()
	f, err := l.CreateNamed(Incoming)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("partial")
	f.Abort()
	if ents, _ := os.ReadDir(filepath.Join(l.Dir, Incoming)); len(ents) != 0 {
		t.Errorf("abort left %v", ents)
	}
}

// TestSyncBatch drives both ways a batch is synced: one syncfs for files
// of one file system, fsync one by one otherwise; and a failure reaches
// every caller of the batch it belongs to.
func TestSyncBatch(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	open := func(name string) *os.File {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString(name)
		return f
	}
	req := func(f *os.File, dev uint64) *syncReq {
		return &syncReq{f: f, dev: dev, done: make(chan struct{})}
	}
	a, b := open("a"), open("b")
	defer a.Close()
	defer b.Close()
	for _, devs := range [][2]uint64{{1, 1}, {1, 2}} {
		batch := []*syncReq{req(a, devs[0]), req(b, devs[1])}
		syncBatch(batch)
		for _, r := range batch {
			<-r.done
			if r.err != nil {
				t.Errorf("devices %v: %v", devs, r.err)
			}
		}
	}
	c := open("c")
	c.Close()
	batch := []*syncReq{req(c, 1), req(a, 1)} // syncfs through a closed file
	syncBatch(batch)
	for _, r := range batch {
		if r.err == nil {
			t.Error("syncfs through a closed file succeeded")
		}
	}
	batch = []*syncReq{req(a, 1), req(c, 2)} // fsync one by one
	syncBatch(batch)
	if batch[0].err != nil || !errors.Is(batch[1].err, os.ErrClosed) {
		t.Errorf("fsync one by one: %v, %v", batch[0].err, batch[1].err)
	}
	var g GroupSync
	if err := g.Sync(c); err == nil {
		t.Error("Sync of a closed file succeeded")
	}
	if err := g.Sync(a); err != nil {
		t.Errorf("Sync after a failure: %v", err)
	}
}
