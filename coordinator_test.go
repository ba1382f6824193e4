package monocloud

import (
	"errors"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/monocloud/auth-go/monocloudtest"
)

// TestCoordinationStandalone: without a Coordinator, New chooses the
// standalone coordination: there is nothing to load, token IDs are new to
// it, ending a session records nothing elsewhere, and Close does nothing.
func TestCoordinationStandalone(t *testing.T) {
	app := newTestApp(t, appConfig{opcfg: adaClaims})
	if _, ok := app.client.coord.(standalone); !ok {
		t.Fatalf("coordination %T, want standalone", app.client.coord)
	}
	if !app.client.ended.isLoaded() {
		t.Error("ended sessions not loaded after New")
	}
	if first, err := app.client.coord.useTokenID(t.Context(), "logout:a", time.Now().Add(time.Minute)); !first || err != nil {
		t.Errorf("useTokenID = %v, %v; want true, nil", first, err)
	}
	if err := app.client.coord.endSession(t.Context(), EndedSession{Key: "k", At: time.Now()}); err != nil {
		t.Errorf("endSession: %v", err)
	}
	for range 2 {
		if err := app.client.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}
}

// TestCoordinatorWatchRetriesUntilClose: a watch that fails is called
// again, the ended sessions it then delivers apply, and Close ends it.
func TestCoordinatorWatchRetriesUntilClose(t *testing.T) {
	now := time.Now()
	f := &fakeStore{watchFailures: 2, watchEnded: make(chan struct{}),
		ended: []EndedSession{{Key: "k1", At: now, Expires: now.Add(time.Hour)}, {SID: "sid-1", At: now, Expires: now.Add(time.Hour)}}}
	a := newTestApp(t, appConfig{opts: Options{Coordinator: f}})
	c := a.client
	s := &Session{User: User{"sub": "user-1", "sid": "sid-1"}}
	deadline := time.Now().Add(5 * time.Second)
	for !endedAt(c.ended, "k1", &Session{}, now.Unix()-1) || !endedAt(c.ended, "k2", s, now.Unix()-1) {
		if time.Now().After(deadline) {
			t.Fatal("the ended sessions of the watch that succeeded after two failures were not applied")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if endedAt(c.ended, "k3", &Session{User: User{"sub": "user-2", "sid": "sid-2"}}, now.Unix()-1) {
		t.Fatal("an unrelated session is revoked")
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-f.watchEnded:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not end the watch")
	}
	_ = c.Close() // a second Close is harmless
}

// TestCoordinatorFailureFailsSignOut: a sign-out whose revocation the
// Coordinator cannot record answers 503 and ends nothing; once the
// Coordinator works, sign-out records the session key with it.
func TestCoordinatorFailureFailsSignOut(t *testing.T) {
	f := &fakeStore{failEndSession: true, watchEnded: make(chan struct{})}
	a := newTestApp(t, appConfig{opts: Options{Coordinator: f}})
	t.Cleanup(func() { _ = a.client.Close() })
	a.signInVia("/api/auth/signin")
	if resp, _ := a.get("/api/auth/signout"); resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Location") != "" {
		t.Fatalf("sign-out with the Coordinator down: %d to %q; want 503", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, _ := a.get("/"); resp.StatusCode != http.StatusOK {
		t.Fatalf("after the failed sign-out: %d; want the session still served", resp.StatusCode)
	}
	f.mu.Lock()
	f.failEndSession = false
	f.mu.Unlock()
	if resp, _ := a.get("/api/auth/signout"); resp.StatusCode != http.StatusTemporaryRedirect {
		t.Fatalf("sign-out: %d", resp.StatusCode)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.ended) != 1 || f.ended[0].Key == "" || !f.ended[0].Expires.After(f.ended[0].At) {
		t.Fatalf("ended sessions recorded: %+v; want the session key, with an expiry", f.ended)
	}
}

// TestSessionWaitsForTheCoordinatorsEndedSessions: until the Coordinator has
// delivered the ended sessions recorded before the instance started, a
// request carrying a session waits up to ResponseTimeout and answers 503
// (a *StoreError); a request without one is not held. Once loaded, a session signed out
// elsewhere is refused and another one served.
func TestSessionWaitsForTheCoordinatorsEndedSessions(t *testing.T) {
	co := &fakeStore{}
	app := newTestApp(t, appConfig{opts: Options{Coordinator: co}})
	t.Cleanup(func() { _ = app.client.Close() })
	app.signIn("")
	signedOut := app.sessionCookies()
	if resp, _ := app.get("/api/auth/signout"); resp.StatusCode != http.StatusTemporaryRedirect {
		t.Fatalf("sign-out: %d", resp.StatusCode)
	}
	app.newBrowser()
	app.signIn("")
	live := app.sessionCookies()

	co.mu.Lock()
	co.holdLoad = make(chan struct{}) // the new instance's load hangs
	co.mu.Unlock()
	b := newTestClient(t, Options{Coordinator: co, ResponseTimeout: time.Second}, monocloudtest.Config{}, app.op, app.srv.URL)
	t.Cleanup(func() { _ = b.Close() })
	hb := b.AuthMiddleware(nil)(okHandler)
	serveB := func(cookies []*http.Cookie) int {
		r := httptest.NewRequest(http.MethodGet, app.url("/"), nil)
		for _, ck := range cookies {
			r.AddCookie(ck)
		}
		w := httptest.NewRecorder()
		hb.ServeHTTP(w, r)
		return w.Code
	}
	sessionAtB := func(cookies []*http.Cookie) error {
		r := httptest.NewRequest(http.MethodGet, app.url("/"), nil)
		for _, ck := range cookies {
			r.AddCookie(ck)
		}
		_, err := b.SessionWithResponse(httptest.NewRecorder(), r)
		return err
	}
	if code := serveB(signedOut); code != http.StatusServiceUnavailable {
		t.Errorf("a signed-out session before the ended sessions are loaded: %d; want 503", code)
	}
	if err := sessionAtB(nil); !errors.Is(err, ErrNoSession) {
		t.Errorf("a request without a session before the ended sessions are loaded: %v; want ErrNoSession at once", err)
	}
	var storeErr *StoreError
	if err := sessionAtB(live); !errors.As(err, &storeErr) {
		t.Errorf("a live session before the ended sessions are loaded: %v; want a *StoreError", err)
	}

	close(co.holdLoad)
	if err := sessionAtB(signedOut); !errors.Is(err, ErrNoSession) {
		t.Errorf("a signed-out session once the ended sessions are loaded: %v; want ErrNoSession", err)
	}
	if err := sessionAtB(live); err != nil {
		t.Errorf("a live session once the ended sessions are loaded: %v; want it served", err)
	}
}

// TestIntegrityStressTwoInstances is TestIntegrityStress, in cookie mode,
// over two instances that share a Coordinator, the second one's clock 5 s
// behind: each step of a user goes to either instance. Then every user's
// session is logged out by the provider, by sid, at the lagging instance,
// and the logout token is presented again at the other. No grant revoked,
// no session resurrected (at either instance), none lost; every logged-out
// session refused at both instances, every replayed token refused.
func TestIntegrityStressTwoInstances(t *testing.T) {
	co := &fakeStore{}
	opts := Options{Session: SessionOptions{Duration: 90 * 24 * time.Hour, MaximumDuration: 180 * 24 * time.Hour}, Coordinator: co}
	tr := &fakeTransport{}
	tr.setDelay(5 * time.Millisecond)
	opts.HTTPClient = &http.Client{Transport: tr}
	opcfg := monocloudtest.Config{IDTokenTTL: 90 * 24 * time.Hour}
	a := newTokensApp(t, opcfg, opts)
	t.Cleanup(func() { _ = a.client.Close() })
	lagging := func() time.Time { return a.clock.Now().Add(-5 * time.Second) }
	b := newTestApp(t, appConfig{op: a.op, opcfg: opcfg, opts: opts, build: func(c *Client) http.Handler {
		c.now = lagging
		mux := http.NewServeMux()
		mux.HandleFunc("GET /tokens", func(w http.ResponseWriter, r *http.Request) {
			tok, err := c.GetTokens(r.Context(), optionsFromQuery(r.URL.Query()))
			if err != nil {
				writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
				return
			}
			writeJSON(w, http.StatusOK, tok)
		})
		return c.AuthMiddleware(protectNone)(mux)
	}})
	t.Cleanup(func() { _ = b.client.Close() })
	b.clock = a.clock
	instances := []*testApp{a, b}

	var counts stressCounts
	var signingIn sync.RWMutex
	stop := make(chan struct{})
	var ticker sync.WaitGroup
	ticker.Go(func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(40 * time.Millisecond):
				signingIn.Lock()
				a.clock.Advance(31 * time.Minute)
				signingIn.Unlock()
			}
		}
	})
	var ended sync.Map
	users := make([]*stressUser, 6)
	var wg sync.WaitGroup
	for i := range users {
		u := &stressUser{a: a, counts: &counts, signingIn: &signingIn, rng: rand.New(rand.NewPCG(uint64(i), uint64(time.Now().UnixNano())))}
		users[i] = u
		wg.Go(func() {
			u.signIn(t)
			for range 25 {
				u.a = instances[u.rng.IntN(2)]
				u.step(t, &ended)
			}
		})
	}
	wg.Wait()
	close(stop)
	ticker.Wait()

	ended.Range(func(_, value any) bool {
		for _, set := range value.([][]*http.Cookie) {
			for _, in := range instances {
				if status, _, _, _ := in.httpTokens(set, ""); status == http.StatusOK {
					counts.resurrected.Add(1)
				}
			}
		}
		return true
	})
	var loggedOut, replayed atomic.Int32
	for _, u := range users {
		sid, _ := decodeSessionCookie(t, a.client, u.cookies).Session.User["sid"].(string)
		now := a.clock.Now()
		token := a.op.SignLogoutToken(t, validLogoutClaims(a, map[string]any{"sid": sid, "iat": now.Unix(), "exp": now.Add(2 * time.Minute).Unix()}))
		if code := postLogoutTokenTo(b, b.h, token); code != http.StatusOK {
			t.Errorf("back-channel logout at the lagging instance: %d", code)
		}
		for _, in := range instances {
			if status, _, _, _ := in.httpTokens(u.cookies, ""); status == http.StatusOK {
				loggedOut.Add(1)
			}
		}
		if code := postLogoutTokenTo(a, a.h, token); code != http.StatusBadRequest {
			replayed.Add(1)
		}
	}
	counts.revoked = a.op.ReuseDetected()
	t.Logf("two instances: %d requests (%d aborted), %d sign-outs, %d refresh grants: %d grants revoked, %d sessions resurrected, %d sessions lost; %d served after their back-channel logout, %d logout tokens accepted twice",
		counts.requests.Load(), counts.aborted.Load(), counts.signOuts.Load(), a.op.RefreshGrants(),
		counts.revoked, counts.resurrected.Load(), counts.lost.Load(), loggedOut.Load(), replayed.Load())
	if counts.revoked != 0 || counts.resurrected.Load() != 0 || counts.lost.Load() != 0 || loggedOut.Load() != 0 || replayed.Load() != 0 {
		t.Errorf("broken promises: %d grants revoked, %d sessions resurrected, %d sessions lost, %d served after their back-channel logout, %d logout tokens accepted twice",
			counts.revoked, counts.resurrected.Load(), counts.lost.Load(), loggedOut.Load(), replayed.Load())
	}
}
