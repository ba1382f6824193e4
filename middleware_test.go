package monocloud

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/monocloud/auth-go/monocloudtest"
)

// mwSignedIn returns an app with mw whose browser is signed in.
func mwSignedIn(t *testing.T, opts Options, mw *MiddlewareOptions) *testApp {
	t.Helper()
	app := newTestApp(t, appConfig{opcfg: adaGroupClaims, opts: opts, mw: mw})
	if resp, body := app.signInVia("/api/auth/signin"); resp.StatusCode != http.StatusTemporaryRedirect {
		t.Fatalf("sign-in: %d %s", resp.StatusCode, body)
	}
	return app
}

func TestMiddlewareUnauthenticated(t *testing.T) {
	app := newTestApp(t, appConfig{})

	t.Run("should redirect unauthenticated requests to signin endpoint", func(t *testing.T) {
		resp, _ := app.get("/dashboard")
		if resp.StatusCode != http.StatusTemporaryRedirect || resp.Header.Get("Location") != app.url("/api/auth/signin?return_url=%2Fdashboard") {
			t.Errorf("%d %q", resp.StatusCode, resp.Header.Get("Location"))
		}
	})

	t.Run("should retain the path as return_url in the signin redirect", func(t *testing.T) {
		for _, path := range []string{"/path?any=thing", "/a/b?x=1&y=%2F&z", "/",
			// Escapes in the path are kept: %2F is not a path separator and
			// %3F does not start a query.
			"/files/a%2Fb", "/a%3Fb?c=d"} {
			resp, _ := app.get(path)
			loc := parseURL(t, resp.Header.Get("Location"))
			if resp.StatusCode != http.StatusTemporaryRedirect || loc.Path != "/api/auth/signin" {
				t.Fatalf("%s: %d %s", path, resp.StatusCode, loc)
			}
			if got := loc.Query().Get("return_url"); got != path {
				t.Errorf("%s: return_url %q", path, got)
			}
		}
		// The return_url brings the user back after sign-in.
		resp, _ := app.get("/path?any=thing")
		resp, _ = app.signInVia(strings.TrimPrefix(resp.Header.Get("Location"), app.origin()))
		if got := resp.Header.Get("Location"); got != app.url("/path?any=thing") {
			t.Errorf("callback Location %q", got)
		}
		app.newBrowser()
	})

	t.Run("should return 401 unauthorized for api requests", func(t *testing.T) {
		for _, path := range []string{"/api", "/api/data", "/api/v1/items?x=1"} {
			resp, body := app.get(path)
			assertJSON(t, resp, body, http.StatusUnauthorized, map[string]any{"message": "unauthorized"})
		}
		// Only /api and below are API routes.
		if resp, _ := app.get("/apiary"); resp.StatusCode != http.StatusTemporaryRedirect {
			t.Errorf("/apiary: %d, want 307", resp.StatusCode)
		}
	})

	t.Run("should return 401 for unknown routes", func(t *testing.T) {
		resp, body := app.get("/api/auth/unknown")
		assertJSON(t, resp, body, http.StatusUnauthorized, map[string]any{"message": "unauthorized"})
	})

	t.Run("the auth routes are served by the middleware", func(t *testing.T) {
		if resp, _ := app.get("/api/auth/signin"); resp.StatusCode != http.StatusTemporaryRedirect {
			t.Errorf("signin: %d", resp.StatusCode)
		}
		if resp, _ := app.get("/api/auth/userinfo"); resp.StatusCode != http.StatusNoContent {
			t.Errorf("userinfo: %d", resp.StatusCode)
		}
		if resp, _ := app.get("/api/auth/signout"); resp.StatusCode != http.StatusTemporaryRedirect || resp.Header.Get("Location") != app.url("") {
			t.Errorf("signout: %d %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		if resp, _ := app.get("/api/auth/callback?state=x&code=y"); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("callback: %d, want 400", resp.StatusCode)
		}
	})

	t.Run("OPTIONS requests are protected too", func(t *testing.T) {
		// Handlers such as http.FileServer answer any method: an OPTIONS
		// exemption would serve protected content.
		for path, want := range map[string]int{"/page": http.StatusSeeOther, "/api/data": http.StatusUnauthorized} {
			resp, body := app.do(http.MethodOptions, path, nil)
			if resp.StatusCode != want || strings.Contains(body, "ok ") {
				t.Errorf("OPTIONS %s: %d %q, want %d", path, resp.StatusCode, body, want)
			}
		}
	})

	t.Run("should allow authenticated users", func(t *testing.T) {
		app.signInVia("/api/auth/signin")
		for _, path := range []string{"/dashboard", "/api/data"} {
			if resp, body := app.get(path); resp.StatusCode != http.StatusOK || body != "ok "+path {
				t.Errorf("%s: %d %q", path, resp.StatusCode, body)
			}
		}
	})
}

func TestMiddlewareProtectedRoutes(t *testing.T) {
	tests := []struct {
		name      string
		mw        *MiddlewareOptions
		protected []string
		open      []string
	}{
		{"can customize the protected routes", &MiddlewareOptions{ProtectedRoutes: Protect("/protected")},
			// Patterns are unanchored, as in the SDK.
			[]string{"/protected", "/protected/x", "/x/protected", "/protectedness"}, []string{"/", "/public", "/api/data"}},
		{"can protect routes using regex", &MiddlewareOptions{ProtectedRoutes: Protect("^/(protected|secret)")},
			[]string{"/protected", "/secret", "/protected/nested", "/secret/nested"}, []string{"/x/protected", "/public", "/open"}},
		{"anchored pattern", &MiddlewareOptions{ProtectedRoutes: Protect("^/admin$")},
			[]string{"/admin"}, []string{"/admin/x", "/administrator"}},
		{"several patterns", &MiddlewareOptions{ProtectedRoutes: Protect("^/a/", "^/b/")},
			[]string{"/a/1", "/b/2"}, []string{"/c/3"}},
		{"an empty list protects nothing", &MiddlewareOptions{ProtectedRoutes: []ProtectedRoute{}},
			nil, []string{"/", "/page", "/api/data", "/api/auth/unknown"}},
		{"a route without pattern is ignored", &MiddlewareOptions{ProtectedRoutes: []ProtectedRoute{{}, {Pattern: regexp.MustCompile("^/p")}}},
			[]string{"/p"}, []string{"/q"}},
		{"nil options protect everything", nil,
			[]string{"/", "/anything", "/api/auth/unknown"}, nil},
		{"can take in a callback that can decide if the route is protected", &MiddlewareOptions{
			IsProtected: func(r *http.Request) bool {
				return strings.HasPrefix(r.URL.Path, "/private") || r.URL.Query().Has("lock")
			},
			ProtectedRoutes: Protect("^/public"), // IsProtected decides instead
		}, []string{"/private", "/private/x", "/public?lock"}, []string{"/public", "/"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int32
			app := newTestApp(t, appConfig{build: func(c *Client) http.Handler {
				return c.AuthMiddleware(tt.mw)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					calls.Add(1)
					okHandler(w, r)
				}))
			}})
			for _, path := range tt.protected {
				calls.Store(0)
				resp, _ := app.get(path)
				if resp.StatusCode != http.StatusTemporaryRedirect && resp.StatusCode != http.StatusUnauthorized {
					t.Errorf("%s: %d, want protected", path, resp.StatusCode)
				}
				if calls.Load() != 0 {
					t.Errorf("%s: the handler ran for a denied request", path)
				}
			}
			for _, path := range tt.open {
				resp, body := app.get(path)
				if p := parseURL(t, path).Path; resp.StatusCode != http.StatusOK || body != "ok "+p {
					t.Errorf("%s: %d %q, want the handler", path, resp.StatusCode, body)
				}
			}
			if len(tt.protected) == 0 {
				return
			}
			app.signInVia("/api/auth/signin")
			for _, path := range tt.protected {
				if resp, _ := app.get(path); resp.StatusCode != http.StatusOK {
					t.Errorf("%s signed in: %d", path, resp.StatusCode)
				}
			}
		})
	}
}

func TestMiddlewareGroups(t *testing.T) {
	admin := func(groups ...string) *MiddlewareOptions {
		return &MiddlewareOptions{ProtectedRoutes: []ProtectedRoute{
			{Pattern: regexp.MustCompile("^/(api/)?admin"), GroupCheck: GroupCheck{Groups: groups}},
			{Pattern: regexp.MustCompile("^/(api/)?page")},
		}}
	}

	t.Run("returns forbidden if the user does not belong to a group (Non API)", func(t *testing.T) {
		app := mwSignedIn(t, Options{}, admin("admin"))
		resp, body := app.get("/admin")
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "Access denied") || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			t.Errorf("%d %q %q, want the 403 page", resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
	})

	t.Run("returns forbidden if the user does not belong to a group (API)", func(t *testing.T) {
		app := mwSignedIn(t, Options{}, admin("admin"))
		resp, body := app.get("/api/admin/users")
		assertJSON(t, resp, body, http.StatusForbidden, map[string]any{"message": "forbidden"})
	})

	t.Run("succeeds if the request is a non-group protected route", func(t *testing.T) {
		app := mwSignedIn(t, Options{}, admin("admin"))
		if resp, body := app.get("/page"); resp.StatusCode != http.StatusOK || body != "ok /page" {
			t.Errorf("%d %q", resp.StatusCode, body)
		}
	})

	t.Run("allows the user if the user belongs to the group", func(t *testing.T) {
		app := mwSignedIn(t, Options{}, admin("nobody", "staff"))
		if resp, body := app.get("/admin"); resp.StatusCode != http.StatusOK || body != "ok /admin" {
			t.Errorf("%d %q", resp.StatusCode, body)
		}
	})

	t.Run("a group route still needs a session first", func(t *testing.T) {
		app := newTestApp(t, appConfig{opcfg: adaGroupClaims, mw: admin("staff")})
		if resp, _ := app.get("/admin"); resp.StatusCode != http.StatusTemporaryRedirect {
			t.Errorf("/admin: %d, want 307", resp.StatusCode)
		}
		if resp, _ := app.get("/api/admin"); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("/api/admin: %d, want 401", resp.StatusCode)
		}
	})

	t.Run("can set custom groups claim", func(t *testing.T) {
		mw := admin("admin")
		mw.ProtectedRoutes[0].Claim = "CUSTOM_GROUPS"
		if resp, _ := mwSignedIn(t, Options{}, mw).get("/admin"); resp.StatusCode != http.StatusOK {
			t.Errorf("GroupCheck.Claim: %d, want 200", resp.StatusCode)
		}
		if resp, _ := mwSignedIn(t, Options{GroupsClaim: "CUSTOM_GROUPS"}, admin("admin")).get("/admin"); resp.StatusCode != http.StatusOK {
			t.Errorf("Options.GroupsClaim: %d, want 200", resp.StatusCode)
		}
		mw = admin("staff")
		mw.ProtectedRoutes[0].Claim = "CUSTOM_GROUPS" // overrides Options.GroupsClaim
		if resp, _ := mwSignedIn(t, Options{GroupsClaim: "groups"}, mw).get("/admin"); resp.StatusCode != http.StatusForbidden {
			t.Errorf("override: %d, want 403", resp.StatusCode)
		}
	})

	t.Run("groups given as objects match by id or name", func(t *testing.T) {
		for _, g := range []string{"t-1", "editors"} {
			mw := admin(g)
			mw.ProtectedRoutes[0].Claim = "teams"
			if resp, _ := mwSignedIn(t, Options{}, mw).get("/admin"); resp.StatusCode != http.StatusOK {
				t.Errorf("group %q: %d, want 200", g, resp.StatusCode)
			}
		}
	})

	t.Run("MatchAll", func(t *testing.T) {
		mw := admin("staff", "admin")
		if resp, _ := mwSignedIn(t, Options{}, mw).get("/admin"); resp.StatusCode != http.StatusOK {
			t.Errorf("any of: %d, want 200", resp.StatusCode)
		}
		mw.ProtectedRoutes[0].MatchAll = true
		if resp, _ := mwSignedIn(t, Options{}, mw).get("/admin"); resp.StatusCode != http.StatusForbidden {
			t.Errorf("all of: %d, want 403", resp.StatusCode)
		}
		mw = admin("staff")
		mw.ProtectedRoutes[0].MatchAll = true
		if resp, _ := mwSignedIn(t, Options{}, mw).get("/admin"); resp.StatusCode != http.StatusOK {
			t.Errorf("all of one: %d, want 200", resp.StatusCode)
		}
	})

	t.Run("the first matching entry decides", func(t *testing.T) {
		mw := &MiddlewareOptions{ProtectedRoutes: []ProtectedRoute{
			{Pattern: regexp.MustCompile("^/admin"), GroupCheck: GroupCheck{Groups: []string{"admin"}}},
			{Pattern: regexp.MustCompile("^/admin/public")},
		}}
		if resp, _ := mwSignedIn(t, Options{}, mw).get("/admin/public"); resp.StatusCode != http.StatusForbidden {
			t.Errorf("%d, want 403", resp.StatusCode)
		}
	})
}

func TestMiddlewareOnAccessDenied(t *testing.T) {
	type denial struct {
		path string
		user User
	}
	// answer false makes a hook that writes nothing.
	newApp := func(t *testing.T, answer bool, signIn bool) (*testApp, *[]denial) {
		var denials []denial
		mw := &MiddlewareOptions{
			ProtectedRoutes: []ProtectedRoute{{Pattern: regexp.MustCompile("^/admin"), GroupCheck: GroupCheck{Groups: []string{"admin"}}}, {Pattern: regexp.MustCompile("^/")}},
			OnAccessDenied: func(w http.ResponseWriter, r *http.Request, user User) {
				denials = append(denials, denial{r.URL.Path, user})
				if answer {
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(http.StatusTeapot)
					_, _ = io.WriteString(w, `{"custom":true}`)
				}
			},
		}
		app := newTestApp(t, appConfig{opcfg: adaGroupClaims, mw: mw})
		if signIn {
			app.signInVia("/api/auth/signin")
		}
		return app, &denials
	}

	t.Run("can customize onAccessDenied for unauthenticated requests", func(t *testing.T) {
		app, denials := newApp(t, true, false)
		for _, path := range []string{"/page", "/api/data"} {
			resp, body := app.get(path)
			if resp.StatusCode != http.StatusTeapot || body != `{"custom":true}` {
				t.Errorf("%s: %d %q", path, resp.StatusCode, body)
			}
		}
		if len(*denials) != 2 || (*denials)[0].user != nil {
			t.Errorf("denials %v, want two without user", *denials)
		}
	})

	// The SDK continues the request when onAccessDenied returns nothing;
	// here the hook always answers, so that a hook that only logs cannot
	// let a request through.
	t.Run("does not continue the request when onAccessDenied writes nothing", func(t *testing.T) {
		app, denials := newApp(t, false, false)
		if resp, body := app.get("/page"); resp.StatusCode != http.StatusOK || body != "" {
			t.Errorf("%d %q, want the hook's empty answer", resp.StatusCode, body)
		}
		if len(*denials) != 1 {
			t.Errorf("denials %v", *denials)
		}
	})

	t.Run("can set custom onAccessDenied middleware function", func(t *testing.T) {
		app, denials := newApp(t, true, true)
		resp, body := app.get("/admin")
		if resp.StatusCode != http.StatusTeapot || body != `{"custom":true}` {
			t.Errorf("handled: %d %q", resp.StatusCode, body)
		}
		if len(*denials) != 1 || (*denials)[0].user.Subject() != "user-1" {
			t.Errorf("denials %v, want one with the user", *denials)
		}
		app, denials = newApp(t, false, true)
		if resp, body := app.get("/admin"); resp.StatusCode != http.StatusOK || body != "" || len(*denials) != 1 {
			t.Errorf("hook writing nothing: %d %q, denials %v; want the hook's empty answer, not the handler", resp.StatusCode, body, *denials)
		}
	})
}

func TestMiddlewareCustomComposition(t *testing.T) {
	t.Run("can return authMiddleware from a customMiddleware", func(t *testing.T) {
		app := newTestApp(t, appConfig{build: func(c *Client) http.Handler {
			auth := c.AuthMiddleware(nil)
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("X-Custom", "1")
				if strings.HasPrefix(r.URL.Path, "/health") {
					okHandler(w, r)
					return
				}
				auth(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if _, err := c.Session(r.Context()); err != nil {
						http.Error(w, err.Error(), http.StatusInternalServerError)
						return
					}
					okHandler(w, r)
				})).ServeHTTP(w, r)
			})
		}})
		if resp, body := app.get("/health"); resp.StatusCode != http.StatusOK || body != "ok /health" {
			t.Errorf("/health: %d %q", resp.StatusCode, body)
		}
		if resp, _ := app.get("/page"); resp.StatusCode != http.StatusTemporaryRedirect || resp.Header.Get("X-Custom") != "1" {
			t.Errorf("/page: %d %v", resp.StatusCode, resp.Header)
		}
		app.signInVia("/api/auth/signin")
		if resp, body := app.get("/page"); resp.StatusCode != http.StatusOK || body != "ok /page" {
			t.Errorf("/page signed in: %d %q", resp.StatusCode, body)
		}
	})
}

// mwHelpers calls every session helper n times, as a handler might.
func mwHelpers(t testing.TB, c *Client, w http.ResponseWriter, r *http.Request, n int) {
	ctx := r.Context()
	for range n {
		if _, err := c.Session(ctx); err != nil {
			t.Errorf("Session: %v", err)
		}
		if !c.IsAuthenticated(ctx) {
			t.Error("IsAuthenticated = false")
		}
		if !c.IsUserInGroup(ctx, GroupCheck{Groups: []string{"staff"}}) {
			t.Error("IsUserInGroup = false")
		}
		if _, err := c.GetTokens(ctx, nil); err != nil {
			t.Errorf("GetTokens: %v", err)
		}
		if _, err := c.SessionWithResponse(w, r); err != nil {
			t.Errorf("SessionWithResponse: %v", err)
		}
		if _, err := c.GetTokensFromRequest(r, nil); err != nil {
			t.Errorf("GetTokensFromRequest: %v", err)
		}
		if _, err := c.GetTokensWithResponse(w, r, nil); err != nil {
			t.Errorf("GetTokensWithResponse: %v", err)
		}
		if _, err := GetTokens(ctx, nil); err != nil {
			t.Errorf("package GetTokens: %v", err)
		}
	}
}

// TestMiddlewareDecodesSessionOnce checks that a request's session is
// decoded exactly once however many helpers the handler calls. With a
// SessionStore every decode is one Store.Get, which counts decodes exactly.
func TestMiddlewareDecodesSessionOnce(t *testing.T) {
	for _, tt := range []struct {
		name string
		mw   *MiddlewareOptions
		path string
	}{
		{"protected route (the middleware decodes)", nil, "/page"},
		{"unprotected route (the first helper decodes)", &MiddlewareOptions{ProtectedRoutes: []ProtectedRoute{}}, "/page"},
		{"group route", &MiddlewareOptions{ProtectedRoutes: []ProtectedRoute{{Pattern: regexp.MustCompile("^/page"), GroupCheck: GroupCheck{Groups: []string{"staff"}}}}}, "/page"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			store := &fakeStore{}
			var app *testApp
			var helperCalls atomic.Int32
			app = newTestApp(t, appConfig{opcfg: adaGroupClaims, store: store, mw: tt.mw, build: func(c *Client) http.Handler {
				return c.AuthMiddleware(tt.mw)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if r.URL.Query().Has("helpers") {
						helperCalls.Add(1)
						mwHelpers(app.t, c, w, r, 5)
					}
					okHandler(w, r)
				}))
			}})
			app.signInVia("/api/auth/signin")
			gets := store.calls().gets
			resp, _ := app.get(tt.path + "?helpers")
			if resp.StatusCode != http.StatusOK || helperCalls.Load() != 1 {
				t.Fatalf("status %d, handler calls %d", resp.StatusCode, helperCalls.Load())
			}
			if n := store.calls().gets - gets; n != 1 {
				t.Errorf("the session was decoded %d times in one request, want 1", n)
			}
			if tt.mw != nil && tt.mw.ProtectedRoutes != nil && len(tt.mw.ProtectedRoutes) == 0 {
				gets := store.calls().gets
				app.get(tt.path)
				if n := store.calls().gets - gets; n != 0 {
					t.Errorf("an unprotected request without helpers decoded the session %d times, want 0", n)
				}
			}
		})
	}
}

// TestMiddlewareHelpersShareTheDecodedSession checks, for cookie sessions,
// that every helper of a request works on the one session decoded for it:
// after UpdateSession, all of them see the update, which a fresh decode of
// the request's cookie would not. (Allocations cannot count decodes since
// the client caches decoded cookie values.)
func TestMiddlewareHelpersShareTheDecodedSession(t *testing.T) {
	app := mwSignedIn(t, Options{}, &MiddlewareOptions{ProtectedRoutes: Protect("^/update")})
	c := app.client
	var failures []string
	fail := func(format string, args ...any) { failures = append(failures, fmt.Sprintf(format, args...)) }
	h := c.AuthMiddleware(nil)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		s, err := c.Session(ctx)
		if err != nil {
			fail("Session: %v", err)
			return
		}
		if c.IsUserInGroup(ctx, GroupCheck{Groups: []string{"admins"}}) {
			fail("IsUserInGroup(admins) before the update")
		}
		s.User["groups"] = []any{"admins"}
		s.User["name"] = "Grace"
		s.AccessTokens[0].AccessToken = "updated-token"
		if err := c.UpdateSession(ctx, s); err != nil {
			fail("UpdateSession: %v", err)
			return
		}
		for i := range 3 {
			if s, _ := c.Session(ctx); s == nil || s.User["name"] != "Grace" {
				fail("round %d: Session does not see the update: %v", i, s)
			}
			if s, _ := c.SessionWithResponse(w, r); s == nil || s.User["name"] != "Grace" {
				fail("round %d: SessionWithResponse does not see the update", i)
			}
			if !c.IsUserInGroup(ctx, GroupCheck{Groups: []string{"admins"}}) {
				fail("round %d: IsUserInGroup does not see the update", i)
			}
			if tok, err := c.GetTokens(ctx, nil); err != nil || tok.AccessToken != "updated-token" {
				fail("round %d: GetTokens does not see the update: %v %v", i, tok, err)
			}
			if tok, err := c.GetTokensFromRequest(r, nil); err != nil || tok.AccessToken != "updated-token" {
				fail("round %d: GetTokensFromRequest does not see the update: %v %v", i, tok, err)
			}
		}
		_, _ = io.WriteString(w, "done")
	}))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, app.request(http.MethodGet, "/update"))
	if w.Code != http.StatusOK || w.Body.String() != "done" || len(failures) > 0 {
		t.Errorf("%d %q: %s", w.Code, w.Body, strings.Join(failures, "; "))
	}
	if len(w.Result().Cookies()) == 0 {
		t.Error("the updated session was not written")
	}
}

// TestMiddlewareSlidingCookie checks that a sliding session's renewed
// cookie reaches the response however the handler writes it.
func TestMiddlewareSlidingCookie(t *testing.T) {
	handlers := map[string]http.HandlerFunc{
		"/write": func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "body") },
		"/flush": func(w http.ResponseWriter, r *http.Request) {
			w.(http.Flusher).Flush()
			_, _ = io.WriteString(w, "body")
		},
		"/controller-flush": func(w http.ResponseWriter, r *http.Request) {
			if err := http.NewResponseController(w).Flush(); err != nil {
				t.Errorf("ResponseController.Flush: %v", err)
			}
			_, _ = io.WriteString(w, "body")
		},
		"/header":  func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusCreated) },
		"/nothing": func(w http.ResponseWriter, r *http.Request) {},
		"/copy": func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(w, strings.NewReader(strings.Repeat("x", 64<<10)))
		},
		"/serve-content": func(w http.ResponseWriter, r *http.Request) {
			http.ServeContent(w, r, "a.txt", time.Time{}, strings.NewReader("content"))
		},
	}
	build := func(c *Client) http.Handler {
		mux := http.NewServeMux()
		for p, h := range handlers {
			mux.Handle(p, h)
		}
		return c.AuthMiddleware(nil)(mux)
	}
	for path := range handlers {
		t.Run(path, func(t *testing.T) {
			app := newTestApp(t, appConfig{opcfg: adaGroupClaims, opts: Options{Session: SessionOptions{Sliding: new(true), Duration: time.Hour}}, build: build})
			clock := app.useClock()
			resp, _ := app.signInVia("/api/auth/signin")
			first := setCookieNamed(resp, "session")
			if first == nil {
				t.Fatal("no session cookie at sign-in")
			}
			clock.Advance(5 * time.Minute)
			resp, _ = app.get(path)
			if resp.StatusCode >= 300 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			renewed := setCookieNamed(resp, "session")
			if renewed == nil || renewed.Value == "" || !renewed.Expires.After(first.Expires) {
				t.Fatalf("no renewed session cookie: %v", resp.Header["Set-Cookie"])
			}
			if d := renewed.Expires.Sub(first.Expires); d < 4*time.Minute || d > 6*time.Minute {
				t.Errorf("expiry moved by %v, want about 5m", d)
			}
			// The renewed cookie is a valid session.
			if app.session() == nil {
				t.Error("the renewed cookie does not hold a session")
			}
		})
	}

	t.Run("handler on an unprotected route reading the session", func(t *testing.T) {
		app := newTestApp(t, appConfig{opcfg: adaGroupClaims, opts: Options{Session: SessionOptions{Sliding: new(true)}}, build: func(c *Client) http.Handler {
			return c.AuthMiddleware(&MiddlewareOptions{ProtectedRoutes: []ProtectedRoute{}})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if _, err := c.Session(r.Context()); err != nil {
					t.Errorf("Session: %v", err)
				}
				_, _ = io.WriteString(w, "body")
			}))
		}})
		clock := app.useClock()
		app.signInVia("/api/auth/signin")
		clock.Advance(2 * time.Minute)
		if resp, _ := app.get("/page"); setCookieNamed(resp, "session") == nil {
			t.Errorf("no renewed session cookie: %v", resp.Header["Set-Cookie"])
		}
	})

	t.Run("no cookie is written within the slide interval", func(t *testing.T) {
		app := newTestApp(t, appConfig{opcfg: adaGroupClaims, opts: Options{Session: SessionOptions{Sliding: new(true)}}, build: build})
		app.signInVia("/api/auth/signin")
		if resp, _ := app.get("/write"); len(resp.Cookies()) != 0 {
			t.Errorf("Set-Cookie %v on a request right after sign-in", resp.Header["Set-Cookie"])
		}
	})
}

func TestMiddlewareResponseController(t *testing.T) {
	app := newTestApp(t, appConfig{opcfg: adaGroupClaims, build: func(c *Client) http.Handler {
		return c.AuthMiddleware(&MiddlewareOptions{ProtectedRoutes: []ProtectedRoute{}})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rc := http.NewResponseController(w)
			var errs []string
			for name, err := range map[string]error{
				"SetWriteDeadline": rc.SetWriteDeadline(time.Now().Add(time.Minute)),
				"SetReadDeadline":  rc.SetReadDeadline(time.Now().Add(time.Minute)),
				"EnableFullDuplex": rc.EnableFullDuplex(),
				"Flush":            rc.Flush(),
			} {
				if err != nil {
					errs = append(errs, name+": "+err.Error())
				}
			}
			if _, ok := w.(http.Flusher); !ok {
				errs = append(errs, "not an http.Flusher")
			}
			_, _ = io.WriteString(w, strings.Join(errs, "; ")+"done")
		}))
	}})
	if resp, body := app.get("/page"); resp.StatusCode != http.StatusOK || body != "done" {
		t.Errorf("%d %q", resp.StatusCode, body)
	}
}

// TestMiddlewareRequestContext checks the helpers see the middleware's
// request and not another client's.
func TestMiddlewareRequestContext(t *testing.T) {
	app := mwSignedIn(t, Options{}, nil)
	var other *Client
	{
		o := newTestApp(t, appConfig{})
		other = o.client
	}
	r := app.request(http.MethodGet, "/page")
	var got error
	var otherErr error
	app.client.AuthMiddleware(nil)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, got = app.client.Session(r.Context())
		_, otherErr = other.Session(r.Context())
	})).ServeHTTP(httptest.NewRecorder(), r)
	if got != nil {
		t.Errorf("Session under the middleware: %v", got)
	}
	if otherErr != ErrNoRequestContext {
		t.Errorf("another client's Session: %v, want ErrNoRequestContext", otherErr)
	}
	if _, err := app.client.Session(context.Background()); err != ErrNoRequestContext {
		t.Errorf("Session(context.Background()): %v, want ErrNoRequestContext", err)
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
	app := newTestApp(t, appConfig{opcfg: monocloudtest.Config{Claims: map[string]any{"groups": []any{"staff"}}}, build: func(c *Client) http.Handler {
		return c.AuthMiddleware(mw)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, "ok")
		}))
	}})

	app.signIn("")
	for i := range 2 {
		if resp, _ := app.get("/admin"); resp.StatusCode != http.StatusForbidden {
			t.Fatalf("request %d: %d, want 403", i, resp.StatusCode)
		}
	}
}

// TestProtectedPatternsOnNonCanonicalPaths checks that a protected pattern
// cannot be bypassed by spelling the path differently. http.FileServer (and
// other handlers and routers that clean paths, unlike http.ServeMux which
// redirects) serves //admin/secret.txt as /admin/secret.txt.
func TestProtectedPatternsOnNonCanonicalPaths(t *testing.T) {
	files := http.FileServerFS(fstest.MapFS{"admin/secret.txt": {Data: []byte("top secret")}, "public.txt": {Data: []byte("public")}})
	app := newTestApp(t, appConfig{build: func(c *Client) http.Handler {
		return c.AuthMiddleware(&MiddlewareOptions{ProtectedRoutes: Protect("^/admin")})(files)
	}})
	for _, p := range []string{"/admin/secret.txt", "//admin/secret.txt", "/./admin/secret.txt", "/x/../admin/secret.txt", "/%61dmin/secret.txt", "/public.txt/../admin/secret.txt"} {
		t.Run(p, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, app.url("/"), nil)
			u, err := url.ParseRequestURI(p)
			if err != nil {
				t.Fatal(err)
			}
			r.RequestURI, r.URL.Path, r.URL.RawPath = p, u.Path, u.RawPath
			w := httptest.NewRecorder()
			app.h.ServeHTTP(w, r)
			if strings.Contains(w.Body.String(), "top secret") {
				t.Errorf("%s: the protected file was served without a session (status %d)", p, w.Code)
			}
		})
	}
	// Control: unprotected files are served.
	if w := app.serve(http.MethodGet, "/public.txt"); w.Code != http.StatusOK || w.Body.String() != "public" {
		t.Errorf("/public.txt: %d %q", w.Code, w.Body)
	}
}
