package cleanup

import (
	"sync"
	"time"
)

// rewriteCache remembers trivial-rewrite's answers for a short while, as
// Postfix's rewrite client remembers its last one: a message names the
// same few addresses in its envelope and headers, and many messages name
// the same senders and recipients, so most questions need no round trip.
// Answers depend only on trivial-rewrite's configuration, which changes
// only with a reload, and a reload replaces this process too; the cache
// is emptied every rewriteCacheTTL all the same. Failures are not kept.
type rewriteCache struct {
	next Rewriter
	now  func() time.Time

	mu      sync.Mutex
	entries map[rewriteKey]string
	expires time.Time
}

type rewriteKey struct{ ruleset, addr string }

// Bounds of the cache: how long answers are kept, and how many.
const (
	rewriteCacheTTL  = 10 * time.Second
	rewriteCacheSize = 1000
)

func newRewriteCache(next Rewriter) *rewriteCache {
	return &rewriteCache{next: next, now: time.Now}
}

// Rewrite returns the cached answer for (ruleset, addr) or asks next.
func (c *rewriteCache) Rewrite(ruleset, addr string) (string, error) {
	k := rewriteKey{ruleset, addr}
	now := c.now()
	c.mu.Lock()
	if c.entries == nil || now.After(c.expires) || len(c.entries) >= rewriteCacheSize {
		c.entries = make(map[rewriteKey]string)
		c.expires = now.Add(rewriteCacheTTL)
	}
	out, ok := c.entries[k]
	c.mu.Unlock()
	if ok {
		return out, nil
	}
	out, err := c.next.Rewrite(ruleset, addr)
	if err != nil {
		return out, err
	}
	c.mu.Lock()
	c.entries[k] = out
	c.mu.Unlock()
	return out, nil
}
