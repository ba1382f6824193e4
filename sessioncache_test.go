package monocloud

import (
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"
	"unsafe"
	"weak"

	"github.com/monocloud/auth-go/internal/cookie"
	"github.com/monocloud/auth-go/monocloudtest"
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
		c.put(c.key(value(i)), sessionCookie{Key: fmt.Sprintf("key-%d", i)}, false, now)
	}
	if n := c.entries.Len(); n != sessionCacheSize {
		t.Errorf("%d entries, want the bound %d", n, sessionCacheSize)
	}
	if _, _, ok := c.get(c.key(value(0)), now); ok {
		t.Error("the oldest entry is still cached")
	}
	missing := 0
	for i := 1; i <= sessionCacheSize; i++ {
		if sc, _, ok := c.get(c.key(value(i)), now); !ok || sc.Key != fmt.Sprintf("key-%d", i) {
			missing++
		}
	}
	if missing > 0 {
		t.Errorf("%d entries other than the oldest dropped by one put", missing)
	}
	if _, _, ok := c.get(c.key(value(1)), now.Add(sessionCacheTTL)); ok {
		t.Error("an entry is still cached after sessionCacheTTL")
	}
}

// TestSessionCacheKeepsNoValue: the cache keys entries by a hash of the
// cookie value and does not keep the value, about 2.5 KB for a session
// cookie, alive.
func TestSessionCacheKeepsNoValue(t *testing.T) {
	c := newSessionCache()
	now := time.Unix(1_700_000_000, 0)
	value := strings.Repeat("v", 2500)
	gone := weak.Make(unsafe.StringData(value))
	c.put(c.key(value), sessionCookie{Key: "key"}, false, now)
	if sc, _, ok := c.get(c.key(strings.Repeat("v", 2500)), now); !ok || sc.Key != "key" {
		t.Fatalf("an equal value is not found: %v %q", ok, sc.Key)
	}
	runtime.GC()
	if gone.Value() != nil {
		t.Error("the cache keeps the value alive")
	}
	runtime.KeepAlive(c)
}

// TestSessionCacheKeys: a value differing from a cached one in one byte,
// or in length, is not found; and each cache draws its own seeds, so keys
// cannot be computed outside the process.
func TestSessionCacheKeys(t *testing.T) {
	c := newSessionCache()
	now := time.Unix(1_700_000_000, 0)
	value := strings.Repeat("A-z_0", 500)
	c.put(c.key(value), sessionCookie{Key: "key"}, false, now)
	for _, other := range []string{value[:len(value)-1] + "1", value[1:], value + "=", "B" + value[1:]} {
		if _, _, ok := c.get(c.key(other), now); ok {
			t.Errorf("a value differing from the cached one is found: ...%q", other[len(other)-8:])
		}
	}
	if c.key(value) == newSessionCache().key(value) {
		t.Error("two caches hash a value alike")
	}
}

// BenchmarkSessionCacheMemory reports the heap a cache entry takes, the
// decoded session included, filling a cache with the decodings of distinct
// session cookie values as the middleware does. The values are copied
// before each decode, like a request's header, and dropped after, so an
// entry that kept its value would count it.
//
//	go test -run='^$' -bench=SessionCacheMemory .
func BenchmarkSessionCacheMemory(b *testing.B) {
	app := newTestApp(b, monocloudtest.Config{Claims: benchClaims}, Options{}, nil, nil)
	app.signIn("")
	reqs := benchRotatingRequests(b, app.client, app.request(http.MethodGet, "/"), sessionCacheSize)
	values := make([][]byte, len(reqs))
	for i, r := range reqs {
		single, chunked, _ := cookie.Find(r.Header["Cookie"], app.client.cfg.sessionCookie.name)
		values[i] = []byte(single + chunked)
	}
	var before, after runtime.MemStats
	for b.Loop() {
		app.client.sessions = nil
		runtime.GC()
		runtime.ReadMemStats(&before)
		app.client.sessions = newSessionCache()
		for _, v := range values {
			if _, _, err := app.client.decodeSession(string(v)); err != nil {
				b.Fatal(err)
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
	}
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(len(values)), "B/entry")
	b.ReportMetric(float64(len(values[0])), "cookie-bytes")
}
