package monocloud

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/monocloud/auth-go/monocloudtest"
)

// lateTransport hands refresh responses back late: the provider carries
// out the grant (and rotates the refresh token) whatever happens to the
// caller, and its answer reaches the caller only after delay, or not at all
// when the caller gives up first. This is the window in which a closed tab
// or an aborted fetch used to lose the rotated refresh token.
type lateTransport struct {
	delay atomic.Int64 // nanoseconds; 0 passes responses through
}

func (t *lateTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	d := time.Duration(t.delay.Load())
	if d == 0 || r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/token") {
		return http.DefaultTransport.RoundTrip(r)
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	detached := r.Clone(context.WithoutCancel(r.Context()))
	detached.Body = io.NopCloser(bytes.NewReader(body))
	resp, err := http.DefaultTransport.RoundTrip(detached)
	if err != nil {
		return nil, err
	}
	answer, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(answer))
	select {
	case <-time.After(d):
		return resp, nil
	case <-r.Context().Done():
		return nil, r.Context().Err()
	}
}

// newLateApp returns a tkApp whose provider answers refresh grants through
// a lateTransport, signed in with an expired default token.
func newLateApp(t *testing.T, opts Options) (*testApp, *lateTransport) {
	t.Helper()
	tr := &lateTransport{}
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
	tr.delay.Store(int64(400 * time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, _, _, err := a.httpTokensContext(ctx, before, ""); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("aborted request: %v, want the client's deadline", err)
	}
	tr.delay.Store(0)

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

// TestRefreshWaiterGetsAbortedLeadersGrant: a request waiting for a grant
// whose starter went away gets that grant's result.
func TestRefreshWaiterGetsAbortedLeadersGrant(t *testing.T) {
	a, tr := newLateApp(t, Options{})
	cookies := a.cookies()
	tr.delay.Store(int64(300 * time.Millisecond))
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
	if d := time.Duration(slowest.Load()); d > 1800*time.Millisecond {
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

// TestStoreOutageIsNotSignOut: while the store fails, protected routes and
// sign-out answer 503 and leave the session and its cookie alone; once the
// store is back the same cookie works, and sign-out then ends it.
func TestStoreOutageIsNotSignOut(t *testing.T) {
	store := newLockingStore()
	app := newTestApp(t, monocloudtest.Config{}, Options{Session: SessionOptions{Store: store}}, nil, nil)
	app.signIn("")
	store.down.Store(true)

	for _, path := range []string{"/dashboard", "/api/data", "/api/auth/signout", "/api/auth/userinfo"} {
		resp, _ := app.get(path)
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("%s during the outage: %d, want 503", path, resp.StatusCode)
		}
		if len(resp.Cookies()) != 0 {
			t.Errorf("%s during the outage set cookies %v", path, tkNames(resp.Cookies()))
		}
		if loc := resp.Header.Get("Location"); loc != "" {
			t.Errorf("%s during the outage redirected to %s", path, loc)
		}
	}
	if len(app.op.EndSessionRequests()) != 0 {
		t.Error("sign-out during the outage reached the provider")
	}
	if _, err := app.client.SessionWithResponse(httptest.NewRecorder(), app.request(http.MethodGet, "/")); !errors.As(err, new(*StoreError)) || errors.Is(err, ErrNoSession) {
		t.Errorf("Session during the outage: %v, want a *StoreError", err)
	}

	store.down.Store(false)
	if resp, body := app.get("/dashboard"); resp.StatusCode != http.StatusOK {
		t.Fatalf("after the outage: %d %s", resp.StatusCode, body)
	}
	if resp, _ := app.get("/api/auth/signout"); resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), app.op.Issuer()) {
		t.Fatalf("sign-out after the outage: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if len(store.keys()) != 0 {
		t.Fatalf("store still holds %v after sign-out", store.keys())
	}
}

// TestGetTokensDuringStoreOutage: a refresh that cannot lock the session
// does not call the provider, and the session is intact afterwards.
func TestGetTokensDuringStoreOutage(t *testing.T) {
	store := newLockingStore()
	a := newTokensApp(t, monocloudtest.Config{}, Options{Session: SessionOptions{Store: store}})
	a.signIn("")
	a.expireDefault()
	signedIn := a.session()
	store.down.Store(true)
	if status, _, _, _ := a.httpTokens(a.cookies(), ""); status == http.StatusOK {
		t.Fatal("GetTokens succeeded with the store down")
	}
	if a.op.RefreshGrants() != 0 {
		t.Fatalf("%d refresh grants with the store down", a.op.RefreshGrants())
	}
	store.down.Store(false)
	if s := a.session(); s == nil || s.RefreshToken != signedIn.RefreshToken {
		t.Fatal("session changed by the outage")
	}
	if status, _, _, err := a.httpTokens(a.cookies(), ""); status != http.StatusOK {
		t.Fatalf("after the outage: %d %v", status, err)
	}
}

// TestSignOutDuringRefreshStaysSignedOut: a sign-out (or a back-channel
// logout) that arrives while a refresh grant of the same session is in
// flight ends the session for good, whichever request finishes last:
// neither the store entry nor a cookie the refresh hands out brings it back.
func TestSignOutDuringRefreshStaysSignedOut(t *testing.T) {
	signOut := func(t *testing.T, a *testApp) {
		if resp, _ := a.get("/api/auth/signout"); resp.StatusCode != http.StatusFound {
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
			var store *lockingStore
			opts := Options{}
			if mode == "store" {
				store = newLockingStore()
				opts.Session.Store = store
			}
			a, tr := newLateApp(t, opts)
			cookies := a.cookies()
			tr.delay.Store(int64(200 * time.Millisecond))

			var refreshSet []*http.Cookie
			var wg sync.WaitGroup
			wg.Go(func() { _, _, refreshSet, _ = a.httpTokens(cookies, "") })
			time.Sleep(50 * time.Millisecond) // the grant is in flight
			tt.end(t, a)
			wg.Wait()

			if store != nil && len(store.keys()) != 0 {
				t.Fatalf("store entry resurrected: %v", store.keys())
			}
			for name, set := range map[string][]*http.Cookie{"old cookie": cookies, "cookie set by the refresh": tkBrowser(cookies, refreshSet)} {
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
	store := newLockingStore()
	a := newTokensApp(t, monocloudtest.Config{}, Options{Session: SessionOptions{Store: store}})
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

// TestBackChannelLogoutTokenServedOnce: copies of one logout token that
// arrive at once are served once; the others are refused as replays.
func TestBackChannelLogoutTokenServedOnce(t *testing.T) {
	var calls atomic.Int32
	a := newTokensApp(t, monocloudtest.Config{}, Options{OnBackChannelLogout: func(context.Context, string, string) error {
		calls.Add(1)
		time.Sleep(20 * time.Millisecond) // a hook that deletes sessions somewhere
		return nil
	}})
	token := a.op.SignLogoutToken(t, map[string]any{
		"iss": a.op.Issuer(), "aud": "test-client", "iat": a.clock.Unix(), "exp": a.clock.Now().Add(time.Minute).Unix(),
		"jti": rand.Text(), "sub": "user-1",
		"events": map[string]any{"http://schemas.openid.net/event/backchannel-logout": map[string]any{}},
	})
	var served atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			resp, err := http.PostForm(a.srv.URL+"/api/auth/backchannel-logout", url.Values{"logout_token": {token}})
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				served.Add(1)
			}
		})
	}
	wg.Wait()
	if served.Load() != 1 || calls.Load() != 1 {
		t.Fatalf("%d copies served, hook called %d times; want 1 and 1", served.Load(), calls.Load())
	}
}
