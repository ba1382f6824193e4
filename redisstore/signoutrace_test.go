package redisstore_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/monocloud/auth-go/monocloudtest"
)

// TestSignOutDuringRefreshStaysSignedOut signs out while a forced refresh of
// the same session runs, on the same instance and on another one sharing
// the Redis store: either the sign-out comes while the provider is still
// answering the refresh grant, or it completes after the refreshing request
// read the session but before it refreshes. Whatever finishes last, the
// session stays ended: its Redis entry is gone, and neither the old cookie
// nor any cookie the refresh response set is served by any instance. Each
// case runs ten times, so that -race sees many interleavings.
func TestSignOutDuringRefreshStaysSignedOut(t *testing.T) {
	cases := []struct {
		name        string
		signOutOn   int  // instance of the sign-out; the refresh runs on 0
		beforeGrant bool // sign out before the refresh starts, not during its grant
	}{
		{"during the grant, same instance", 0, false},
		{"during the grant, other instance", 1, false},
		{"before the grant, same instance", 0, true},
		{"before the grant, other instance", 1, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cl := newCluster(t, 2, true)
			for range 10 {
				cl.signOutDuringRefresh(tc.signOutOn, tc.beforeGrant)
				if t.Failed() {
					return
				}
			}
		})
	}
}

// signOutDuringRefresh signs in, starts a forced refresh on instance 0 and
// signs out on instance signOutOn while it runs, then checks that the
// session has ended everywhere.
func (cl *cluster) signOutDuringRefresh(signOutOn int, beforeGrant bool) {
	t := cl.t
	t.Helper()
	cookie := cl.signIn()
	keys := cl.sessionKeys()
	if len(keys) != 1 {
		t.Fatalf("store holds sessions %q after sign-in; want one", keys)
	}
	grants := cl.op.RefreshGrants()

	done := make(chan response)
	if beforeGrant {
		go func() { done <- cl.send(0, "/api/tokens?force=1&hold=1", cookie) }()
		release := <-cl.hold // the middleware has read the session
		cl.expectSignOut(signOutOn, cookie)
		close(release)
	} else {
		cl.op.SetTokenFault(monocloudtest.Fault{Delay: 150 * time.Millisecond})
		go func() { done <- cl.send(0, "/api/tokens?force=1", cookie) }()
		cl.waitFor("the refresh grant to reach the provider", func() bool { return cl.op.RefreshGrants() > grants })
		cl.expectSignOut(signOutOn, cookie)
	}
	refresh := <-done
	cl.op.SetTokenFault(monocloudtest.Fault{})

	if beforeGrant {
		if refresh.code == http.StatusOK || liveSessionCookie(refresh.cookies) != "" {
			t.Fatalf("refresh after the sign-out: %d %q, sets a session cookie: %t; want a failure without one",
				refresh.code, refresh.body, liveSessionCookie(refresh.cookies) != "")
		}
		if g := cl.op.RefreshGrants(); g != grants {
			t.Fatalf("RefreshGrants = %d, want %d: a signed-out session was refreshed", g, grants)
		}
	}
	if g := cl.op.RefreshGrants(); g > grants+1 {
		t.Fatalf("RefreshGrants = %d, want at most %d", g, grants+1)
	}
	if n, err := cl.rdb.Exists(t.Context(), cl.prefix+keys[0]).Result(); err != nil || n != 0 {
		t.Fatalf("the session's Redis entry after sign-out and refresh: exists %d, %v; want gone", n, err)
	}
	if keys := cl.sessionKeys(); len(keys) != 0 {
		t.Fatalf("store holds sessions %q after sign-out", keys)
	}
	cl.expectRefused(cookie, "the signed-out cookie")
	if set := liveSessionCookie(refresh.cookies); set != "" {
		cl.expectRefused(set, "the cookie of the refresh that overlapped the sign-out")
	}
}

// expectSignOut signs out cookie on instance i and checks the answer: a
// redirect that expires the session cookie.
func (cl *cluster) expectSignOut(i int, cookie string) {
	t := cl.t
	t.Helper()
	if r := cl.send(i, "/api/auth/signout", cookie); r.code != http.StatusTemporaryRedirect || !expiresSession(r.cookies) {
		t.Fatalf("sign-out on instance %d: %d %q, expires the session cookie: %t; want 307 expiring it",
			i, r.code, r.body, expiresSession(r.cookies))
	}
}

// waitFor polls cond until it holds, for at most five seconds.
func (cl *cluster) waitFor(what string, cond func() bool) {
	t := cl.t
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}
