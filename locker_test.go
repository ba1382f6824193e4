package monocloud

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/monocloud/auth-go/monocloudtest"
)

// TestRefreshExactlyOnceAcrossInstances: two clients (two instances of an
// app) share a SessionLocker store; concurrent requests of one session with
// an expired token, spread over both, cause one refresh grant and no reuse
// of a rotated refresh token.
func TestRefreshExactlyOnceAcrossInstances(t *testing.T) {
	store := newLockingStore()
	a := newTokensApp(t, monocloudtest.Config{}, Options{Session: SessionOptions{Store: store}})
	a.signIn("")
	b := a.secondInstance(store)
	handler := func(c *Client) http.Handler {
		return c.AuthMiddleware(nil)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			tok, err := c.GetTokens(r.Context(), nil)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadGateway)
				return
			}
			writeJSON(w, http.StatusOK, tok)
		}))
	}
	instances := []http.Handler{handler(a.client), handler(b)}
	a.expireDefault()

	const n = 40
	tokens := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			w := httptest.NewRecorder()
			instances[i%2].ServeHTTP(w, a.request(http.MethodGet, "/api/tokens"))
			if w.Code != http.StatusOK {
				t.Errorf("request %d: %d %s", i, w.Code, w.Body)
				return
			}
			var tok Tokens
			if err := json.Unmarshal(w.Body.Bytes(), &tok); err != nil {
				t.Errorf("request %d: %v", i, err)
			}
			tokens[i] = tok.AccessToken
		})
	}
	wg.Wait()
	if got := a.op.RefreshGrants(); got != 1 {
		t.Errorf("refresh grants = %d, want 1", got)
	}
	if got := a.op.ReuseDetected(); got != 0 {
		t.Errorf("refresh token reuse detected %d times", got)
	}
	for i, tok := range tokens {
		if tok != tokens[0] {
			t.Fatalf("request %d got access token %q, request 0 %q", i, tok, tokens[0])
		}
	}
}

// TestUpdateSessionKeepsAnotherInstancesRefresh: an UpdateSession based on
// a session read before another instance rotated its refresh token keeps
// the rotated tokens, so the consumed refresh token never returns to the
// store (the provider would revoke the grant on its next use).
func TestUpdateSessionKeepsAnotherInstancesRefresh(t *testing.T) {
	store := newLockingStore()
	a := newTokensApp(t, monocloudtest.Config{}, Options{Session: SessionOptions{Store: store}})
	a.signIn("")
	b := a.secondInstance(store)
	signedIn := a.session()

	read, refreshed := make(chan struct{}), make(chan struct{})
	slowUpdate := a.client.AuthMiddleware(nil)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := a.client.Session(r.Context())
		if err != nil {
			t.Error(err)
			return
		}
		close(read)
		<-refreshed // instance B rotates the refresh token meanwhile
		s.Extra = map[string]any{"theme": "dark"}
		if err := a.client.UpdateSession(r.Context(), s); err != nil {
			t.Error(err)
		}
	}))
	done := make(chan struct{})
	go func() {
		defer close(done)
		slowUpdate.ServeHTTP(httptest.NewRecorder(), a.request(http.MethodGet, "/settings"))
	}()
	<-read
	w := httptest.NewRecorder()
	b.AuthMiddleware(nil)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := b.GetTokens(r.Context(), &GetTokensOptions{ForceRefresh: true}); err != nil {
			t.Error(err)
		}
	})).ServeHTTP(w, a.request(http.MethodGet, "/tokens"))
	close(refreshed)
	<-done

	s := a.session()
	if s.RefreshToken == signedIn.RefreshToken {
		t.Fatal("the update put the consumed refresh token back into the store")
	}
	if s.Extra["theme"] != "dark" {
		t.Errorf("the update was lost: Extra = %v", s.Extra)
	}
	if _, err := a.tokens(&GetTokensOptions{ForceRefresh: true}); err != nil {
		t.Fatalf("refresh after the update: %v", err)
	}
	if got := a.op.ReuseDetected(); got != 0 {
		t.Errorf("refresh token reuse detected %d times", got)
	}
}
