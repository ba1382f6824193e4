package monocloud

import (
	"cmp"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

func TestHandlerSignOut(t *testing.T) {
	// signOut signs in, signs out with query and returns the sign-out
	// response and the ID token the session had.
	signOut := func(t *testing.T, app *testApp, base, query string) (*http.Response, string) {
		t.Helper()
		app.signInVia(base + "/api/auth/signin")
		s := app.session()
		if s == nil {
			t.Fatal("no session after sign-in")
		}
		resp, _ := app.get(base + "/api/auth/signout" + query)
		if resp.StatusCode != http.StatusTemporaryRedirect {
			t.Fatalf("sign-out: status %d", resp.StatusCode)
		}
		return resp, s.IDToken
	}
	// endSession checks resp redirects to the provider's end_session
	// endpoint and returns its parameters.
	endSession := func(t *testing.T, app *testApp, resp *http.Response) url.Values {
		t.Helper()
		loc := resp.Header.Get("Location")
		if !strings.HasPrefix(loc, app.op.Issuer()+"/") {
			t.Fatalf("Location %q is not at the provider", loc)
		}
		return queryOf(t, loc)
	}

	// sdk-diff.md D2: providers compare post_logout_redirect_uri exactly
	// with the registered one, which the README says is the app URL.
	t.Run("post_logout_redirect_uri and the callback's redirect are the app URL as configured", func(t *testing.T) {
		for _, appPath := range []string{"", "/"} {
			app := newTestApp(t, appConfig{basePath: appPath, opcfg: adaClaims})
			resp, _ := app.signInVia("/api/auth/signin")
			if got := resp.Header.Get("Location"); got != app.url(appPath) {
				t.Errorf("AppURL %q: callback Location %q", app.url(appPath), got)
			}
			resp, _ = app.get("/api/auth/signout")
			if got := endSession(t, app, resp).Get("post_logout_redirect_uri"); got != app.url(appPath) {
				t.Errorf("AppURL %q: post_logout_redirect_uri %q", app.url(appPath), got)
			}
		}
	})

	for _, base := range []string{"", "/base"} {
		suffix := map[string]string{"": "", "/base": " (with base path)"}[base]
		t.Run("should redirect to endSessionUrl with post logout redirect uri and id token hint"+suffix, func(t *testing.T) {
			app := newTestApp(t, appConfig{basePath: base, opcfg: adaClaims})
			resp, idToken := signOut(t, app, base, "")
			q := endSession(t, app, resp)
			if q.Get("client_id") != "test-client" || q.Get("id_token_hint") != idToken || q.Get("post_logout_redirect_uri") != app.url(base) {
				t.Errorf("end_session parameters %v, want client_id, id_token_hint and post_logout_redirect_uri %s", q, app.url(base))
			}
			if ck := setCookieNamed(resp, "session"); ck == nil || ck.MaxAge >= 0 {
				t.Errorf("session cookie not expired: %v", resp.Header["Set-Cookie"])
			}
			if app.session() != nil {
				t.Error("session survives sign-out")
			}
			if resp, _ := app.get(base + "/api/auth/userinfo"); resp.StatusCode != http.StatusNoContent {
				t.Errorf("userinfo after sign-out: %d", resp.StatusCode)
			}
			// The provider ends its session and returns to the app.
			resp, _ = app.get(resp.Header.Get("Location"))
			if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != app.url(base) || len(app.op.EndSessionRequests()) != 1 {
				t.Errorf("provider: %d %q, %d end-session requests", resp.StatusCode, resp.Header.Get("Location"), len(app.op.EndSessionRequests()))
			}
		})

		t.Run("should redirect to endSessionUrl with post logout configured through options"+suffix, func(t *testing.T) {
			for _, tt := range []struct{ opt, want string }{
				{"/bye", base + "/bye"},
				{"{app}/bye?x=1", "/bye?x=1"},
				{"https://elsewhere.example.com/bye", base}, // other origins are ignored
			} {
				app := newTestApp(t, appConfig{basePath: base, opcfg: adaClaims})
				app.client.cfg.opts.PostLogoutRedirectURI = strings.ReplaceAll(tt.opt, "{app}", app.origin())
				resp, _ := signOut(t, app, base, "")
				if got, want := endSession(t, app, resp).Get("post_logout_redirect_uri"), app.url(tt.want); got != want {
					t.Errorf("PostLogoutRedirectURI %q: post_logout_redirect_uri %q, want %q", tt.opt, got, want)
				}
			}
		})

		for _, tt := range []struct{ query, want string }{{"/something", base + "/something"}, {"{app}/something", "/something"}} {
			t.Run("can pickup post_logout_url from query param"+suffix, func(t *testing.T) {
				app := newTestApp(t, appConfig{basePath: base, opcfg: adaClaims, opts: Options{PostLogoutRedirectURI: "/option"}})
				q := strings.ReplaceAll(tt.query, "{app}", app.origin())
				resp, _ := signOut(t, app, base, "?post_logout_url="+url.QueryEscape(q))
				if got, want := endSession(t, app, resp).Get("post_logout_redirect_uri"), app.url(tt.want); got != want {
					t.Errorf("post_logout_url %q: post_logout_redirect_uri %q, want %q", q, got, want)
				}
			})
		}

		t.Run("should redirect to app url if there is no session"+suffix, func(t *testing.T) {
			app := newTestApp(t, appConfig{basePath: base})
			resp, _ := app.get(base + "/api/auth/signout")
			if resp.StatusCode != http.StatusTemporaryRedirect || resp.Header.Get("Location") != app.url(base) {
				t.Errorf("%d %q, want 307 to the app", resp.StatusCode, resp.Header.Get("Location"))
			}
			resp, _ = app.get(base + "/api/auth/signout?post_logout_url=%2Fbye")
			if resp.Header.Get("Location") != app.url(base+"/bye") {
				t.Errorf("with post_logout_url: Location %q", resp.Header.Get("Location"))
			}
		})

		t.Run("should redirect to app url if federatedSignOut is false"+suffix, func(t *testing.T) {
			app := newTestApp(t, appConfig{basePath: base, opcfg: adaClaims, opts: Options{FederatedSignOut: new(false)}})
			resp, _ := signOut(t, app, base, "")
			if resp.Header.Get("Location") != app.url(base) {
				t.Errorf("Location %q, want the app", resp.Header.Get("Location"))
			}
			if app.session() != nil {
				t.Error("session survives sign-out")
			}
			resp, _ = signOut(t, app, base, "?post_logout_url=%2Fbye")
			if resp.Header.Get("Location") != app.url(base+"/bye") {
				t.Errorf("with post_logout_url: Location %q", resp.Header.Get("Location"))
			}
			if n := len(app.op.EndSessionRequests()); n != 0 {
				t.Errorf("%d end-session requests", n)
			}
		})
	}

	t.Run("invalid post_logout_url from query param does not override", func(t *testing.T) {
		app := newTestApp(t, appConfig{opcfg: adaClaims, opts: Options{PostLogoutRedirectURI: "/option"}})
		for _, bad := range []string{`"`, "//evil.com", "https://evil.com/x", "javascript:alert(1)"} {
			app.newBrowser()
			resp, _ := signOut(t, app, "", "?post_logout_url="+url.QueryEscape(bad))
			if got := endSession(t, app, resp).Get("post_logout_redirect_uri"); got != app.url("/option") {
				t.Errorf("post_logout_url %q: post_logout_redirect_uri %q, want %q", bad, got, app.url("/option"))
			}
		}
	})

	t.Run("can redirect to external domains", func(t *testing.T) {
		// A deliberate fix of the SDK's open redirect: other origins are
		// ignored, with or without a session.
		app := newTestApp(t, appConfig{opcfg: adaClaims})
		resp, _ := signOut(t, app, "", "?post_logout_url="+url.QueryEscape("https://something.com/test"))
		if got := endSession(t, app, resp).Get("post_logout_redirect_uri"); got != app.url("") {
			t.Errorf("post_logout_redirect_uri %q, want the app", got)
		}
		resp, _ = app.get("/api/auth/signout?post_logout_url=" + url.QueryEscape("https://something.com/test"))
		if got := resp.Header.Get("Location"); got != app.url("") {
			t.Errorf("no session: Location %q, want the app", got)
		}
	})
}

// TestHandlerSignOutFetchSite: a sign-out the browser marks cross-site
// (another site's link or redirect, carrying the Lax cookie) ends nothing,
// here or at the provider, and gets a confirm page whose link signs out from
// the app's origin, post_logout_url included; every other Sec-Fetch-Site
// value, and none at all, signs out at once.
func TestHandlerSignOutFetchSite(t *testing.T) {
	// signOut sends the browser's cookies to the sign-out route with query,
	// marked with Sec-Fetch-Site site unless it is "".
	signOut := func(app *testApp, method, query, site string) *httptest.ResponseRecorder {
		r := app.request(method, "/api/auth/signout"+query)
		if site != "" {
			r.Header.Set("Sec-Fetch-Site", site)
		}
		w := httptest.NewRecorder()
		app.h.ServeHTTP(w, r)
		return w
	}
	// signedOut checks that w ended the session at the provider too,
	// returning to wantReturn.
	signedOut := func(t *testing.T, app *testApp, w *httptest.ResponseRecorder, wantReturn string) {
		t.Helper()
		loc := w.Header().Get("Location")
		if w.Code != http.StatusTemporaryRedirect || !strings.HasPrefix(loc, app.op.Issuer()+"/") {
			t.Fatalf("status %d, Location %q; want 307 to the provider", w.Code, loc)
		}
		if got := queryOf(t, loc).Get("post_logout_redirect_uri"); got != wantReturn {
			t.Errorf("post_logout_redirect_uri %q, want %q", got, wantReturn)
		}
		if app.session() != nil {
			t.Error("the session survives sign-out")
		}
	}
	// A return path on the app's origin that needs escaping in HTML.
	const postLogout = `/bye?next=<b>"x"</b>&y='1'`
	query := "?post_logout_url=" + url.QueryEscape(postLogout)

	for _, site := range []string{"", "same-origin", "same-site", "none"} {
		t.Run("signs out, Sec-Fetch-Site "+cmp.Or(site, "absent"), func(t *testing.T) {
			app := newTestApp(t, appConfig{opcfg: adaClaims})
			app.signInVia("/api/auth/signin")
			want, ok := app.client.resolveReturnURL(postLogout)
			if !ok {
				t.Fatalf("setup: post_logout_url %q is refused", postLogout)
			}
			signedOut(t, app, signOut(app, http.MethodGet, query, site), want)
		})
	}

	t.Run("cross-site gets a confirm page, then signs out from the app", func(t *testing.T) {
		app := newTestApp(t, appConfig{opcfg: adaClaims})
		app.signInVia("/api/auth/signin")
		w := signOut(app, http.MethodGet, query, "cross-site")
		if w.Code != http.StatusOK || w.Header().Get("Location") != "" || len(w.Result().Cookies()) != 0 {
			t.Fatalf("status %d, Location %q, Set-Cookie %v; want 200, no redirect, no cookie", w.Code, w.Header().Get("Location"), w.Header()["Set-Cookie"])
		}
		if app.session() == nil {
			t.Fatal("a cross-site request ended the session")
		}
		h := w.Header()
		if ct := h.Get("Content-Type"); ct != "text/html; charset=utf-8" {
			t.Errorf("Content-Type %q", ct)
		}
		if cc := h.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
			t.Errorf("Cache-Control %q, want no-store", cc)
		}
		if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("Content-Security-Policy %q, want default-src and frame-ancestors 'none'", csp)
		}
		body := w.Body.String()
		if strings.Contains(body, "<b>") || strings.Contains(body, "<script") || strings.Contains(body, "<form") {
			t.Errorf("page has unescaped markup, a script or a form:\n%s", body)
		}
		links := htmlLinks(t, body)
		if len(links) != 2 {
			t.Fatalf("links %v, want sign-out and cancel", links)
		}
		if links[1] != app.url("") {
			t.Errorf("cancel link %q, want the app", links[1])
		}
		link := parseURL(t, links[0])
		if link.Scheme+"://"+link.Host != app.origin() || link.Path != "/api/auth/signout" || link.Query().Get("post_logout_url") != postLogout {
			t.Fatalf("sign-out link %q, want the sign-out route with post_logout_url %q", links[0], postLogout)
		}
		// Following the link is a same-origin navigation.
		want, _ := app.client.resolveReturnURL(postLogout)
		signedOut(t, app, signOut(app, http.MethodGet, "?"+link.RawQuery, "same-origin"), want)
	})

	t.Run("cross-site confirm page drops an off-site post_logout_url", func(t *testing.T) {
		app := newTestApp(t, appConfig{opcfg: adaClaims})
		w := signOut(app, http.MethodGet, "?post_logout_url="+url.QueryEscape("https://evil.example/x"), "cross-site")
		if links := htmlLinks(t, w.Body.String()); w.Code != http.StatusOK || len(links) == 0 || links[0] != app.url("/api/auth/signout") {
			t.Errorf("status %d, links %v; want the bare sign-out route", w.Code, links)
		}
	})

	t.Run("cross-site confirm page keeps federated", func(t *testing.T) {
		app := newTestApp(t, appConfig{opcfg: adaClaims})
		w := signOut(app, http.MethodGet, "?federated=false", "cross-site")
		if links := htmlLinks(t, w.Body.String()); w.Code != http.StatusOK || len(links) == 0 || links[0] != app.url("/api/auth/signout?federated=false") {
			t.Errorf("status %d, links %v; want the sign-out route with federated=false", w.Code, links)
		}
	})

	t.Run("cross-site POST is refused", func(t *testing.T) {
		app := newTestApp(t, appConfig{opcfg: adaClaims})
		app.signInVia("/api/auth/signin")
		if w := signOut(app, http.MethodPost, "", "cross-site"); w.Code != http.StatusMethodNotAllowed {
			t.Errorf("status %d, want 405", w.Code)
		}
		if app.session() == nil {
			t.Error("a cross-site POST ended the session")
		}
	})
}

// htmlLinks returns the href targets of body's links, HTML-unescaped.
func htmlLinks(t *testing.T, body string) []string {
	t.Helper()
	var out []string
	for _, m := range regexp.MustCompile(`<a href="([^"]*)"`).FindAllStringSubmatch(body, -1) {
		out = append(out, html.UnescapeString(m[1]))
	}
	return out
}

// TestSignOutRevokesCopiedCookie: a copy of the session cookie taken before
// sign-out no longer opens the session afterwards.
func TestSignOutRevokesCopiedCookie(t *testing.T) {
	app := newTestApp(t, appConfig{opts: Options{FederatedSignOut: new(false)}})
	app.signIn("")
	stolen := app.request(http.MethodGet, "/private")
	if resp, _ := app.get("/api/auth/signout"); resp.StatusCode != http.StatusTemporaryRedirect {
		t.Fatalf("sign-out: %d", resp.StatusCode)
	}
	if isAuthenticated(app.client, stolen) {
		t.Fatal("the cookie copied before sign-out still opens the session")
	}
}

// TestHostilePostLogoutURLs runs every hostile post_logout_url through
// sign-out: without a session, with a session and federated sign-out (the
// provider is told to return there), and with FederatedSignOut false.
func TestHostilePostLogoutURLs(t *testing.T) {
	for _, mode := range []string{"no session", "federated", "not federated"} {
		t.Run(mode, func(t *testing.T) {
			opts := Options{}
			if mode == "not federated" {
				opts.FederatedSignOut = new(false)
			}
			app := newTestApp(t, appConfig{opts: opts})
			for i, raw := range hostileURLs {
				v := expandURL(app, raw)
				var cookies []*http.Cookie
				if mode != "no session" {
					cookies = mintSession(t, app.client, &Session{User: User{"sub": "user-1"}, IDToken: "id-token"})
				}
				w := app.serve(http.MethodGet, "/api/auth/signout?post_logout_url="+url.QueryEscape(v), cookies...)
				if w.Code != http.StatusTemporaryRedirect {
					t.Errorf("%d %q: status %d", i, v, w.Code)
					continue
				}
				loc := w.Header().Get("Location")
				if mode == "federated" {
					if !strings.HasPrefix(loc, app.op.Issuer()+"/") {
						t.Errorf("%d %q: Location %q is not the provider", i, v, loc)
						continue
					}
					loc = queryOf(t, loc).Get("post_logout_redirect_uri")
				}
				assertSameOrigin(t, app.url("/api/auth/signout"), loc, app.origin(), fmt.Sprintf("%d post_logout_url %q", i, v))
			}
		})
	}
}

// TestSignOutFederatedQuery: ?federated overrides FederatedSignOut (a query
// override, see TestQueryParamOverridesOff).
func TestSignOutFederatedQuery(t *testing.T) {
	for _, tc := range []struct {
		federated bool
		query     string
		atOP      bool
	}{{true, "?federated=false", false}, {false, "?federated=true", true}, {false, "?federated", true}, {true, "", true}} {
		app := newTestApp(t, appConfig{opcfg: adaClaims, opts: Options{FederatedSignOut: new(tc.federated)}})
		app.signIn("")
		resp, _ := app.get("/api/auth/signout" + tc.query)
		if atOP := strings.HasPrefix(resp.Header.Get("Location"), app.op.Issuer()); atOP != tc.atOP || app.session() != nil {
			t.Errorf("FederatedSignOut %v, %q: Location %q, want at the provider: %v", tc.federated, tc.query, resp.Header.Get("Location"), tc.atOP)
		}
	}
}
