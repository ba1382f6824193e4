package monocloud

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/monocloud/auth-go/monocloudtest"
)

// BenchmarkMiddleware compares a handler behind AuthMiddleware, on a
// protected route with a signed-in user's session, with the bare handler.
// The protected handler also calls GetTokens, as an API handler does. The
// difference per op is the overhead, session decode included. "protected"
// is a user's usual request: its cookie value was decoded before and is
// found in the cache of decoded values. "protected-first-request" is the
// first request after sign-in or a cookie update, which decodes the cookie
// in full. "protected-rotating" cycles through rotatingCookies distinct
// users, more than the cache holds, so that every request decodes in full,
// as with many users, several instances, or after a deploy.
//
//	go test -run='^$' -bench='^BenchmarkMiddleware$' -benchmem -count=10 . | tee new.txt
//	go run golang.org/x/perf/cmd/benchstat@latest old.txt new.txt
func BenchmarkMiddleware(b *testing.B) {
	app := newTestApp(b, appConfig{opcfg: monocloudtest.Config{Claims: benchClaims}})
	app.signIn("")
	bare := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") })
	withTokens := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := app.client.GetTokens(r.Context(), nil); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		_, _ = io.WriteString(w, "ok")
	})
	protected := app.client.AuthMiddleware(nil)(withTokens)
	req := app.request(http.MethodGet, "/page")
	cookieBytes := 0
	for _, ck := range req.Cookies() {
		cookieBytes += len(ck.Value)
	}
	serve := func(b *testing.B, r *http.Request) {
		w := httptest.NewRecorder()
		protected.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}

	b.Run("bare", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			bare.ServeHTTP(httptest.NewRecorder(), req)
		}
	})
	b.Run("protected", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			serve(b, req)
		}
		// After the loop: b.Loop resets the metrics reported before it.
		b.ReportMetric(float64(cookieBytes), "cookie-bytes")
	})
	b.Run("protected-first-request", func(b *testing.B) {
		b.ReportAllocs()
		if len(req.Cookies()) != 1 {
			b.Fatalf("%d session cookies, want 1", len(req.Cookies()))
		}
		cached := app.client.sessions.key(req.Cookies()[0].Value)
		for b.Loop() {
			app.client.sessions.entries.Delete(cached)
			serve(b, req)
		}
	})
	b.Run("protected-rotating", func(b *testing.B) {
		reqs := benchRotatingRequests(b, app.client, app.request(http.MethodGet, "/"), rotatingCookies)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			serve(b, reqs[i%len(reqs)])
			i++
		}
	})
	b.Run("unprotected-route", func(b *testing.B) {
		mw := app.client.AuthMiddleware(&MiddlewareOptions{ProtectedRoutes: Protect("^/admin")})(bare)
		b.ReportAllocs()
		for b.Loop() {
			mw.ServeHTTP(httptest.NewRecorder(), req)
		}
	})
}

// benchClaims are the claims of the user of the benchmarks, besides those
// every ID token holds.
var benchClaims = map[string]any{
	"name": "Ada Lovelace", "email": "ada@example.com", "email_verified": true,
	"picture": "https://example.com/ada.png", "groups": []any{"staff", "admin"},
}

// rotatingCookies is how many distinct session cookies
// BenchmarkMiddleware/protected-rotating cycles through: more than
// sessionCacheSize, so that each is evicted before it comes round again.
const rotatingCookies = 10_000

// benchRotatingRequests returns n requests to /page, each carrying a
// session of its own with the content of signedIn's session, and empties
// c's cache of decoded cookies.
func benchRotatingRequests(b testing.TB, c *Client, signedIn *http.Request, n int) []*http.Request {
	s, err := c.SessionWithResponse(httptest.NewRecorder(), signedIn)
	if err != nil {
		b.Fatal(err)
	}
	reqs := make([]*http.Request, n)
	for i := range reqs {
		reqs[i] = httptest.NewRequest(http.MethodGet, c.appURL("/page"), nil)
		for _, ck := range mintSession(b, c, s) {
			reqs[i].AddCookie(ck)
		}
	}
	c.sessions = newSessionCache()
	return reqs
}

// TestCachedRequestAllocations: a signed-in request whose cookie value was
// decoded before costs the middleware and GetTokens a few allocations
// (request state, context, the session copy, the *Tokens answer), none
// for parsing the Cookie header or wrapping the response writer.
func TestCachedRequestAllocations(t *testing.T) {
	app := newTestApp(t, appConfig{})
	app.signIn("")
	h := app.client.AuthMiddleware(nil)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := app.client.GetTokens(r.Context(), nil); err != nil {
			t.Error(err)
		}
	}))
	req := app.request(http.MethodGet, "/page")
	w := &tkDiscard{h: http.Header{}}
	h.ServeHTTP(w, req)
	if got := testing.AllocsPerRun(100, func() { h.ServeHTTP(w, req) }); got > 5 {
		t.Errorf("%v allocations per request, want at most 5", got)
	}
	if n := len(w.h.Values("Set-Cookie")); n != 0 {
		t.Errorf("%d Set-Cookie headers on a cached request", n)
	}
}

// TestUncachedRequestAllocations: a signed-in request whose cookie value
// this process has not decoded before costs the middleware and GetTokens at
// most 30 allocations more than the bare handler: about 14 are
// securecookie's, then the decode's (the tokens, the session, its claims
// kept encoded) and the cached path's.
func TestUncachedRequestAllocations(t *testing.T) {
	const runs = 100
	app := newTestApp(t, appConfig{opcfg: monocloudtest.Config{Claims: benchClaims}})
	app.signIn("")
	// One more than runs: AllocsPerRun warms up with a first call.
	reqs := benchRotatingRequests(t, app.client, app.request(http.MethodGet, "/"), runs+1)
	served := 0
	h := app.client.AuthMiddleware(nil)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := app.client.GetTokens(r.Context(), nil); err != nil {
			t.Error(err)
		}
		served++
	}))
	bare := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { served-- })
	w := &tkDiscard{h: http.Header{}}
	i := 0
	protected := testing.AllocsPerRun(runs, func() {
		h.ServeHTTP(w, reqs[i])
		i++
	})
	base := testing.AllocsPerRun(runs, func() { bare.ServeHTTP(w, reqs[0]) })
	if served != 0 {
		t.Fatalf("the protected handler served %d requests fewer than the bare one", -served)
	}
	if app.client.sessions.entries.Len() != runs+1 {
		t.Fatalf("%d cookie values decoded, want %d", app.client.sessions.entries.Len(), runs+1)
	}
	t.Logf("%v allocations over the bare handler", protected-base)
	if protected-base > 30 {
		t.Errorf("%v allocations per uncached request over the bare handler, want at most 30", protected-base)
	}
}
