package qmgr

import (
	"sync"
	"time"

	"github.com/postfix-go/postfix/internal/rewrite"
)

// resolveCache remembers trivial-rewrite's resolve answers for a short
// while, as Postfix's resolve client remembers its last one (for 30
// seconds): the recipients of a stream of messages are mostly the same
// few addresses, and each answer would otherwise cost a round trip.
// Answers depend only on trivial-rewrite's configuration and tables; the
// cache is emptied every resolveCacheTTL, and failures are not kept.
type resolveCache struct {
	now     func() time.Time
	mu      sync.Mutex
	entries map[resolveKey]rewrite.Resolution
	expires time.Time
}

type resolveKey struct{ sender, addr string }

// Bounds of the cache: how long answers are kept, and how many.
const (
	resolveCacheTTL  = 10 * time.Second
	resolveCacheSize = 1000
)

// resolve returns the cached answer for (sender, addr) or asks lookup.
func (c *resolveCache) resolve(lookup func(sender, addr string) (rewrite.Resolution, error), sender, addr string) (rewrite.Resolution, error) {
	k := resolveKey{sender, addr}
	now := time.Now()
	if c.now != nil {
		now = c.now()
	}
	c.mu.Lock()
	if c.entries == nil || now.After(c.expires) || len(c.entries) >= resolveCacheSize {
		c.entries = make(map[resolveKey]rewrite.Resolution)
		c.expires = now.Add(resolveCacheTTL)
	}
	res, ok := c.entries[k]
	c.mu.Unlock()
	if ok {
		return res, nil
	}
	res, err := lookup(sender, addr)
	if err != nil || res.Flags&rewrite.FlagFail != 0 {
		return res, err
	}
	c.mu.Lock()
	c.entries[k] = res
	c.mu.Unlock()
	return res, nil
}
