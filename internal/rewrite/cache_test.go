package rewrite

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

// countingAsker answers every question and counts them.
type countingAsker struct {
	calls int
	fail  bool // answer with an error
	retry bool // answer resolve requests with FlagFail
}

func (a *countingAsker) Rewrite(ruleset, addr string) (string, error) {
	a.calls++
	if a.fail {
		return addr, errors.New("trivial-rewrite unavailable")
	}
	return ruleset + ":" + addr, nil
}

func (a *countingAsker) Resolve(sender, addr string) (Resolution, error) {
	a.calls++
	if a.fail {
		return Resolution{Flags: FlagFail}, errors.New("trivial-rewrite unavailable")
	}
	if a.retry {
		return Resolution{Flags: FlagFail}, nil
	}
	return Resolution{Flags: ClassLocal, Transport: "local", Nexthop: "example.com", Recipient: sender + ">" + addr}, nil
}

func TestCache(t *testing.T) {
	t.Parallel()
	next := &countingAsker{}
	c := NewCache(next)
	now := time.Unix(1000, 0)
	c.now = func() time.Time { return now }
	rw := func(rs, addr string, calls int) {
		t.Helper()
		got, err := c.Rewrite(rs, addr)
		if want := rs + ":" + addr; err != nil || got != want || next.calls != calls {
			t.Fatalf("Rewrite(%q, %q) = %q, %v after %d calls; want %q after %d", rs, addr, got, err, next.calls, want, calls)
		}
	}
	rs := func(sender, addr string, calls int) {
		t.Helper()
		got, err := c.Resolve(sender, addr)
		if want := sender + ">" + addr; err != nil || got.Recipient != want || got.Transport != "local" || next.calls != calls {
			t.Fatalf("Resolve(%q, %q) = %+v, %v after %d calls; want %q after %d", sender, addr, got, err, next.calls, want, calls)
		}
	}
	rw("local", "a", 1)
	rw("local", "a", 1)  // cached
	rw("remote", "a", 2) // the rule set is part of the key
	rs("s", "a", 3)
	rs("s", "a", 3) // cached
	rs("t", "a", 4) // the sender is part of the key
	rw("local", "a", 4)
	now = now.Add(CacheTTL + time.Second)
	rw("local", "a", 5) // expired
	rs("s", "a", 6)

	next.fail = true
	for i := 0; i < 2; i++ {
		if _, err := c.Rewrite("local", "b"); err == nil {
			t.Fatal("a rewrite failure was not passed on")
		}
		if _, err := c.Resolve("s", "b"); err == nil {
			t.Fatal("a resolve failure was not passed on")
		}
	}
	if next.calls != 10 {
		t.Fatalf("failures were cached: %d calls, want 10", next.calls)
	}
	next.fail, next.retry = false, true
	for i := 0; i < 2; i++ {
		if res, err := c.Resolve("s", "c"); err != nil || res.Flags&FlagFail == 0 {
			t.Fatalf("Resolve with a table failure = %+v, %v", res, err)
		}
	}
	if next.calls != 12 {
		t.Fatalf("a FlagFail answer was cached: %d calls, want 12", next.calls)
	}
	next.retry = false
	for i := 0; i < CacheSize+10; i++ {
		c.Rewrite("local", fmt.Sprint(i))
		c.Resolve("s", fmt.Sprint(i))
	}
	if len(c.rewrites) > CacheSize || len(c.resolves) > CacheSize {
		t.Fatalf("cache holds %d and %d answers, bound %d", len(c.rewrites), len(c.resolves), CacheSize)
	}
}

// TestCacheClient checks that a Client fits the cache.
func TestCacheClient(t *testing.T) {
	var _ Asker = (*Client)(nil)
}
