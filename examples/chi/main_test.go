package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5/middleware"

	"github.com/monocloud/auth-go/backend"
	"github.com/monocloud/auth-go/monocloudtest"
	"github.com/monocloud/auth-go/monocloudtest/apptest"
)

// audience is the identifier of the example's access-token API.
const audience = "https://orders.example.test"

func init() {
	middleware.DefaultLogger = middleware.RequestLogger(&middleware.DefaultLogFormatter{Logger: discard{}, NoColor: true})
}

type discard struct{}

func (discard) Print(...any) {}

// serve serves the example's handler against op and returns its URL.
func serve(t *testing.T, op *monocloudtest.Provider) string {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	client := apptest.NewClient(t, op, "http://"+srv.Listener.Addr().String(), nil)
	api, err := backend.New(backend.Options{TenantDomain: op.Issuer(), Audience: audience, HTTPClient: op.Client()})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = newHandler(client, api)
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.URL
}

// get sends a GET with c, and with token as its bearer token if not empty.
func get(t *testing.T, c *http.Client, url, token string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(body)
}

func TestPages(t *testing.T) {
	op := monocloudtest.NewProvider(t, monocloudtest.Config{Subject: "user-1"})
	url := serve(t, op)
	noRedirects := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	if resp, body := get(t, noRedirects, url+"/", ""); resp.StatusCode != http.StatusOK || !strings.Contains(body, "Signed out") {
		t.Errorf("home signed out: %s %q", resp.Status, body)
	}
	resp, _ := get(t, noRedirects, url+"/account", "")
	if loc, _ := resp.Location(); resp.StatusCode/100 != 3 || loc == nil || loc.Path != "/api/auth/signin" {
		t.Errorf("account signed out: %s to %v, want a redirect to sign-in", resp.Status, loc)
	}

	browser := apptest.SignIn(t, op, url+"/api/auth/signin")
	if resp, body := get(t, browser, url+"/account", ""); resp.StatusCode != http.StatusOK || !strings.Contains(body, "Signed in as user-1") {
		t.Errorf("account signed in: %s %q", resp.Status, body)
	}
	if resp, body := get(t, browser, url+"/api/v1/token", ""); resp.StatusCode != http.StatusOK || !strings.Contains(body, `"expired":false`) {
		t.Errorf("session API signed in: %s %q", resp.Status, body)
	}
}

// TestOrdersAPI checks the access-token API: a token for the audience with
// the route's scope is answered for its user; no token, the session cookie,
// a token without the scope or for another API are refused.
func TestOrdersAPI(t *testing.T) {
	op := monocloudtest.NewProvider(t, monocloudtest.Config{Subject: "user-1"})
	url := serve(t, op) + "/api/orders"
	browser := apptest.SignIn(t, op, strings.TrimSuffix(url, "/api/orders")+"/api/auth/signin")

	resp, body := get(t, http.DefaultClient, url, op.MintAccessToken(t, monocloudtest.AccessToken{Audience: audience, Scopes: "read:orders", Subject: "svc-9"}))
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
		{"the session cookie", browser, "", http.StatusUnauthorized},
		{"no read:orders", http.DefaultClient, op.MintAccessToken(t, monocloudtest.AccessToken{Audience: audience, Scopes: "write:orders"}), http.StatusForbidden},
		{"another API's token", http.DefaultClient, op.MintAccessToken(t, monocloudtest.AccessToken{Audience: "https://billing.example.test", Scopes: "read:orders"}), http.StatusUnauthorized},
	} {
		if resp, body := get(t, tc.client, url, tc.token); resp.StatusCode != tc.status {
			t.Errorf("%s: %s %q, want %d", tc.name, resp.Status, body, tc.status)
		}
	}
}
