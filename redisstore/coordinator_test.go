package redisstore_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	monocloud "github.com/monocloud/auth-go"
	"github.com/monocloud/auth-go/monocloudtest"
	"github.com/monocloud/auth-go/redisstore"
	"github.com/redis/go-redis/v9"
)

// propagation is the bound within which a logout at one instance must end
// the session at the others.
const propagation = time.Second

// shortTTL is a lifetime of access tokens that GetTokens, which counts
// them expired 30 s early, finds fresh for only 2 to 3 seconds.
const shortTTL = 32 * time.Second

// newCookieCluster starts a provider issuing access tokens for ttl and n
// instances with cookie sessions that share the Store on rdb as mode says
// (cookieMode or cookieOnly). It also returns signInExpired, which signs in
// and waits until the session's access token has expired (ttl-29s).
func newCookieCluster(t *testing.T, rdb redis.UniversalClient, n int, mode sharing, ttl time.Duration) (cl *cluster, signInExpired func() string) {
	t.Helper()
	op := monocloudtest.NewProvider(t, monocloudtest.Config{AccessTokenTTL: ttl})
	cl = newClusterSharing(t, rdb, n, mode, func(string) monocloud.Options {
		return monocloud.Options{
			TenantDomain:      op.Issuer(),
			ClientID:          "test-client",
			ClientSecret:      "test-secret",
			DefaultAuthParams: monocloud.AuthParams{Scopes: "openid profile email offline_access"},
		}
	})
	cl.op = op
	return cl, func() string {
		cookie := cl.signIn()
		// Expired once now-30s is past the expiry, in whole seconds.
		expiry := time.Now().Unix() + int64(ttl/time.Second)
		time.Sleep(time.Until(time.Unix(expiry-29, 0)))
		return cookie
	}
}

// expectGrants checks the provider's refresh grants and reuse detections.
func (cl *cluster) expectGrants(when string, grants int) {
	cl.t.Helper()
	if g, r := cl.op.RefreshGrants(), cl.op.ReuseDetected(); g != grants || r != 0 {
		cl.t.Fatalf("%s: RefreshGrants = %d, ReuseDetected = %d; want %d, 0", when, g, r, grants)
	}
}

// TestCookieModeRefreshOnceAcrossInstances sends 50 concurrent requests
// with one expired cookie session, split over two and then three
// instances that share the Store as Coordinator, all held until every one
// has read the session: one refresh grant, no reuse, and all get its
// tokens.
func TestCookieModeRefreshOnceAcrossInstances(t *testing.T) {
	for _, n := range []int{2, 3} {
		t.Run(fmt.Sprint(n, " instances"), func(t *testing.T) {
			cl, signInExpired := newCookieCluster(t, newClient(t), n, cookieMode, shortTTL)
			cookie := signInExpired()
			results, errs := cl.tryWaveAt(50, "/tokens?refresh=1", cookie, true)
			for i, err := range errs {
				if err != nil {
					t.Fatalf("request %d: %v", i, err)
				}
			}
			cl.expectGrants("50 requests", 1)
			got := sameAccessToken(t, results)
			if got.cookie == cookie {
				t.Fatal("no refreshed session cookie")
			}
			// The refreshed cookie needs no further refresh anywhere.
			for i := range n {
				if tb, err := cl.get(i, "/tokens", got.cookie); err != nil || tb.AccessToken != got.AccessToken {
					t.Fatalf("instance %d with the refreshed cookie: %+v, %v", i, tb, err)
				}
			}
			cl.expectGrants("after the wave", 1)
		})
	}
}

// TestCookieModeWithoutCoordinatorReplays is the control of
// TestCookieModeRefreshOnceAcrossInstances: without a Coordinator each
// instance refreshes on its own, and the provider sees the refresh token
// presented twice.
func TestCookieModeWithoutCoordinatorReplays(t *testing.T) {
	cl, signInExpired := newCookieCluster(t, newClient(t), 2, cookieOnly, shortTTL)
	cookie := signInExpired()
	_, errs := cl.tryWaveAt(50, "/tokens?refresh=1", cookie, true)
	failed := 0
	for _, err := range errs {
		if err != nil {
			failed++
		}
	}
	if g, r := cl.op.RefreshGrants(), cl.op.ReuseDetected(); g < 2 || r < 1 || failed == 0 {
		t.Fatalf("without a Coordinator: RefreshGrants = %d, ReuseDetected = %d, %d failed; want a replay", g, r, failed)
	}
}

// TestCookieModePreRefreshCookieAtAnotherInstance refreshes at instance 0,
// then sends the cookie from before that refresh to instance 1: it answers
// the refreshed tokens, with the refreshed cookie, without a grant, even
// when the refresh is forced (the cookie is behind). After a second refresh
// at instance 1, from the first one's cookie, the oldest cookie gets the
// newest tokens at instance 2, which follows both shared refreshes.
func TestCookieModePreRefreshCookieAtAnotherInstance(t *testing.T) {
	cl, signInExpired := newCookieCluster(t, newClient(t), 3, cookieMode, shortTTL)
	cookie0 := signInExpired()
	first, err := cl.get(0, "/tokens", cookie0)
	if err != nil {
		t.Fatal(err)
	}
	cl.expectGrants("first refresh", 1)
	for _, path := range []string{"/tokens", "/tokens?force=1"} {
		tb, err := cl.get(1, path, cookie0)
		if err != nil || tb.AccessToken != first.AccessToken || tb.RefreshToken != first.RefreshToken || tb.cookie == cookie0 {
			t.Fatalf("instance 1 %s with the pre-refresh cookie: %+v, %v; want the first refresh's tokens and a new cookie", path, tb, err)
		}
	}
	cl.expectGrants("pre-refresh cookie at the other instances", 1)

	second, err := cl.get(1, "/tokens?force=1", first.cookie)
	if err != nil || second.AccessToken == first.AccessToken {
		t.Fatalf("second refresh: %+v, %v", second, err)
	}
	cl.expectGrants("second refresh", 2)
	for _, path := range []string{"/tokens", "/tokens?force=1"} {
		if tb, err := cl.get(2, path, cookie0); err != nil || tb.AccessToken != second.AccessToken || tb.RefreshToken != second.RefreshToken {
			t.Fatalf("instance 2 %s with the oldest cookie: %+v, %v; want the second refresh's tokens", path, tb, err)
		}
	}
	cl.expectGrants("oldest cookie", 2)
}

// expectEndedWithin checks that every instance but the one at index skip
// refuses cookie within propagation of start, and then every instance.
func (cl *cluster) expectEndedWithin(start time.Time, skip int, cookie, when string, bound time.Duration) {
	t := cl.t
	t.Helper()
	var wg sync.WaitGroup
	for i := range cl.instances {
		if i == skip {
			continue
		}
		wg.Go(func() {
			for cl.send(i, "/api/tokens", cookie).code != http.StatusUnauthorized {
				if time.Since(start) > bound {
					t.Errorf("%s: instance %d still serves the session after %v", when, i, bound)
					return
				}
				time.Sleep(5 * time.Millisecond)
			}
			t.Logf("%s: instance %d refuses the session %v after", when, i, time.Since(start).Round(time.Millisecond))
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	cl.expectRefused(cookie, when)
}

// TestCookieModeSignOutReachesEveryInstance signs out at one of three
// instances: the others refuse a copy of the cookie within a second.
// Without a Coordinator (the control) they still serve it.
func TestCookieModeSignOutReachesEveryInstance(t *testing.T) {
	cl, _ := newCookieCluster(t, newClient(t), 3, cookieMode, time.Hour)
	cookie := cl.signIn()
	cl.expectServed(cookie, "before sign-out")
	cl.expectSignOut(0, cookie)
	cl.expectEndedWithin(time.Now(), 0, cookie, "after sign-out at instance 0", propagation)

	t.Run("control without a Coordinator", func(t *testing.T) {
		cl, _ := newCookieCluster(t, newClient(t), 2, cookieOnly, time.Hour)
		cookie := cl.signIn()
		cl.expectSignOut(0, cookie)
		time.Sleep(propagation)
		if r := cl.send(1, "/api/tokens", cookie); r.code != http.StatusOK {
			t.Fatalf("instance 1 without a Coordinator: %d; want 200 (the control)", r.code)
		}
	})
}

// idTokenClaim returns a claim of an ID token, unverified.
func idTokenClaim(t *testing.T, token, claim string) string {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("ID token %q is not a JWT", token)
	}
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	s, _ := claims[claim].(string)
	return s
}

// sid returns the sid of cookie's session.
func (cl *cluster) sid(cookie string) string {
	cl.t.Helper()
	tb, err := cl.get(0, "/tokens", cookie)
	if err != nil {
		cl.t.Fatal(err)
	}
	sid := idTokenClaim(cl.t, tb.IDToken, "sid")
	if sid == "" {
		cl.t.Fatal("the ID token has no sid")
	}
	return sid
}

// backChannelLogout posts a logout token for sid (or, when sid is empty,
// for every session of the user) to instance i and returns the status.
func (cl *cluster) backChannelLogout(i int, sid string) int {
	t := cl.t
	t.Helper()
	claims := map[string]any{
		"iss": cl.op.Issuer(), "aud": "test-client", "iat": time.Now().Unix(), "exp": time.Now().Add(time.Minute).Unix(),
		"jti": rand.Text(), "sub": "user-1",
		"events": map[string]any{"http://schemas.openid.net/event/backchannel-logout": map[string]any{}},
	}
	if sid != "" {
		claims["sid"] = sid
	}
	token := cl.op.SignLogoutToken(t, claims)
	resp, err := http.PostForm(cl.instances[i].srv.URL+"/api/auth/backchannel-logout", url.Values{"logout_token": {token}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestCookieModeBackChannelLogoutReachesEveryInstance posts a logout token
// to one of three instances, by sid and then by sub: the others refuse the
// sessions within a second, and a session of the same user with another
// sid survives the logout by sid.
func TestCookieModeBackChannelLogoutReachesEveryInstance(t *testing.T) {
	cl, _ := newCookieCluster(t, newClient(t), 3, cookieMode, time.Hour)
	a, b := cl.signIn(), cl.signIn()
	if code := cl.backChannelLogout(1, cl.sid(a)); code != http.StatusOK {
		t.Fatalf("back-channel logout by sid: %d", code)
	}
	cl.expectEndedWithin(time.Now(), 1, a, "after a logout by sid at instance 1", propagation)
	cl.expectServed(b, "the other session after a logout by sid")

	if code := cl.backChannelLogout(2, ""); code != http.StatusOK {
		t.Fatalf("back-channel logout by sub: %d", code)
	}
	cl.expectEndedWithin(time.Now(), 2, b, "after a logout by sub at instance 2", propagation)
}

// TestStoreModeBackChannelLogoutDeletesSessions: with the Store as
// SessionStore and Coordinator, a back-channel logout deletes the sessions
// of its sid, then of its sub, from Redis; every key the Store writes has
// an expiry.
func TestStoreModeBackChannelLogoutDeletesSessions(t *testing.T) {
	cl := newCluster(t, 2, true)
	a, b := cl.signIn(), cl.signIn()
	if keys := cl.sessionKeys(); len(keys) != 2 {
		t.Fatalf("store holds %q; want two sessions", keys)
	}
	expectAllExpire(t, cl.rdb, cl.prefix)
	if code := cl.backChannelLogout(1, cl.sid(a)); code != http.StatusOK {
		t.Fatalf("back-channel logout by sid: %d", code)
	}
	if keys := cl.sessionKeys(); len(keys) != 1 {
		t.Fatalf("store holds %q after the logout by sid; want one session", keys)
	}
	cl.expectRefused(a, "after a logout by sid")
	cl.expectServed(b, "the other session after a logout by sid")
	expectAllExpire(t, cl.rdb, cl.prefix)

	if code := cl.backChannelLogout(0, ""); code != http.StatusOK {
		t.Fatalf("back-channel logout by sub: %d", code)
	}
	if keys := cl.sessionKeys(); len(keys) != 0 {
		t.Fatalf("store holds %q after the logout by sub", keys)
	}
	cl.expectRefused(b, "after a logout by sub")
	expectAllExpire(t, cl.rdb, cl.prefix)
}

// expectAllExpire checks that every key under prefix has an expiry.
func expectAllExpire(t *testing.T, rdb redis.UniversalClient, prefix string) {
	t.Helper()
	for _, k := range keysUnder(t, rdb, prefix) {
		if ttl, err := rdb.PTTL(t.Context(), k).Result(); err != nil || ttl <= 0 {
			t.Errorf("key %q: PTTL %v, %v; want an expiry", k, ttl, err)
		}
	}
}

// TestWatchEnded: a watch delivers the ended sessions recorded before
// it started, then each new one; expired ones are not delivered, and the
// set expires with its last member.
func TestWatchEnded(t *testing.T) {
	rdb := newClient(t)
	prefix := testPrefix(t)
	store := redisstore.New(rdb, &redisstore.Options{Prefix: prefix})
	now := time.Now().Truncate(time.Millisecond)
	before := monocloud.EndedSession{Key: "k1", Sub: "user 1", At: now, Expires: now.Add(time.Hour)}
	stale := monocloud.EndedSession{SID: "old", At: now.Add(-2 * time.Hour), Expires: now.Add(-time.Hour)}
	for _, r := range []monocloud.EndedSession{before, stale} {
		if err := store.EndSession(t.Context(), r); err != nil {
			t.Fatal(err)
		}
	}
	if err := store.EndSession(t.Context(), monocloud.EndedSession{At: now}); err == nil {
		t.Fatal("EndSession without key, sid or sub: no error")
	}
	got := make(chan monocloud.EndedSession, 10)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	loaded := make(chan struct{}, 10)
	go func() {
		done <- store.WatchEnded(ctx, func(r monocloud.EndedSession) { got <- r }, func() { loaded <- struct{}{} })
	}()
	expect := func(want monocloud.EndedSession) {
		t.Helper()
		select {
		case r := <-got:
			if !r.At.Equal(want.At) || !r.Expires.Equal(want.Expires) || r.Key != want.Key || r.SID != want.SID || r.Sub != want.Sub {
				t.Fatalf("delivered %+v; want %+v", r, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%+v not delivered", want)
		}
	}
	expect(before)
	select {
	case <-loaded:
	case <-time.After(5 * time.Second):
		t.Fatal("loaded not called after the ended sessions recorded before the watch")
	}
	after := monocloud.EndedSession{Sub: "user 1", At: now, Expires: now.Add(2 * time.Hour)}
	if err := store.EndSession(t.Context(), after); err != nil {
		t.Fatal(err)
	}
	expect(after)
	bySID := monocloud.EndedSession{SID: "sid 1", Sub: "user 1", At: now, Expires: now.Add(time.Hour)}
	if err := store.EndSession(t.Context(), bySID); err != nil {
		t.Fatal(err)
	}
	expect(bySID)
	if ttl, err := rdb.PTTL(t.Context(), prefix+"ended").Result(); err != nil || ttl <= time.Hour || ttl > 2*time.Hour {
		t.Fatalf("set of ended sessions PTTL %v, %v; want the last member's expiry", ttl, err)
	}
	cancel()
	if err := <-done; err == nil {
		t.Fatal("WatchEnded returned nil when its context ended")
	}
	select {
	case r := <-got:
		t.Fatalf("unexpected delivery %+v", r)
	default:
	}
}

// startInstance starts another instance of cl's application (cookie
// sessions), with the Store coordinator, changed by mutate (may be nil),
// and returns its handler: every route protected.
func (cl *cluster) startInstance(coordinator *redisstore.Store, mutate func(*monocloud.Options)) http.Handler {
	t := cl.t
	t.Helper()
	opts := monocloud.Options{
		TenantDomain:      cl.op.Issuer(),
		ClientID:          "test-client",
		ClientSecret:      "test-secret",
		DefaultAuthParams: monocloud.AuthParams{Scopes: "openid profile email offline_access"},
		AppURL:            cl.instances[0].srv.URL,
		CookieSecret:      cookieSecret,
		Coordinator:       coordinator,
	}
	if mutate != nil {
		mutate(&opts)
	}
	c, err := monocloud.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c.AuthMiddleware(nil)(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") }))
}

// status serves GET /page with the Cookie header cookie by h and returns
// the status.
func status(h http.Handler, cookie string) int {
	r := httptest.NewRequest(http.MethodGet, "http://app/page", nil)
	r.Header.Set("Cookie", cookie)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Code
}

// TestEndedSetIsBoundedPerUser: past its bound, the set of ended sessions
// keeps, for the users of the ended sessions it drops, one logout each, dated
// by the latest one dropped: an instance started afterwards refuses a
// signed-out cookie whose revocation was dropped, and serves the sessions
// of other users, however many times one account signed out.
func TestEndedSetIsBoundedPerUser(t *testing.T) {
	const bound = 16
	cl, _ := newCookieCluster(t, newClient(t), 1, cookieMode, time.Hour)
	redisstore.SetMaxEnded(cl.store, bound)
	victim := cl.signIn()
	cookies, err := cl.instances[0].client.EncodeSession(t.Context(), &monocloud.Session{User: monocloud.User{"sub": "bystander"}})
	if err != nil {
		t.Fatal(err)
	}
	var parts []string
	for _, ck := range cookies {
		parts = append(parts, ck.Name+"="+ck.Value)
	}
	bystander := strings.Join(parts, "; ")
	cl.expectSignOut(0, victim)
	now := time.Now()
	for i := range 3 * bound { // one account signing out in a loop, after the victim
		at := now.Add(time.Duration(i+1) * time.Second)
		r := monocloud.EndedSession{Key: fmt.Sprintf("attacker-%d", i), Sub: "attacker", At: at, Expires: at.Add(7 * 24 * time.Hour)}
		if err := cl.store.EndSession(t.Context(), r); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := cl.rdb.ZCard(t.Context(), cl.prefix+"ended").Result(); err != nil || n != bound+2 {
		t.Fatalf("set of ended sessions of %d members, %v; want %d: the bound, and one per user of the dropped ones", n, err, bound+2)
	}
	h := cl.startInstance(cl.store, nil)
	cl.waitFor("the new instance to refuse the victim's signed-out cookie", func() bool {
		code := status(h, victim)
		return code != http.StatusOK && code != http.StatusServiceUnavailable
	})
	if code := status(h, bystander); code != http.StatusOK {
		t.Errorf("a session of a bystander at the new instance: %d; want 200", code)
	}
	var subs []string
	ctx, cancel := context.WithCancel(t.Context())
	err = cl.store.WatchEnded(ctx, func(r monocloud.EndedSession) {
		if r.Key == "" && r.SID == "" {
			subs = append(subs, r.Sub)
		}
	}, cancel)
	if !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	if len(subs) != 2 {
		t.Errorf("logouts by sub in the set: %q; want one for the victim's user, one for the attacker", subs)
	}
}

// TestNewInstanceWhileRedisIsPaused: an instance started while Redis does
// not answer serves no session until it has loaded the ended sessions: each
// request carrying one answers 503 after ResponseTimeout. Once Redis
// answers, a session signed out before is refused and another served.
func TestNewInstanceWhileRedisIsPaused(t *testing.T) {
	srv := startRedis(t)
	cl, _ := newCookieCluster(t, srv.client(commandTimeout), 1, cookieMode, time.Hour)
	ended, live := cl.signIn(), cl.signIn()
	cl.expectSignOut(0, ended)
	srv.pause()
	paused := true
	defer func() {
		if paused {
			srv.resume()
		}
	}()
	store := redisstore.New(srv.client(commandTimeout), &redisstore.Options{Prefix: cl.prefix})
	h := cl.startInstance(store, func(o *monocloud.Options) { o.ResponseTimeout = time.Second })
	codes := make(chan int, 20)
	var wg sync.WaitGroup
	for range cap(codes) { // a request every 100 ms for the 2 s of the pause
		wg.Go(func() { codes <- status(h, ended) })
		time.Sleep(100 * time.Millisecond)
	}
	wg.Wait()
	srv.resume()
	paused = false
	close(codes)
	for code := range codes {
		if code != http.StatusServiceUnavailable {
			t.Errorf("a signed-out session at an instance started while Redis is paused: %d; want 503", code)
		}
	}
	cl.waitFor("the new instance to load the ended sessions", func() bool { return status(h, live) == http.StatusOK })
	if code := status(h, ended); code == http.StatusOK || code == http.StatusServiceUnavailable {
		t.Errorf("the signed-out session once Redis answers: %d; want it refused", code)
	}
}

// stallProxy forwards TCP from a loopback port to a Redis. stall makes the
// connections open at that moment stop forwarding either way without
// closing, as after a dropped NAT entry or a partition; connections opened
// later work.
type stallProxy struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []*atomic.Bool
}

func newStallProxy(t *testing.T, target string) *stallProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &stallProxy{ln: ln}
	var open []net.Conn
	var openMu sync.Mutex
	t.Cleanup(func() {
		_ = ln.Close()
		openMu.Lock()
		defer openMu.Unlock()
		for _, c := range open {
			_ = c.Close()
		}
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				_ = c.Close()
				continue
			}
			openMu.Lock()
			open = append(open, c, up)
			openMu.Unlock()
			stalled := new(atomic.Bool)
			p.mu.Lock()
			p.conns = append(p.conns, stalled)
			p.mu.Unlock()
			pipe := func(dst, src net.Conn) {
				buf := make([]byte, 32<<10)
				for {
					n, err := src.Read(buf)
					if n > 0 && !stalled.Load() {
						if _, err := dst.Write(buf[:n]); err != nil {
							return
						}
					}
					if err != nil {
						_ = dst.Close()
						return
					}
				}
			}
			go pipe(up, c)
			go pipe(c, up)
		}
	}()
	return p
}

func (p *stallProxy) addr() string { return p.ln.Addr().String() }

// stall stops the connections open now.
func (p *stallProxy) stall() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, s := range p.conns {
		s.Store(true)
	}
}

// TestSignOutReachesAnInstanceWhoseConnectionsDied: an instance whose
// connections to Redis silently stop carrying data refuses a session
// signed out at another instance within a second of the sign-out, as with
// a live connection.
func TestSignOutReachesAnInstanceWhoseConnectionsDied(t *testing.T) {
	cl, _ := newCookieCluster(t, newClient(t), 1, cookieMode, time.Hour)
	proxy := newStallProxy(t, redisAddr)
	viaProxy := redis.NewClient(&redis.Options{Addr: proxy.addr(), ReadTimeout: time.Second, WriteTimeout: time.Second})
	t.Cleanup(func() { _ = viaProxy.Close() })
	h := cl.startInstance(redisstore.New(viaProxy, &redisstore.Options{Prefix: cl.prefix}), nil)
	cookie := cl.signIn()
	cl.waitFor("the instance behind the proxy to serve the session", func() bool { return status(h, cookie) == http.StatusOK })
	time.Sleep(700 * time.Millisecond) // the subscription idles
	proxy.stall()
	cl.expectSignOut(0, cookie)
	start := time.Now()
	for status(h, cookie) == http.StatusOK {
		if time.Since(start) > propagation {
			t.Fatalf("the instance whose connections died serves the session %v after its sign-out", propagation)
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("refused %v after the sign-out", time.Since(start).Round(time.Millisecond))
}

// TestCloseStopsABusyWatch: Close ends the watch of its Client, and its
// subscription, while ended sessions keep flowing every 50 to 300 ms.
func TestCloseStopsABusyWatch(t *testing.T) {
	cl, _ := newCookieCluster(t, newClient(t), 1, cookieMode, time.Hour)
	channel := cl.prefix + "ended"
	subscribers := func() int64 {
		n, err := cl.rdb.PubSubNumSub(t.Context(), channel).Result()
		if err != nil {
			t.Fatal(err)
		}
		return n[channel]
	}
	cl.waitFor("instance 0 to subscribe", func() bool { return subscribers() == 1 })
	opts := monocloud.Options{
		TenantDomain: cl.op.Issuer(), ClientID: "test-client", ClientSecret: "test-secret",
		AppURL: cl.instances[0].srv.URL, CookieSecret: cookieSecret, Coordinator: cl.store,
	}
	c, err := monocloud.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	cl.waitFor("the second client to subscribe", func() bool { return subscribers() == 2 })
	stop := make(chan struct{})
	flowing := make(chan struct{})
	go func() {
		defer close(flowing)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(time.Duration(50+i*37%250) * time.Millisecond):
			}
			now := time.Now()
			_ = cl.store.EndSession(context.Background(), monocloud.EndedSession{Key: fmt.Sprintf("k%d", i), Sub: "u", At: now, Expires: now.Add(time.Hour)})
		}
	}()
	defer func() { close(stop); <-flowing }()
	time.Sleep(500 * time.Millisecond)
	closed := time.Now()
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	cl.waitFor("the closed client's subscription to end", func() bool { return subscribers() == 1 })
	t.Logf("the subscription ended %v after Close", time.Since(closed).Round(time.Millisecond))
}

// TestLogoutTokenUsedOnceAcrossInstances: a logout token accepted by one
// instance is refused by another (400): its jti is recorded in Redis until
// the token expires.
func TestLogoutTokenUsedOnceAcrossInstances(t *testing.T) {
	cl, _ := newCookieCluster(t, newClient(t), 2, cookieMode, time.Hour)
	exp := time.Now().Add(time.Minute)
	token := cl.op.SignLogoutToken(t, map[string]any{
		"iss": cl.op.Issuer(), "aud": "test-client", "iat": time.Now().Unix(), "exp": exp.Unix(),
		"jti": rand.Text(), "sub": "user-1",
		"events": map[string]any{"http://schemas.openid.net/event/backchannel-logout": map[string]any{}},
	})
	post := func(i int) int {
		resp, err := http.PostForm(cl.instances[i].srv.URL+"/api/auth/backchannel-logout", url.Values{"logout_token": {token}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post(0); code != http.StatusOK {
		t.Fatalf("logout at instance 0: %d", code)
	}
	if code := post(1); code != http.StatusBadRequest {
		t.Errorf("the same token at instance 1: %d; want 400", code)
	}
	keys := keysUnder(t, cl.rdb, cl.prefix+"used:")
	if len(keys) != 1 {
		t.Fatalf("used token keys %q; want one", keys)
	}
	want := time.Unix(exp.Unix(), 0).Add(time.Minute) // exp, in whole seconds, plus the clock skew
	if at, err := cl.rdb.PExpireTime(t.Context(), keys[0]).Result(); err != nil || at != time.Duration(want.UnixMilli())*time.Millisecond {
		t.Errorf("the used token is kept until %v, %v; want its exp plus the clock skew, %v", time.UnixMilli(at.Milliseconds()), err, want)
	}
}
