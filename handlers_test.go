package monocloud

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestAuthRoutesMethodNotAllowed is the SDK's 405 matrix ("should return
// 405 on ${endpoint} for request type ${method}"), through both Handler
// and AuthMiddleware.
func TestAuthRoutesMethodNotAllowed(t *testing.T) {
	matrix := []struct {
		route   string
		allow   string
		methods []string
	}{
		{"/api/auth/signin", "GET", []string{"DELETE", "OPTIONS", "POST", "PUT", "PATCH", "HEAD", "TRACE"}},
		{"/api/auth/callback", "GET, POST", []string{"DELETE", "OPTIONS", "PUT", "PATCH", "HEAD", "TRACE"}},
		{"/api/auth/userinfo", "GET", []string{"DELETE", "OPTIONS", "POST", "PUT", "PATCH", "HEAD", "TRACE"}},
		{"/api/auth/signout", "GET", []string{"DELETE", "OPTIONS", "POST", "PUT", "PATCH", "HEAD", "TRACE"}},
		{"/api/auth/backchannel-logout", "POST", []string{"GET", "DELETE", "OPTIONS", "PUT", "PATCH", "HEAD", "TRACE"}},
	}
	for _, via := range []struct {
		name  string
		build func(*Client) http.Handler
	}{{"Handler", handlerOnly}, {"AuthMiddleware", nil}} {
		app := newTestApp(t, appConfig{build: via.build})
		cookies := mintSession(t, app.client, &Session{User: User{"sub": "user-1"}})
		for _, m := range matrix {
			for _, method := range m.methods {
				t.Run(via.name+"/should return 405 on "+m.route+" for request type "+method, func(t *testing.T) {
					w := app.serve(method, m.route, cookies...)
					if w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") != m.allow || w.Body.Len() != 0 {
						t.Errorf("%d Allow %q body %q, want 405 Allow %q and no body", w.Code, w.Header().Get("Allow"), w.Body, m.allow)
					}
				})
			}
		}
	}
}

// TestAuthRoutesPreflight: a CORS preflight gets 204 and runs no flow (no
// state cookie from sign-in, the session kept by sign-out); only the app's
// own origin is allowed.
func TestAuthRoutesPreflight(t *testing.T) {
	routes := map[string]string{
		"/api/auth/signin":   "GET",
		"/api/auth/callback": "GET, POST",
		"/api/auth/userinfo": "GET",
		"/api/auth/signout":  "GET",
	}
	for _, via := range []struct {
		name  string
		build func(*Client) http.Handler
	}{{"Handler", handlerOnly}, {"AuthMiddleware", nil}} {
		app := newTestApp(t, appConfig{build: via.build})
		cookies := mintSession(t, app.client, &Session{User: User{"sub": "user-1"}})
		preflight := func(route, origin string) *httptest.ResponseRecorder {
			r := app.request(http.MethodOptions, route)
			for _, ck := range cookies {
				r.AddCookie(ck)
			}
			r.Header.Set("Origin", origin)
			r.Header.Set("Access-Control-Request-Method", "GET")
			r.Header.Set("Access-Control-Request-Headers", "x-requested-with")
			w := httptest.NewRecorder()
			app.h.ServeHTTP(w, r)
			return w
		}
		for route, allow := range routes {
			t.Run(via.name+route, func(t *testing.T) {
				w := preflight(route, app.origin())
				h := w.Header()
				if w.Code != http.StatusNoContent || w.Body.Len() != 0 || len(h.Values("Set-Cookie")) != 0 {
					t.Errorf("app origin: %d %q, cookies %q; want 204, no body, no cookie", w.Code, w.Body, h.Values("Set-Cookie"))
				}
				if h.Get("Access-Control-Allow-Origin") != app.origin() || h.Get("Access-Control-Allow-Credentials") != "true" ||
					h.Get("Access-Control-Allow-Methods") != allow || h.Get("Access-Control-Allow-Headers") != "x-requested-with" ||
					h.Get("Access-Control-Max-Age") == "" || h.Get("Cache-Control") != "no-store" {
					t.Errorf("app origin: headers %v", h)
				}
				w = preflight(route, "https://evil.example.com")
				if w.Code != http.StatusNoContent || w.Header().Get("Access-Control-Allow-Origin") != "" || len(w.Header().Values("Set-Cookie")) != 0 {
					t.Errorf("another origin: %d, headers %v; want 204 without Access-Control-Allow-Origin", w.Code, w.Header())
				}
			})
		}
	}
}

// TestAuthRoutesRedirect: the auth routes redirect with 307 (303 after a
// form_post callback, tested with it), and no answer may be stored.
func TestAuthRoutesRedirect(t *testing.T) {
	app := newTestApp(t, appConfig{build: handlerOnly})
	resp, loc := app.startSignIn("/api/auth/signin")
	if resp.StatusCode != http.StatusTemporaryRedirect || resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("sign-in: %d Cache-Control %q", resp.StatusCode, resp.Header.Get("Cache-Control"))
	}
	resp, _ = app.get(app.op.Authorize(t, loc).String())
	if resp.StatusCode != http.StatusTemporaryRedirect || resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("callback: %d Cache-Control %q", resp.StatusCode, resp.Header.Get("Cache-Control"))
	}
	for _, path := range []string{"/api/auth/userinfo", "/api/auth/signout", "/api/auth/callback"} {
		resp, _ := app.get(path)
		if resp.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: %d Cache-Control %q", path, resp.StatusCode, resp.Header.Get("Cache-Control"))
		}
		if path == "/api/auth/signout" && resp.StatusCode != http.StatusTemporaryRedirect {
			t.Errorf("%s: %d, want 307", path, resp.StatusCode)
		}
	}
}

func TestHandlerUnknownRoutes(t *testing.T) {
	app := newTestApp(t, appConfig{build: handlerOnly})
	for _, path := range []string{"/api/auth/unknown", "/api/auth/signin/", "/API/AUTH/SIGNIN", "/", "/page"} {
		t.Run("should return 404 for unknown routes "+path, func(t *testing.T) {
			if w := app.serve(http.MethodGet, path); w.Code != http.StatusNotFound {
				t.Errorf("%s: %d, want 404", path, w.Code)
			}
		})
	}
}

func TestHandlerOnError(t *testing.T) {
	t.Run("can pass onError to monoCloudAuth() to handle errors", func(t *testing.T) {
		rec := &errRecorder{}
		app := newTestApp(t, appConfig{opts: Options{OnError: rec.hook}, build: handlerOnly})
		resp, body := app.get("/api/auth/callback?state=x&code=y")
		if resp.StatusCode != http.StatusTeapot || body != "custom error page" || rec.last() == nil {
			t.Errorf("%d %q %v", resp.StatusCode, body, rec.last())
		}
	})
	t.Run("can pass onError to authMiddleware() to handle errors", func(t *testing.T) {
		rec := &errRecorder{}
		app := newTestApp(t, appConfig{opts: Options{OnError: rec.hook}})
		resp, _ := app.get("/api/auth/callback?state=x&code=y")
		if resp.StatusCode != http.StatusTeapot || rec.last() == nil {
			t.Errorf("%d: Options.OnError %v; want it called under the middleware", resp.StatusCode, rec.last())
		}
	})
	t.Run("errors are logged, not leaked as 500", func(t *testing.T) {
		app := newTestApp(t, appConfig{build: handlerOnly})
		resp, body := app.get("/api/auth/callback?state=x&code=y")
		if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("X-Content-Type-Options") != "nosniff" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
			t.Errorf("%d %v %q", resp.StatusCode, resp.Header, body)
		}
	})
}

func TestCustomRoutes(t *testing.T) {
	routes := Routes{SignIn: "/login", Callback: "/auth/cb", SignOut: "/logout", UserInfo: "/me", BackChannelLogout: "/bcl"}
	app := newTestApp(t, appConfig{opcfg: adaClaims, opts: Options{Routes: routes}})
	t.Run("should redirect to authorize endpoint when custom signin route is called", func(t *testing.T) {
		q := authorizeParams(t, app, "/login")
		if q.Get("redirect_uri") != app.url("/auth/cb") {
			t.Errorf("redirect_uri %q", q.Get("redirect_uri"))
		}
	})
	t.Run("flow", func(t *testing.T) {
		resp, _ := app.signInVia("/login?return_url=/x")
		if resp.Header.Get("Location") != app.url("/x") {
			t.Errorf("callback Location %q", resp.Header.Get("Location"))
		}
		if resp, body := app.get("/me"); resp.StatusCode != http.StatusOK || !strings.Contains(body, "Ada") {
			t.Errorf("/me: %d %s", resp.StatusCode, body)
		}
		// The default paths are ordinary (protected) routes now.
		app.newBrowser()
		if resp, _ := app.get("/api/auth/signin"); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("/api/auth/signin: %d, want 401", resp.StatusCode)
		}
		if resp, _ := app.get("/page"); resp.Header.Get("Location") != app.url("/login?return_url=%2Fpage") {
			t.Errorf("middleware redirect %q, want the custom sign-in route", resp.Header.Get("Location"))
		}
		if w := app.serve(http.MethodGet, "/bcl"); w.Code != http.StatusMethodNotAllowed {
			t.Errorf("GET /bcl: %d, want 405", w.Code)
		}
		app.signInVia("/login")
		if resp, _ := app.get("/logout"); resp.StatusCode != http.StatusTemporaryRedirect || !strings.HasPrefix(resp.Header.Get("Location"), app.op.Issuer()) {
			t.Errorf("/logout: %d %q", resp.StatusCode, resp.Header.Get("Location"))
		}
	})
}

// TestAppURLWithBasePath runs every route of an app served under /base.
func TestAppURLWithBasePath(t *testing.T) {
	app := newTestApp(t, appConfig{basePath: "/base", opcfg: adaClaims, mw: &MiddlewareOptions{ProtectedRoutes: Protect("^/private")}})
	resp, _ := app.get("/base/private/x?y=1")
	if got, want := resp.Header.Get("Location"), app.url("/base/api/auth/signin?return_url=%2Fprivate%2Fx%3Fy%3D1"); resp.StatusCode != http.StatusTemporaryRedirect || got != want {
		t.Fatalf("unauthenticated: %d %q, want 307 to %q", resp.StatusCode, got, want)
	}
	resp, _ = app.signInVia(strings.TrimPrefix(resp.Header.Get("Location"), app.origin()))
	if got, want := resp.Header.Get("Location"), app.url("/base/private/x?y=1"); got != want {
		t.Errorf("callback Location %q, want %q", got, want)
	}
	if resp, body := app.get("/base/private/x"); resp.StatusCode != http.StatusOK || body != "ok /base/private/x" {
		t.Errorf("protected page: %d %q", resp.StatusCode, body)
	}
	if resp, _ := app.get("/base/api/auth/userinfo"); resp.StatusCode != http.StatusOK {
		t.Errorf("userinfo: %d", resp.StatusCode)
	}
	resp, _ = app.get("/base/api/auth/signout")
	if q := queryOf(t, resp.Header.Get("Location")); q.Get("post_logout_redirect_uri") != app.url("/base") {
		t.Errorf("sign-out: %v", q)
	}
}
