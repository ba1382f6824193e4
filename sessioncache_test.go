package monocloud

import (
	"fmt"
	"testing"
	"time"
)

// TestSessionCachePutWhenFullEvictsOnlyTheOldest: a put into the full
// decode cache drops one entry, the oldest, not a batch: the cache keeps
// its bound, every other decoded cookie stays cached, and the put does
// constant work under the lock, so readers never wait behind a bulk drop.
func TestSessionCachePutWhenFullEvictsOnlyTheOldest(t *testing.T) {
	c := newSessionCache()
	now := time.Unix(1_700_000_000, 0)
	value := func(i int) string { return fmt.Sprintf("value-%d", i) }
	for i := range sessionCacheSize + 1 {
		c.put(value(i), sessionCookie{Key: fmt.Sprintf("key-%d", i)}, false, now)
	}
	if n := c.entries.Len(); n != sessionCacheSize {
		t.Errorf("%d entries, want the bound %d", n, sessionCacheSize)
	}
	if _, _, ok := c.get(value(0), now); ok {
		t.Error("the oldest entry is still cached")
	}
	missing := 0
	for i := 1; i <= sessionCacheSize; i++ {
		if sc, _, ok := c.get(value(i), now); !ok || sc.Key != fmt.Sprintf("key-%d", i) {
			missing++
		}
	}
	if missing > 0 {
		t.Errorf("%d entries other than the oldest dropped by one put", missing)
	}
	if _, _, ok := c.get(value(1), now.Add(sessionCacheTTL)); ok {
		t.Error("an entry is still cached after sessionCacheTTL")
	}
}
