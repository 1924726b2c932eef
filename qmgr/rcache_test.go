package qmgr

import (
	"errors"
	"testing"
	"time"

	"github.com/postfix-go/postfix/internal/rewrite"
)

func TestResolveCache(t *testing.T) {
	t.Parallel()
	calls := 0
	var fail error
	flags := 0
	lookup := func(sender, addr string) (rewrite.Resolution, error) {
		calls++
		return rewrite.Resolution{Flags: flags, Transport: "discard", Nexthop: sender, Recipient: addr}, fail
	}
	now := time.Unix(1000, 0)
	c := &resolveCache{now: func() time.Time { return now }}
	ask := func(sender, addr string, wantCalls int) {
		t.Helper()
		res, err := c.resolve(lookup, sender, addr)
		if err != nil || res.Nexthop != sender || res.Recipient != addr || calls != wantCalls {
			t.Fatalf("resolve(%q, %q) = %+v, %v after %d calls; want %d calls", sender, addr, res, err, calls, wantCalls)
		}
	}
	ask("s", "a@x", 1)
	ask("s", "a@x", 1) // cached
	ask("t", "a@x", 2) // the sender is part of the key
	now = now.Add(resolveCacheTTL + time.Second)
	ask("s", "a@x", 3) // expired
	fail = errors.New("trivial-rewrite unavailable")
	c.resolve(lookup, "s", "b@x")
	c.resolve(lookup, "s", "b@x")
	if calls != 5 {
		t.Errorf("an error was cached: %d calls", calls)
	}
	fail, flags = nil, rewrite.FlagFail
	c.resolve(lookup, "s", "c@x")
	c.resolve(lookup, "s", "c@x")
	if calls != 7 {
		t.Errorf("a resolver failure was cached: %d calls", calls)
	}
}
