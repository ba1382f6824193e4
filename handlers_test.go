package monocloud

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/monocloud/auth-go/monocloudtest"
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
		if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("X-Content-Type-Options") != "nosniff" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
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

// newHandlersApp is an app serving, under AuthMiddleware protecting no
// route, the handlers that mount puts on its mux, and okHandler elsewhere.
func newHandlersApp(t *testing.T, opts Options, mount func(c *Client, mux *http.ServeMux)) *testApp {
	t.Helper()
	return newTestApp(t, appConfig{opcfg: adaClaims, opts: opts, build: func(c *Client) http.Handler {
		mux := http.NewServeMux()
		mux.Handle("/", okHandler)
		mount(c, mux)
		return c.AuthMiddleware(&MiddlewareOptions{ProtectedRoutes: []ProtectedRoute{}})(mux)
	}})
}

// signInAt runs a sign-in through the handler at pathAndQuery, the
// provider and the callback, and returns the authorization request and
// the callback's response.
func (a *testApp) signInAt(pathAndQuery string) (url.Values, *http.Response, string) {
	a.t.Helper()
	_, loc := a.startSignIn(pathAndQuery)
	resp, body := a.get(a.op.Authorize(a.t, loc).String())
	return queryOf(a.t, loc), resp, body
}

func TestSignInHandler(t *testing.T) {
	t.Run("Register asks for the sign-up page, unless the query has a prompt", func(t *testing.T) {
		app := newHandlersApp(t, Options{}, func(c *Client, mux *http.ServeMux) {
			mux.Handle("/signup", c.SignInHandler(&SignInOptions{Register: true, AuthParams: AuthParams{Prompt: "consent"}}))
		})
		if _, loc := app.startSignIn("/signup"); queryOf(t, loc).Get("prompt") != "create" {
			t.Errorf("prompt %q, want create", queryOf(t, loc).Get("prompt"))
		}
		if _, loc := app.startSignIn("/signup?prompt=login"); queryOf(t, loc).Get("prompt") != "login" {
			t.Errorf("prompt %q, want the query's login", queryOf(t, loc).Get("prompt"))
		}
		if _, loc := app.startSignIn("/api/auth/signin"); queryOf(t, loc).Has("prompt") {
			t.Error("the sign-in route sends a prompt")
		}
	})

	t.Run("AuthParams replace the defaults; the query replaces them", func(t *testing.T) {
		app := newHandlersApp(t, Options{DefaultAuthParams: AuthParams{LoginHint: "default@example.com"}}, func(c *Client, mux *http.ServeMux) {
			mux.Handle("/orders-signin", c.SignInHandler(&SignInOptions{AuthParams: AuthParams{
				Scopes: " openid  orders ", LoginHint: "own@example.com", UILocales: "fr", MaxAge: new(60), ResponseMode: "form_post",
			}}))
		})
		_, loc := app.startSignIn("/orders-signin?ui_locales=de")
		q := queryOf(t, loc)
		for name, want := range map[string]string{"scope": "openid orders", "login_hint": "own@example.com", "ui_locales": "de", "max_age": "60", "response_mode": "form_post"} {
			if got := q.Get(name); got != want {
				t.Errorf("%s = %q, want %q", name, got, want)
			}
		}
	})

	t.Run("ReturnURL is where the user returns, unless the query says", func(t *testing.T) {
		app := newHandlersApp(t, Options{}, func(c *Client, mux *http.ServeMux) {
			mux.Handle("/welcome-signin", c.SignInHandler(&SignInOptions{ReturnURL: "welcome?new=1"}))
		})
		if _, resp, _ := app.signInAt("/welcome-signin"); resp.Header.Get("Location") != app.url("/welcome?new=1") {
			t.Errorf("returned to %q, want the ReturnURL", resp.Header.Get("Location"))
		}
		if _, resp, _ := app.signInAt("/welcome-signin?return_url=%2Forders"); resp.Header.Get("Location") != app.url("/orders") {
			t.Errorf("returned to %q, want the query's return_url", resp.Header.Get("Location"))
		}
		if _, resp, _ := app.signInAt("/welcome-signin?return_url=https%3A%2F%2Fevil.com"); resp.Header.Get("Location") != app.url("/welcome?new=1") {
			t.Errorf("returned to %q, want the ReturnURL in place of a hostile return_url", resp.Header.Get("Location"))
		}
	})

	t.Run("a hostile ReturnURL never takes the user off the app's origin", func(t *testing.T) {
		app := newHandlersApp(t, Options{Logger: slog.New(slog.DiscardHandler)}, func(c *Client, mux *http.ServeMux) {})
		for _, raw := range hostileURLs {
			v := expandURL(app, raw)
			app.h = app.client.AuthMiddleware(&MiddlewareOptions{ProtectedRoutes: []ProtectedRoute{}})(app.client.SignInHandler(&SignInOptions{ReturnURL: v}))
			_, loc := app.startSignIn("/anything")
			cb := app.op.Authorize(t, loc)
			resp, body := app.get(cb.String())
			if resp.StatusCode != http.StatusTemporaryRedirect {
				t.Fatalf("ReturnURL %q: callback %d: %s", v, resp.StatusCode, body)
			}
			assertSameOrigin(t, cb.String(), resp.Header.Get("Location"), app.origin(), fmt.Sprintf("ReturnURL %q", v))
		}
	})

	t.Run("a RedirectURI travels to its CallbackHandler and to the code exchange", func(t *testing.T) {
		app := newHandlersApp(t, Options{}, func(c *Client, mux *http.ServeMux) {
			mux.Handle("/partner/signin", c.SignInHandler(&SignInOptions{RedirectURI: "/partner/callback", ReturnURL: "/partner"}))
			mux.Handle("/partner/callback", c.CallbackHandler(&CallbackOptions{RedirectURI: "/partner/callback"}))
		})
		authz, resp, body := app.signInAt("/partner/signin")
		if got := authz.Get("redirect_uri"); got != app.url("/partner/callback") {
			t.Errorf("authorization redirect_uri %q, want the handler's", got)
		}
		if resp.StatusCode != http.StatusTemporaryRedirect || resp.Header.Get("Location") != app.url("/partner") {
			t.Fatalf("callback: %d %q %s, want 307 to /partner", resp.StatusCode, resp.Header.Get("Location"), body)
		}
		if got := app.op.LastTokenRequest().Get("redirect_uri"); got != app.url("/partner/callback") {
			t.Errorf("code exchange redirect_uri %q, want the one the sign-in sent", got)
		}
		if app.session() == nil {
			t.Error("no session after the callback")
		}
	})

	t.Run("a callback refuses a sign-in that sent another redirect URI", func(t *testing.T) {
		rec := &errRecorder{}
		app := newHandlersApp(t, Options{}, func(c *Client, mux *http.ServeMux) {
			mux.Handle("/partner/callback", c.CallbackHandler(&CallbackOptions{RedirectURI: "/partner/callback", OnError: rec.hook}))
		})
		_, loc := app.startSignIn("/api/auth/signin") // redirect_uri: the callback route
		cb := app.op.Authorize(t, loc)
		resp, _ := app.get(app.url("/partner/callback?" + cb.RawQuery))
		var ve *ValidationError
		if resp.StatusCode != http.StatusTeapot || !errors.As(rec.last(), &ve) || !strings.Contains(ve.Message, "redirect URI") {
			t.Errorf("%d, OnError got %v; want the handler's OnError with a redirect URI mismatch", resp.StatusCode, rec.last())
		}
		if app.op.CodeGrants() != 0 || app.session() != nil {
			t.Error("the code was exchanged")
		}
	})

	t.Run("invalid options panic with a *ValidationError naming the field", func(t *testing.T) {
		app := newHandlersApp(t, Options{}, func(c *Client, mux *http.ServeMux) {})
		for field, o := range map[string]*SignInOptions{
			"SignInOptions.RedirectURI":             {RedirectURI: "https://evil.com/callback"},
			"SignInOptions.AuthParams.Scopes":       {AuthParams: AuthParams{Scopes: " \t "}},
			"SignInOptions.AuthParams.Resource":     {AuthParams: AuthParams{Resource: "https://api.example.com/?q=1"}},
			"SignInOptions.AuthParams.ResponseMode": {AuthParams: AuthParams{ResponseMode: "fragment"}},
			"SignInOptions.AuthParams.MaxAge":       {AuthParams: AuthParams{MaxAge: new(-1)}},
		} {
			if ve := panicValue(func() { app.client.SignInHandler(o) }); ve == nil || ve.Field != field {
				t.Errorf("%s: panicked with %v, want a *ValidationError for it", field, ve)
			}
		}
		if ve := panicValue(func() { app.client.CallbackHandler(&CallbackOptions{RedirectURI: "//evil.com/cb"}) }); ve == nil || ve.Field != "CallbackOptions.RedirectURI" {
			t.Errorf("CallbackOptions.RedirectURI: panicked with %v", ve)
		}
	})

	t.Run("every invalid option is reported", func(t *testing.T) {
		app := newHandlersApp(t, Options{}, func(c *Client, mux *http.ServeMux) {})
		var err error
		func() {
			defer func() { err, _ = recover().(error) }()
			app.client.SignInHandler(&SignInOptions{RedirectURI: "https://evil.com/callback", AuthParams: AuthParams{ResponseMode: "fragment", MaxAge: new(-1)}})
		}()
		var fields []string
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				if ve, ok := e.(*ValidationError); ok {
					fields = append(fields, ve.Field)
				}
			}
		}
		if want := []string{"SignInOptions.RedirectURI", "SignInOptions.AuthParams.ResponseMode", "SignInOptions.AuthParams.MaxAge"}; fmt.Sprint(fields) != fmt.Sprint(want) {
			t.Errorf("panicked with the problems of %v, want %v", fields, want)
		}
	})
}

// panicValue returns the *ValidationError f panics with (the first, for
// errors joined), or nil.
func panicValue(f func()) (ve *ValidationError) {
	defer func() {
		if err, ok := recover().(error); ok && !errors.As(err, &ve) {
			ve = nil
		}
	}()
	f()
	return nil
}

func TestHandlerOnErrorOverrides(t *testing.T) {
	clientHook, handlerHook := &errRecorder{}, &errRecorder{}
	app := newTestApp(t, appConfig{opcfg: adaClaims, opts: Options{OnError: clientHook.hook}, build: func(c *Client) http.Handler {
		mux := http.NewServeMux()
		mux.Handle("/own/callback", c.CallbackHandler(&CallbackOptions{OnError: handlerHook.hook}))
		mux.Handle("/plain/callback", c.CallbackHandler(nil))
		return c.AuthMiddleware(&MiddlewareOptions{ProtectedRoutes: []ProtectedRoute{}})(mux)
	}})
	for _, tc := range []struct {
		path string
		want *errRecorder
	}{{"/own/callback", handlerHook}, {"/plain/callback", clientHook}, {"/api/auth/callback", clientHook}} {
		before := [2]int{len(clientHook.errs), len(handlerHook.errs)}
		resp, _ := app.get(tc.path + "?state=forged&code=x")
		if resp.StatusCode != http.StatusTeapot || !errors.Is(tc.want.last(), ErrInvalidState) {
			t.Errorf("%s: %d, want its hook called with ErrInvalidState", tc.path, resp.StatusCode)
		}
		after := [2]int{len(clientHook.errs), len(handlerHook.errs)}
		if calls := after[0] - before[0] + after[1] - before[1]; calls != 1 {
			t.Errorf("%s: %d hooks called, want 1", tc.path, calls)
		}
	}
}

func TestCallbackHandlerUserInfo(t *testing.T) {
	for _, tc := range []struct {
		name     string
		userInfo *bool
		want     int
	}{{"default: fetched, and the fault fails the callback", nil, http.StatusBadGateway}, {"UserInfo false: not fetched", new(false), http.StatusTemporaryRedirect}} {
		t.Run(tc.name, func(t *testing.T) {
			app := newHandlersApp(t, Options{}, func(c *Client, mux *http.ServeMux) {
				mux.Handle("/signin", c.SignInHandler(&SignInOptions{RedirectURI: "/callback"}))
				mux.Handle("/callback", c.CallbackHandler(&CallbackOptions{UserInfo: tc.userInfo}))
			})
			app.op.SetUserinfoFault(monocloudtest.Fault{Status: http.StatusInternalServerError, Body: "{}"})
			if _, resp, body := app.signInAt("/signin"); resp.StatusCode != tc.want {
				t.Errorf("callback %d %s, want %d", resp.StatusCode, body, tc.want)
			}
		})
	}
}

func TestUserInfoHandlerRefresh(t *testing.T) {
	app := newHandlersApp(t, Options{}, func(c *Client, mux *http.ServeMux) {
		mux.Handle("/me", c.UserInfoHandler(nil))
		mux.Handle("/me/fresh", c.UserInfoHandler(&UserInfoOptions{RefetchUserInfo: new(true)}))
	})
	app.signIn("")
	app.op.SetUserinfoFault(monocloudtest.Fault{Status: http.StatusOK, Body: `{"sub":"user-1","name":"Ada Lovelace"}`})
	if resp, body := app.get("/me"); resp.StatusCode != http.StatusOK || !strings.Contains(body, `"Ada"`) {
		t.Errorf("/me: %d %s, want the session's user", resp.StatusCode, body)
	}
	if resp, body := app.get("/me/fresh"); resp.StatusCode != http.StatusOK || !strings.Contains(body, "Ada Lovelace") {
		t.Errorf("/me/fresh: %d %s, want the refetched user", resp.StatusCode, body)
	}
	if s := app.session(); s.User["name"] != "Ada Lovelace" {
		t.Errorf("session user name %v, want the refetched one saved", s.User["name"])
	}
}

func TestSignOutHandler(t *testing.T) {
	signOut := func(t *testing.T, o *SignOutOptions, query string) (*testApp, *http.Response) {
		t.Helper()
		app := newHandlersApp(t, Options{PostLogoutRedirectURI: "/goodbye"}, func(c *Client, mux *http.ServeMux) {
			mux.Handle("/logout", c.SignOutHandler(o))
		})
		app.signIn("")
		resp, _ := app.get("/logout" + query)
		if app.session() != nil {
			t.Error("the session survives sign-out")
		}
		return app, resp
	}
	endSession := func(t *testing.T, app *testApp, resp *http.Response) url.Values {
		t.Helper()
		loc := resp.Header.Get("Location")
		if resp.StatusCode != http.StatusTemporaryRedirect || !strings.HasPrefix(loc, app.op.Issuer()+"/") {
			t.Fatalf("%d to %q, want 307 to the provider", resp.StatusCode, loc)
		}
		return queryOf(t, loc)
	}

	t.Run("PostLogoutRedirectURI, State and IDTokenHint reach the provider", func(t *testing.T) {
		app, resp := signOut(t, &SignOutOptions{PostLogoutRedirectURI: "bye", State: "s-1", IDTokenHint: "hint"}, "")
		q := endSession(t, app, resp)
		for name, want := range map[string]string{"post_logout_redirect_uri": app.url("/bye"), "state": "s-1", "id_token_hint": "hint"} {
			if got := q.Get(name); got != want {
				t.Errorf("%s = %q, want %q", name, got, want)
			}
		}
	})

	t.Run("defaults: the client's post-logout URI, the session's ID token, no state", func(t *testing.T) {
		app, resp := signOut(t, nil, "")
		q := endSession(t, app, resp)
		if q.Get("post_logout_redirect_uri") != app.url("/goodbye") || q.Get("id_token_hint") == "" || q.Has("state") {
			t.Errorf("end-session query %v", q)
		}
	})

	t.Run("the query's post_logout_url wins", func(t *testing.T) {
		app, resp := signOut(t, &SignOutOptions{PostLogoutRedirectURI: "/bye"}, "?post_logout_url=%2Fsee-you")
		if got := endSession(t, app, resp).Get("post_logout_redirect_uri"); got != app.url("/see-you") {
			t.Errorf("post_logout_redirect_uri %q, want the query's", got)
		}
	})

	t.Run("a PostLogoutRedirectURI off the app's origin is dropped", func(t *testing.T) {
		app, resp := signOut(t, &SignOutOptions{PostLogoutRedirectURI: "https://evil.com/bye"}, "")
		if strings.Contains(resp.Header.Get("Location"), "evil.com") {
			t.Errorf("sign-out leads to %q", resp.Header.Get("Location"))
		}
		if got := endSession(t, app, resp).Get("post_logout_redirect_uri"); got != app.url("/goodbye") {
			t.Errorf("post_logout_redirect_uri %q, want the client's", got)
		}
	})

	t.Run("FederatedSignOut false returns without the provider", func(t *testing.T) {
		app, resp := signOut(t, &SignOutOptions{FederatedSignOut: new(false), PostLogoutRedirectURI: "/bye"}, "")
		if resp.StatusCode != http.StatusTemporaryRedirect || resp.Header.Get("Location") != app.url("/bye") {
			t.Errorf("%d to %q, want 307 to /bye", resp.StatusCode, resp.Header.Get("Location"))
		}
	})

	t.Run("a cross-site request's confirm page links to this handler", func(t *testing.T) {
		app := newHandlersApp(t, Options{}, func(c *Client, mux *http.ServeMux) {
			mux.Handle("/logout", c.SignOutHandler(nil))
		})
		r := httptest.NewRequest(http.MethodGet, app.url("/logout"), nil)
		r.Header.Set("Sec-Fetch-Site", "cross-site")
		w := httptest.NewRecorder()
		app.h.ServeHTTP(w, r)
		if links := htmlLinks(t, w.Body.String()); len(links) != 2 || links[0] != app.url("/logout") {
			t.Errorf("links %v, want the handler's own URL first", links)
		}
	})
}
