package anvil

import (
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// Sessions of one client that connect and disconnect at the same moment
// all end: the count goes back to zero and no anvil connection is left
// bound to a session that is over, or handed to two sessions at once.
func TestClientSimultaneousDisconnects(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "anvil")
	startServer(t, path, NewTable(time.Minute))
	w := &warnings{}
	a := newTestClient(path, w)
	defer a.Close()
	const rounds, n = 30, 8
	for round := 0; round < rounds; round++ {
		var start, wg sync.WaitGroup
		start.Add(1)
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				start.Wait()
				if _, _, err := a.Connect("smtp", "192.0.2.7"); err != nil {
					t.Error(err)
					return
				}
				if _, err := a.Mail("smtp", "192.0.2.7"); err != nil {
					t.Error(err)
				}
				if err := a.Disconnect("smtp", "192.0.2.7"); err != nil {
					t.Error(err)
				}
			}()
		}
		start.Done()
		wg.Wait()
		st, err := a.Lookup("smtp", "192.0.2.7")
		if err != nil {
			t.Fatal(err)
		}
		if st.Count != 0 {
			t.Fatalf("round %d: count %d after every session ended", round, st.Count)
		}
		a.mu.Lock()
		bound, free := len(a.bound), len(a.free)
		seen := map[*conn]bool{}
		dup := false
		for _, c := range a.free {
			dup = dup || seen[c]
			seen[c] = true
		}
		a.mu.Unlock()
		if bound != 0 || dup || free > n {
			t.Fatalf("round %d: %d idents still bound, %d free connections (duplicates %v)", round, bound, free, dup)
		}
	}
	if w.text() != "" {
		t.Errorf("warnings: %s", w.text())
	}
}
