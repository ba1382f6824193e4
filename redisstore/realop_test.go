package redisstore_test

import (
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	monocloud "github.com/monocloud/auth-go"
	"github.com/monocloud/auth-go/e2e/realop"
	"github.com/redis/go-redis/v9"
)

// The tests of this file run the store's outage and sign-out tests against
// the real oidc-provider (e2e/realop, e2e/op) instead of the in-process
// fake: a provider that rotates refresh tokens and revokes the whole grant
// (grant.revoked) when a used one is presented again. Like the e2e suite,
// they need Node.js and npm (realop.Start installs e2e/op's packages).

const (
	realOPClientID     = "redis-rp"
	realOPClientSecret = "redis-rp-secret-0123456789abcdef0123456789"
	// realOPSettle is how long an event count of the provider must stay put
	// before "exactly n" is believed: its stdout is read asynchronously.
	realOPSettle = 300 * time.Millisecond
)

// newRealOPCluster starts two instances of the application sharing a
// Redis store on rdb, and a real provider that registers them.
func newRealOPCluster(t *testing.T, rdb redis.UniversalClient) (*cluster, *realop.Provider) {
	t.Helper()
	var op *realop.Provider
	cl := newClusterWith(t, rdb, 2, true, func(appURL string) monocloud.Options {
		op = realop.Start(t, realop.Config{
			Clients: []realop.Client{{
				ID:                     realOPClientID,
				Secret:                 realOPClientSecret,
				RedirectURIs:           []string{appURL + "/api/auth/callback"},
				PostLogoutRedirectURIs: []string{appURL + "/"},
			}},
			AccessTokenTTL: 120 * time.Second, // nothing expires during a test
		})
		return monocloud.Options{
			TenantDomain:      op.Issuer(),
			ClientID:          realOPClientID,
			ClientSecret:      realOPClientSecret,
			DefaultAuthParams: monocloud.AuthParams{Scopes: "openid profile email"},
		}
	})
	return cl, op
}

// signInAt signs login in at op through instance 0 and returns the Cookie
// header value a browser would send afterwards.
func (cl *cluster) signInAt(op *realop.Provider, login string) string {
	t := cl.t
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	resp := op.SignIn(t, &http.Client{Jar: jar}, cl.instances[0].srv.URL+"/api/auth/signin", login)
	resp.Body.Close()
	cookie := liveSessionCookie(resp.Cookies())
	if resp.StatusCode != http.StatusTemporaryRedirect || cookie == "" {
		t.Fatalf("callback: %s, Set-Cookie %q; want 307 with a session cookie", resp.Status, resp.Header.Values("Set-Cookie"))
	}
	return cookie
}

// expectEndSession signs out cookie on instance i and checks the answer: a
// redirect to op's end_session endpoint with an id_token_hint, which
// expires the session cookie.
func (cl *cluster) expectEndSession(i int, cookie string, op *realop.Provider) {
	t := cl.t
	t.Helper()
	r := cl.send(i, "/api/auth/signout", cookie)
	u, err := url.Parse(r.location)
	if r.code != http.StatusTemporaryRedirect || err != nil || !strings.HasPrefix(r.location, op.Issuer()+"/") ||
		u.Query().Get("id_token_hint") == "" || !expiresSession(r.cookies) {
		t.Fatalf("sign-out on instance %d: %d to %q, expires the session cookie: %t; want 307 to the provider's end_session, cookie expired",
			i, r.code, r.location, expiresSession(r.cookies))
	}
}

// expectRefreshGrants checks, once the provider's events have settled, that
// it ran exactly grants refresh grants, refused none and revoked no grant.
func expectRefreshGrants(t *testing.T, op *realop.Provider, grants int) {
	t.Helper()
	if grants > 0 {
		op.WaitCount(t, "grant.success", "refresh_token", grants, 10*time.Second)
	}
	time.Sleep(realOPSettle)
	if g, e, r := op.Count("grant.success", "refresh_token"), op.Count("grant.error", ""), op.Count("grant.revoked", ""); g != grants || e != 0 || r != 0 {
		t.Fatalf("provider: %d refresh grants, %d grant errors, %d grants revoked; want %d, 0, 0; events:\n%s",
			g, e, r, grants, realOPEvents(op))
	}
}

func realOPEvents(op *realop.Provider) string {
	var lines []string
	for _, e := range op.Events() {
		lines = append(lines, e.Raw)
	}
	return strings.Join(lines, "\n")
}

// TestRealOPStoreOutageIsNotSignOut signs in through the real provider,
// then pauses (SIGSTOP) and kills the Redis under two instances of the
// application. While Redis is out, protected pages, API routes, GetTokens
// and sign-out answer 503 without a redirect (to sign-in, the app or the
// provider's end_session) and without Set-Cookie, and the provider sees no
// token request. Once Redis is back (resumed, or restarted on its
// append-only file), the same cookie works on both instances, a forced
// refresh runs one grant that the provider does not revoke, and sign-out
// then ends the session at the provider and everywhere here.
func TestRealOPStoreOutageIsNotSignOut(t *testing.T) {
	srv := startRedis(t)
	cl, op := newRealOPCluster(t, srv.client(commandTimeout))
	cookie := cl.signInAt(op, "ada")
	cl.expectServed(cookie, "before the outage")
	requests := op.TokenRequests()

	srv.pause()
	cl.expectOutage(cookie, "Redis paused")
	srv.resume()
	cl.expectServed(cookie, "after Redis resumed")
	if n := op.TokenRequests(); n != requests {
		t.Fatalf("%d token requests during the outage, want none", n-requests)
	}

	refreshed, err := cl.get(1, "/api/tokens?force=1", cookie)
	if err != nil {
		t.Fatalf("forced refresh after Redis resumed: %v", err)
	}
	expectRefreshGrants(t, op, 1)
	cookie = refreshed.cookie

	cl.expectRestartKeeps(srv, cookie, refreshed.RefreshToken)

	cl.expectEndSession(1, cookie, op)
	if keys := cl.sessionKeys(); len(keys) != 0 {
		t.Fatalf("store holds %q after sign-out", keys)
	}
	cl.expectRefused(cookie, "after sign-out")
	expectRefreshGrants(t, op, 1)
}

// TestRealOPSignOutDuringRefreshStaysSignedOut signs out while the real
// provider holds its answer to a forced refresh of the same session (it has
// rotated the refresh token already), on the same instance and on another
// one sharing the Redis store. Whatever finishes last, the session stays
// ended: its Redis entry is gone, neither the old cookie nor any cookie the
// refresh response set is served by any instance, and the provider revoked
// no grant. Each case runs three times.
func TestRealOPSignOutDuringRefreshStaysSignedOut(t *testing.T) {
	const hold = 500 * time.Millisecond // the provider's answer is this late
	for _, tc := range []struct {
		name      string
		signOutOn int // instance of the sign-out; the refresh runs on 0
	}{
		{"same instance", 0},
		{"other instance", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cl, op := newRealOPCluster(t, newClient(t))
			for round := range 3 {
				cookie := cl.signInAt(op, "ada")
				keys := cl.sessionKeys()
				if len(keys) != 1 {
					t.Fatalf("round %d: store holds sessions %q after sign-in; want one", round, keys)
				}

				op.SetTokenFault(realop.Fault{HoldResponse: hold})
				done := make(chan response)
				go func() { done <- cl.send(0, "/api/tokens?force=1", cookie) }()
				op.WaitCount(t, "grant.success", "refresh_token", round+1, 5*time.Second) // rotated, answer held
				cl.expectEndSession(tc.signOutOn, cookie, op)
				refresh := <-done
				op.SetTokenFault(realop.Fault{})

				if n, err := cl.rdb.Exists(t.Context(), cl.prefix+keys[0]).Result(); err != nil || n != 0 {
					t.Fatalf("round %d: the session's Redis entry after sign-out and refresh: exists %d, %v; want gone", round, n, err)
				}
				if keys := cl.sessionKeys(); len(keys) != 0 {
					t.Fatalf("round %d: store holds sessions %q after sign-out", round, keys)
				}
				cl.expectRefused(cookie, "the signed-out cookie")
				if set := liveSessionCookie(refresh.cookies); set != "" {
					cl.expectRefused(set, "the cookie of the refresh that overlapped the sign-out")
				}
				if t.Failed() {
					return
				}
			}
			expectRefreshGrants(t, op, 3)
		})
	}
}
