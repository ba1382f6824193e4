package usertest

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	monocloud "github.com/monocloud/auth-go"
	"github.com/monocloud/auth-go/monocloudtest"
	"github.com/monocloud/auth-go/monocloudtest/apptest"
)

// polluteEnvironment sets MONOCLOUD_AUTH_* variables as a developer's
// shell may hold them for another app: each would break these tests if
// read.
func polluteEnvironment(t *testing.T) {
	for name, value := range map[string]string{
		"MONOCLOUD_AUTH_TENANT_DOMAIN":       "https://other-tenant.example.com",
		"MONOCLOUD_AUTH_CLIENT_ID":           "other-client",
		"MONOCLOUD_AUTH_SCOPES":              "profile", // without openid
		"MONOCLOUD_AUTH_SIGNIN_URL":          "/login",
		"MONOCLOUD_AUTH_CALLBACK_URL":        "/oauth/callback",
		"MONOCLOUD_AUTH_SESSION_COOKIE_NAME": "other-session",
		"MONOCLOUD_AUTH_SESSION_DURATION":    "1h", // not seconds
		"MONOCLOUD_AUTH_USE_PAR":             "yes",
		"MONOCLOUD_AUTH_RESPONSE_TIMEOUT":    "5",
	} {
		t.Setenv(name, value)
	}
}

// startApp serves the app for a Client of op built by apptest.NewClient.
func startApp(t *testing.T, op *monocloudtest.Provider) (*httptest.Server, *monocloud.Client) {
	srv := httptest.NewUnstartedServer(nil)
	client := apptest.NewClient(t, op, "http://"+srv.Listener.Addr().String(), nil)
	srv.Config.Handler = NewApp(client)
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, client
}

func get(t *testing.T, c *http.Client, rawURL string) (int, string) {
	t.Helper()
	resp, err := c.Get(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

func TestProfileAfterSignIn(t *testing.T) {
	polluteEnvironment(t)
	op := monocloudtest.NewProvider(t, monocloudtest.Config{Claims: map[string]any{"name": "Ada"}})
	srv, _ := startApp(t, op)

	browser := apptest.SignIn(t, op, srv.URL+"/api/auth/signin")

	if status, body := get(t, browser, srv.URL+"/profile"); status != http.StatusOK || body != "hello Ada" {
		t.Errorf("profile: %d %q, want 200 \"hello Ada\"", status, body)
	}
}

func TestProfileNeedsSignIn(t *testing.T) {
	polluteEnvironment(t)
	op := monocloudtest.NewProvider(t, monocloudtest.Config{})
	srv, _ := startApp(t, op)
	noRedirects := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	if status, body := get(t, noRedirects, srv.URL+"/"); status != http.StatusOK || body != "home" {
		t.Errorf("home: %d %q, want 200 \"home\"", status, body)
	}
	if status, _ := get(t, noRedirects, srv.URL+"/profile"); status != http.StatusTemporaryRedirect {
		t.Errorf("profile without a session: %d, want a redirect to sign-in", status)
	}
}

// TestProfileWithMintedSession tests the handler without a server, with a
// session the Client mints, and a Client built by New itself with
// IgnoreEnvironment.
func TestProfileWithMintedSession(t *testing.T) {
	polluteEnvironment(t)
	client, err := monocloud.New(monocloud.Options{
		IgnoreEnvironment: true,
		TenantDomain:      "https://tenant.example.com", // not contacted
		ClientID:          "client",
		ClientSecret:      "secret",
		AppURL:            "http://app.test",
		CookieSecret:      "a test secret of at least 32 characters",
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	cookies, err := client.EncodeSession(context.Background(), &monocloud.Session{User: monocloud.User{"sub": "u-1", "name": "Bob"}})
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodGet, "http://app.test/profile", nil)
	for _, c := range cookies {
		r.AddCookie(c)
	}
	w := httptest.NewRecorder()
	NewApp(client).ServeHTTP(w, r)
	if w.Code != http.StatusOK || w.Body.String() != "hello Bob" {
		t.Errorf("profile: %d %q, want 200 \"hello Bob\"", w.Code, w.Body.String())
	}
}
