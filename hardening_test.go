package monocloud

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/monocloud/auth-go/monocloudtest"
)

// TestSignOutRevokesCopiedCookie: a copy of the session cookie taken before
// sign-out no longer opens the session afterwards.
func TestSignOutRevokesCopiedCookie(t *testing.T) {
	app := newTestApp(t, monocloudtest.Config{}, Options{FederatedSignOut: new(false)}, nil, nil)
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
	app := newTestApp(t, monocloudtest.Config{}, Options{}, nil, func(c *Client) http.Handler {
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
	store := newLockingStore()
	app := newTokensApp(t, monocloudtest.Config{}, Options{Session: SessionOptions{Store: store}})
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
	app := newTestApp(t, hdClaims, Options{OnBackChannelLogout: func(context.Context, string, string) error {
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
	var app *testApp
	var hookErr error
	app = newTokensApp(t, monocloudtest.Config{}, Options{OnSessionCreating: func(ctx context.Context, _ *Session, _, _, _ map[string]any) error {
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
		ProtectedRoutes: []ProtectedRoute{{Pattern: regexp.MustCompile(`^/admin`), GroupCheck: GroupCheck{Groups: []string{"admin"}}}},
		OnAccessDenied: func(w http.ResponseWriter, r *http.Request, user User) {
			if groups, ok := user["groups"].([]any); ok {
				groups[0] = "admin" // must not grant anything
			}
			user["groups"] = []any{"admin"}
			w.WriteHeader(http.StatusForbidden)
		},
	}
	app := newTestApp(t, monocloudtest.Config{Claims: map[string]any{"groups": []any{"staff"}}}, Options{}, nil, func(c *Client) http.Handler {
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
		app := newTokensApp(t, monocloudtest.Config{}, Options{ClientAuthMethod: method})
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

// TestSignInReplacesCookiesTheCallbackDidNotCarry: a callback that arrives
// without the session cookies (form_post: the provider's POST is
// cross-site) cannot see the browser's previous session. Whatever form the
// two sessions take, the next request sees the new one and the browser is
// left with the new session's cookies only.
func TestSignInReplacesCookiesTheCallbackDidNotCarry(t *testing.T) {
	for _, tc := range []struct {
		name          string
		before, after int // bytes of application data of the first and second session
	}{
		{"single then chunks", 0, 6000},
		{"chunks then fewer chunks", 9000, 3000},
		{"chunks then single", 6000, 0},
		{"single then single", 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var label atomic.Value
			var size atomic.Int64
			app := newTestApp(t, hdClaims, Options{
				DefaultAuthParams: AuthParams{ResponseMode: "form_post"},
				OnSessionCreating: func(_ context.Context, s *Session, _, _, _ map[string]any) error {
					s.Extra = map[string]any{"signIn": label.Load(), "data": tkRandomData(int(size.Load()))}
					return nil
				},
			}, nil, nil)

			label.Store("first")
			size.Store(int64(tc.before))
			_, loc := app.startSignIn("/api/auth/signin")
			action, form := app.op.AuthorizeFormPost(t, loc)
			if resp, body := app.do(http.MethodPost, action, form); resp.StatusCode != http.StatusFound {
				t.Fatalf("first callback: %d %s", resp.StatusCode, body)
			}
			have := app.sessionCookies()

			label.Store("second")
			size.Store(int64(tc.after))
			_, loc = app.startSignIn("/api/auth/signin")
			action, form = app.op.AuthorizeFormPost(t, loc)
			r := httptest.NewRequest(http.MethodPost, action, strings.NewReader(form.Encode()))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			for _, ck := range app.stateCookies() { // not the session cookies
				r.AddCookie(ck)
			}
			w := httptest.NewRecorder()
			app.h.ServeHTTP(w, r)
			if w.Code != http.StatusFound {
				t.Fatalf("second callback: %d %s", w.Code, w.Body)
			}
			written, _ := tkFamily(w.Result().Cookies(), "session")
			browser := tkBrowser(have, w.Result().Cookies())
			t.Logf("first session %v, second %v; the browser holds %v", tkNames(have), written, tkNames(browser))

			rec := httptest.NewRecorder()
			s, err := app.client.SessionWithResponse(rec, tkRequest("/", browser))
			if err != nil {
				t.Fatalf("the next request has no session: %v", err)
			}
			if got := s.Extra["signIn"]; got != "second" {
				t.Errorf("the next request sees the %v session, want the second", got)
			}
			if browser = tkBrowser(browser, rec.Result().Cookies()); !slices.Equal(tkNames(browser), written) {
				t.Errorf("the browser then holds %v, want only the second session's %v", tkNames(browser), written)
			}
		})
	}
}

// TestNewestOfSingleAndChunkedSessionWins: a browser that holds both a
// single session cookie and chunks (left by a write that could not expire
// the other form) is served the session signed in last, or the one that
// decodes, and the other form's cookies are expired.
func TestNewestOfSingleAndChunkedSessionWins(t *testing.T) {
	env := newSessionApp(t, Options{}, false)
	first, second, third := tkSampleSession(10), tkSampleSession(6000), tkSampleSession(20)
	oldSingle := env.signedIn(first)
	env.clock.Advance(time.Minute)
	chunks := env.signedIn(second) // session.0, .1, .2
	env.clock.Advance(time.Minute)
	newSingle := env.signedIn(third)
	// The same sign-in as oldSingle, updated later into chunks.
	resp, err := env.updateSession(oldSingle, second)
	if err != nil {
		t.Fatal(err)
	}
	updated := tkBrowser(nil, resp.Cookies())
	if len(chunks) != 3 || len(updated) != 3 {
		t.Fatalf("chunked sessions hold %v and %v, want 3 cookies each", tkNames(chunks), tkNames(updated))
	}
	corrupt := func(cookies []*http.Cookie) []*http.Cookie {
		out := slices.Clone(cookies)
		last := *out[len(out)-1]
		last.Value = last.Value[:len(last.Value)-4] + "AAAA"
		out[len(out)-1] = &last
		return out
	}
	chunkNames := []string{"session.0", "session.1", "session.2"}
	for _, tc := range []struct {
		name        string
		cookies     []*http.Cookie
		want        *Session // nil: no session
		wantExpired []string
	}{
		{"chunks signed in later", slices.Concat(oldSingle, chunks), second, []string{"session"}},
		{"single signed in later", slices.Concat(chunks, newSingle), third, chunkNames},
		{"same sign-in, chunks updated later", slices.Concat(oldSingle, updated), second, []string{"session"}},
		{"newer chunks do not decode", slices.Concat(oldSingle, corrupt(chunks)), first, chunkNames},
		{"newer single does not decode", slices.Concat(corrupt(newSingle), chunks), second, []string{"session"}},
		{"neither decodes", slices.Concat(corrupt(newSingle), corrupt(chunks)), nil, append([]string{"session"}, chunkNames...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, resp, err := env.getSession(tc.cookies)
			if tc.want == nil {
				tkNoSession(t, got, err)
			} else if err != nil {
				t.Fatal(err)
			} else {
				tkSameSession(t, got, tc.want)
			}
			tkExpiresAll(t, resp, "session", tc.wantExpired...)
		})
	}
}
