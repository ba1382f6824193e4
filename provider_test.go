package monocloud

import (
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/monocloud/auth-go/internal/provider"
	"github.com/monocloud/auth-go/monocloudtest"
)

// pvDown is the fault of a provider that is down behind its load balancer.
var pvDown = monocloudtest.Fault{Status: http.StatusServiceUnavailable, Body: "down", ContentType: "text/plain"}

// pvNewAppDown starts a provider whose discovery answers fault, then the
// app (every route but /page public), and returns it with the app's clock,
// stopped. The clock is past New's discovery attempt once advanced by
// provider.MaxBackoff.
func pvNewAppDown(t *testing.T, fault monocloudtest.Fault, opts Options) (*testApp, *tkClock) {
	t.Helper()
	op := monocloudtest.NewProvider(t, adaClaims)
	op.SetDiscoveryFault(fault)
	app := newTestApp(t, appConfig{op: op, opcfg: adaClaims, opts: opts, mw: &MiddlewareOptions{ProtectedRoutes: Protect("^/page$")}})
	clock := newTkClock()
	app.client.now = clock.Now
	return app, clock
}

func TestProviderDownAtStart(t *testing.T) {
	t.Run("a provider answering 503 does not fail New; it is discovered once up", func(t *testing.T) {
		app, clock := pvNewAppDown(t, pvDown, Options{})
		if n := app.op.DiscoveryRequests(); n != 1 {
			t.Fatalf("New made %d discovery requests, want 1", n)
		}
		if resp, body := app.get("/api/auth/signin"); resp.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("sign-in while down: %d %q, want 503", resp.StatusCode, body)
		}
		if resp, body := app.get("/public"); resp.StatusCode != http.StatusOK || body != "ok /public" {
			t.Errorf("public route while down: %d %q, want 200", resp.StatusCode, body)
		}
		if resp, _ := app.get("/page"); resp.StatusCode != http.StatusTemporaryRedirect {
			t.Errorf("protected page while down, signed out: %d, want 307 to sign-in", resp.StatusCode)
		}
		app.op.SetDiscoveryFault(monocloudtest.Fault{})
		clock.Advance(provider.MaxBackoff)
		resp, body := app.signInVia("/api/auth/signin")
		if resp.StatusCode != http.StatusTemporaryRedirect || app.session() == nil {
			t.Fatalf("sign-in once up: %d %q, no session", resp.StatusCode, body)
		}
	})

	t.Run("a closed port does not fail New", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		issuer := "http://" + ln.Addr().String()
		ln.Close()
		c, err := New(Options{TenantDomain: issuer, ClientID: "c", ClientSecret: "s", AppURL: "http://localhost:3000", CookieSecret: testSecret})
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		w := httptest.NewRecorder()
		c.Handler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, "http://localhost:3000/api/auth/signin", nil))
		if w.Code != http.StatusServiceUnavailable {
			t.Errorf("sign-in: %d, want 503", w.Code)
		}
		_, err = c.provider(t.Context())
		var he *HTTPError
		if !errors.Is(err, ErrProviderUnavailable) || !errors.As(err, &he) {
			t.Errorf("provider: %v, want ErrProviderUnavailable with an *HTTPError", err)
		}
	})

	t.Run("attempts back off from 1s to 30s and fail fast in between", func(t *testing.T) {
		app, clock := pvNewAppDown(t, pvDown, Options{})
		clock.Advance(2 * provider.MinBackoff) // past New's attempt, the first
		app.get("/api/auth/signin")
		attempts := 2
		for _, wait := range []time.Duration{2, 4, 8, 16, 30, 30} {
			wait *= time.Second
			clock.Advance(wait - time.Millisecond)
			if resp, _ := app.get("/api/auth/signin"); resp.StatusCode != http.StatusServiceUnavailable {
				t.Fatalf("sign-in: %d, want 503", resp.StatusCode)
			}
			if n := app.op.DiscoveryRequests(); n != attempts {
				t.Fatalf("%v after attempt %d: %d attempts, want no new one before %v", wait-time.Millisecond, attempts, n, wait)
			}
			clock.Advance(time.Millisecond)
			app.get("/api/auth/signin")
			if attempts++; app.op.DiscoveryRequests() != attempts {
				t.Fatalf("%v after attempt %d: %d attempts, want %d", wait, attempts-1, app.op.DiscoveryRequests(), attempts)
			}
		}
	})

	t.Run("concurrent requests share one attempt", func(t *testing.T) {
		app, clock := pvNewAppDown(t, pvDown, Options{})
		clock.Advance(provider.MaxBackoff)
		app.op.SetDiscoveryFault(monocloudtest.Fault{Delay: 200 * time.Millisecond}) // slow, then up
		var wg sync.WaitGroup
		codes := make([]int, 20)
		for i := range codes {
			wg.Go(func() {
				req, _ := http.NewRequest(http.MethodGet, app.url("/api/auth/signin"), nil)
				resp, err := http.DefaultTransport.RoundTrip(req)
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
				codes[i] = resp.StatusCode
			})
		}
		wg.Wait()
		for i, code := range codes {
			if code != http.StatusTemporaryRedirect {
				t.Errorf("sign-in %d: %d, want a redirect to the provider", i, code)
			}
		}
		if n := app.op.DiscoveryRequests(); n != 2 {
			t.Errorf("%d discovery requests, want 2 (New's and one shared attempt)", n)
		}
	})

	t.Run("routes that need the provider answer 503; a session is served", func(t *testing.T) {
		app, clock := pvNewAppDown(t, pvDown, Options{})
		expired := clock.Now().Add(-time.Minute).Unix()
		cookies := mintSession(t, app.client, &Session{
			User:         User{"sub": "user-1", "name": "Ada"},
			RefreshToken: "rt",
			AccessTokens: []AccessToken{{AccessToken: "at", AccessTokenExpiration: expired, Scopes: "openid"}},
		})
		if w := app.serve(http.MethodGet, "/page", cookies...); w.Code != http.StatusOK {
			t.Errorf("protected page with a session: %d, want 200", w.Code)
		}
		if w := app.serve(http.MethodGet, "/api/auth/userinfo", cookies...); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "Ada") {
			t.Errorf("userinfo with a session: %d %q, want 200 with the user", w.Code, w.Body)
		}
		for _, path := range []string{"/api/auth/signin", "/api/auth/callback?state=s&code=c"} {
			if w := app.serve(http.MethodGet, path, cookies...); w.Code != http.StatusServiceUnavailable {
				t.Errorf("GET %s: %d, want 503", path, w.Code)
			}
		}
		r := httptest.NewRequest(http.MethodPost, app.url("/api/auth/backchannel-logout"), strings.NewReader("logout_token=x.y.z"))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		if app.h.ServeHTTP(w, r); w.Code != http.StatusServiceUnavailable {
			t.Errorf("back-channel logout: %d, want 503 (the provider retries)", w.Code)
		}
		r = httptest.NewRequest(http.MethodGet, app.url("/"), nil)
		for _, ck := range cookies {
			r.AddCookie(ck)
		}
		if _, err := app.client.GetTokensWithResponse(httptest.NewRecorder(), r, nil); !errors.Is(err, ErrProviderUnavailable) {
			t.Errorf("GetTokens with an expired access token: %v, want ErrProviderUnavailable", err)
		}
	})

	t.Run("federated sign-out answers 503 and ends nothing, so a retry ends both sessions", func(t *testing.T) {
		app, _ := pvNewAppDown(t, pvDown, Options{})
		cookies := mintSession(t, app.client, &Session{User: User{"sub": "user-1"}})
		w := app.serve(http.MethodGet, "/api/auth/signout", cookies...)
		if w.Code != http.StatusServiceUnavailable {
			t.Errorf("sign-out: %d, want 503", w.Code)
		}
		if set := w.Result().Cookies(); len(set) != 0 {
			t.Errorf("sign-out with the provider down set cookies %v", set)
		}
		if w := app.serve(http.MethodGet, "/api/auth/userinfo", cookies...); w.Code != http.StatusOK {
			t.Errorf("session after the failed sign-out: userinfo %d, want 200", w.Code)
		}
	})
}

// TestProviderDiscoveryAttemptReportedOnce: a failed discovery attempt is
// one provider_error event (op "discovery"), reported by the operation that
// made it before its own failure, and a lookup failing fast during the
// backoff reports none.
func TestProviderDiscoveryAttemptReportedOnce(t *testing.T) {
	rec := &logRecorder{}
	app, clock := pvNewAppDown(t, pvDown, rec.options())
	attempts := func() (n int, last int) {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		last = -1
		for i, e := range rec.events {
			if e.Kind == EventProviderError && e.Op == "discovery" {
				n, last = n+1, i
			}
		}
		return n, last
	}
	if n, _ := attempts(); n != 1 {
		t.Fatalf("New: %d discovery events, want 1", n)
	}
	if _, err := app.client.provider(t.Context()); err == nil || errors.As(err, new(*failedDiscovery)) {
		t.Errorf("lookup during the backoff: %v, want a failure that made no attempt", err)
	}
	clock.Advance(2 * provider.MinBackoff)
	app.get("/api/auth/signin")
	n, last := attempts()
	if n != 2 {
		t.Fatalf("after a sign-in that made an attempt: %d discovery events, want 2", n)
	}
	rec.mu.Lock()
	next := rec.events[last+1:]
	rec.mu.Unlock()
	if len(next) != 1 || next[0].Kind != EventProviderError || next[0].Path != "/api/auth/signin" {
		t.Errorf("events after the attempt's: %+v, want the sign-in's failure", next)
	}
	app.get("/api/auth/signin") // fails fast
	if n, _ := attempts(); n != 2 {
		t.Errorf("after a sign-in during the backoff: %d discovery events, want 2", n)
	}
}

func TestNewMisconfiguredProvider(t *testing.T) {
	doc := func(issuer string, drop ...string) map[string]any {
		d := map[string]any{"issuer": issuer, "authorization_endpoint": issuer + "/a", "token_endpoint": issuer + "/t", "jwks_uri": issuer + "/k"}
		for _, k := range drop {
			delete(d, k)
		}
		return d
	}
	tests := []struct {
		name  string
		serve func(w http.ResponseWriter, issuer string)
		want  string
	}{
		{"404", func(w http.ResponseWriter, _ string) { http.NotFound(w, nil) }, "status 404"},
		{"another issuer", func(w http.ResponseWriter, issuer string) { writeJSON(w, 200, doc(issuer+"/tenant")) }, "issuer"},
		{"not JSON", func(w http.ResponseWriter, _ string) { _, _ = w.Write([]byte("<html>")) }, "not JSON"},
		{"no token endpoint", func(w http.ResponseWriter, issuer string) { writeJSON(w, 200, doc(issuer, "token_endpoint")) }, "token_endpoint"},
		{"no authorization endpoint", func(w http.ResponseWriter, issuer string) { writeJSON(w, 200, doc(issuer, "authorization_endpoint")) }, "authorization_endpoint"},
		{"no JWKS", func(w http.ResponseWriter, issuer string) { writeJSON(w, 200, doc(issuer, "jwks_uri")) }, "jwks_uri"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var srv *httptest.Server
			srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { tt.serve(w, srv.URL) }))
			t.Cleanup(srv.Close)
			_, err := New(Options{TenantDomain: srv.URL, ClientID: "c", ClientSecret: "s", AppURL: "http://localhost:3000", CookieSecret: testSecret})
			var ve *ValidationError
			if !errors.As(err, &ve) || ve.Field != "TenantDomain" {
				t.Fatalf("New: %v, want a *ValidationError for TenantDomain", err)
			}
			for _, want := range []string{srv.URL + "/.well-known/openid-configuration", "MONOCLOUD_AUTH_TENANT_DOMAIN", tt.want} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("New: %q does not name %q", err, want)
				}
			}
		})
	}
}

// TestProviderDiscoveryAttemptOfARefreshInItsReport: a refresh that makes a
// discovery attempt, which fails, files the attempt's provider_error in its
// report, before its own failed refresh event, and the request that ran it
// emits both.
func TestProviderDiscoveryAttemptOfARefreshInItsReport(t *testing.T) {
	rec := &logRecorder{}
	app := newTokensApp(t, monocloudtest.Config{}, rec.options())
	app.signIn("")
	// As a client that has not discovered the provider yet.
	app.op.SetDiscoveryFault(pvDown)
	app.client.op.Store(nil)
	app.client.disc = app.client.newDiscovery()
	if _, err := app.tokens(&GetTokensOptions{ForceRefresh: true}); !errors.Is(err, ErrProviderUnavailable) || errors.As(err, new(*failedDiscovery)) {
		t.Fatalf("GetTokens: %v, want ErrProviderUnavailable, without the attempt's mark", err)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	var kinds []string
	for _, e := range rec.events {
		kinds = append(kinds, string(e.Kind)+"/"+e.Op+string(e.Outcome))
	}
	want := []string{"provider_error/discovery", "refresh/failed"}
	if got := kinds[len(kinds)-min(len(kinds), 2):]; !slices.Equal(got, want) {
		t.Errorf("events %v, want them to end with %v", kinds, want)
	}
}
