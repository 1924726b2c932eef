package cleanup

import (
	"errors"
	"testing"
	"time"
)

type countingRewriter struct {
	calls int
	fail  bool
}

func (r *countingRewriter) Rewrite(ruleset, addr string) (string, error) {
	r.calls++
	if r.fail {
		return addr, errors.New("trivial-rewrite unavailable")
	}
	return ruleset + ":" + addr + "@example.com", nil
}

func TestRewriteCache(t *testing.T) {
	t.Parallel()
	next := &countingRewriter{}
	c := newRewriteCache(next)
	now := time.Unix(1000, 0)
	c.now = func() time.Time { return now }
	ask := func(rs, addr, want string, calls int) {
		t.Helper()
		got, err := c.Rewrite(rs, addr)
		if err != nil || got != want || next.calls != calls {
			t.Fatalf("Rewrite(%q, %q) = %q, %v after %d calls; want %q after %d", rs, addr, got, err, next.calls, want, calls)
		}
	}
	ask("local", "a", "local:a@example.com", 1)
	ask("local", "a", "local:a@example.com", 1)   // cached
	ask("remote", "a", "remote:a@example.com", 2) // the ruleset is part of the key
	now = now.Add(rewriteCacheTTL + time.Second)
	ask("local", "a", "local:a@example.com", 3) // expired
	next.fail = true
	if _, err := c.Rewrite("local", "b"); err == nil {
		t.Fatal("a failure was not passed on")
	}
	if _, err := c.Rewrite("local", "b"); err == nil || next.calls != 5 {
		t.Fatalf("a failure was cached: %d calls", next.calls)
	}
	for i := 0; i < rewriteCacheSize+10; i++ {
		next.fail = false
		c.Rewrite("local", string(rune('a'+i%26))+time.Duration(i).String())
	}
	if n := len(c.entries); n > rewriteCacheSize {
		t.Fatalf("cache holds %d entries, bound %d", n, rewriteCacheSize)
	}
}
