package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	monocloud "github.com/monocloud/auth-go"
	"github.com/monocloud/auth-go/backend"
	"github.com/monocloud/auth-go/monocloudtest"
)

// ordersAudience is the identifier of the example's access-token API.
const ordersAudience = "https://orders.example.test"

// testApp is the example's handler served against a fake provider, with a
// browser that keeps cookies and does not follow redirects.
type testApp struct {
	t       *testing.T
	op      *monocloudtest.Provider
	srv     *httptest.Server
	browser *http.Client
}

// newTestApp serves the example's handler against a fake provider
// configured by opcfg.
func newTestApp(t *testing.T, opcfg monocloudtest.Config) *testApp {
	t.Helper()
	op := monocloudtest.NewProvider(t, opcfg)
	var h http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	client, err := monocloud.New(monocloud.Options{
		TenantDomain: op.Issuer(),
		ClientID:     "test-client",
		ClientSecret: "test-secret",
		AppURL:       srv.URL,
		CookieSecret: "a-test-cookie-secret-of-32-bytes!",
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ordersAPI, err := backend.New(backend.Options{TenantDomain: op.Issuer(), Audience: ordersAudience, HTTPClient: op.Client()})
	if err != nil {
		t.Fatalf("backend.New: %v", err)
	}
	h = newHandler(client, ordersAPI)
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	browser := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return &testApp{t: t, op: op, srv: srv, browser: browser}
}

// get sends a GET with the browser's cookies and returns the response and
// its body.
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
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		a.t.Fatalf("GET %s: %v", rawURL, err)
	}
	return resp, string(body)
}

// signIn runs the sign-in flow through the app's sign-in route, the
// provider and the callback.
func (a *testApp) signIn() {
	a.t.Helper()
	resp, body := a.get("/api/auth/signin")
	if resp.StatusCode != http.StatusTemporaryRedirect {
		a.t.Fatalf("sign-in: %s, want 307: %s", resp.Status, body)
	}
	cb := a.op.Authorize(a.t, resp.Header.Get("Location"))
	if resp, body = a.get(cb.String()); resp.StatusCode != http.StatusTemporaryRedirect {
		a.t.Fatalf("callback: %s, want 307: %s", resp.Status, body)
	}
}

func TestSignedOut(t *testing.T) {
	app := newTestApp(t, monocloudtest.Config{})

	resp, body := app.get("/")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Signed out") {
		t.Errorf("home: %s %q, want 200 and a sign-in link", resp.Status, body)
	}

	resp, body = app.get("/account")
	loc, _ := resp.Location()
	if resp.StatusCode/100 != 3 || loc == nil || loc.Path != "/api/auth/signin" || loc.Query().Get("return_url") != "/account" {
		t.Errorf("protected page: %s to %v, want a redirect to sign-in returning to /account: %s", resp.Status, loc, body)
	}

	resp, body = app.get("/api/tokens")
	if resp.StatusCode != http.StatusUnauthorized || strings.Contains(body, "accessToken") {
		t.Errorf("tokens API: %s %q, want 401 without a token", resp.Status, body)
	}

	// A script's fetch of the page gets 401 JSON, not a redirect it
	// could not follow.
	req, _ := http.NewRequest(http.MethodGet, app.srv.URL+"/account", nil)
	req.Header.Set("Sec-Fetch-Mode", "cors")
	fetched, err := app.browser.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	fetched.Body.Close()
	if fetched.StatusCode != http.StatusUnauthorized || fetched.Header.Get("Content-Type") != "application/json" {
		t.Errorf("fetch of the protected page: %s %s, want 401 JSON", fetched.Status, fetched.Header.Get("Content-Type"))
	}
}

func TestSignedIn(t *testing.T) {
	app := newTestApp(t, monocloudtest.Config{})
	app.signIn()

	if resp, body := app.get("/"); resp.StatusCode != http.StatusOK || !strings.Contains(body, "Hello user-1") {
		t.Errorf("home: %s %q, want a greeting", resp.Status, body)
	}
	if resp, body := app.get("/account"); resp.StatusCode != http.StatusOK || body != "Signed in as user-1" {
		t.Errorf("protected page: %s %q", resp.Status, body)
	}

	resp, body := app.get("/api/tokens")
	var got map[string]any
	if err := json.Unmarshal([]byte(body), &got); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("tokens API: %s %q (%v), want 200 JSON", resp.Status, body, err)
	}
	if tok, _ := got["accessToken"].(string); tok == "" {
		t.Errorf("tokens API: no access token in %s", body)
	}
	for _, leak := range []string{"refreshToken", "idToken"} {
		if _, ok := got[leak]; ok {
			t.Errorf("tokens API hands out %s: %s", leak, body)
		}
	}
}

// TestRefreshedCookie checks that the middleware's Set-Cookie for a refreshed
// session gets through echo's response writer.
func TestRefreshedCookie(t *testing.T) {
	// Tokens that expire within GetTokens' 30 s margin: every call refreshes.
	app := newTestApp(t, monocloudtest.Config{AccessTokenTTL: 10 * time.Second})
	app.signIn()

	resp, body := app.get("/api/tokens")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("tokens API: %s %q, want 200", resp.Status, body)
	}
	if n := app.op.RefreshGrants(); n != 1 {
		t.Fatalf("refresh grants: %d, want 1", n)
	}
	var refreshed bool
	for _, ck := range resp.Cookies() {
		refreshed = refreshed || strings.HasPrefix(ck.Name, "session") && ck.Value != ""
	}
	if !refreshed {
		t.Errorf("tokens API after a refresh sets no session cookie: %q", resp.Header.Values("Set-Cookie"))
	}
}

// TestOrdersAPI checks the access-token API: a token for the audience with
// the group's scope is answered for its user; no token, the session cookie,
// a token without the scope or for another API are refused.
func TestOrdersAPI(t *testing.T) {
	app := newTestApp(t, monocloudtest.Config{})
	app.signIn()
	call := func(c *http.Client, token string) (*http.Response, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, app.srv.URL+"/api/orders", nil)
		if err != nil {
			t.Fatal(err)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp, string(body)
	}

	resp, body := call(http.DefaultClient, app.op.MintAccessToken(t, monocloudtest.AccessToken{Audience: ordersAudience, Scopes: "read:orders", Subject: "svc-9"}))
	var answer struct{ Sub string }
	if err := json.Unmarshal([]byte(body), &answer); resp.StatusCode != http.StatusOK || err != nil || answer.Sub != "svc-9" {
		t.Errorf("with a token: %s %q (%v), want svc-9's orders", resp.Status, body, err)
	}
	for _, tc := range []struct {
		name   string
		client *http.Client
		token  string
		status int
	}{
		{"no token", http.DefaultClient, "", http.StatusUnauthorized},
		{"the session cookie", app.browser, "", http.StatusUnauthorized},
		{"no read:orders", http.DefaultClient, app.op.MintAccessToken(t, monocloudtest.AccessToken{Audience: ordersAudience, Scopes: "write:orders"}), http.StatusForbidden},
		{"another API's token", http.DefaultClient, app.op.MintAccessToken(t, monocloudtest.AccessToken{Audience: "https://billing.example.test", Scopes: "read:orders"}), http.StatusUnauthorized},
	} {
		if resp, body := call(tc.client, tc.token); resp.StatusCode != tc.status {
			t.Errorf("%s: %s %q, want %d", tc.name, resp.Status, body, tc.status)
		}
	}
}
