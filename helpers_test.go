package monocloud

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/monocloud/auth-go/monocloudtest"
)

// testApp is an application served by a Client against a fake provider,
// with a browser-like HTTP client (cookie jar, redirects not followed).
type testApp struct {
	t       testing.TB
	op      *monocloudtest.Provider
	client  *Client
	srv     *httptest.Server
	browser *http.Client
}

const testSecret = "a-test-cookie-secret-of-32-bytes!"

// newTestApp starts a fake provider and an app whose Client is configured by
// opts (zero fields filled for the test setup) and whose handler is built by
// handler from the client (nil: the middleware protecting every route in
// front of a handler answering "ok <path>").
func newTestApp(t testing.TB, opcfg monocloudtest.Config, opts Options, handler func(c *Client) http.Handler) *testApp {
	t.Helper()
	op := monocloudtest.NewProvider(t, opcfg)
	var h http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	if opts.TenantDomain == "" {
		opts.TenantDomain = op.Issuer()
	}
	if opts.ClientID == "" {
		opts.ClientID = "test-client"
		if opcfg.ClientID != "" {
			opts.ClientID = opcfg.ClientID
		}
	}
	if opts.ClientSecret == "" {
		opts.ClientSecret = "test-secret"
		if opcfg.ClientSecret != "" {
			opts.ClientSecret = opcfg.ClientSecret
		}
	}
	if opts.AppURL == "" {
		opts.AppURL = srv.URL
	}
	if opts.CookieSecret == "" {
		opts.CookieSecret = testSecret
	}
	c, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if handler == nil {
		handler = func(c *Client) http.Handler {
			return c.AuthMiddleware(nil)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.WriteString(w, "ok "+r.URL.Path)
			}))
		}
	}
	h = handler(c)
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return &testApp{t: t, op: op, client: c, srv: srv, browser: browser}
}

// get sends a GET with the browser's cookies and returns the response with
// its body read into the returned string.
func (a *testApp) get(rawURL string) (*http.Response, string) {
	a.t.Helper()
	if strings.HasPrefix(rawURL, "/") {
		rawURL = a.srv.URL + rawURL
	}
	resp, err := a.browser.Get(rawURL)
	if err != nil {
		a.t.Fatalf("GET %s: %v", rawURL, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// signIn runs the whole sign-in flow through the app's sign-in route, the
// provider and the callback, and returns the callback's response.
func (a *testApp) signIn(query string) *http.Response {
	a.t.Helper()
	resp, _ := a.get("/api/auth/signin" + query)
	if resp.StatusCode != http.StatusFound {
		a.t.Fatalf("sign-in: status %d, want 302", resp.StatusCode)
	}
	cb := a.op.Authorize(a.t, resp.Header.Get("Location"))
	resp, body := a.get(cb.String())
	if resp.StatusCode != http.StatusFound {
		a.t.Fatalf("callback: status %d, want 302: %s", resp.StatusCode, body)
	}
	return resp
}

// cookies returns the browser's cookies for the app.
func (a *testApp) cookies() []*http.Cookie {
	u, _ := url.Parse(a.srv.URL)
	return a.browser.Jar.Cookies(u)
}

// request returns a request to the app's path carrying the browser's cookies.
func (a *testApp) request(method, path string) *http.Request {
	r := httptest.NewRequest(method, a.srv.URL+path, nil)
	for _, ck := range a.cookies() {
		r.AddCookie(ck)
	}
	return r
}

func TestSignInFlowCreatesSession(t *testing.T) {
	app := newTestApp(t, monocloudtest.Config{Claims: map[string]any{"name": "Ada", "groups": []any{"staff"}}}, Options{}, nil)
	resp := app.signIn("?return_url=/dashboard")
	if got, want := resp.Header.Get("Location"), app.srv.URL+"/dashboard"; got != want {
		t.Fatalf("callback redirect = %q, want %q", got, want)
	}
	resp, body := app.get("/dashboard")
	if resp.StatusCode != http.StatusOK || body != "ok /dashboard" {
		t.Fatalf("protected page: %d %q", resp.StatusCode, body)
	}
	resp, body = app.get("/api/auth/userinfo")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"name":"Ada"`) || !strings.Contains(body, `"sub":"user-1"`) {
		t.Fatalf("userinfo: %d %s", resp.StatusCode, body)
	}
}
