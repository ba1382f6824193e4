package monocloud

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestWriteHTML: the package's two HTML pages, the error page and the
// cross-site sign-out confirmation, carry the same security headers: not
// stored, framed or sniffed, loading, running, posting and rebasing
// nothing.
func TestWriteHTML(t *testing.T) {
	app := newTestApp(t, appConfig{opcfg: adaClaims})
	errorPage := httptest.NewRecorder()
	app.h.ServeHTTP(errorPage, app.request(http.MethodGet, "/api/auth/callback"))
	confirm := httptest.NewRecorder()
	r := app.request(http.MethodGet, "/api/auth/signout")
	r.Header.Set("Sec-Fetch-Site", "cross-site")
	app.h.ServeHTTP(confirm, r)
	if errorPage.Code != http.StatusBadRequest || confirm.Code != http.StatusOK {
		t.Fatalf("error page %d, sign-out confirmation %d; want 400 and 200", errorPage.Code, confirm.Code)
	}
	want := map[string]string{
		"Content-Type":            "text/html; charset=utf-8",
		"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
		"X-Frame-Options":         "DENY",
		"X-Content-Type-Options":  "nosniff",
		"Cache-Control":           "no-store",
	}
	for name, value := range want {
		for page, w := range map[string]*httptest.ResponseRecorder{"error page": errorPage, "sign-out confirmation": confirm} {
			if got := w.Header().Get(name); got != value {
				t.Errorf("%s: %s %q, want %q", page, name, got, value)
			}
		}
	}
}
