package monocloud

import (
	"net/http"
	"regexp"
	"testing"
)

// TestWantsJSON: a request asks for JSON by Accept (JSON preferred over
// text/html by q-value), Sec-Fetch-Mode cors or X-Requested-With; a
// browser's navigation and a bare */* do not.
func TestWantsJSON(t *testing.T) {
	const navigation = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
	tests := []struct {
		name   string
		header http.Header
		want   bool
	}{
		{"no headers", http.Header{}, false},
		{"browser navigation", http.Header{"Accept": {navigation}, "Sec-Fetch-Mode": {"navigate"}}, false},
		{"fetch with its default Accept", http.Header{"Accept": {"*/*"}, "Sec-Fetch-Mode": {"cors"}}, true},
		{"Sec-Fetch-Mode in another case", http.Header{"Sec-Fetch-Mode": {"CORS"}}, true},
		{"Sec-Fetch-Mode no-cors (an image)", http.Header{"Sec-Fetch-Mode": {"no-cors"}}, false},
		{"X-Requested-With", http.Header{"X-Requested-With": {"XMLHttpRequest"}}, true},
		{"X-Requested-With in another case", http.Header{"X-Requested-With": {"xmlhttprequest"}}, true},
		{"X-Requested-With another value", http.Header{"X-Requested-With": {"com.example.app"}}, false},
		{"Accept application/json", http.Header{"Accept": {"application/json"}}, true},
		{"Accept a +json type", http.Header{"Accept": {"application/problem+json"}}, true},
		{"Accept in upper case", http.Header{"Accept": {"Application/JSON"}}, true},
		{"Accept */* only", http.Header{"Accept": {"*/*"}}, false},
		{"Accept text/plain only", http.Header{"Accept": {"text/plain"}}, false},
		{"JSON over */*", http.Header{"Accept": {"application/json, */*;q=0.1"}}, true},
		{"JSON and HTML alike", http.Header{"Accept": {"text/html, application/json"}}, false},
		{"HTML preferred", http.Header{"Accept": {"text/html;q=1, application/json;q=0.9"}}, false},
		{"JSON preferred", http.Header{"Accept": {"text/html;q=0.5, application/json"}}, true},
		{"JSON over text/*", http.Header{"Accept": {"text/*;q=0.5, application/json;q=0.6"}}, true},
		{"text/html by its own q, not */*'s", http.Header{"Accept": {"*/*;q=1, text/html;q=0.2, application/json;q=0.5"}}, true},
		{"text/html named above JSON, */* below", http.Header{"Accept": {"*/*;q=0.1, text/html, application/json;q=0.9"}}, false},
		{"JSON refused with q=0", http.Header{"Accept": {"application/json;q=0"}}, false},
		{"q with spaces and other parameters", http.Header{"Accept": {"application/json; charset=utf-8 ; q = 0.8, text/html;level=1;q=0.7"}}, true},
		{"invalid q ignores the range", http.Header{"Accept": {"application/json;q=high, text/html;q=0.1"}}, false},
		{"q above 1 ignores the range", http.Header{"Accept": {"application/json;q=2"}}, false},
		{"several Accept lines", http.Header{"Accept": {"text/html;q=0.1", "application/json"}}, true},
		{"empty ranges", http.Header{"Accept": {" , ,application/json"}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := wantsJSON(&http.Request{Header: tt.header}); got != tt.want {
				t.Errorf("wantsJSON(%v) = %v, want %v", tt.header, got, tt.want)
			}
		})
	}
}

// TestDenialAnswersWhatTheClientAskedFor: a denied request gets JSON (401
// without a session, 403 without the group) when its path is under /api,
// its route is marked API, its wrapper is ProtectAPI, or its client asked
// for JSON; otherwise a page gets a redirect to sign-in or 403 text.
func TestDenialAnswersWhatTheClientAskedFor(t *testing.T) {
	mw := &MiddlewareOptions{ProtectedRoutes: []ProtectedRoute{
		{Pattern: regexp.MustCompile(`^/rpc/admin$`), GroupCheck: prAdmin, API: true},
		{Pattern: regexp.MustCompile(`^/rpc/`), API: true},
		{Pattern: regexp.MustCompile(`^/(api/)?admin$`), GroupCheck: prAdmin},
		{Pattern: regexp.MustCompile(`^/`)},
	}}
	fetch := http.Header{"Accept": {"*/*"}, "Sec-Fetch-Mode": {"cors"}}
	navigation := http.Header{"Accept": {"text/html,*/*;q=0.8"}, "Sec-Fetch-Mode": {"navigate"}}
	asJSON := http.Header{"Accept": {"application/json"}}
	xhr := http.Header{"X-Requested-With": {"XMLHttpRequest"}}
	const (
		toSignIn = http.StatusTemporaryRedirect
		json     = "application/json"
		text     = "text/html; charset=utf-8"
	)
	tests := []struct {
		path       string
		header     http.Header
		signedOut  int    // status without a session
		signedIn   int    // status signed in without the admin group
		deniedType string // Content-Type of a 401 or 403
	}{
		{"/page", navigation, toSignIn, http.StatusOK, ""},
		{"/page", nil, toSignIn, http.StatusOK, ""},
		{"/page", fetch, http.StatusUnauthorized, http.StatusOK, json},
		{"/page", asJSON, http.StatusUnauthorized, http.StatusOK, json},
		{"/page", xhr, http.StatusUnauthorized, http.StatusOK, json},
		{"/admin", navigation, toSignIn, http.StatusForbidden, text},
		{"/admin", fetch, http.StatusUnauthorized, http.StatusForbidden, json},
		{"/admin", asJSON, http.StatusUnauthorized, http.StatusForbidden, json},
		{"/api/admin", navigation, http.StatusUnauthorized, http.StatusForbidden, json},
		{"/rpc/data", navigation, http.StatusUnauthorized, http.StatusOK, json},
		{"/rpc/data", nil, http.StatusUnauthorized, http.StatusOK, json},
		{"/rpc/admin", navigation, http.StatusUnauthorized, http.StatusForbidden, json},
	}
	for _, signedIn := range []bool{false, true} {
		app := newTestApp(t, appConfig{opcfg: adaGroupClaims, mw: mw})
		if signedIn {
			app.signInVia("/api/auth/signin")
		}
		for _, tt := range tests {
			want := tt.signedOut
			if signedIn {
				want = tt.signedIn
			}
			resp := sendWithHeader(app, tt.path, tt.header)
			if resp.StatusCode != want {
				t.Errorf("signed in %v, %s with %v: status %d, want %d", signedIn, tt.path, tt.header, resp.StatusCode, want)
				continue
			}
			if ct := resp.Header.Get("Content-Type"); want >= 400 && ct != tt.deniedType {
				t.Errorf("signed in %v, %s with %v: Content-Type %q, want %q", signedIn, tt.path, tt.header, ct, tt.deniedType)
			}
		}
	}
}

// sendWithHeader sends a GET for path with app's cookies and header, and
// returns the response (body closed).
func sendWithHeader(app *testApp, path string, header http.Header) *http.Response {
	app.t.Helper()
	req, err := http.NewRequest(http.MethodGet, app.srv.URL+path, nil)
	if err != nil {
		app.t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := app.browser.Do(req)
	if err != nil {
		app.t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}
