package redisstore_test

import (
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestRedisFootprint measures, with MEMORY USAGE, the bytes a session keeps
// in Redis at rest, what one refresh adds, and what one sign-out adds, in
// cookie mode with the Store as Coordinator and in store mode (the tokens of
// monocloudtest: RS256 JWTs of about the size of MonoCloud's). The README
// quotes them. It checks that a cookie session at rest keeps nothing in
// Redis, that no lock outlives its refresh, and that every key expires.
func TestRedisFootprint(t *testing.T) {
	for _, mode := range []sharing{cookieMode, sharedStore} {
		name := map[sharing]string{cookieMode: "cookie mode", sharedStore: "store mode"}[mode]
		t.Run(name, func(t *testing.T) {
			rdb := newClient(t)
			cl, _ := newCookieCluster(t, rdb, 2, mode, time.Hour)
			base := footprint(t, rdb, cl.prefix)

			cookie := cl.signIn()
			session := footprint(t, rdb, cl.prefix)
			session.sub(base)
			tb, err := cl.get(1, "/tokens?force=1", cookie)
			if err != nil {
				t.Fatal(err)
			}
			refresh := footprint(t, rdb, cl.prefix)
			refresh.sub(session)
			refresh.sub(base)
			cl.expectSignOut(0, tb.cookie)
			signOut := footprint(t, rdb, cl.prefix)

			t.Logf("%s: a session at rest %d bytes in %d keys; a refresh adds %d bytes in %d keys; after the sign-out %d bytes in %d keys (%s)",
				name, session.bytes, session.keys, refresh.bytes, refresh.keys, signOut.bytes, signOut.keys, strings.Join(signOut.names, ", "))
			if mode == cookieMode && session.keys != 0 {
				t.Errorf("cookie mode: a session at rest keeps %d keys in Redis; want none", session.keys)
			}
			if mode == sharedStore && session.keys != 3 {
				t.Errorf("store mode: a session keeps %d keys; want 3 (the session, its sid and sub indexes)", session.keys)
			}
			for _, k := range signOut.names {
				if strings.HasSuffix(k, ":lock") {
					t.Errorf("lock %q outlived its refresh", k)
				}
			}
			expectAllExpire(t, rdb, cl.prefix)
		})
	}
	t.Run("cookie mode, a day of hourly refreshes", footprintOfRefreshes)
}

// refreshesADay is how many refreshes a cookie session makes in a day when
// its access tokens live an hour.
const refreshesADay = 24

// footprintOfRefreshes measures what a cookie session that refreshed
// refreshesADay times, on alternate instances, keeps in Redis, and checks
// that it is about one shared refresh, not one per refresh: the cookie from
// before the first refresh, forcing a refresh, still gets the newest tokens
// without a grant.
func footprintOfRefreshes(t *testing.T) {
	rdb := newClient(t)
	cl, _ := newCookieCluster(t, rdb, 2, cookieMode, time.Hour)
	first := cl.signIn()
	cookie := first
	var one usage
	var newest tokensBody
	for i := range refreshesADay {
		tb, err := cl.get(i%2, "/tokens?force=1", cookie)
		if err != nil {
			t.Fatalf("refresh %d: %v", i+1, err)
		}
		cookie, newest = tb.cookie, tb
		if i == 0 {
			one = footprint(t, rdb, cl.prefix)
		}
	}
	day := footprint(t, rdb, cl.prefix)
	perRefresh := (day.bytes - one.bytes) / (refreshesADay - 1)
	t.Logf("cookie mode: after 1 refresh %d bytes in %d keys; after %d refreshes %d bytes in %d keys (%d bytes per further refresh)",
		one.bytes, one.keys, refreshesADay, day.bytes, day.keys, perRefresh)
	if day.bytes > 2*one.bytes {
		t.Errorf("%d refreshes keep %d bytes in Redis, one keeps %d: want about one shared refresh per session", refreshesADay, day.bytes, one.bytes)
	}
	tb, err := cl.get(1, "/tokens?force=1", first)
	if err != nil || tb.AccessToken != newest.AccessToken || tb.RefreshToken != newest.RefreshToken {
		t.Fatalf("the cookie from before the first refresh: refresh token %q, %v; want the newest, %q", tb.RefreshToken, err, newest.RefreshToken)
	}
	cl.expectGrants("after the refreshes", refreshesADay)
	expectAllExpire(t, rdb, cl.prefix)
}

// usage is the memory that keys under a prefix take.
type usage struct {
	keys, bytes int64
	names       []string // the keys, without the prefix
}

// sub subtracts o from u.
func (u *usage) sub(o usage) {
	u.keys -= o.keys
	u.bytes -= o.bytes
}

// footprint returns the MEMORY USAGE of every key under prefix.
func footprint(t *testing.T, rdb redis.UniversalClient, prefix string) usage {
	t.Helper()
	var u usage
	for _, k := range keysUnder(t, rdb, prefix) {
		n, err := rdb.MemoryUsage(t.Context(), k, 0).Result()
		if err != nil {
			t.Fatal(err)
		}
		u.keys++
		u.bytes += n
		u.names = append(u.names, strings.TrimPrefix(k, prefix))
	}
	return u
}
