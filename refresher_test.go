package monocloud

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/monocloud/auth-go/internal/refresh"
	"github.com/monocloud/auth-go/monocloudtest"
)

// TestForceRefreshWithoutRotationSharesOneGrant: concurrent forced
// refreshes of one session that waited for a grant share it, even when the
// provider does not rotate refresh tokens. Kills: dropping
// `res.obtained.After(arrived)` from the sharing condition.
func TestForceRefreshWithoutRotationSharesOneGrant(t *testing.T) {
	app := newTokensApp(t, monocloudtest.Config{DisableRotation: true}, Options{})
	app.signIn("")
	signedIn := app.session().AccessTokens[0].AccessToken
	c0 := app.cookies()
	// Slow grants, so all requests arrive while the first one runs.
	app.op.SetTokenFault(monocloudtest.Fault{Delay: 400 * time.Millisecond})

	const n = 20
	tokens := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			status, tok, _, err := app.httpTokens(c0, "force=1")
			if err != nil || status != http.StatusOK {
				t.Errorf("request %d: %d %v", i, status, err)
				return
			}
			tokens[i] = tok.AccessToken
		})
	}
	wg.Wait()
	if got := app.op.RefreshGrants(); got != 1 {
		t.Errorf("refresh grants = %d, want 1", got)
	}
	for i, tok := range tokens {
		if tok != tokens[0] || tok == signedIn {
			t.Fatalf("request %d got access token %q, request 0 %q (signed in with %q)", i, tok, tokens[0], signedIn)
		}
	}
}

// TestStaleResultWithinMarginIsNotShared: a result whose access token is
// within the expiry margin (30 s) is not handed to a later request from the
// same old cookie: it gets a new grant. Kills: the margin dropped from
// `fresh` in internal/refresh's lineage.share.
func TestStaleResultWithinMarginIsNotShared(t *testing.T) {
	// Tokens of 20 s count as expired from the start.
	app := newTokensApp(t, monocloudtest.Config{AccessTokenTTL: 20 * time.Second}, Options{})
	app.signIn("")
	c0 := app.cookies()
	_, first, _, err := app.httpTokens(c0, "")
	if err != nil {
		t.Fatal(err)
	}
	assertGrants(t, app.op, 1)
	_, second, _, err := app.httpTokens(c0, "")
	if err != nil {
		t.Fatal(err)
	}
	assertGrants(t, app.op, 2)
	if second.AccessToken == first.AccessToken {
		t.Fatalf("the second request got the first one's access token %q, already within the expiry margin", first.AccessToken)
	}
}

// TestAdoptedTokenIsNeverExpired: an instance holding a cookie from
// before another instance's refresh does not adopt that refresh's access
// token once it has expired: it refreshes again. Kills: the `!expired(tok)`
// condition dropped from the adoption in Client.runRefresh.
func TestAdoptedTokenIsNeverExpired(t *testing.T) {
	store := &fakeStore{}
	a := newTokensApp(t, monocloudtest.Config{}, Options{Session: SessionOptions{Store: store.asLockingStore()}})
	a.signIn("")
	c0 := a.cookies()
	b := a.secondInstance(store.asLockingStore())

	// Instance A refreshes; its token then expires.
	refreshedByA := a.mustTokens(&GetTokensOptions{ForceRefresh: true})
	a.clock.Set(time.Unix(refreshedByA.AccessTokenExpiration+1, 0))

	// Instance B serves the cookie from before A's refresh.
	var (
		tok    *Tokens
		tokErr error
	)
	h := b.AuthMiddleware(nil)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, tokErr = b.GetTokens(r.Context(), nil)
	}))
	r := httptest.NewRequest(http.MethodGet, a.srv.URL+"/tokens", nil)
	for _, ck := range c0 {
		r.AddCookie(ck)
	}
	h.ServeHTTP(httptest.NewRecorder(), r)
	if tokErr != nil {
		t.Fatalf("instance B: %v", tokErr)
	}
	if tok.IsExpired || tok.AccessToken == refreshedByA.AccessToken {
		t.Fatalf("instance B got %+v; want a new, unexpired token (A's was %q)", tok, refreshedByA.AccessToken)
	}
	assertGrants(t, a.op, 2)
}

// TestSharedResultCarriesTheNewestRefreshToken: a request with an old
// cookie that shares an old result gets the lineage's newest refresh token,
// not the (consumed) one of that result.
func TestSharedResultCarriesTheNewestRefreshToken(t *testing.T) {
	app := newTokensApp(t, monocloudtest.Config{}, Options{})
	app.signIn("")
	c1 := app.cookies() // RT1; its access token expires at t0+1h
	app.clock.Advance(50 * time.Minute)
	// RT1 → RT2, then RT2 → RT3.
	app.mustTokens(&GetTokensOptions{ForceRefresh: true})
	rt3 := app.mustTokens(&GetTokensOptions{ForceRefresh: true}).RefreshToken
	// RT1's access token has expired, the refreshed ones are fresh.
	app.clock.Advance(11 * time.Minute)

	_, tok, _, err := app.httpTokens(c1, "")
	if err != nil {
		t.Fatal(err)
	}
	assertGrants(t, app.op, 2)
	if tok.RefreshToken != rt3 {
		t.Fatalf("refresh token %q, want the newest %q", tok.RefreshToken, rt3)
	}
}

// TestResultFiledUnderTheCookiesRefreshToken: when an old cookie's
// refresh is run with the lineage's newest refresh token, its result is
// kept for the query, so the next request with that cookie (whose refresh
// token is now recorded as used) shares it. Kills: the result not kept in
// internal/refresh's lineage.finish.
func TestResultFiledUnderTheCookiesRefreshToken(t *testing.T) {
	app := newTokensApp(t, monocloudtest.Config{}, Options{})
	app.signIn("")
	c1 := app.cookies()
	_, first, _, err := app.httpTokens(c1, "force=1") // RT1 → RT2
	if err != nil {
		t.Fatal(err)
	}
	app.clock.Set(time.Unix(first.AccessTokenExpiration+1, 0))
	_, second, _, err := app.httpTokens(c1, "") // RT2 → RT3
	if err != nil {
		t.Fatal(err)
	}
	assertGrants(t, app.op, 2)
	_, third, _, err := app.httpTokens(c1, "")
	if err != nil {
		t.Fatal(err)
	}
	assertGrants(t, app.op, 2)
	if third.AccessToken != second.AccessToken || third.RefreshToken != second.RefreshToken {
		t.Fatalf("third request got %+v, want the second's %+v", third, second)
	}
}

// TestEchoedRefreshTokenIsNotConsumed: a provider that answers a refresh
// with the same refresh token did not rotate it, so a later forced refresh
// runs a new grant. Kills: `res.refreshToken != "" && res.refreshToken != rt`
// reduced to `res.refreshToken != ""`. (DisableRotation, where the provider
// omits refresh_token, cannot tell them apart.)
func TestEchoedRefreshTokenIsNotConsumed(t *testing.T) {
	app := newTokensApp(t, monocloudtest.Config{}, Options{})
	app.signIn("")
	rt := app.session().RefreshToken
	app.op.SetTokenFault(tokenFault("at-echo-1", "", rt))
	if tok := app.mustTokens(&GetTokensOptions{ForceRefresh: true}); tok.AccessToken != "at-echo-1" || tok.RefreshToken != rt {
		t.Fatalf("first refresh: %+v", tok)
	}
	app.op.SetTokenFault(tokenFault("at-echo-2", "", rt))
	if tok := app.mustTokens(&GetTokensOptions{ForceRefresh: true}); tok.AccessToken != "at-echo-2" {
		t.Fatalf("second forced refresh got %q, want a new grant's at-echo-2", tok.AccessToken)
	}
	assertGrants(t, app.op, 2)
}

// newLateApp returns a tokens app whose provider answers refresh grants through
// a fakeTransport (setDelay), signed in with an expired default token.
func newLateApp(t *testing.T, opts Options) (*testApp, *fakeTransport) {
	t.Helper()
	tr := &fakeTransport{}
	opts.HTTPClient = &http.Client{Transport: tr}
	a := newTokensApp(t, monocloudtest.Config{}, opts)
	a.signIn("")
	a.expireDefault()
	return a, tr
}

// TestRefreshOutlivesAbortedRequest: the client of the request that starts
// a refresh goes away while the provider rotates the refresh token. The
// grant runs to completion and is kept, so the session's next request, with
// the cookie from before the refresh, gets the new tokens without presenting
// the used refresh token again (which would revoke the grant).
func TestRefreshOutlivesAbortedRequest(t *testing.T) {
	a, tr := newLateApp(t, Options{})
	before := a.cookies()
	abortRefresh(t, a, tr, before)

	status, tok, _, err := a.httpTokens(before, "")
	if status != http.StatusOK {
		t.Fatalf("next request with the pre-refresh cookie: %d %v", status, err)
	}
	if tok.IsExpired || a.op.RefreshGrants() != 1 || a.op.ReuseDetected() != 0 {
		t.Fatalf("expired %v, %d refresh grants, %d reuse detections; want a fresh token, 1, 0", tok.IsExpired, a.op.RefreshGrants(), a.op.ReuseDetected())
	}
	// The grant is alive: a forced refresh with the same old cookie is not
	// a replay either.
	if status, _, _, err := a.httpTokens(before, "force=1"); status != http.StatusOK || a.op.ReuseDetected() != 0 {
		t.Fatalf("forced refresh afterwards: %d %v, %d reuse detections", status, err, a.op.ReuseDetected())
	}
}

// abortRefresh makes a request with cookies that starts a refresh and goes
// away before the provider, delayed by tr, answers.
func abortRefresh(t *testing.T, a *testApp, tr *fakeTransport, cookies []*http.Cookie) {
	t.Helper()
	tr.setDelay(400 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, _, _, err := a.httpTokensContext(ctx, cookies, ""); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("aborted request: %v, want the client's deadline", err)
	}
	tr.setDelay(0)
}

// TestRefreshOfAbortedRequestReportedOnce: a grant reports itself through
// the request that started it, at the top of its GetTokens; when that
// request stopped waiting, the grant reports itself when it ends. Either
// way the refresh is reported exactly once, and a request that then takes
// its kept result reports only that.
func TestRefreshOfAbortedRequestReportedOnce(t *testing.T) {
	rec := &logRecorder{level: slog.LevelDebug}
	a, tr := newLateApp(t, rec.options())
	before := a.cookies()
	abortRefresh(t, a, tr, before)
	refreshes := func() int { return len(rec.find(EventRefresh)) }
	for deadline := time.Now().Add(5 * time.Second); refreshes() == 0 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if status, _, _, err := a.httpTokens(before, ""); status != http.StatusOK {
		t.Fatalf("next request with the pre-refresh cookie: %d %v", status, err)
	}
	if n := refreshes(); n != 1 {
		t.Errorf("%d refresh events for one grant, want 1", n)
	}
	if n := len(rec.find(EventRefreshShared)); n != 1 {
		t.Errorf("%d refresh_shared events for the kept result, want 1", n)
	}
}

// TestPreRefreshCookieAfterManyOtherRefreshes: a refresh whose answer never
// reached the browser (GetTokensFromRequest without a response, or an
// aborted request) leaves it with the pre-refresh cookie. After 100,000
// other sessions refreshed (ten times the former bound of 10,000 records),
// that cookie's next request still adopts the session's refresh: it must
// not present the used refresh token, which makes the provider revoke the
// grant.
func TestPreRefreshCookieAfterManyOtherRefreshes(t *testing.T) {
	app := newTokensApp(t, monocloudtest.Config{}, Options{})
	app.signIn("")
	before := app.sessionCookies()
	app.expireDefault()
	if _, err := app.client.GetTokensFromRequest(app.request(http.MethodGet, "/tokens"), nil); err != nil {
		t.Fatal(err)
	}

	const others = 100_000
	for i := range others {
		_, _ = app.client.refreshes.Do(context.Background(), refresh.Request{Session: fmt.Sprint("other-", i), RefreshToken: "rt"},
			func(context.Context, string) (refresh.Outcome[*refreshedSession], error) {
				return refresh.Outcome[*refreshedSession]{RefreshToken: "rt2", Expires: app.clock.Now().Add(time.Hour)}, nil
			})
	}

	r := httptest.NewRequest(http.MethodGet, app.url("/tokens"), nil)
	for _, ck := range before {
		r.AddCookie(ck)
	}
	w := httptest.NewRecorder()
	app.h.ServeHTTP(w, r)
	if w.Code != http.StatusOK || app.op.ReuseDetected() != 0 {
		t.Fatalf("pre-refresh cookie after %d other refreshes: %d %s, %d reuse detections (grant revoked), want 200 and 0",
			others, w.Code, w.Body.String(), app.op.ReuseDetected())
	}
	if n := app.op.RefreshGrants(); n != 2 {
		t.Fatalf("%d refresh grants, want 2: the lost one and one presenting its rotated token", n)
	}
}

// TestRefreshWaiterGetsAbortedLeadersGrant: a request waiting for a grant
// whose starter went away gets that grant's result.
func TestRefreshWaiterGetsAbortedLeadersGrant(t *testing.T) {
	a, tr := newLateApp(t, Options{})
	cookies := a.cookies()
	tr.setDelay(300 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Millisecond)
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() { _, _, _, _ = a.httpTokensContext(ctx, cookies, "") })
	time.Sleep(20 * time.Millisecond)
	status, tok, _, err := a.httpTokens(cookies, "")
	wg.Wait()
	if status != http.StatusOK || tok.IsExpired {
		t.Fatalf("waiter: %d %v", status, err)
	}
	if a.op.RefreshGrants() != 1 || a.op.ReuseDetected() != 0 {
		t.Fatalf("%d refresh grants, %d reuse detections; want 1, 0", a.op.RefreshGrants(), a.op.ReuseDetected())
	}
}

// TestRefreshNoConvoyOnHungProvider: requests of one session that wait on a
// grant to a hung provider share its failure after one ResponseTimeout,
// instead of each running its own grant after the previous one timed out.
func TestRefreshNoConvoyOnHungProvider(t *testing.T) {
	a := newTokensApp(t, monocloudtest.Config{}, Options{ResponseTimeout: time.Second})
	a.signIn("")
	a.expireDefault()
	cookies := a.cookies()
	a.op.SetTokenFault(monocloudtest.Fault{Delay: time.Minute})

	const n = 5
	var wg sync.WaitGroup
	var slowest atomic.Int64
	start := time.Now()
	for range n {
		wg.Go(func() {
			if status, _, _, _ := a.httpTokens(cookies, ""); status == http.StatusOK {
				t.Error("a refresh against a hung provider succeeded")
			}
			slowest.Store(max(slowest.Load(), int64(time.Since(start))))
		})
	}
	wg.Wait()
	// A convoy answers its k-th request after k × ResponseTimeout; the
	// bound leaves room for a loaded machine below 2 s.
	if d := time.Duration(slowest.Load()); d > 1900*time.Millisecond {
		t.Errorf("slowest of %d requests answered after %v; ResponseTimeout is 1s", n, d)
	}
	if got := a.op.RefreshGrants(); got != 1 {
		t.Errorf("provider got %d refresh grants for one refresh need, want 1", got)
	}

	a.op.SetTokenFault(monocloudtest.Fault{})
	if status, _, _, err := a.httpTokens(cookies, ""); status != http.StatusOK || a.op.ReuseDetected() != 0 {
		t.Fatalf("after the provider recovered: %d %v, %d reuse detections", status, err, a.op.ReuseDetected())
	}
}

// TestSignOutDuringRefreshStaysSignedOut: a sign-out (or a back-channel
// logout) that arrives while a refresh grant of the same session is in
// flight ends the session for good, whichever request finishes last:
// neither the store entry nor a cookie the refresh hands out brings it back.
func TestSignOutDuringRefreshStaysSignedOut(t *testing.T) {
	signOut := func(t *testing.T, a *testApp) {
		if resp, _ := a.get("/api/auth/signout"); resp.StatusCode != http.StatusTemporaryRedirect {
			t.Fatalf("sign-out: %d", resp.StatusCode)
		}
	}
	backChannelLogout := func(t *testing.T, a *testApp) {
		token := a.op.SignLogoutToken(t, map[string]any{
			"iss": a.op.Issuer(), "aud": "test-client", "iat": a.clock.Unix(), "exp": a.clock.Now().Add(time.Minute).Unix(),
			"jti": rand.Text(), "sub": "user-1",
			"events": map[string]any{"http://schemas.openid.net/event/backchannel-logout": map[string]any{}},
		})
		resp, err := http.PostForm(a.srv.URL+"/api/auth/backchannel-logout", url.Values{"logout_token": {token}})
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("back-channel logout: %v %v", resp, err)
		}
		resp.Body.Close()
	}
	for _, tt := range []struct {
		mode string
		end  func(*testing.T, *testApp)
	}{
		{"cookie/sign-out", signOut},
		{"store/sign-out", signOut},
		{"cookie/back-channel logout", backChannelLogout},
	} {
		mode := strings.Split(tt.mode, "/")[0]
		t.Run(tt.mode, func(t *testing.T) {
			var store *fakeStore
			opts := Options{}
			if mode == "store" {
				store = &fakeStore{}
				opts.Session.Store = store.asLockingStore()
			}
			a, tr := newLateApp(t, opts)
			cookies := a.cookies()
			tr.setDelay(200 * time.Millisecond)

			var refreshSet []*http.Cookie
			var wg sync.WaitGroup
			wg.Go(func() { _, _, refreshSet, _ = a.httpTokens(cookies, "") })
			time.Sleep(50 * time.Millisecond) // the grant is in flight
			tt.end(t, a)
			wg.Wait()

			if store != nil && len(store.keys()) != 0 {
				t.Fatalf("store entry resurrected: %v", store.keys())
			}
			for name, set := range map[string][]*http.Cookie{"old cookie": cookies, "cookie set by the refresh": applyCookies(cookies, refreshSet)} {
				if status, _, _, _ := a.httpTokens(set, ""); status == http.StatusOK {
					t.Errorf("%s still works after sign-out", name)
				}
			}
			if a.op.ReuseDetected() != 0 {
				t.Errorf("%d reuse detections", a.op.ReuseDetected())
			}
		})
	}
}

// TestRefreshKeepsRotatedTokenOfRefusedAnswer: when the provider rotates
// the refresh token but its answer fails validation, the stored session
// keeps the rotated token, so the next grant (on any instance) does not
// present the used one.
func TestRefreshKeepsRotatedTokenOfRefusedAnswer(t *testing.T) {
	store := &fakeStore{}
	a := newTokensApp(t, monocloudtest.Config{}, Options{Session: SessionOptions{Store: store.asLockingStore()}})
	a.signIn("")
	a.expireDefault()
	a.op.SetTokenFault(monocloudtest.Fault{Body: `{"access_token":"at","token_type":"Bearer","expires_in":3600,"scope":"openid profile email","refresh_token":"rotated-by-the-provider","id_token":"not.a.jwt"}`})
	if status, _, _, err := a.httpTokens(a.cookies(), ""); status == http.StatusOK || !strings.Contains(err.Error(), "ID token") {
		t.Fatalf("a refresh with an invalid ID token: %d %v", status, err)
	}
	if s := a.session(); s == nil || s.RefreshToken != "rotated-by-the-provider" {
		t.Fatalf("stored session after a refused answer: %+v, want the rotated refresh token kept", s)
	}
}

// TestRefreshExactlyOnceAcrossInstances: two clients (two instances of an
// app) share a SessionLocker store; concurrent requests of one session with
// an expired token, spread over both, cause one refresh grant and no reuse
// of a rotated refresh token.
func TestRefreshExactlyOnceAcrossInstances(t *testing.T) {
	store := &fakeStore{}
	a := newTokensApp(t, monocloudtest.Config{}, Options{Session: SessionOptions{Store: store.asLockingStore()}})
	a.signIn("")
	b := a.secondInstance(store.asLockingStore())
	handler := func(c *Client) http.Handler {
		return c.AuthMiddleware(nil)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			tok, err := c.GetTokens(r.Context(), nil)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadGateway)
				return
			}
			writeJSON(w, http.StatusOK, tok)
		}))
	}
	instances := []http.Handler{handler(a.client), handler(b)}
	a.expireDefault()

	const n = 40
	tokens := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			w := httptest.NewRecorder()
			instances[i%2].ServeHTTP(w, a.request(http.MethodGet, "/api/tokens"))
			if w.Code != http.StatusOK {
				t.Errorf("request %d: %d %s", i, w.Code, w.Body)
				return
			}
			var tok Tokens
			if err := json.Unmarshal(w.Body.Bytes(), &tok); err != nil {
				t.Errorf("request %d: %v", i, err)
			}
			tokens[i] = tok.AccessToken
		})
	}
	wg.Wait()
	if got := a.op.RefreshGrants(); got != 1 {
		t.Errorf("refresh grants = %d, want 1", got)
	}
	if got := a.op.ReuseDetected(); got != 0 {
		t.Errorf("refresh token reuse detected %d times", got)
	}
	for i, tok := range tokens {
		if tok != tokens[0] {
			t.Fatalf("request %d got access token %q, request 0 %q", i, tok, tokens[0])
		}
	}
}

// TestUpdateSessionKeepsAnotherInstancesRefresh: an UpdateSession based on
// a session read before another instance rotated its refresh token keeps
// the rotated tokens, so the consumed refresh token never returns to the
// store (the provider would revoke the grant on its next use).
func TestUpdateSessionKeepsAnotherInstancesRefresh(t *testing.T) {
	store := &fakeStore{}
	a := newTokensApp(t, monocloudtest.Config{}, Options{Session: SessionOptions{Store: store.asLockingStore()}})
	a.signIn("")
	b := a.secondInstance(store.asLockingStore())
	signedIn := a.session()

	read, refreshed := make(chan struct{}), make(chan struct{})
	slowUpdate := a.client.AuthMiddleware(nil)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := a.client.Session(r.Context())
		if err != nil {
			t.Error(err)
			return
		}
		close(read)
		<-refreshed // instance B rotates the refresh token meanwhile
		s.Extra = map[string]any{"theme": "dark"}
		if err := a.client.UpdateSession(r.Context(), s); err != nil {
			t.Error(err)
		}
	}))
	done := make(chan struct{})
	go func() {
		defer close(done)
		slowUpdate.ServeHTTP(httptest.NewRecorder(), a.request(http.MethodGet, "/settings"))
	}()
	<-read
	w := httptest.NewRecorder()
	b.AuthMiddleware(nil)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := b.GetTokens(r.Context(), &GetTokensOptions{ForceRefresh: true}); err != nil {
			t.Error(err)
		}
	})).ServeHTTP(w, a.request(http.MethodGet, "/tokens"))
	close(refreshed)
	<-done

	s := a.session()
	if s.RefreshToken == signedIn.RefreshToken {
		t.Fatal("the update put the consumed refresh token back into the store")
	}
	if s.Extra["theme"] != "dark" {
		t.Errorf("the update was lost: Extra = %v", s.Extra)
	}
	if _, err := a.tokens(&GetTokensOptions{ForceRefresh: true}); err != nil {
		t.Fatalf("refresh after the update: %v", err)
	}
	if got := a.op.ReuseDetected(); got != 0 {
		t.Errorf("refresh token reuse detected %d times", got)
	}
}

// TestGetTokensExactlyOnce: concurrent and stale requests of one session
// share refresh grants, and a rotated refresh token is never replayed.
func TestGetTokensExactlyOnce(t *testing.T) {
	// concurrently sends n real requests with cookies and returns the
	// access tokens and the responses' Set-Cookie headers.
	concurrently := func(t *testing.T, app *testApp, n int, cookies []*http.Cookie, query string) ([]string, [][]*http.Cookie) {
		t.Helper()
		tokens := make([]string, n)
		sets := make([][]*http.Cookie, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				status, tok, set, err := app.httpTokens(cookies, query)
				if err != nil || status != http.StatusOK {
					errs[i] = fmt.Errorf("request %d: status %d: %v", i, status, err)
					return
				}
				tokens[i], sets[i] = tok.AccessToken, set
			})
		}
		close(start)
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		return tokens, sets
	}
	allSame := func(t *testing.T, tokens []string, notThis string) {
		t.Helper()
		for i, tok := range tokens {
			if tok != tokens[0] {
				t.Fatalf("request %d got another access token than request 0", i)
			}
		}
		if tokens[0] == notThis {
			t.Fatal("the old access token was returned")
		}
	}

	t.Run("100 concurrent requests on one expired session share one refresh grant", func(t *testing.T) {
		app := newTokensApp(t, monocloudtest.Config{}, Options{})
		app.signIn("")
		old := app.defaultToken()
		app.expireDefault()
		tokens, sets := concurrently(t, app, 100, app.cookies(), "")
		assertGrants(t, app.op, 1)
		allSame(t, tokens, old.AccessToken)
		for i, set := range sets {
			if written, _ := cookieFamily(set, "session"); len(written) == 0 {
				t.Fatalf("response %d carries no refreshed session cookie", i)
			}
		}
	})

	t.Run("50 concurrent forceRefresh requests share one refresh grant", func(t *testing.T) {
		app := newTokensApp(t, monocloudtest.Config{}, Options{})
		app.signIn("")
		old := app.defaultToken()
		tokens, _ := concurrently(t, app, 50, app.cookies(), "force=1")
		assertGrants(t, app.op, 1)
		allSame(t, tokens, old.AccessToken)
	})

	t.Run("100 concurrent direct calls with the same cookies", func(t *testing.T) {
		app := newTokensApp(t, monocloudtest.Config{}, Options{})
		app.signIn("")
		app.expireDefault()
		cookies := app.cookies()
		tokens := make([]*Tokens, 100)
		errs := make([]error, 100)
		var wg sync.WaitGroup
		for i := range 100 {
			wg.Go(func() {
				r := newRequest("/", cookies)
				rec := httptest.NewRecorder()
				tokens[i], errs[i] = app.client.GetTokensWithResponse(rec, r, nil)
				if errs[i] == nil && !writesSession(rec.Result()) {
					errs[i] = fmt.Errorf("call %d wrote no cookie", i)
				}
			})
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		assertGrants(t, app.op, 1)
		for _, tok := range tokens {
			if *tok != *tokens[0] {
				t.Fatalf("tokens differ: %+v vs %+v", tok, tokens[0])
			}
		}
	})

	t.Run("a request with the pre-refresh cookie gets the refreshed tokens without a second grant", func(t *testing.T) {
		app := newTokensApp(t, monocloudtest.Config{}, Options{Resources: []Indicator{{Resource: tkResA, Scopes: "read"}}})
		app.signIn("")
		app.expireDefault()
		stale := app.cookies()

		_, a, _, err := app.httpTokens(stale, "")
		if err != nil {
			t.Fatal(err)
		}
		_, b, setB, err := app.httpTokens(stale, "")
		if err != nil {
			t.Fatal(err)
		}
		assertGrants(t, app.op, 1)
		if a.AccessToken != b.AccessToken || a.RefreshToken != b.RefreshToken {
			t.Fatalf("request B got %+v, A got %+v", b, a)
		}
		if written, _ := cookieFamily(setB, "session"); len(written) == 0 {
			t.Fatal("request B's response does not carry the updated cookie")
		}
		// B's new cookie holds the refreshed session: no refresh needed.
		cookiesB := applyCookies(stale, setB)
		if _, again, _, err := app.httpTokens(cookiesB, ""); err != nil || again.AccessToken != a.AccessToken {
			t.Fatalf("with B's cookie: %+v, %v", again, err)
		}
		assertGrants(t, app.op, 1)

		t.Run("a refresh for another resource from the pre-refresh cookie uses the newest refresh token", func(t *testing.T) {
			_, r, set, err := app.httpTokens(stale, "resource="+url.QueryEscape(tkResA))
			if err != nil {
				t.Fatal(err)
			}
			assertGrants(t, app.op, 2)
			if used := app.op.LastTokenRequest().Get("refresh_token"); used != a.RefreshToken {
				t.Fatalf("grant used refresh token %q, want the newest %q", used, a.RefreshToken)
			}
			if r.RefreshToken == a.RefreshToken || r.Resource != tkResA {
				t.Fatalf("tokens = %+v", r)
			}
			// A forced refresh with the newest cookie really refreshes, with
			// the newest refresh token.
			_, f, _, err := app.httpTokens(applyCookies(stale, set), "force=1")
			if err != nil || f.AccessToken == a.AccessToken {
				t.Fatalf("forced refresh = %+v, %v", f, err)
			}
			if used := app.op.LastTokenRequest().Get("refresh_token"); used != r.RefreshToken {
				t.Fatalf("forced refresh used %q, want %q", used, r.RefreshToken)
			}
			assertGrants(t, app.op, 3)
		})
	})

	t.Run("a stale cookie after the shared result expired refreshes with the newest refresh token", func(t *testing.T) {
		app := newTokensApp(t, monocloudtest.Config{}, Options{})
		app.signIn("")
		app.expireDefault()
		stale := app.cookies()
		_, a, _, err := app.httpTokens(stale, "")
		if err != nil {
			t.Fatal(err)
		}
		app.clock.Set(time.Unix(a.AccessTokenExpiration+1, 0)) // A's token expired too
		_, b, _, err := app.httpTokens(stale, "")
		if err != nil {
			t.Fatal(err)
		}
		assertGrants(t, app.op, 2)
		if used := app.op.LastTokenRequest().Get("refresh_token"); used != a.RefreshToken {
			t.Fatalf("second grant used %q, want the newest refresh token %q", used, a.RefreshToken)
		}
		if b.AccessToken == a.AccessToken || b.IsExpired {
			t.Fatalf("tokens = %+v", b)
		}
	})

	t.Run("a refresh after the response header was written is still shared with the next request", func(t *testing.T) {
		app := newTokensApp(t, monocloudtest.Config{}, Options{})
		app.signIn("")
		app.expireDefault()
		var tok *Tokens
		var err error
		rec := httptest.NewRecorder()
		app.mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusOK)
			tok, err = app.client.GetTokens(r.Context(), nil)
		})).ServeHTTP(rec, app.request(http.MethodGet, "/late"))
		if err != nil || tok.IsExpired {
			t.Fatalf("GetTokens after WriteHeader = %+v, %v", tok, err)
		}
		if writesSession(rec.Result()) {
			t.Fatal("a cookie appeared after the header was written")
		}
		again, err := app.tokens(nil) // same old cookie
		if err != nil || again.AccessToken != tok.AccessToken {
			t.Fatalf("next request = %+v, %v", again, err)
		}
		assertGrants(t, app.op, 1)
	})

	t.Run("GetTokensFromRequest outside any middleware refreshes once for repeated requests with the old cookie", func(t *testing.T) {
		app := newTokensApp(t, monocloudtest.Config{}, Options{})
		app.signIn("")
		app.expireDefault()
		cookies := app.cookies()
		first, err := app.client.GetTokensFromRequest(newRequest("/", cookies), nil)
		if err != nil {
			t.Fatal(err)
		}
		for range 3 {
			again, err := app.client.GetTokensFromRequest(newRequest("/", cookies), nil)
			if err != nil || again.AccessToken != first.AccessToken || again.RefreshToken != first.RefreshToken {
				t.Fatalf("again = %+v, %v", again, err)
			}
		}
		assertGrants(t, app.op, 1)
	})
}

// TestRefreshStorm: 1,000 concurrent requests of one session whose token
// has expired cause one grant, and the refreshed cookie is encoded once:
// every response carries the same value (an encoding has a fresh timestamp
// and IV, so two would differ), and a store is written once.
func TestRefreshStorm(t *testing.T) {
	for _, mode := range []string{"cookie", "store"} {
		t.Run(mode, func(t *testing.T) {
			opts := Options{}
			var store *fakeStore
			if mode == "store" {
				store = &fakeStore{}
				opts.Session.Store = store.asLockingStore()
			}
			a := newTokensApp(t, monocloudtest.Config{}, opts)
			a.signIn("")
			a.expireDefault()
			cookies := a.cookies()
			setsBefore := 0
			if store != nil {
				setsBefore = store.calls().sets
			}

			const n = 1000
			values := make([]string, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					w := a.serve(http.MethodGet, "/tokens", cookies...)
					if w.Code != http.StatusOK {
						t.Errorf("request %d: %d %s", i, w.Code, w.Body)
						return
					}
					for _, ck := range w.Result().Cookies() {
						if ck.Name == "session" {
							values[i] = ck.Value
						}
					}
				})
			}
			wg.Wait()
			if got := a.op.RefreshGrants(); got != 1 {
				t.Errorf("%d refresh grants for %d requests, want 1", got, n)
			}
			// With a store, requests that read the session after the
			// refresh was saved find a fresh token and set no cookie.
			distinct := map[string]bool{}
			for _, v := range values {
				if v != "" || store == nil {
					distinct[v] = true
				}
			}
			if len(distinct) != 1 || distinct[""] {
				t.Errorf("%d distinct session cookie values in %d responses, want 1", len(distinct), n)
			}
			if store != nil {
				if sets := store.calls().sets - setsBefore; sets != 1 {
					t.Errorf("the store was written %d times, want 1", sets)
				}
			}
		})
	}
}

// TestSharedRefreshKeepsOnlyWhatAPreRefreshCookieLacks: in cookie mode with
// a Coordinator, a refresh shares what a cookie from before it lacks (the
// tokens), not the user claims and application data that cookie already
// holds, and for no longer than the session lives. Another instance given
// that cookie adopts the refresh with its claims and data whole, without a
// grant of its own.
func TestSharedRefreshKeepsOnlyWhatAPreRefreshCookieLacks(t *testing.T) {
	preferences := randomData(1500) // random, so that compression cannot hide it
	co := &fakeStore{watchEnded: make(chan struct{})}
	opts := Options{Coordinator: co, OnSessionCreating: func(_ context.Context, s *Session, _, _, _ map[string]any) error {
		if s.Extra == nil {
			s.Extra = map[string]any{"preferences": preferences}
		}
		return nil
	}}
	app := newTokensApp(t, adaClaims, opts)
	app.signIn("")
	before := app.sessionCookies()
	app.expireDefault()
	status, _, set, err := app.httpTokens(before, "")
	if status != http.StatusOK {
		t.Fatalf("refresh: %d %v", status, err)
	}
	cookieBytes := 0
	for _, ck := range set {
		if ck.MaxAge >= 0 {
			cookieBytes += len(ck.Value)
		}
	}
	if len(co.refreshed) != 1 || len(co.ttls) != 1 {
		t.Fatalf("%d refreshes shared, want 1", len(co.refreshed))
	}
	for _, v := range co.refreshed {
		if len(v) > cookieBytes-1500 {
			t.Errorf("shared refresh of %d bytes for a cookie of %d: the 2 KB of application data are shared too", len(v), cookieBytes)
		}
	}
	if sc := decodeSessionCookie(t, app.client, applyCookies(before, set)); co.ttls[0] > time.Until(time.Unix(sc.Lifetime.E, 0))+time.Second {
		t.Errorf("shared for %v, past the session's end in %v", co.ttls[0], time.Until(time.Unix(sc.Lifetime.E, 0)))
	}

	opts.Coordinator = co
	other := newTestClient(t, opts, adaClaims, app.op, app.srv.URL)
	other.now = app.clock.Now
	var got *Session
	other.AuthMiddleware(protectNone)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, err := other.GetTokens(r.Context(), nil)
		if err != nil || tok.IsExpired {
			t.Errorf("GetTokens on the other instance: %+v, %v", tok, err)
		}
		got, _ = other.Session(r.Context())
	})).ServeHTTP(httptest.NewRecorder(), newRequest("/tokens", before))
	if app.op.RefreshGrants() != 1 || app.op.ReuseDetected() != 0 {
		t.Fatalf("%d refresh grants, %d reuse detections; want the other instance to adopt the refresh", app.op.RefreshGrants(), app.op.ReuseDetected())
	}
	if got == nil || got.User["email"] != "ada@example.com" || got.Extra["preferences"] != preferences {
		t.Fatalf("adopted session %+v, want the user claims and data of the cookie", got)
	}
}

func TestShareUntil(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	tests := []struct {
		name string
		exp  int64
		want time.Time
	}{
		{"known expiry: until it counts as expired", now.Unix() + 300, now.Add(300*time.Second - expiryMargin*time.Second)},
		{"unknown expiry: as long as results are kept", 0, now.Add(refresh.KeepResult)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := shareUntil(&AccessToken{AccessTokenExpiration: tt.exp}, now.Unix())
			if !got.Equal(tt.want) {
				t.Errorf("shareUntil = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestSharedRefreshKeepsOneRecordPerSession: a session's refreshes leave
// one shared refresh in the Coordinator, the newest, with the digest of
// each refresh token they presented; the cookie from before the first of
// them adopts the newest refresh at another instance in one lookup,
// without a grant. Before, each refresh was kept under its own token's
// digest until the session expired, and the pre-refresh cookie followed
// them one lookup each.
func TestSharedRefreshKeepsOneRecordPerSession(t *testing.T) {
	const refreshes = 5
	co := &fakeStore{watchEnded: make(chan struct{})}
	opts := Options{Coordinator: co}
	app := newTokensApp(t, adaClaims, opts)
	app.signIn("")
	first := app.sessionCookies()
	cookies := first
	var newest *Tokens
	for i := range refreshes {
		status, tok, set, err := app.httpTokens(cookies, "force=1")
		if status != http.StatusOK {
			t.Fatalf("refresh %d: %d %v", i+1, status, err)
		}
		cookies, newest = applyCookies(cookies, set), tok
	}
	if len(co.refreshed) != 1 || len(co.usedTokens) != refreshes {
		t.Fatalf("%d shared refreshes and %d used tokens kept after %d refreshes of one session; want 1 and %d", len(co.refreshed), len(co.usedTokens), refreshes, refreshes)
	}

	lookups := co.calls().refreshLookups
	tok, _ := tokensAtAnotherInstance(t, app, opts, first, &GetTokensOptions{ForceRefresh: true})
	if tok.AccessToken != newest.AccessToken || tok.RefreshToken != newest.RefreshToken {
		t.Fatalf("the cookie from before the first refresh got refresh token %q; want the newest, %q", tok.RefreshToken, newest.RefreshToken)
	}
	if lookups := co.calls().refreshLookups - lookups; lookups != 1 {
		t.Errorf("the pre-refresh cookie looked up %d shared refreshes; want 1", lookups)
	}
	if g, r := app.op.RefreshGrants(), app.op.ReuseDetected(); g != refreshes || r != 0 {
		t.Fatalf("%d refresh grants, %d reuse detections; want %d, 0", g, r, refreshes)
	}
}

// TestSharedRefreshCarriesWhatARefreshChanged: once a refresh changed the
// user claims and the application data, the newest shared refresh carries
// them, although the refreshes after it left them as they were: a cookie
// from before the change adopts them as the newest refresh has them, not
// its own.
func TestSharedRefreshCarriesWhatARefreshChanged(t *testing.T) {
	var plan atomic.Value
	plan.Store("free")
	co := &fakeStore{watchEnded: make(chan struct{})}
	opts := Options{Coordinator: co, OnSessionCreating: func(_ context.Context, s *Session, _, _, _ map[string]any) error {
		s.User["plan"] = plan.Load()
		s.Extra = map[string]any{"plan": plan.Load()}
		return nil
	}}
	app := newTokensApp(t, adaClaims, opts)
	app.signIn("")
	first := app.sessionCookies()
	cookies := first
	for i, p := range []string{"pro", "pro"} { // the second refresh keeps what the first changed
		plan.Store(p)
		status, _, set, err := app.httpTokens(cookies, "force=1")
		if status != http.StatusOK {
			t.Fatalf("refresh %d: %d %v", i+1, status, err)
		}
		cookies = applyCookies(cookies, set)
	}
	_, s := tokensAtAnotherInstance(t, app, opts, first, &GetTokensOptions{ForceRefresh: true})
	if s == nil || s.User["plan"] != "pro" || s.Extra["plan"] != "pro" || s.User["email"] != "ada@example.com" {
		t.Fatalf("the cookie from before the change adopted %+v; want the user claims and data of the newest refresh", s)
	}
	if g, r := app.op.RefreshGrants(), app.op.ReuseDetected(); g != 2 || r != 0 {
		t.Fatalf("%d refresh grants, %d reuse detections; want 2, 0", g, r)
	}
}

// tokensAtAnotherInstance calls GetTokens with o at a second instance of
// app, on app's Coordinator and clock, with the session cookies, and
// returns the tokens and the session it then holds.
func tokensAtAnotherInstance(t *testing.T, app *testApp, opts Options, cookies []*http.Cookie, o *GetTokensOptions) (*Tokens, *Session) {
	t.Helper()
	other := newTestClient(t, opts, adaClaims, app.op, app.srv.URL)
	other.now = app.clock.Now
	var tok *Tokens
	var s *Session
	other.AuthMiddleware(protectNone)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var err error
		if tok, err = other.GetTokens(r.Context(), o); err != nil {
			t.Fatalf("GetTokens at the other instance: %v", err)
		}
		s, _ = other.Session(r.Context())
	})).ServeHTTP(httptest.NewRecorder(), newRequest("/tokens", cookies))
	if tok == nil {
		t.Fatal("the other instance did not serve the request")
	}
	return tok, s
}
