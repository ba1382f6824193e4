package monocloud

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/monocloud/auth-go/monocloudtest"
	"golang.org/x/oauth2"
)

// TestAPIClientCallsDownstreamAPIWithCurrentToken: the client from
// Client.APIClient sends the user's access token, refreshes it through
// GetTokens when it expired (once, whatever the number of calls), and the
// refreshed session reaches the browser.
func TestAPIClientCallsDownstreamAPIWithCurrentToken(t *testing.T) {
	var got []string
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
		_, _ = io.WriteString(w, "ok")
	}))
	defer api.Close()

	app := newTokensApp(t, monocloudtest.Config{}, Options{})
	app.signIn("")
	first := app.defaultToken().AccessToken
	callAPI := app.client.AuthMiddleware(nil)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hc := app.client.APIClient(r.Context(), nil)
		for range 3 {
			resp, err := hc.Get(api.URL)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
		}
	}))
	serve := func() *http.Response {
		w := httptest.NewRecorder()
		callAPI.ServeHTTP(w, app.request(http.MethodGet, "/dashboard"))
		app.absorb(w.Result())
		return w.Result()
	}

	serve()
	if len(got) != 3 || got[0] != first || got[2] != first {
		t.Fatalf("downstream saw tokens %q, want the session's %q three times", got, first)
	}
	app.expireDefault()
	got = nil
	resp := serve()
	refreshed := app.defaultToken().AccessToken
	if refreshed == first || len(got) != 3 || got[0] != refreshed || got[2] != refreshed {
		t.Fatalf("after expiry downstream saw %q; session token %q (was %q)", got, refreshed, first)
	}
	if n := app.op.RefreshGrants(); n != 1 {
		t.Errorf("refresh grants = %d, want 1", n)
	}
	if len(resp.Cookies()) == 0 {
		t.Error("the refreshed session was not sent to the browser")
	}
	tok, err := app.client.TokenSource(t.Context(), nil).Token()
	if err != ErrNoRequestContext || tok != nil {
		t.Errorf("TokenSource outside a request = %v, %v; want ErrNoRequestContext", tok, err)
	}
}

// TestTokensTokenDoesNotRefreshOnItsOwn: an x/oauth2 token source built
// from an expired Token() fails instead of presenting the session's
// refresh token to the token endpoint.
func TestTokensTokenDoesNotRefreshOnItsOwn(t *testing.T) {
	var grants atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		grants.Add(1)
		writeJSON(w, http.StatusOK, map[string]any{"access_token": "new", "token_type": "Bearer", "refresh_token": "rotated", "expires_in": 3600})
	}))
	t.Cleanup(srv.Close)
	expired := (&Tokens{AccessToken: "at", AccessTokenExpiration: time.Now().Add(-time.Minute).Unix(), RefreshToken: "rt"}).Token()
	cfg := &oauth2.Config{ClientID: "c", Endpoint: oauth2.Endpoint{TokenURL: srv.URL}}
	if tok, err := cfg.TokenSource(context.Background(), expired).Token(); err == nil {
		t.Errorf("token source refreshed on its own: %+v", tok)
	}
	if n := grants.Load(); n != 0 {
		t.Errorf("token endpoint called %d times, want 0", n)
	}
}
