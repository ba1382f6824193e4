package redisstore_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	monocloud "github.com/monocloud/auth-go"
	"github.com/monocloud/auth-go/monocloudtest"
	"github.com/monocloud/auth-go/redisstore"
	"github.com/redis/go-redis/v9"
)

const cookieSecret = "a-test-cookie-secret-of-32-bytes!"

// instance is one instance of the application: its own Client and HTTP
// server, sharing the configuration, the Redis store and the provider with
// the other instances.
type instance struct {
	client *monocloud.Client
	srv    *httptest.Server
}

// cluster is an application deployed as several instances behind one
// AppURL (the first instance's URL stands in for the load balancer).
type cluster struct {
	t         *testing.T
	gate      gate
	op        *monocloudtest.Provider
	rdb       redis.UniversalClient // the client of the store
	store     *redisstore.Store
	prefix    string // the store's key prefix
	hold      chan chan struct{}
	instances []*instance
}

// tokensBody is what the test app's handler answers, with the Cookie
// header the browser sends next (the session cookie the response set, or
// the one it sent).
type tokensBody struct {
	AccessToken  string `json:"accessToken"`
	RefreshToken string `json:"refreshToken"`
	IDToken      string `json:"idToken"`
	cookie       string
}

// gate holds requests until a given number of them have arrived.
type gate struct {
	mu      sync.Mutex
	waiting int
	open    chan struct{}
}

// expect makes pass hold the next n requests until all of them have come.
func (g *gate) expect(n int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.waiting, g.open = n, make(chan struct{})
}

// pass blocks until the expected number of requests have called it.
func (g *gate) pass(r *http.Request) error {
	g.mu.Lock()
	open := g.open
	if g.waiting--; g.waiting == 0 {
		close(open)
	}
	g.mu.Unlock()
	select {
	case <-open:
		return nil
	case <-r.Context().Done():
		return r.Context().Err()
	}
}

// newCluster starts a provider and n instances sharing the Redis of
// TestMain. Every path but /public/… is protected by AuthMiddleware; every
// path answers the tokens of GetTokens, forcing a refresh when the query has
// force=1, or 503 when GetTokens fails with a *monocloud.StoreError. With
// gate=1 the handler first waits at the cluster's gate: the middleware has
// then read the session of every request of the wave from the store before
// any of them refreshes. With hold=1 it first sends a channel on cl.hold and
// waits until it is closed.
//
// Without locking the instances share the store only as a plain
// SessionStore (LockSession hidden), as a control for the tests.
func newCluster(t *testing.T, n int, locking bool) *cluster {
	t.Helper()
	return newClusterOn(t, newClient(t), n, locking)
}

// newClusterOn is newCluster with the store on Redis client rdb.
func newClusterOn(t *testing.T, rdb redis.UniversalClient, n int, locking bool) *cluster {
	t.Helper()
	op := monocloudtest.NewProvider(t, monocloudtest.Config{Claims: map[string]any{"name": "Ada", "email": "ada@example.com"}})
	cl := newClusterWith(t, rdb, n, locking, func(string) monocloud.Options {
		return monocloud.Options{
			TenantDomain: op.Issuer(),
			ClientID:     "test-client",
			ClientSecret: "test-secret",
			DefaultAuthParams: monocloud.AuthParams{
				Scopes: "openid profile email offline_access",
			},
		}
	})
	cl.op = op
	return cl
}

// newClusterWith is newClusterOn with the provider of register, which is
// called once the app's URL (AppURL) is known and returns the options that
// reach the provider (TenantDomain, client and scopes). The cluster's op is
// left nil.
func newClusterWith(t *testing.T, rdb redis.UniversalClient, n int, locking bool, register func(appURL string) monocloud.Options) *cluster {
	t.Helper()
	mode := plainStore
	if locking {
		mode = sharedStore
	}
	return newClusterSharing(t, rdb, n, mode, register)
}

// sharing is how the instances of a cluster share the Store.
type sharing int

const (
	plainStore  sharing = iota // as a SessionStore only
	sharedStore                // as SessionStore, SessionLocker and Coordinator
	cookieMode                 // as Coordinator, with cookie sessions
	cookieOnly                 // not at all: cookie sessions, each instance alone
)

// newClusterSharing is newClusterWith with the Store shared as mode says.
func newClusterSharing(t *testing.T, rdb redis.UniversalClient, n int, mode sharing, register func(appURL string) monocloud.Options) *cluster {
	t.Helper()
	prefix := testPrefix(t)
	store := redisstore.New(rdb, storeOptions(t, rdb, prefix))
	cl := &cluster{t: t, rdb: rdb, store: store, prefix: prefix, hold: make(chan chan struct{})}
	var shared monocloud.SessionStore = store
	if mode == plainStore {
		shared = struct{ monocloud.SessionStore }{store}
	}
	muxes := make([]*http.ServeMux, n)
	for i := range n {
		muxes[i] = http.NewServeMux()
		inst := &instance{srv: httptest.NewServer(muxes[i])}
		t.Cleanup(inst.srv.Close)
		cl.instances = append(cl.instances, inst)
	}
	opts := register(cl.instances[0].srv.URL)
	opts.AppURL = cl.instances[0].srv.URL
	opts.CookieSecret = cookieSecret
	switch mode {
	case cookieMode:
		opts.Coordinator = store
	case cookieOnly:
	default:
		opts.Session = monocloud.SessionOptions{Store: shared}
	}
	for i, inst := range cl.instances {
		c, err := monocloud.New(opts)
		if err != nil {
			t.Fatalf("monocloud.New (instance %d): %v", i, err)
		}
		t.Cleanup(func() { _ = c.Close() })
		inst.client = c
		mux := muxes[i]
		protected := func(r *http.Request) bool { return !strings.HasPrefix(r.URL.Path, "/public/") }
		mux.Handle("/", c.AuthMiddleware(&monocloud.MiddlewareOptions{IsProtected: protected})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Get("gate") == "1" {
				if err := cl.gate.pass(r); err != nil {
					http.Error(w, "gate: "+err.Error(), http.StatusGatewayTimeout)
					return
				}
			}
			if r.URL.Query().Get("hold") == "1" {
				release := make(chan struct{})
				cl.hold <- release
				<-release
			}
			tokens, err := c.GetTokens(r.Context(), &monocloud.GetTokensOptions{ForceRefresh: r.URL.Query().Get("force") == "1"})
			if err != nil {
				status := http.StatusInternalServerError
				if se := (*monocloud.StoreError)(nil); errors.As(err, &se) {
					status = http.StatusServiceUnavailable
				}
				http.Error(w, "GetTokens: "+err.Error(), status)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(tokensBody{AccessToken: tokens.AccessToken, RefreshToken: tokens.RefreshToken, IDToken: tokens.IDToken})
		})))
	}
	return cl
}

// signIn signs the user in through instance 0 and returns the Cookie header
// value a browser would send afterwards.
func (cl *cluster) signIn() string {
	t := cl.t
	t.Helper()
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	base := cl.instances[0].srv.URL
	resp, err := browser.Get(base + "/api/auth/signin")
	if err != nil || resp.StatusCode != http.StatusTemporaryRedirect {
		t.Fatalf("sign-in: %v %v", resp, err)
	}
	resp.Body.Close()
	cb := cl.op.Authorize(t, resp.Header.Get("Location"))
	resp, err = browser.Get(cb.String())
	if err != nil {
		t.Fatalf("callback: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusTemporaryRedirect {
		t.Fatalf("callback: status %d: %s", resp.StatusCode, body)
	}
	u, _ := url.Parse(base)
	var parts []string
	for _, ck := range jar.Cookies(u) {
		if isSessionCookie(ck) {
			parts = append(parts, ck.Name+"="+ck.Value)
		}
	}
	if len(parts) == 0 {
		t.Fatal("no session cookie after sign-in")
	}
	return strings.Join(parts, "; ")
}

// get sends GET path to instance i with the Cookie header cookie.
func (cl *cluster) get(i int, path, cookie string) (tokensBody, error) {
	req, err := http.NewRequest(http.MethodGet, cl.instances[i].srv.URL+path, nil)
	if err != nil {
		return tokensBody{}, err
	}
	req.Header.Set("Cookie", cookie)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return tokensBody{}, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return tokensBody{}, fmt.Errorf("instance %d %s: status %d: %s", i, path, resp.StatusCode, body)
	}
	tb := tokensBody{cookie: cookie}
	if err := json.Unmarshal(body, &tb); err != nil {
		return tokensBody{}, fmt.Errorf("instance %d %s: %v: %s", i, path, err, body)
	}
	if set := liveSessionCookie(resp.Cookies()); set != "" {
		tb.cookie = set
	}
	return tb, nil
}

// response is what an instance answered.
type response struct {
	code     int
	location string
	cookies  []*http.Cookie // Set-Cookie
	body     string
}

// send sends GET path to instance i with the Cookie header cookie, without
// following redirects. It may be called from any goroutine: when the request
// fails, the test fails and the zero response is returned.
func (cl *cluster) send(i int, path, cookie string) response {
	t := cl.t
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, cl.instances[i].srv.URL+path, nil)
	if err != nil {
		t.Error(err)
		return response{}
	}
	req.Header.Set("Cookie", cookie)
	noRedirects := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirects.Do(req)
	if err != nil {
		t.Errorf("instance %d %s: %v", i, path, err)
		return response{}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return response{code: resp.StatusCode, location: resp.Header.Get("Location"), cookies: resp.Cookies(), body: string(body)}
}

func isSessionCookie(ck *http.Cookie) bool {
	return ck.Name == "session" || strings.HasPrefix(ck.Name, "session.")
}

// liveSessionCookie returns the Cookie header of the session cookies that
// set gives the browser (not expired), or "".
func liveSessionCookie(set []*http.Cookie) string {
	var parts []string
	for _, ck := range set {
		if isSessionCookie(ck) && ck.MaxAge >= 0 && ck.Value != "" {
			parts = append(parts, ck.Name+"="+ck.Value)
		}
	}
	return strings.Join(parts, "; ")
}

// expiresSession reports whether set expires a session cookie.
func expiresSession(set []*http.Cookie) bool {
	for _, ck := range set {
		if isSessionCookie(ck) && (ck.MaxAge < 0 || ck.Value == "") {
			return true
		}
	}
	return false
}

// wave sends n concurrent forced refreshes with cookie, alternating between
// the instances, and returns the tokens they answered. With gated, no
// request refreshes before all have read the session.
func (cl *cluster) wave(n int, cookie string, gated bool) []tokensBody {
	t := cl.t
	t.Helper()
	results, errs := cl.tryWave(n, cookie, gated)
	for i, err := range errs {
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	return results
}

// tryWave is wave returning the errors of the requests.
func (cl *cluster) tryWave(n int, cookie string, gated bool) ([]tokensBody, []error) {
	return cl.tryWaveAt(n, "/tokens?force=1", cookie, gated)
}

// tryWaveAt is tryWave with the requests sent to path, which has a query.
func (cl *cluster) tryWaveAt(n int, path, cookie string, gated bool) ([]tokensBody, []error) {
	if gated {
		cl.gate.expect(n)
		path += "&gate=1"
	}
	results := make([]tokensBody, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			results[i], errs[i] = cl.get(i%len(cl.instances), path, cookie)
		})
	}
	close(start)
	wg.Wait()
	return results, errs
}

// sessionKeys returns the keys of the sessions in the store (without the
// prefix); locks, indexes and the ended sessions are left out.
func (cl *cluster) sessionKeys() []string {
	t := cl.t
	t.Helper()
	var sessions []string
	for _, k := range keysUnder(t, cl.rdb, cl.prefix) {
		if name := strings.TrimPrefix(k, cl.prefix); !strings.Contains(name, ":") && name != "ended" {
			sessions = append(sessions, strings.TrimPrefix(k, cl.prefix))
		}
	}
	return sessions
}

// storedSession returns the only session in the store.
func (cl *cluster) storedSession(cookie string) *monocloud.Session {
	t := cl.t
	t.Helper()
	sessions := cl.sessionKeys()
	if len(sessions) != 1 {
		t.Fatalf("store holds sessions %q; want exactly one", sessions)
	}
	s, err := cl.store.Get(t.Context(), sessions[0])
	if err != nil || s == nil {
		t.Fatalf("stored session: %v, %v", s, err)
	}
	if strings.Contains(cookie, s.RefreshToken) {
		t.Fatal("the cookie carries the refresh token although the session is in the store")
	}
	return s
}

func sameAccessToken(t *testing.T, results []tokensBody) tokensBody {
	t.Helper()
	for i, r := range results {
		if r.AccessToken != results[0].AccessToken || r.RefreshToken != results[0].RefreshToken {
			t.Fatalf("response %d has tokens %+v; response 0 has %+v", i, r, results[0])
		}
	}
	return results[0]
}

// TestConcurrentRefreshAcrossInstances is the reason the store implements
// SessionLocker: many requests of one session, spread over two instances,
// all force a refresh with the same (pre-refresh) cookie. The provider
// rotates refresh tokens and revokes the grant on reuse, so exactly one
// grant must run and everyone must get its result.
func TestConcurrentRefreshAcrossInstances(t *testing.T) {
	cl := newCluster(t, 2, true)
	cookie := cl.signIn()
	signedIn := cl.storedSession(cookie)
	if signedIn.RefreshToken == "" || len(signedIn.AccessTokens) != 1 {
		t.Fatalf("signed-in session: %+v", signedIn)
	}

	// Both instances serve the session without a refresh.
	for i := range cl.instances {
		tb, err := cl.get(i, "/tokens", cookie)
		if err != nil || tb.AccessToken != signedIn.AccessTokens[0].AccessToken {
			t.Fatalf("instance %d before refresh: %+v, %v", i, tb, err)
		}
	}
	if g := cl.op.RefreshGrants(); g != 0 {
		t.Fatalf("RefreshGrants = %d before any forced refresh", g)
	}

	// Wave 1: 40 concurrent forced refreshes, half on each instance.
	first := sameAccessToken(t, cl.wave(40, cookie, true))
	if g, r := cl.op.RefreshGrants(), cl.op.ReuseDetected(); g != 1 || r != 0 {
		t.Fatalf("wave 1: RefreshGrants = %d, ReuseDetected = %d; want 1, 0", g, r)
	}
	if first.AccessToken == signedIn.AccessTokens[0].AccessToken {
		t.Fatal("wave 1 answered the sign-in access token")
	}
	stored := cl.storedSession(cookie)
	if stored.RefreshToken == signedIn.RefreshToken || stored.RefreshToken != first.RefreshToken {
		t.Fatalf("stored refresh token %q; sign-in had %q, wave 1 answered %q", stored.RefreshToken, signedIn.RefreshToken, first.RefreshToken)
	}
	if len(stored.AccessTokens) != 1 || stored.AccessTokens[0].AccessToken != first.AccessToken {
		t.Fatalf("stored access tokens %+v; want only %q", stored.AccessTokens, first.AccessToken)
	}

	// The sign-in cookie now predates a refresh: a forced refresh with it
	// adopts wave 1's result instead of running another grant.
	if tb, err := cl.get(1, "/tokens?force=1", cookie); err != nil || tb.AccessToken != first.AccessToken {
		t.Fatalf("forced refresh with the pre-refresh cookie: %+v, %v; want wave 1's token", tb, err)
	}
	if g := cl.op.RefreshGrants(); g != 1 {
		t.Fatalf("pre-refresh cookie: RefreshGrants = %d, want 1", g)
	}

	// Wave 2, with the cookie wave 1 set: again one grant, which presents
	// the rotated refresh token.
	second := sameAccessToken(t, cl.wave(40, first.cookie, true))
	if g, r := cl.op.RefreshGrants(), cl.op.ReuseDetected(); g != 2 || r != 0 {
		t.Fatalf("wave 2: RefreshGrants = %d, ReuseDetected = %d; want 2, 0", g, r)
	}
	if second.AccessToken == first.AccessToken || second.RefreshToken == first.RefreshToken {
		t.Fatalf("wave 2 answered wave 1's tokens: %+v", second)
	}

	// Single forced refreshes on B, then on A, each starting from what the
	// other one stored.
	prev := second
	for _, i := range []int{1, 0, 1} {
		tb, err := cl.get(i, "/tokens?force=1", prev.cookie)
		if err != nil {
			t.Fatal(err)
		}
		if tb.AccessToken == prev.AccessToken || tb.RefreshToken == prev.RefreshToken {
			t.Fatalf("forced refresh on instance %d answered the previous tokens", i)
		}
		if s := cl.storedSession(cookie); s.RefreshToken != tb.RefreshToken {
			t.Fatalf("instance %d did not store its rotated refresh token", i)
		}
		prev = tb
	}
	if g, r := cl.op.RefreshGrants(), cl.op.ReuseDetected(); g != 5 || r != 0 {
		t.Fatalf("after single refreshes: RefreshGrants = %d, ReuseDetected = %d; want 5, 0", g, r)
	}
	// Unforced reads on both instances see the latest token.
	for i := range cl.instances {
		if tb, err := cl.get(i, "/tokens", prev.cookie); err != nil || tb.AccessToken != prev.AccessToken || tb.RefreshToken != prev.RefreshToken {
			t.Fatalf("instance %d after refreshes: %+v, %v; want %+v", i, tb, err, prev)
		}
	}
	if g := cl.op.RefreshGrants(); g != 5 {
		t.Fatalf("unforced reads refreshed: RefreshGrants = %d", g)
	}
}

// TestStaggeredForcedRefreshesAcrossInstances sends the 40 forced refreshes
// with the same cookie without holding them until all have read the
// session: the requests that come after the first refresh carry a cookie
// from before it and adopt its result, so no refresh token is ever
// presented twice, every request succeeds, and there is one grant.
func TestStaggeredForcedRefreshesAcrossInstances(t *testing.T) {
	cl := newCluster(t, 2, true)
	cookie := cl.signIn()
	results := cl.wave(40, cookie, false)
	grants := cl.op.RefreshGrants()
	t.Logf("40 staggered forced refreshes over 2 instances: %d grant(s)", grants)
	if grants != 1 || cl.op.ReuseDetected() != 0 {
		t.Fatalf("RefreshGrants = %d, ReuseDetected = %d; want 1, 0", grants, cl.op.ReuseDetected())
	}
	distinct := map[string]bool{}
	for _, r := range results {
		distinct[r.AccessToken] = true
	}
	if len(distinct) > grants {
		t.Fatalf("%d distinct access tokens from %d grants", len(distinct), grants)
	}
	stored := cl.storedSession(cookie)
	tb, err := cl.get(1, "/tokens?force=1", results[0].cookie)
	if err != nil || tb.RefreshToken == stored.RefreshToken {
		t.Fatalf("forced refresh after the wave: %+v, %v", tb, err)
	}
	if g, r := cl.op.RefreshGrants(), cl.op.ReuseDetected(); g != grants+1 || r != 0 {
		t.Fatalf("RefreshGrants = %d, ReuseDetected = %d; want %d, 0", g, r, grants+1)
	}
}

// TestWithoutLockerRefreshTokenIsReplayed is the control of
// TestConcurrentRefreshAcrossInstances: with the same store used only as a
// SessionStore, each instance refreshes with the same refresh token, the
// provider detects the replay and revokes the grant.
func TestWithoutLockerRefreshTokenIsReplayed(t *testing.T) {
	cl := newCluster(t, 2, false)
	cookie := cl.signIn()
	_, errs := cl.tryWave(40, cookie, true)
	failed := 0
	for _, err := range errs {
		if err != nil {
			failed++
		}
	}
	if g, r := cl.op.RefreshGrants(), cl.op.ReuseDetected(); g < 2 || r < 1 || failed == 0 {
		t.Fatalf("without the lock: RefreshGrants = %d, ReuseDetected = %d, %d failed requests; want a replay", g, r, failed)
	}
}
