package rewrite

import (
	"sync"
	"time"
)

// Asker is what Cache puts in front of: the rewrite and resolve requests
// of a Client.
type Asker interface {
	Rewrite(ruleset, addr string) (string, error)
	Resolve(sender, addr string) (Resolution, error)
}

// Cache remembers the answers of trivial-rewrite for a short while, for a
// process that asks about the same few addresses over and over (smtpd
// checks the sender and each recipient of every message, cleanup rewrites
// the envelope and header addresses; Postfix's smtpd keeps its resolve
// answers across sessions for the same reason). Answers
// depend only on trivial-rewrite's configuration and tables, which change
// with a reload, and a reload replaces the asking processes too; the
// cache is emptied every CacheTTL all the same, and when it holds
// CacheSize answers. Failures (an error, or FlagFail: a table could not
// be read) are never kept. A Cache is safe for concurrent use.
type Cache struct {
	next Asker
	now  func() time.Time

	mu       sync.Mutex
	rewrites map[cacheKey]string
	resolves map[cacheKey]Resolution
	expires  time.Time
}

// cacheKey is (ruleset, address) for Rewrite and (sender, address) for
// Resolve.
type cacheKey struct{ a, b string }

// Bounds of a Cache: how long answers are kept, and how many of each kind.
const (
	CacheTTL  = 10 * time.Second
	CacheSize = 1000
)

// NewCache returns a Cache that asks next what it does not know.
func NewCache(next Asker) *Cache {
	return &Cache{next: next, now: time.Now}
}

// fresh empties the maps when they are too old or too full. Called with
// c.mu held.
func (c *Cache) fresh() {
	now := c.now()
	if c.rewrites == nil || now.After(c.expires) || len(c.rewrites) >= CacheSize || len(c.resolves) >= CacheSize {
		c.rewrites = map[cacheKey]string{}
		c.resolves = map[cacheKey]Resolution{}
		c.expires = now.Add(CacheTTL)
	}
}

// Rewrite is Client.Rewrite, answered from the cache when it can be.
func (c *Cache) Rewrite(ruleset, addr string) (string, error) {
	k := cacheKey{ruleset, addr}
	c.mu.Lock()
	c.fresh()
	out, ok := c.rewrites[k]
	c.mu.Unlock()
	if ok {
		return out, nil
	}
	out, err := c.next.Rewrite(ruleset, addr)
	if err != nil {
		return out, err
	}
	c.mu.Lock()
	c.rewrites[k] = out
	c.mu.Unlock()
	return out, nil
}

// Resolve is Client.Resolve, answered from the cache when it can be.
func (c *Cache) Resolve(sender, addr string) (Resolution, error) {
	k := cacheKey{sender, addr}
	c.mu.Lock()
	c.fresh()
	res, ok := c.resolves[k]
	c.mu.Unlock()
	if ok {
		return res, nil
	}
	res, err := c.next.Resolve(sender, addr)
	if err != nil || res.Flags&FlagFail != 0 {
		return res, err
	}
	c.mu.Lock()
	c.resolves[k] = res
	c.mu.Unlock()
	return res, nil
}
