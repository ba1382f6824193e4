package monocloud

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/monocloud/auth-go/monocloudtest"
)

// secrets collects the values no log record may hold.
type secrets map[string]string

func (s secrets) session(what string, sess *Session) {
	if sess == nil {
		return
	}
	s[what+" ID token"] = sess.IDToken
	s[what+" refresh token"] = sess.RefreshToken
	for i, at := range sess.AccessTokens {
		s[fmt.Sprintf("%s access token %d", what, i)] = at.AccessToken
	}
	s[what+" sub"] = sess.User.Subject()
	s[what+" email"], _ = sess.User["email"].(string)
}

func (s secrets) cookies(what string, cookies []*http.Cookie) {
	for _, c := range cookies {
		s[what+" cookie "+c.Name] = c.Value
	}
}

// assertAbsent fails t if text holds any of s.
func (s secrets) assertAbsent(t *testing.T, text string) {
	t.Helper()
	for what, v := range s {
		if len(v) < 4 {
			continue // empty, or too short to tell from other text
		}
		if strings.Contains(text, v) {
			t.Errorf("the log or an event holds the %s", what)
		}
	}
}

// TestEvents drives each event through a real flow against the test
// provider, checks its message, level and attributes, and checks that no
// record or event of any of these flows holds a token, the code, a cookie
// value, the client secret, the state, the nonce, the sub or the email.
func TestEvents(t *testing.T) {
	rec := &logRecorder{level: slog.LevelDebug}
	found := secrets{"client secret": "test-secret"}
	t.Cleanup(func() {
		for _, what := range []string{"code", "state", "nonce", "signed-in ID token", "signed-in refresh token", "refreshed access token 0", "logout token", "signed-in sub", "signed-in email", "stored cookie session"} {
			if len(found[what]) < 4 {
				t.Errorf("the %s was not collected", what)
			}
		}
		found.assertAbsent(t, rec.text.String())
	})

	co := &fakeStore{watchEnded: make(chan struct{})}
	opts := rec.options()
	opts.Coordinator = co
	app := newTokensApp(t, adaClaims, opts)

	t.Run("sign-in", func(t *testing.T) {
		resp, loc := app.startSignIn("/api/auth/signin")
		found.cookies("state", resp.Cookies())
		authorize := queryOf(t, loc)
		found["state"], found["nonce"] = authorize.Get("state"), authorize.Get("nonce")
		found["code challenge"] = authorize.Get("code_challenge")
		cb := app.op.Authorize(t, loc)
		found["code"] = cb.Query().Get("code")
		if resp, body := app.get(cb.String()); resp.StatusCode != http.StatusTemporaryRedirect {
			t.Fatalf("callback: %d %s", resp.StatusCode, body)
		}
		found.cookies("session", app.cookies())
		found.session("signed-in", app.session())
		rec.expectEvent(t, EventSignInStarted, "monocloud: sign-in started", slog.LevelDebug, map[string]string{"outcome": "ok"})
		got := rec.expectEvent(t, EventSignInCompleted, "monocloud: sign-in completed", slog.LevelDebug, map[string]string{"session": ""})
		if key := decodeSessionCookie(t, app.client, app.cookies()).Key; got["session"] != sessionTag(key) || len(got["session"]) != 16 {
			t.Errorf("session %q, want the 16-digit tag of the session's key", got["session"])
		}
	})

	t.Run("callback with a forged state", func(t *testing.T) {
		_, cb := startTransaction(t, app)
		q := cb.Query()
		found["forged-callback code"] = q.Get("code")
		q.Set("state", "forged-state-value")
		cb.RawQuery = q.Encode()
		if w := callbackRequest(t, app, cb); w.Code != http.StatusBadRequest {
			t.Fatalf("callback: %d, want 400", w.Code)
		}
		rec.expectEvent(t, EventCallbackFailed, "monocloud: callback failed", slog.LevelWarn,
			map[string]string{"path": "/api/auth/callback", "status": "400", "error": "monocloud: Invalid state"})
	})

	before := app.cookies()
	t.Run("refresh", func(t *testing.T) {
		app.expireDefault()
		app.mustTokens(nil)
		found.cookies("refreshed", app.cookies())
		found.session("refreshed", app.session())
		got := rec.expectEvent(t, EventRefresh, "monocloud: token refresh", slog.LevelDebug, map[string]string{"outcome": "ok", "session": ""})
		if _, ok := got["duration"]; !ok {
			t.Error("no duration")
		}
	})

	t.Run("a cookie from before the refresh gets the kept result", func(t *testing.T) {
		status, _, _, err := app.httpTokens(before, "")
		if status != http.StatusOK || err != nil {
			t.Fatalf("GET /tokens with the old cookie: %d, %v", status, err)
		}
		rec.expectEvent(t, EventRefreshShared, "monocloud: shared token refresh used", slog.LevelDebug, map[string]string{"outcome": "kept", "session": ""})
	})

	t.Run("another instance adopts the refresh the coordinator shared", func(t *testing.T) {
		other := newTestClient(t, Options{Logger: slog.New(rec), OnEvent: rec.onEvent, Coordinator: co}, adaClaims, app.op, app.srv.URL)
		other.now = app.clock.Now
		w := httptest.NewRecorder()
		r := newRequest("/tokens", before)
		other.AuthMiddleware(protectNone)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if _, err := other.GetTokens(r.Context(), nil); err != nil {
				t.Errorf("GetTokens on the other instance: %v", err)
			}
		})).ServeHTTP(w, r)
		rec.expectEvent(t, EventRefreshShared, "monocloud: shared token refresh used", slog.LevelDebug, map[string]string{"outcome": "coordinator", "session": ""})
	})

	t.Run("failed refresh", func(t *testing.T) {
		app.op.SetTokenFault(monocloudtest.Fault{Status: http.StatusBadGateway, Body: "upstream down"})
		defer app.op.SetTokenFault(monocloudtest.Fault{})
		app.expireDefault()
		if _, err := app.tokens(nil); err == nil {
			t.Fatal("GetTokens succeeded against a failing token endpoint")
		}
		rec.expectEvent(t, EventRefresh, "monocloud: token refresh", slog.LevelWarn, map[string]string{"outcome": "failed", "duration": "", "session": "", "error": ""})
	})

	t.Run("sign-out", func(t *testing.T) {
		found.session("before sign-out", app.session())
		resp, _ := app.get(app.url("/api/auth/signout"))
		if resp.StatusCode != http.StatusTemporaryRedirect {
			t.Fatalf("sign-out: %d", resp.StatusCode)
		}
		rec.expectEvent(t, EventSignOut, "monocloud: signed out", slog.LevelDebug, map[string]string{"outcome": "federated", "session": ""})
	})

	t.Run("back-channel logout", func(t *testing.T) {
		token := app.op.SignLogoutToken(t, validLogoutClaims(app, map[string]any{"sid": "op-session-1", "iat": app.clock.Unix(), "exp": app.clock.Unix() + 60}))
		found["logout token"] = token
		if resp, body := postBackChannelLogout(t, app, url.Values{"logout_token": {token}}); resp.StatusCode != http.StatusOK {
			t.Fatalf("back-channel logout: %d %s", resp.StatusCode, body)
		}
		rec.expectEvent(t, EventBackChannelLogout, "monocloud: back-channel logout", slog.LevelDebug, map[string]string{"outcome": "ok"})
	})

	t.Run("store down", func(t *testing.T) {
		store := &fakeStore{}
		opts := rec.options()
		opts.Session.Store = store.asStore()
		sapp := newTestApp(t, appConfig{opcfg: adaClaims, opts: opts})
		sapp.signIn("")
		found.session("stored", sapp.session())
		found.cookies("stored", sapp.cookies())
		store.setDown(errStoreDown)
		if resp, _ := sapp.get(sapp.url("/private")); resp.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("GET /private with the store down: %d, want 503", resp.StatusCode)
		}
		rec.expectEvent(t, EventStoreError, "monocloud: session store failed", slog.LevelError,
			map[string]string{"op": "reading the session", "path": "/private", "status": "503", "error": ""})
	})

	t.Run("provider down", func(t *testing.T) {
		op := monocloudtest.NewProvider(t, adaClaims)
		op.SetDiscoveryFault(monocloudtest.Fault{Status: http.StatusServiceUnavailable})
		papp := newTestApp(t, appConfig{op: op, opcfg: adaClaims, opts: rec.options()})
		if resp, _ := papp.get(papp.url("/api/auth/signin")); resp.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("sign-in with the provider down: %d, want 503", resp.StatusCode)
		}
		rec.expectEvent(t, EventProviderError, "monocloud: provider call failed", slog.LevelWarn, map[string]string{"op": "discovery", "error": ""})
		rec.expectEvent(t, EventProviderError, "monocloud: provider call failed", slog.LevelError, map[string]string{"path": "/api/auth/signin", "status": "503"})
	})

	t.Run("the hook gets every event logged", func(t *testing.T) {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		if len(rec.events) != len(rec.recs) {
			t.Fatalf("%d events, %d records", len(rec.events), len(rec.recs))
		}
		for i, e := range rec.events {
			if r := rec.recs[i]; attrsOf(r)["event"] != string(e.Kind) || r.Message != messages[e.Kind] || r.Level != e.level() {
				t.Errorf("event %d: %+v, record %q %v", i, e, r.Message, attrsOf(r))
			}
		}
	})
}

// TestEventsQuietAtInfo: at Info, sign-in, refresh and sign-out log
// nothing, while the hook still gets their events.
func TestEventsQuietAtInfo(t *testing.T) {
	rec := &logRecorder{level: slog.LevelInfo}
	app := newTokensApp(t, adaClaims, rec.options())
	app.signIn("")
	app.expireDefault()
	app.mustTokens(nil)
	if resp, _ := app.get(app.url("/api/auth/signout")); resp.StatusCode != http.StatusTemporaryRedirect {
		t.Fatalf("sign-out: %d", resp.StatusCode)
	}
	if len(rec.recs) != 0 {
		t.Errorf("logged at Info: %s", rec.text.String())
	}
	var kinds []EventKind
	for _, e := range rec.events {
		kinds = append(kinds, e.Kind)
	}
	want := []EventKind{EventSignInStarted, EventSignInCompleted, EventRefresh, EventSignOut}
	if fmt.Sprint(kinds) != fmt.Sprint(want) {
		t.Errorf("events %v, want %v", kinds, want)
	}
}
