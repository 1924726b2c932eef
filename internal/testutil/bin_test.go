package testutil

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

func TestRemoveStaleBins(t *testing.T) {
	dir := t.TempDir()
	mk := func(name string, age time.Duration) string {
		p := filepath.Join(dir, name)
		if err := os.Mkdir(p, 0o755); err != nil {
			t.Fatal(err)
		}
		old := time.Now().Add(-age)
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
		return p
	}
	live := mk("pfgo-bin-"+strconv.Itoa(os.Getpid())+"-1", 2*time.Hour)
	dead := mk("pfgo-bin-999999999-1", 0)
	oldForm := mk("pfgo-bin-12345", 2*time.Hour)
	newForm := mk("pfgo-bin-67890", 0)
	other := mk("something-else", 2*time.Hour)
	removeStale(dir, "pfgo-bin-")
	for p, want := range map[string]bool{live: true, dead: false, oldForm: false, newForm: true, other: true} {
		_, err := os.Stat(p)
		if got := err == nil; got != want {
			t.Errorf("%s exists: %v, want %v", filepath.Base(p), got, want)
		}
	}
}
