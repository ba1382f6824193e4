package monocloud

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// prAdmin requires a group the user of adaGroupClaims (in "staff") lacks.
var prAdmin = GroupCheck{Groups: []string{"admin"}}

// prWrapped returns an app that protects /page and /admin with ProtectPage
// and /api/data and /api/admin with ProtectAPI (/admin and /api/admin
// require prAdmin), with opts for every wrapper.
func prWrapped(t *testing.T, opts ProtectOptions) *testApp {
	return newTestApp(t, appConfig{opcfg: adaGroupClaims, build: func(c *Client) http.Handler {
		admin := opts
		admin.GroupCheck = prAdmin
		mux := http.NewServeMux()
		mux.Handle("/api/auth/", c.Handler())
		mux.Handle("/page", c.ProtectPage(&opts)(okHandler))
		mux.Handle("/admin", c.ProtectPage(&admin)(okHandler))
		mux.Handle("/api/data", c.ProtectAPI(&opts)(okHandler))
		mux.Handle("/api/admin", c.ProtectAPI(&admin)(okHandler))
		return mux
	}})
}

// prAnswer is what a test compares of a response, with the app's origin
// (which differs from app to app) cut out of the Location and the body.
type prAnswer struct {
	status                int
	location, ctype, body string
}

func prDo(app *testApp, method, path string) prAnswer {
	resp, body := app.do(method, path, nil)
	local := func(s string) string { return strings.ReplaceAll(s, app.origin(), "") }
	return prAnswer{resp.StatusCode, local(resp.Header.Get("Location")), resp.Header.Get("Content-Type"), local(body)}
}

// TestProtectDeniesAsTheMiddleware: ProtectPage and ProtectAPI answer a
// denied request exactly as AuthMiddleware does, for every method, with
// and without a session.
func TestProtectDeniesAsTheMiddleware(t *testing.T) {
	mw := &MiddlewareOptions{ProtectedRoutes: []ProtectedRoute{
		{Pattern: regexp.MustCompile(`^/(api/)?admin$`), GroupCheck: prAdmin},
		{Pattern: regexp.MustCompile(`^/(page|api/data)$`)},
	}}
	for _, signedIn := range []bool{false, true} {
		apps := map[string]*testApp{"middleware": newTestApp(t, appConfig{opcfg: adaGroupClaims, mw: mw}), "wrappers": prWrapped(t, ProtectOptions{})}
		if signedIn {
			for _, app := range apps {
				app.signInVia("/api/auth/signin")
			}
		}
		for _, method := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodDelete} {
			for _, path := range []string{"/page?x=1", "/admin", "/api/data", "/api/admin"} {
				mwAnswer, wrAnswer := prDo(apps["middleware"], method, path), prDo(apps["wrappers"], method, path)
				if mwAnswer != wrAnswer {
					t.Errorf("signed in %v, %s %s: middleware %+v, wrappers %+v", signedIn, method, path, mwAnswer, wrAnswer)
				}
			}
		}
	}
}

// TestProtectPage: without a session a GET or HEAD is redirected (307) to
// sign-in and returns to the page; any other method gets 303, so that the
// browser does not re-send a form to the sign-in route (405). Without the
// group the page answers 403; with a session it is served.
func TestProtectPage(t *testing.T) {
	app := prWrapped(t, ProtectOptions{})
	for method, want := range map[string]int{http.MethodGet: http.StatusTemporaryRedirect, http.MethodHead: http.StatusTemporaryRedirect, http.MethodPost: http.StatusSeeOther, http.MethodPut: http.StatusSeeOther} {
		resp, _ := app.do(method, "/page?x=1", nil)
		loc := parseURL(t, resp.Header.Get("Location"))
		if resp.StatusCode != want || loc.Path != "/api/auth/signin" || loc.Query().Get("return_url") != "/page?x=1" {
			t.Errorf("%s without a session: %d to %s, want %d to sign-in returning to /page?x=1", method, resp.StatusCode, loc, want)
		}
	}
	// Following the 303 reaches the sign-in route, not a 405.
	if resp, _ := app.do(http.MethodPost, "/page", nil); resp.StatusCode == http.StatusSeeOther {
		if next, _ := app.get(resp.Header.Get("Location")); next.StatusCode != http.StatusTemporaryRedirect {
			t.Errorf("sign-in after a denied POST: %d, want 307 to the provider", next.StatusCode)
		}
	}

	app.signInVia("/api/auth/signin")
	if got := prDo(app, http.MethodGet, "/admin"); got.status != http.StatusForbidden || !strings.Contains(got.body, `href="/api/auth/signout"`) || !strings.HasPrefix(got.ctype, "text/html") {
		t.Errorf("without the group: %+v, want the 403 page with a sign-out link", got)
	}
	if got := prDo(app, http.MethodPost, "/page"); got.status != http.StatusOK || got.body != "ok /page" {
		t.Errorf("with a session: %+v, want the page", got)
	}
}

// TestProtectPageReturnURL: ProtectOptions.ReturnURL replaces the page's
// own URL as where sign-in returns.
func TestProtectPageReturnURL(t *testing.T) {
	app := prWrapped(t, ProtectOptions{ReturnURL: "/welcome"})
	resp, _ := app.get("/page")
	if got := queryOf(t, resp.Header.Get("Location")).Get("return_url"); got != "/welcome" {
		t.Errorf("return_url = %q, want /welcome", got)
	}
}

// TestProtectAPI: 401 JSON without a session and 403 JSON without the
// group, whatever the method; the handler with both.
func TestProtectAPI(t *testing.T) {
	app := prWrapped(t, ProtectOptions{})
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		resp, body := app.do(method, "/api/data", nil)
		assertJSON(t, resp, body, http.StatusUnauthorized, map[string]any{"message": "unauthorized"})
	}
	app.signInVia("/api/auth/signin")
	resp, body := app.get("/api/admin")
	assertJSON(t, resp, body, http.StatusForbidden, map[string]any{"message": "forbidden"})
	if resp, body := app.do(http.MethodPost, "/api/data", url.Values{}); resp.StatusCode != http.StatusOK || body != "ok /api/data" {
		t.Errorf("with a session: %d %q", resp.StatusCode, body)
	}
}

// TestProtectOnAccessDenied: the hook answers every denial of the
// wrappers, with no user without a session and a copy of the user
// without the group, and the handler is not called after it.
func TestProtectOnAccessDenied(t *testing.T) {
	var users []User
	app := prWrapped(t, ProtectOptions{OnAccessDenied: func(w http.ResponseWriter, r *http.Request, user User) {
		users = append(users, user)
		if user != nil {
			user["groups"] = []any{"admin"} // must not grant anything
		}
		w.WriteHeader(http.StatusTeapot)
		_, _ = io.WriteString(w, "denied "+r.URL.Path)
	}})
	for _, path := range []string{"/page", "/api/data"} {
		if got := prDo(app, http.MethodGet, path); got.status != http.StatusTeapot || got.body != "denied "+path {
			t.Errorf("%s without a session: %+v, want the hook's answer", path, got)
		}
	}
	app.signInVia("/api/auth/signin")
	for range 2 {
		for _, path := range []string{"/admin", "/api/admin"} {
			if got := prDo(app, http.MethodGet, path); got.status != http.StatusTeapot || got.body != "denied "+path {
				t.Errorf("%s without the group: %+v, want the hook's answer", path, got)
			}
		}
	}
	if len(users) != 6 || users[0] != nil || users[1] != nil || users[2].Subject() != "user-1" {
		t.Errorf("users handed to the hook: %v, want two nil then the signed-in user's", users)
	}
}

// TestRedirectToSignIn: 307 for GET and HEAD, 303 otherwise, to SignInURL,
// which carries the return URL and the parameters set.
func TestRedirectToSignIn(t *testing.T) {
	app := newTestApp(t, appConfig{opcfg: adaGroupClaims})
	c := app.client
	u := parseURL(t, c.SignInURL("/orders?id=1", &AuthParams{
		Scopes: "openid orders", Resource: "https://a.example.com https://b.example.com", ACRValues: "urn:mfa",
		Prompt: "login", LoginHint: "ada@example.com", MaxAge: new(60), ResponseMode: "form_post",
	}))
	want := url.Values{
		"return_url": {"/orders?id=1"}, "scope": {"openid orders"}, "resource": {"https://a.example.com https://b.example.com"},
		"acr_values": {"urn:mfa"}, "prompt": {"login"}, "login_hint": {"ada@example.com"}, "max_age": {"60"},
	}
	if u.Path != "/api/auth/signin" || u.Query().Encode() != want.Encode() {
		t.Errorf("SignInURL = %s, want the sign-in route with %v", u, want)
	}
	if got := c.SignInURL("", nil); got != app.url("/api/auth/signin") {
		t.Errorf("SignInURL without parameters = %s", got)
	}
	for method, status := range map[string]int{http.MethodGet: http.StatusTemporaryRedirect, http.MethodHead: http.StatusTemporaryRedirect, http.MethodPost: http.StatusSeeOther, http.MethodPatch: http.StatusSeeOther} {
		w := httptest.NewRecorder()
		c.RedirectToSignIn(w, httptest.NewRequest(method, app.url("/form"), nil), "/form", nil)
		if w.Code != status || w.Header().Get("Location") != c.SignInURL("/form", nil) {
			t.Errorf("%s: %d to %s, want %d to SignInURL", method, w.Code, w.Header().Get("Location"), status)
		}
	}
}

// TestProtectIsMiddleware: ProtectPage and ProtectAPI compose as router
// middleware do: chained, each answers its own denial and otherwise hands
// the request on with its state, so the handler sees the session.
func TestProtectIsMiddleware(t *testing.T) {
	app := newTestApp(t, appConfig{opcfg: adaGroupClaims, build: func(c *Client) http.Handler {
		mux := http.NewServeMux()
		mux.Handle("/api/auth/", c.Handler())
		chain := func(h http.Handler, mws ...func(http.Handler) http.Handler) http.Handler {
			for i := len(mws) - 1; i >= 0; i-- {
				h = mws[i](h)
			}
			return h
		}
		session := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s, err := c.Session(r.Context())
			if err != nil {
				t.Errorf("Session behind the middleware: %v", err)
				return
			}
			io.WriteString(w, s.User.Subject())
		})
		mux.Handle("/staff", chain(session, c.ProtectPage(nil), c.ProtectAPI(&ProtectOptions{GroupCheck: GroupCheck{Groups: []string{"staff"}}})))
		mux.Handle("/admin", chain(session, c.ProtectPage(nil), c.ProtectAPI(&ProtectOptions{GroupCheck: prAdmin})))
		return mux
	}})
	if got := prDo(app, http.MethodGet, "/staff"); got.status != http.StatusTemporaryRedirect {
		t.Errorf("signed out: %+v, want the outer ProtectPage's redirect", got)
	}
	app.signInVia("/api/auth/signin")
	if got := prDo(app, http.MethodGet, "/staff"); got.status != http.StatusOK || got.body != "user-1" {
		t.Errorf("staff: %+v, want 200 user-1", got)
	}
	if got := prDo(app, http.MethodGet, "/admin"); got.status != http.StatusForbidden || got.body != `{"message":"forbidden"}`+"\n" {
		t.Errorf("admin: %+v, want the inner ProtectAPI's 403 JSON", got)
	}
}

// TestProtectGroups: ProtectGroups protects its patterns for members of
// any of its groups; Protect for anyone signed in.
func TestProtectGroups(t *testing.T) {
	routes := ProtectGroups([]string{"admin", "staff"}, `^/staff(/|$)`, `^/team$`)
	if len(routes) != 2 || routes[1].Pattern.String() != `^/team$` || !slices.Equal(routes[1].Groups, []string{"admin", "staff"}) || routes[1].MatchAll {
		t.Fatalf("ProtectGroups = %+v", routes)
	}
	if routes := Protect(`^/a$`); len(routes) != 1 || len(routes[0].Groups) != 0 {
		t.Fatalf("Protect = %+v, want no groups", routes)
	}
	mw := &MiddlewareOptions{ProtectedRoutes: slices.Concat(
		ProtectGroups([]string{"admin"}, `^/admin(/|$)`),
		ProtectGroups([]string{"admin", "staff"}, `^/staff(/|$)`),
		Protect(`^/account$`),
	)}
	app := newTestApp(t, appConfig{opcfg: adaGroupClaims, mw: mw}) // ada is in "staff"
	app.signInVia("/api/auth/signin")
	for path, want := range map[string]int{"/admin/users": http.StatusForbidden, "/staff/x": http.StatusOK, "/account": http.StatusOK, "/public": http.StatusOK} {
		if got := prDo(app, http.MethodGet, path); got.status != want {
			t.Errorf("%s: %d, want %d", path, got.status, want)
		}
	}
}
