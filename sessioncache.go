package monocloud

import (
	"hash/maphash"
	"time"

	"github.com/monocloud/auth-go/internal/expiring"
)

// Decoded session cookies are cached by a hash of their encoded value, so a
// user's requests after the first skip the MAC check, decryption and
// decoding, and pay a hash of the value and one map lookup. Only values
// that decoded successfully are put, and lifetime and revocation checks
// still run on every request.
//
// The hash is not cryptographic: two maphash hashes with seeds drawn for
// each cache, 128 bits together, cost a fraction of SHA-256 on a 2.5 KB
// value, which would be most of a cached request's time. It is enough here
// because a collision only helps whoever already holds the value collided
// with: to be served a cached session, a forged value must hash like that
// session's cookie, which the forger would have to know, and whose MAC
// makes it unguessable. The seeds are secret and per process, so hashes
// cannot be predicted either; by chance, two users' values collide with
// probability below 2^-100.
const (
	sessionCacheSize = 4096
	sessionCacheTTL  = 5 * time.Minute
)

// sessionCache maps session cookie values, by their valueKey, to their
// decoded content: at most sessionCacheSize of them, each for
// sessionCacheTTL, the oldest dropped first when full. It keeps no value.
type sessionCache struct {
	seeds   [2]maphash.Seed
	entries *expiring.Map[valueKey, cachedSession]
}

// valueKey identifies a cookie value in a sessionCache.
type valueKey [2]uint64

type cachedSession struct {
	sc    sessionCookie
	stale bool // decoded with a previous secret
}

func newSessionCache() *sessionCache {
	return &sessionCache{
		seeds:   [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()},
		entries: expiring.New[valueKey, cachedSession](sessionCacheSize, sessionCacheTTL),
	}
}

// key returns the key of value in c.
func (c *sessionCache) key(value string) valueKey {
	return valueKey{maphash.String(c.seeds[0], value), maphash.String(c.seeds[1], value)}
}

// get returns a copy of the cookie decoded from value, if cached and fresh.
// The Session it points to is shared and must not be modified.
func (c *sessionCache) get(value string, now time.Time) (sessionCookie, bool, bool) {
	e, ok := c.entries.Get(c.key(value), now)
	return e.sc, e.stale, ok
}

// put caches sc as the decoding of value.
func (c *sessionCache) put(value string, sc sessionCookie, stale bool, now time.Time) {
	c.entries.Put(c.key(value), cachedSession{sc: sc, stale: stale}, now)
}
