package redisstore_test

import (
	"net/http"
	"testing"
	"time"
)

// TestCookieModeRedisOutage kills, restarts, pauses and resumes the Redis
// under two cookie-mode instances. While Redis is out: requests that need
// no refresh are served; a session signed out before stays refused; a
// (forced) refresh answers 503 without calling the provider and without
// expiring the cookie; sign-out and back-channel logout answer 503 (the
// provider may retry). Once Redis is back, all of it works again by
// itself: the same cookie refreshes with one grant and no reuse, and
// logouts reach the other instance.
func TestCookieModeRedisOutage(t *testing.T) {
	srv := startRedis(t)
	cl, _ := newCookieCluster(t, srv.client(commandTimeout), 2, cookieMode, time.Hour)
	fresh, ended := cl.signIn(), cl.signIn()
	cl.expectSignOut(0, ended)
	cl.expectEndedWithin(time.Now(), 0, ended, "signed out before the outage", propagation)

	srv.kill()
	cl.expectCookieOutage(fresh, ended, "Redis killed")
	srv.start()
	// go-redis's pool answers with its last dial error until its own
	// redial (once a second) succeeds: the refresh works again within
	// that, and the 503s meanwhile run no grant (expectGrants).
	var tb tokensBody
	var err error
	for deadline := time.Now().Add(3 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if tb, err = cl.get(1, "/tokens?force=1", fresh); err == nil || time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		t.Fatalf("refresh after Redis restarted: %v", err)
	}
	cl.expectGrants("after Redis restarted", 1)
	if other, err := cl.get(0, "/tokens?force=1", fresh); err != nil || other.AccessToken != tb.AccessToken {
		t.Fatalf("pre-refresh cookie at the other instance after the restart: %+v, %v", other, err)
	}
	cl.expectGrants("pre-refresh cookie after Redis restarted", 1)
	// The watches reconnect within watchRetry (1 s) of the restart.
	cl.expectSignOut(1, tb.cookie)
	cl.expectEndedWithin(time.Now(), 1, tb.cookie, "signed out after the restart", 2*propagation)

	// A paused Redis runs the commands it received when it resumes: the
	// sign-outs that answered 503 may then end fresh. other is not touched
	// during the outage.
	fresh, other := cl.signIn(), cl.signIn()
	srv.pause()
	cl.expectCookieOutage(fresh, ended, "Redis paused")
	srv.resume()
	if _, err := cl.get(0, "/tokens?force=1", other); err != nil {
		t.Fatalf("refresh after Redis resumed: %v", err)
	}
	cl.expectGrants("after Redis resumed", 2)
	if code := cl.backChannelLogout(0, cl.sid(other)); code != http.StatusOK {
		t.Fatalf("back-channel logout after Redis resumed: %d", code)
	}
	cl.expectEndedWithin(time.Now(), 0, other, "logged out after Redis resumed", 2*propagation)
}

// expectCookieOutage checks the instances while Redis is out: fresh (a
// session that needs no refresh) is served, ended (signed out before) is
// refused, a forced refresh of fresh answers 503 without a grant and keeps
// the cookie; sign-out of fresh and a back-channel logout answer 503.
func (cl *cluster) expectCookieOutage(fresh, ended, when string) {
	t := cl.t
	t.Helper()
	grants := cl.op.RefreshGrants()
	cl.expectServed(fresh, when)
	cl.expectRefused(ended, when)
	for i := range cl.instances {
		if r := cl.send(i, "/api/tokens?force=1", fresh); r.code != http.StatusServiceUnavailable || len(r.cookies) != 0 {
			t.Fatalf("%s: instance %d refresh: %d, Set-Cookie %v; want 503 without either", when, i, r.code, r.cookies)
		}
		if r := cl.send(i, "/api/auth/signout", fresh); r.code != http.StatusServiceUnavailable || r.location != "" || len(r.cookies) != 0 {
			t.Fatalf("%s: instance %d sign-out: %d to %q, Set-Cookie %v; want 503 without either", when, i, r.code, r.location, r.cookies)
		}
	}
	if code := cl.backChannelLogout(1, "no-such-sid"); code != http.StatusServiceUnavailable {
		t.Fatalf("%s: back-channel logout: %d; want 503", when, code)
	}
	if g := cl.op.RefreshGrants(); g != grants {
		t.Fatalf("%s: %d refresh grants ran without the lock", when, g-grants)
	}
	cl.expectServed(fresh, when+", after the failed sign-out")
}
