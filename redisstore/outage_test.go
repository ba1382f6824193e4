package redisstore_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/monocloud/auth-go/redisstore"
)

// commandTimeout bounds each Redis command of the outage tests: a request
// meets a hung Redis for about this long before it answers 503.
const commandTimeout = 300 * time.Millisecond

// TestStoreOutageIsNotSignOut pauses (SIGSTOP) and kills the Redis under
// two instances of an application. While Redis is out, every route that
// needs the session answers 503 (a *monocloud.StoreError) and neither
// redirects to sign-in, answers 401 nor expires the session cookie;
// sign-out answers 503 too, without redirecting or expiring anything, since
// it has ended nothing. Once Redis is back (resumed, or restarted on its
// append-only file), the same cookie works on both instances, the session
// still refreshes, and sign-out then ends it everywhere.
func TestStoreOutageIsNotSignOut(t *testing.T) {
	srv := startRedis(t)
	cl := newClusterOn(t, srv.client(commandTimeout), 2, true)
	cookie := cl.signIn()
	signedIn := cl.storedSession(cookie)
	cl.expectServed(cookie, "before the outage")

	// A request that read the session before Redis hung, then refreshes.
	held := make(chan response)
	go func() { held <- cl.send(0, "/api/tokens?force=1&hold=1", cookie) }()
	release := <-cl.hold
	srv.pause()
	close(release)
	if r := <-held; r.code != http.StatusServiceUnavailable || !strings.Contains(r.body, "session store") || expiresSession(r.cookies) {
		t.Errorf("forced refresh while Redis hangs: %d %q, expires the session cookie: %t; want 503 from a StoreError, cookie kept",
			r.code, r.body, expiresSession(r.cookies))
	}
	cl.expectOutage(cookie, "Redis paused")
	srv.resume()

	cl.expectServed(cookie, "after Redis resumed")
	if s := cl.storedSession(cookie); s.RefreshToken != signedIn.RefreshToken || s.IDToken != signedIn.IDToken {
		t.Fatal("the stored session changed during the outage")
	}
	if g := cl.op.RefreshGrants(); g != 0 {
		t.Fatalf("RefreshGrants = %d during the outage, want 0", g)
	}
	refreshed, err := cl.get(1, "/api/tokens?force=1", cookie)
	if err != nil {
		t.Fatalf("forced refresh after Redis resumed: %v", err)
	}
	if g, r := cl.op.RefreshGrants(), cl.op.ReuseDetected(); g != 1 || r != 0 {
		t.Fatalf("after Redis resumed: RefreshGrants = %d, ReuseDetected = %d; want 1, 0", g, r)
	}
	cookie = refreshed.cookie

	cl.expectRestartKeeps(srv, cookie, refreshed.RefreshToken)

	r := cl.send(1, "/api/auth/signout", cookie)
	if r.code != http.StatusTemporaryRedirect || !strings.HasPrefix(r.location, cl.op.Issuer()) || !expiresSession(r.cookies) {
		t.Fatalf("sign-out after the outage: %d to %q, expires the session cookie: %t; want 307 to the provider, cookie expired",
			r.code, r.location, expiresSession(r.cookies))
	}
	if keys := cl.sessionKeys(); len(keys) != 0 {
		t.Fatalf("store holds %q after sign-out", keys)
	}
	cl.expectRefused(cookie, "after sign-out")
}

// TestSignOutWhileRedisWritesHang signs out while Redis serves reads but
// holds writes (CLIENT PAUSE WRITE, as during a failover): the session is
// read, but its lock and delete time out. Sign-out must answer 503 without
// redirecting or expiring the cookie, since it ended nothing; the session
// works meanwhile and afterwards, and sign-out then ends it.
func TestSignOutWhileRedisWritesHang(t *testing.T) {
	srv := startRedis(t)
	cl := newClusterOn(t, srv.client(commandTimeout), 2, true)
	cookie := cl.signIn()
	admin := srv.client(time.Second)
	if err := admin.Do(t.Context(), "CLIENT", "PAUSE", 5000, "WRITE").Err(); err != nil {
		t.Fatal(err)
	}
	for i := range cl.instances {
		if r := cl.send(i, "/api/auth/signout", cookie); r.code != http.StatusServiceUnavailable || r.location != "" || len(r.cookies) != 0 {
			t.Errorf("sign-out on instance %d while writes hang: %d, Location %q, Set-Cookie %v; want 503 without either",
				i, r.code, r.location, r.cookies)
		}
	}
	cl.expectServed(cookie, "while writes hang")
	if err := admin.Do(t.Context(), "CLIENT", "UNPAUSE").Err(); err != nil {
		t.Fatal(err)
	}
	cl.expectServed(cookie, "after writes resumed")
	cl.expectSignOut(1, cookie)
	if keys := cl.sessionKeys(); len(keys) != 0 {
		t.Fatalf("store holds %q after sign-out", keys)
	}
	cl.expectRefused(cookie, "after sign-out")
}

// expectServed checks that every instance serves a protected page and an
// API route with cookie.
func (cl *cluster) expectServed(cookie, when string) {
	t := cl.t
	t.Helper()
	for i := range cl.instances {
		for _, path := range []string{"/page", "/api/tokens"} {
			if r := cl.send(i, path, cookie); r.code != http.StatusOK || expiresSession(r.cookies) {
				t.Fatalf("%s: instance %d %s: %d %q; want 200", when, i, path, r.code, r.body)
			}
		}
	}
}

// expectOutage checks that, with the store out, every instance answers 503
// without expiring the session cookie: on a protected page, on an API
// route, to GetTokens on an unprotected route, and on sign-out, which must
// not redirect (to the app or the provider) either.
func (cl *cluster) expectOutage(cookie, when string) {
	t := cl.t
	t.Helper()
	for i := range cl.instances {
		for _, path := range []string{"/page", "/api/tokens", "/public/tokens", "/api/auth/signout"} {
			r := cl.send(i, path, cookie)
			if r.code != http.StatusServiceUnavailable || r.location != "" || len(r.cookies) != 0 {
				t.Errorf("%s: instance %d %s: %d, Location %q, Set-Cookie %v; want 503 without either",
					when, i, path, r.code, r.location, r.cookies)
			}
		}
	}
	if t.Failed() {
		t.FailNow()
	}
}

// expectRestartKeeps kills srv, checks that every instance answers the
// outage with cookie, restarts srv on its append-only file and checks that
// the session is served again and still holds refreshToken.
func (cl *cluster) expectRestartKeeps(srv *redisServer, cookie, refreshToken string) {
	t := cl.t
	t.Helper()
	srv.kill()
	cl.expectOutage(cookie, "Redis killed")
	srv.start()
	cl.expectServed(cookie, "after Redis restarted")
	if s := cl.storedSession(cookie); s.RefreshToken != refreshToken {
		t.Fatal("the restarted Redis lost the session's latest refresh token")
	}
}

// expectRefused checks that no instance serves cookie: protected pages
// redirect to sign-in, API routes answer 401.
func (cl *cluster) expectRefused(cookie, when string) {
	t := cl.t
	t.Helper()
	for i := range cl.instances {
		if r := cl.send(i, "/page", cookie); r.code != http.StatusTemporaryRedirect || !strings.Contains(r.location, "/api/auth/signin") {
			t.Errorf("%s: instance %d /page: %d to %q; want 307 to sign-in", when, i, r.code, r.location)
		}
		if r := cl.send(i, "/api/tokens", cookie); r.code != http.StatusUnauthorized {
			t.Errorf("%s: instance %d /api/tokens: %d %q; want 401", when, i, r.code, r.body)
		}
	}
}

// TestLockLostInHangIsReleased takes a lock while Redis hangs: the SET
// reaches Redis but its reply does not come back in time, and Redis applies
// it when it resumes. LockSession fails, and the lock it may have taken must
// not then block the session until LockTTL.
func TestLockLostInHangIsReleased(t *testing.T) {
	srv := startRedis(t)
	rdb := srv.client(commandTimeout)
	prefix := testPrefix(t)
	store := redisstore.New(rdb, &redisstore.Options{Prefix: prefix})
	if err := rdb.Ping(t.Context()).Err(); err != nil { // a pooled connection, so the SET is sent
		t.Fatal(err)
	}
	srv.pause()
	if unlock, err := store.LockSession(t.Context(), "s"); err == nil {
		unlock()
		t.Fatal("LockSession succeeded while Redis hung")
	}
	srv.resume()
	expectLockFree(t, store, "s")
}

// TestUnlockInHangIsReleasedOnResume releases a lock while Redis hangs: the
// lock must be free soon after Redis resumes, not after LockTTL.
func TestUnlockInHangIsReleasedOnResume(t *testing.T) {
	srv := startRedis(t)
	store := redisstore.New(srv.client(commandTimeout), &redisstore.Options{Prefix: testPrefix(t)})
	unlock, err := store.LockSession(t.Context(), "s")
	if err != nil {
		t.Fatal(err)
	}
	srv.pause()
	unlock()
	srv.resume()
	expectLockFree(t, store, "s")
}

// expectLockFree checks that the lock of key can be taken within two
// seconds (far below the default LockTTL).
func expectLockFree(t *testing.T, store *redisstore.Store, key string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	unlock, err := store.LockSession(ctx, key)
	if err != nil {
		t.Fatalf("lock of %q after Redis resumed: %v", key, err)
	}
	unlock()
}
