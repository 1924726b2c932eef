package queue

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The two IDs below were assigned by Debian's Postfix 3.7 cleanup to the
// files in testdata (inode numbers and times from stat and the files).
func TestKnownIDs(t *testing.T) {
	short := NewID(time.Unix(1795870257, 622340*1000), 9994340, false)
	if short != "97F04988064" {
		t.Errorf("short ID %s", short)
	}
	long := NewID(time.Unix(1795870279, 566851*1000), 9995330, true)
	if long != "4jc9Bv41czz1SKrr" {
		t.Errorf("long ID %s", long)
	}
	id, err := ParseID("4jc9Bv41czz1SKrr")
	if err != nil || id != (ID{Long: true, Sec: 1795870279, Usec: 566851, Inode: 9995330}) {
		t.Errorf("ParseID long: %+v %v", id, err)
	}
	id, err = ParseID("97F04988064")
	if err != nil || id != (ID{Usec: 622340, Inode: 9994340}) {
		t.Errorf("ParseID short: %+v %v", id, err)
	}
	// Postfix put the long-ID file in incoming/8/A with depth 2.
	if got := HashDirs("4jc9Bv41czz1SKrr", 2); !slices.Equal(got, []string{"8", "A"}) {
		t.Errorf("HashDirs long = %v", got)
	}
	if got := HashDirs("97F04988064", 1); !slices.Equal(got, []string{"9"}) {
		t.Errorf("HashDirs short = %v", got)
	}
	if got := HashDirs("AB", 3); !slices.Equal(got, []string{"A", "B", "_"}) {
		t.Errorf("HashDirs past end = %v", got)
	}
}

func TestIDForms(t *testing.T) {
	for _, tm := range []time.Time{time.Unix(0, 0), time.Unix(1, 999999000), time.Unix(1795870279, 1000), time.Unix(1<<40, 123456000)} {
		for _, ino := range []uint64{0, 1, 50, 51, 0xFFFFFFFF, 1<<64 - 1} {
			for _, long := range []bool{false, true} {
				s := NewID(tm, ino, long)
				id, err := ParseID(s)
				if err != nil {
					t.Fatalf("%s: %v", s, err)
				}
				want := ID{Long: long, Usec: tm.Nanosecond() / 1000, Inode: ino}
				if long {
					want.Sec = tm.Unix()
					if strings.ContainsAny(s, "AEIOUaeiou") || len(s) < 12 {
						t.Errorf("long ID %s has a vowel or is too short", s)
					}
				} else if len(s) < 6 || strings.Trim(s, "0123456789ABCDEF") != "" {
					t.Errorf("short ID %s is not upper-case hex", s)
				}
				if id != want || id.String() != s || !ValidName(s) {
					t.Errorf("%s: parsed %+v, want %+v", s, id, want)
				}
			}
		}
	}
	for _, bad := range []string{"", "12345", "FFFFF1", "97f04988064", "97F0G988064", "4jc9Bv41cz", "4jc9B41czz1", "4jc9Bv41czz1SKArr", "4jc9Bv41czzz"} {
		if _, err := ParseID(bad); !errors.Is(err, ErrBadID) {
			t.Errorf("ParseID(%q) accepted", bad)
		}
	}
	for name, ok := range map[string]bool{"": false, "abc_D9": true, "tmp.1.2": false, "a/b": false, strings.Repeat("A", 256): false} {
		if ValidName(name) != ok {
			t.Errorf("ValidName(%q) != %v", name, ok)
		}
	}
}

func TestLayoutPaths(t *testing.T) {
	l := Layout{Dir: "/q", Hashed: []string{Deferred, Defer}, Depth: 1}
	for _, c := range [][3]string{
		{Deferred, "97F04988064", "/q/deferred/9/97F04988064"},
		{Defer, "4jc9Bv41czz1SKrr", "/q/defer/8/4jc9Bv41czz1SKrr"},
		{Incoming, "97F04988064", "/q/incoming/97F04988064"},
		{Hold, "4jc9Bv41czz1SKrr", "/q/hold/4jc9Bv41czz1SKrr"},
	} {
		if got := l.Path(c[0], c[1]); got != c[2] {
			t.Errorf("Path(%s, %s) = %s, want %s", c[0], c[1], got, c[2])
		}
	}
}

// TestConcurrentCreate writes many files at once and checks that the IDs
// are distinct, name the file's inode, and that the files are ready.
func TestConcurrentCreate(t *testing.T) {
	for _, long := range []bool{false, true} {
		l := Layout{Dir: t.TempDir(), Hashed: []string{Incoming}, Depth: 2, Long: long}
		if err := l.MakeDirs(); err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		seen := map[string]bool{}
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for range 25 {
					m := &Message{Arrival: time.Now(), Sender: "a@b", Recipients: []Recipient{{Address: "c@d"}}, Content: []byte("x\n")}
					id, err := l.WriteMessage(Incoming, m)
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					if seen[id] {
						t.Errorf("duplicate ID %s", id)
					}
					seen[id] = true
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		for id := range seen {
			st, err := os.Stat(l.Path(Incoming, id))
			if err != nil {
				t.Fatal(err)
			}
			pid, err := ParseID(id)
			if err != nil || pid.Long != long || pid.Inode != st.Sys().(*syscall.Stat_t).Ino {
				t.Errorf("%s: %+v %v, inode %d", id, pid, err, st.Sys().(*syscall.Stat_t).Ino)
			}
			if st.Mode().Perm() != ModeReady {
				t.Errorf("%s: mode %v", id, st.Mode())
			}
		}
		if left, _ := filepath.Glob(filepath.Join(l.Dir, Incoming, "tmp.*")); len(left) != 0 {
			t.Errorf("temporary files left: %v", left)
		}
	}
}

func TestAbort(t *testing.T) {
	l := Layout{Dir: t.TempDir()}
	l.MakeDirs()
	f, err := l.Create(Hold)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("partial")
	f.Abort()
	if ents, _ := os.ReadDir(filepath.Join(l.Dir, Hold)); len(ents) != 0 {
		t.Errorf("abort left %v", ents)
	}
	if err := f.Commit(); err == nil {
		t.Error("commit after abort succeeded")
	}
}
