package monocloud

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// inGroup reports what IsUserInGroup answers for g in a handler under the
// middleware of c serving r (false when the middleware answers itself).
func inGroup(c *Client, r *http.Request, g GroupCheck) bool {
	var in bool
	c.AuthMiddleware(&MiddlewareOptions{ProtectedRoutes: []ProtectedRoute{}})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in = c.IsUserInGroup(r.Context(), g)
	})).ServeHTTP(httptest.NewRecorder(), r)
	return in
}

// isAuthenticated reports what IsAuthenticated answers in a handler under
// the middleware of c serving r.
func isAuthenticated(c *Client, r *http.Request) bool { return inGroup(c, r, GroupCheck{}) }

func TestIsUserInGroup(t *testing.T) {
	app := newSessionApp(t, Options{GroupsClaim: "roles"}, false)
	staff := mintSession(t, app.client, &Session{User: User{"sub": "u", "roles": []any{"staff", map[string]any{"id": "g-1", "name": "editors"}}, "groups": []any{"admin"}}})
	for _, tc := range []struct {
		name    string
		cookies []*http.Cookie
		g       GroupCheck
		want    bool
	}{
		{"no groups asked, signed in", staff, GroupCheck{}, true},
		{"no groups asked, signed out", nil, GroupCheck{}, false},
		{"a group of the client's claim", staff, GroupCheck{Groups: []string{"admin", "staff"}}, true},
		{"a group by object name", staff, GroupCheck{Groups: []string{"editors"}}, true},
		{"not a member", staff, GroupCheck{Groups: []string{"admin"}}, false},
		{"another claim", staff, GroupCheck{Groups: []string{"admin"}, Claim: "groups"}, true},
		{"all of them, one missing", staff, GroupCheck{Groups: []string{"staff", "admin"}, MatchAll: true}, false},
		{"all of them", staff, GroupCheck{Groups: []string{"staff", "g-1"}, MatchAll: true}, true},
		{"signed out", nil, GroupCheck{Groups: []string{"staff"}}, false},
	} {
		if got := inGroup(app.client, newRequest("/", tc.cookies), tc.g); got != tc.want {
			t.Errorf("%s: IsUserInGroup = %v, want %v", tc.name, got, tc.want)
		}
	}
	if app.client.IsUserInGroup(newRequest("/", staff).Context(), GroupCheck{}) {
		t.Error("IsUserInGroup outside the middleware = true, want false")
	}

	t.Run("a failing store is not a member", func(t *testing.T) {
		app := newSessionApp(t, Options{}, true)
		cookies := mintSession(t, app.client, &Session{User: User{"sub": "u", "groups": []any{"staff"}}})
		app.store.setDown(errStoreDown)
		if inGroup(app.client, newRequest("/", cookies), GroupCheck{Groups: []string{"staff"}}) {
			t.Error("IsUserInGroup = true while the store fails")
		}
	})
}

// TestBoolHelpersWithoutRequestStateLog: IsAuthenticated and IsUserInGroup
// handed a context without request state (gin's *gin.Context without
// ContextWithFallback) report false, and log it at Error with
// ErrNoRequestContext, once per Client; within a request they log nothing.
func TestBoolHelpersWithoutRequestStateLog(t *testing.T) {
	log := &logRecorder{level: slog.LevelDebug}
	app := newSessionApp(t, Options{Logger: slog.New(log)}, false)
	c := app.client
	ctx := context.Background()
	for range 3 {
		if c.IsAuthenticated(ctx) {
			t.Fatal("IsAuthenticated without request state = true")
		}
		if c.IsUserInGroup(ctx, GroupCheck{}) {
			t.Fatal("IsUserInGroup without request state = true")
		}
	}
	if len(log.recs) != 1 {
		t.Fatalf("%d log records, want 1:\n%s", len(log.recs), log.text.String())
	}
	rec := log.recs[0]
	if rec.Level != slog.LevelError || !strings.Contains(rec.Message, "IsAuthenticated") || attrsOf(rec)["error"] != ErrNoRequestContext.Error() {
		t.Errorf("record %s %q %v, want Error naming IsAuthenticated with ErrNoRequestContext", rec.Level, rec.Message, attrsOf(rec))
	}

	quiet := &logRecorder{level: slog.LevelDebug}
	app = newSessionApp(t, Options{Logger: slog.New(quiet)}, false)
	app.client.AuthMiddleware(&MiddlewareOptions{ProtectedRoutes: []ProtectedRoute{}})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		app.client.IsAuthenticated(r.Context())
		app.client.IsUserInGroup(r.Context(), GroupCheck{Groups: []string{"admin"}})
	})).ServeHTTP(httptest.NewRecorder(), newRequest("/", nil))
	if len(quiet.recs) != 0 {
		t.Errorf("within a request: %d log records, want none:\n%s", len(quiet.recs), quiet.text.String())
	}
}
