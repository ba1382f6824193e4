package monocloud

import (
	"sync"
	"time"
)

// Decoded session cookies are cached by their exact encoded value, so a
// user's requests after the first skip the MAC check, decryption,
// decompression and JSON decoding (about 50 µs) and pay one map lookup.
// This is safe because the key is the whole authenticated value: only a
// value that decoded successfully before is ever found. Lifetime and
// revocation checks still run on every request.
const (
	sessionCacheSize = 4096
	sessionCacheTTL  = 5 * time.Minute
)

// sessionCache maps encoded session cookie values to their decoded content.
type sessionCache struct {
	mu      sync.RWMutex
	entries map[string]cachedSession
}

type cachedSession struct {
	sc    sessionCookie
	stale bool // decoded with a previous secret
	until time.Time
}

func newSessionCache() *sessionCache {
	return &sessionCache{entries: make(map[string]cachedSession)}
}

// get returns a copy of the cookie decoded from value, if cached and fresh.
// The Session it points to is shared and must not be modified.
func (c *sessionCache) get(value string, now time.Time) (sessionCookie, bool, bool) {
	c.mu.RLock()
	e, ok := c.entries[value]
	c.mu.RUnlock()
	if !ok || now.After(e.until) {
		return sessionCookie{}, false, false
	}
	return e.sc, e.stale, true
}

// put caches sc as the decoding of value. When the cache is full it drops
// an arbitrary eighth of it (map iteration order is random).
func (c *sessionCache) put(value string, sc sessionCookie, stale bool, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= sessionCacheSize {
		n := sessionCacheSize / 8
		for k := range c.entries {
			if n--; n < 0 {
				break
			}
			delete(c.entries, k)
		}
	}
	c.entries[value] = cachedSession{sc: sc, stale: stale, until: now.Add(sessionCacheTTL)}
}
