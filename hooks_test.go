package monocloud

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/monocloud/auth-go/monocloudtest"
)

// sessionReader reads the request's session through every public reader,
// as a hook or a context-aware log handler that adds the user to its
// records does, and counts the kinds of the events it ran for.
type sessionReader struct {
	c     atomic.Pointer[Client]
	mu    sync.Mutex
	kinds map[EventKind]int
}

func (sr *sessionReader) read(ctx context.Context, kind EventKind) {
	c := sr.c.Load()
	if c == nil {
		return
	}
	_, _ = c.Session(ctx)
	_ = c.IsAuthenticated(ctx)
	_ = c.IsUserInGroup(ctx, GroupCheck{Groups: []string{"admin"}})
	_, _ = c.GetTokens(ctx, nil)
	_, _ = GetTokens(ctx, nil) // the package-level helper, through the serving Client
	sr.mu.Lock()
	sr.kinds[kind]++
	sr.mu.Unlock()
}

// readingHandler is a slog.Handler that reads the session in Handle.
type readingHandler struct{ sr *sessionReader }

func (h readingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h readingHandler) Handle(ctx context.Context, r slog.Record) error {
	kind := EventKind("")
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "event" {
			kind = EventKind(a.Value.String())
		}
		return true
	})
	h.sr.read(ctx, kind)
	return nil
}
func (h readingHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h readingHandler) WithGroup(string) slog.Handler      { return h }

// TestHooksThatReadTheSessionDoNotDeadlock: an OnEvent hook, or a
// context-aware slog handler, that reads the request's session through
// every public reader, for every event kind the harness triggers, returns:
// no hook or logger runs under the request state's lock or inside its
// load. Before, three of these triggers blocked for good.
func TestHooksThatReadTheSessionDoNotDeadlock(t *testing.T) {
	sliding := true
	for _, tc := range []struct {
		name  string
		store bool
		opts  Options
		run   func(t *testing.T, a *testApp, store *fakeStore)
		want  []EventKind
	}{
		{"sign-in", false, Options{}, func(t *testing.T, a *testApp, _ *fakeStore) {
			a.signIn("")
		}, []EventKind{EventSignInStarted, EventSignInCompleted}},
		{"sign-out", false, Options{}, func(t *testing.T, a *testApp, _ *fakeStore) {
			a.signIn("")
			a.get(a.url("/api/auth/signout"))
		}, []EventKind{EventSignOut}},
		{"refresh", false, Options{}, func(t *testing.T, a *testApp, _ *fakeStore) {
			a.signIn("")
			a.expireDefault()
			a.get(a.url("/tokens"))
		}, []EventKind{EventRefresh}},
		{"refresh after the header was written", false, Options{}, func(t *testing.T, a *testApp, _ *fakeStore) {
			a.signIn("")
			a.expireDefault()
			a.mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusOK) // a streaming handler: header first
				_, _ = a.client.GetTokens(r.Context(), nil)
			})).ServeHTTP(httptest.NewRecorder(), a.request(http.MethodGet, "/stream"))
		}, []EventKind{EventRefresh, EventSessionNotWritten}},
		{"sliding re-write after the header was written", false, Options{Session: SessionOptions{Sliding: &sliding}}, func(t *testing.T, a *testApp, _ *fakeStore) {
			a.signIn("")
			a.clock.Advance(5 * time.Minute)
			a.mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusOK)
				_, _ = a.client.Session(r.Context())
			})).ServeHTTP(httptest.NewRecorder(), a.request(http.MethodGet, "/stream"))
		}, []EventKind{EventSessionNotWritten}},
		{"store down, expired cookie", true, Options{}, func(t *testing.T, a *testApp, store *fakeStore) {
			a.signIn("")
			a.clock.Advance(25 * time.Hour) // past Session.Duration
			store.setDown(errStoreDown)
			a.get(a.url("/session"))
		}, []EventKind{EventStoreError}},
		{"store down on a route", true, Options{}, func(t *testing.T, a *testApp, store *fakeStore) {
			a.signIn("")
			store.setDown(errStoreDown)
			a.get(a.url("/api/auth/userinfo"))
		}, []EventKind{EventStoreError}},
		{"callback failed", false, Options{}, func(t *testing.T, a *testApp, _ *fakeStore) {
			a.get(a.url("/api/auth/callback?code=x&state=unknown"))
		}, []EventKind{EventCallbackFailed}},
		{"route failed", false, Options{OnSetApplicationState: func(*http.Request) (map[string]any, error) { return nil, nil }}, func(t *testing.T, a *testApp, _ *fakeStore) {
			a.get(a.url("/api/auth/signin"))
		}, []EventKind{EventRouteFailed}},
		{"large session", false, Options{}, func(t *testing.T, a *testApp, _ *fakeStore) {
			a.signIn("")
			a.mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				s, err := a.client.Session(r.Context())
				if err != nil {
					t.Errorf("Session: %v", err)
					return
				}
				s.User["bio"] = randomData(sessionWarnSize)
				if err := a.client.UpdateSession(r.Context(), s); err != nil {
					t.Errorf("UpdateSession: %v", err)
				}
			})).ServeHTTP(httptest.NewRecorder(), a.request(http.MethodGet, "/grow"))
		}, []EventKind{EventSessionLarge}},
	} {
		for _, via := range []string{"OnEvent", "Logger"} {
			t.Run(tc.name+"/"+via, func(t *testing.T) {
				sr := &sessionReader{kinds: map[EventKind]int{}}
				opts := tc.opts
				opts.Logger = slog.New(slog.DiscardHandler)
				if via == "OnEvent" {
					opts.OnEvent = func(ctx context.Context, e Event) { sr.read(ctx, e.Kind) }
				} else {
					opts.Logger = slog.New(readingHandler{sr})
				}
				var store *fakeStore
				if tc.store {
					store = &fakeStore{}
					opts.Session.Store = store.asStore()
				}
				a := newTokensApp(t, monocloudtest.Config{}, opts)
				sr.c.Store(a.client)
				setDefaultClient(t, a.client)
				done := make(chan struct{})
				go func() {
					defer close(done)
					tc.run(t, a, store)
				}()
				select {
				case <-done:
				case <-time.After(5 * time.Second):
					t.Fatal("still blocked after 5s: a hook that reads the session deadlocked")
				}
				sr.mu.Lock()
				defer sr.mu.Unlock()
				for _, kind := range tc.want {
					if sr.kinds[kind] == 0 {
						t.Errorf("no %s event read the session; read for %v", kind, sr.kinds)
					}
				}
			})
		}
	}
}
