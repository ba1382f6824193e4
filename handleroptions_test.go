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
}

// panicValue returns the *ValidationError f panics with, or nil.
func panicValue(f func()) (ve *ValidationError) {
	defer func() { ve, _ = recover().(*ValidationError) }()
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
