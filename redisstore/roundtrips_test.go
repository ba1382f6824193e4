package redisstore_test

import (
	"context"
	"crypto/rand"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// roundTrips counts the round trips of a Redis client: a command or a
// pipeline each. The watches' loads of the set of ended sessions (ZRANGE) are
// counted apart, as they happen when a watch (re)connects, not on requests.
type roundTrips struct{ n, loads atomic.Int64 }

func (rt *roundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }

func (rt *roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if cmd.Name() == "zrange" {
			rt.loads.Add(1)
		} else {
			rt.n.Add(1)
		}
		return next(ctx, cmd)
	}
}

func (rt *roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		rt.n.Add(1)
		return next(ctx, cmds)
	}
}

// TestRedisRoundTrips measures the Redis round trips of a request, a
// refresh, a sign-out and a back-channel logout, in cookie mode with the Store as Coordinator and
// in store mode; the README quotes them.
func TestRedisRoundTrips(t *testing.T) {
	for _, tt := range []struct {
		mode                      sharing
		request, refresh, signOut int64
	}{
		{mode: cookieMode, request: 0, refresh: 4, signOut: 1},
		{mode: sharedStore, request: 1, refresh: 5, signOut: 5},
	} {
		name := map[sharing]string{cookieMode: "cookie mode", sharedStore: "store mode"}[tt.mode]
		t.Run(name, func(t *testing.T) {
			rdb := newClient(t)
			var rt roundTrips
			rdb.AddHook(&rt)
			cl, _ := newCookieCluster(t, rdb, 2, tt.mode, time.Hour)
			cl.waitFor("the watches to load the ended sessions", func() bool { return rt.loads.Load() >= 2 })
			measure := func(what string, want int64, do func()) {
				t.Helper()
				do() // once before, so that the scripts are loaded
				before := rt.n.Load()
				do()
				got := rt.n.Load() - before
				t.Logf("%s, %s: %d round trip(s)", name, what, got)
				if got != want {
					t.Errorf("%s: %d round trips; want %d", what, got, want)
				}
			}
			cookie := cl.signIn()
			measure("request without refresh", tt.request, func() {
				if r := cl.send(1, "/api/tokens", cookie); r.code != http.StatusOK {
					t.Fatalf("request: %d %s", r.code, r.body)
				}
			})
			measure("request with a refresh", tt.refresh, func() {
				tb, err := cl.get(1, "/api/tokens?force=1", cookie)
				if err != nil {
					t.Fatal(err)
				}
				cookie = tb.cookie
			})
			signedIn := []string{cl.signIn(), cl.signIn()}
			measure("sign-out", tt.signOut, func() {
				cl.expectSignOut(0, signedIn[0])
				signedIn = signedIn[1:]
			})
			measure("back-channel logout", 3, func() {
				if code := cl.backChannelLogout(1, "sid-"+rand.Text()); code != http.StatusOK {
					t.Fatalf("back-channel logout: %d", code)
				}
			})
		})
	}
}
