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
// The difference per op is the middleware's overhead, session decode
// included: "protected" is a user's usual request (its cookie value was
// decoded before), "protected-first-request" the first request after
// sign-in or a cookie update, which decodes the cookie in full.
//
//	go test -run=^$ -bench=Middleware -benchmem .
func BenchmarkMiddleware(b *testing.B) {
	app := newTestApp(b, monocloudtest.Config{Claims: map[string]any{
		"name": "Ada Lovelace", "email": "ada@example.com", "email_verified": true,
		"picture": "https://example.com/ada.png", "groups": []any{"staff", "admin"},
	}}, Options{}, nil, nil)
	app.signIn("")
	bare := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") })
	protected := app.client.AuthMiddleware(nil)(bare)
	req := app.request(http.MethodGet, "/page")
	cookieBytes := 0
	for _, ck := range req.Cookies() {
		cookieBytes += len(ck.Value)
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
			w := httptest.NewRecorder()
			protected.ServeHTTP(w, req)
			if w.Code != http.StatusOK {
				b.Fatalf("status %d", w.Code)
			}
		}
		// After the loop: b.Loop resets the metrics reported before it.
		b.ReportMetric(float64(cookieBytes), "cookie-bytes")
	})
	b.Run("protected-first-request", func(b *testing.B) {
		// The first request of a cookie value decodes it in full.
		b.ReportAllocs()
		for b.Loop() {
			app.client.sessions = newSessionCache()
			w := httptest.NewRecorder()
			protected.ServeHTTP(w, req)
			if w.Code != http.StatusOK {
				b.Fatalf("status %d", w.Code)
			}
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
