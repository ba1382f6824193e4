package monocloud

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"testing"
	"time"

	"github.com/monocloud/auth-go/internal/oidctest"
)

// TestSignOutRevokesCopiedCookie: a copy of the session cookie taken before
// sign-out no longer opens the session afterwards.
func TestSignOutRevokesCopiedCookie(t *testing.T) {
	app := newTestApp(t, oidctest.Config{}, Options{FederatedSignOut: new(false)}, nil)
	app.signIn("")
	stolen := app.request(http.MethodGet, "/private")
	if resp, _ := app.get("/api/auth/signout"); resp.StatusCode != http.StatusFound {
		t.Fatalf("sign-out: %d", resp.StatusCode)
	}
	if app.client.IsAuthenticatedRequest(stolen) {
		t.Fatal("the cookie copied before sign-out still opens the session")
	}
}

// TestDestroySessionAfterHeaderWritten: when the cookies can no longer be
// expired, DestroySession says so instead of pretending to succeed.
func TestDestroySessionAfterHeaderWritten(t *testing.T) {
	var destroyErr error
	app := newTestApp(t, oidctest.Config{}, Options{}, func(c *Client) http.Handler {
		return c.AuthMiddleware(nil)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, "body first")
			destroyErr = c.DestroySession(r.Context())
		}))
	})
	app.signIn("")
	app.get("/page")
	if !errors.Is(destroyErr, errResponseCommitted) {
		t.Fatalf("DestroySession after the body = %v, want errResponseCommitted", destroyErr)
	}
}

// TestUpdateSessionDoesNotResurrectDeletedSession: an update based on a
// session read before another instance deleted it (sign-out, back-channel
// logout) does not store it again.
func TestUpdateSessionDoesNotResurrectDeletedSession(t *testing.T) {
	store := &lockingStore{tkStore: newTkStore(), locks: make(map[string]chan struct{})}
	app := newTkApp(t, oidctest.Config{}, Options{Session: SessionOptions{Store: store}})
	app.signIn("")
	var updateErr error
	h := app.client.AuthMiddleware(nil)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := app.client.Session(r.Context())
		if err != nil {
			t.Error(err)
			return
		}
		for _, key := range store.keys() { // another instance signs the user out
			_ = store.Delete(r.Context(), key)
		}
		updateErr = app.client.UpdateSession(r.Context(), s)
	}))
	h.ServeHTTP(httptest.NewRecorder(), app.request(http.MethodGet, "/settings"))
	if !errors.Is(updateErr, ErrNoSession) {
		t.Errorf("UpdateSession = %v, want ErrNoSession", updateErr)
	}
	if keys := store.keys(); len(keys) != 0 {
		t.Errorf("the deleted session is back in the store: %v", keys)
	}
}

// TestBackChannelLogoutHookFailureAllowsRetry: when OnBackChannelLogout
// fails, the provider's retry of the same logout token is accepted.
func TestBackChannelLogoutHookFailureAllowsRetry(t *testing.T) {
	fail := true
	app := htNewApp(t, hdClaims, Options{OnBackChannelLogout: func(context.Context, string, string) error {
		if fail {
			return errors.New("store unavailable")
		}
		return nil
	}}, nil, nil)
	form := url.Values{"logout_token": {app.op.SignLogoutToken(t, hdLogoutClaims(app, nil))}}
	if resp, _ := hdPostLogout(t, app, form); resp.StatusCode != http.StatusInternalServerError {
		t.Fatalf("failing hook: %d, want 500", resp.StatusCode)
	}
	fail = false
	if resp, _ := hdPostLogout(t, app, form); resp.StatusCode != http.StatusOK {
		t.Fatalf("retry: %d, want 200", resp.StatusCode)
	}
	if resp, _ := hdPostLogout(t, app, form); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("replay after success: %d, want 400", resp.StatusCode)
	}
}

// TestHookCallingHelpersDoesNotDeadlock: OnSessionCreating runs while a
// refresh holds the request; helpers called from it answer
// ErrNoRequestContext instead of blocking forever.
func TestHookCallingHelpersDoesNotDeadlock(t *testing.T) {
	var app *tkApp
	var hookErr error
	app = newTkApp(t, oidctest.Config{}, Options{OnSessionCreating: func(ctx context.Context, _ *Session, _, _, _ map[string]any) error {
		if app != nil && app.client != nil {
			_, hookErr = app.client.Session(ctx)
		}
		return nil
	}})
	app.signIn("")
	done := make(chan error, 1)
	go func() {
		_, err := app.tokens(&GetTokensOptions{ForceRefresh: true})
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("GetTokens deadlocked on a hook calling Session")
	}
	if !errors.Is(hookErr, ErrNoRequestContext) {
		t.Errorf("Session inside the hook = %v, want ErrNoRequestContext", hookErr)
	}
}

// TestOnAccessDeniedGetsItsOwnUser: the user handed to OnAccessDenied is a
// copy; changing it does not change the session other requests read (the
// decoded session is cached and shared).
func TestOnAccessDeniedGetsItsOwnUser(t *testing.T) {
	mw := &MiddlewareOptions{
		ProtectedRoutes: []ProtectedRoute{{Pattern: regexp.MustCompile(`^/admin`), Groups: []string{"admin"}}},
		OnAccessDenied: func(w http.ResponseWriter, r *http.Request, user User) bool {
			if groups, ok := user["groups"].([]any); ok {
				groups[0] = "admin" // must not grant anything
			}
			user["groups"] = []any{"admin"}
			w.WriteHeader(http.StatusForbidden)
			return true
		},
	}
	app := newTestApp(t, oidctest.Config{Claims: map[string]any{"groups": []any{"staff"}}}, Options{}, func(c *Client) http.Handler {
		return c.AuthMiddleware(mw)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, "ok")
		}))
	})
	app.signIn("")
	for i := range 2 {
		if resp, _ := app.get("/admin"); resp.StatusCode != http.StatusForbidden {
			t.Fatalf("request %d: %d, want 403", i, resp.StatusCode)
		}
	}
}

// TestClientAuthMethodReachesTheProvider: ClientAuthMethod selects how the
// code exchange and the refresh authenticate at the token endpoint.
func TestClientAuthMethodReachesTheProvider(t *testing.T) {
	for method, want := range map[string]string{"": "client_secret_basic", "client_secret_post": "client_secret_post"} {
		app := newTkApp(t, oidctest.Config{}, Options{ClientAuthMethod: method})
		app.signIn("")
		if got := app.op.AuthMethod(); got != want {
			t.Errorf("ClientAuthMethod %q: code exchange used %q, want %q", method, got, want)
		}
		app.mustTokens(&GetTokensOptions{ForceRefresh: true})
		if got := app.op.AuthMethod(); got != want {
			t.Errorf("ClientAuthMethod %q: refresh used %q, want %q", method, got, want)
		}
	}
}
