package e2e

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	monocloud "github.com/monocloud/auth-go"
)

// TestFlowQueryParamOverrides: the routes' query parameters reach the
// provider and the flow (sign-in's scope, max_age, prompt, ui_locales,
// login_hint, return_url; userinfo's refresh; sign-out's federated), and
// AllowQueryParamOverrides off ignores them.
func TestFlowQueryParamOverrides(t *testing.T) {
	t.Parallel()
	query := url.Values{
		"return_url": {"/protected"}, "scope": {"openid email"}, "max_age": {"300"},
		"prompt": {"login"}, "ui_locales": {"de"}, "login_hint": {"gina"},
	}.Encode()

	t.Run("on", func(t *testing.T) {
		app := flowStart(t, flowConfig{})
		browser := flowBrowser(t)
		app.signInFrom(t, browser, app.url+"/api/auth/signin?"+query, "gina", "/protected")
		var s monocloud.Session
		app.get(t, browser, "/api/session").decode(t, &s)
		if s.AuthorizedScopes != "openid email" || s.User["email"] != "gina@example.test" || s.User["name"] != nil {
			t.Errorf("session scopes %q, user %v; want openid email, an email and no profile", s.AuthorizedScopes, s.User)
		}
		if resp := app.get(t, browser, "/api/auth/userinfo?refresh"); resp.StatusCode != http.StatusOK {
			t.Errorf("userinfo ?refresh: %s %s", resp.Status, resp.body)
		}
		resp := app.get(t, browser, "/api/auth/signout?federated=false")
		if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusTemporaryRedirect || loc != app.url {
			t.Errorf("sign-out ?federated=false: %s to %q, want 307 to the app", resp.Status, loc)
		}
	})

	t.Run("off", func(t *testing.T) {
		app := flowStart(t, flowConfig{Options: func(o *monocloud.Options) { o.AllowQueryParamOverrides = new(false) }})
		browser := flowBrowser(t)
		app.signInFrom(t, browser, app.url+"/api/auth/signin?"+query, "gina", "")
		var s monocloud.Session
		app.get(t, browser, "/api/session").decode(t, &s)
		if !strings.Contains(s.AuthorizedScopes, "profile") || s.User["name"] != "Gina" {
			t.Errorf("session scopes %q, user %v; want the default scopes", s.AuthorizedScopes, s.User)
		}
		resp := app.get(t, browser, "/api/auth/signout?federated=false")
		if loc := resp.Header.Get("Location"); !strings.HasPrefix(loc, app.op.Issuer()) {
			t.Errorf("sign-out ?federated=false: %s to %q, want the provider", resp.Status, loc)
		}
	})
}

// TestFlowAudienceThroughPAR: the audience parameter travels in the pushed
// request, which oidc-provider accepts; the front channel carries only the
// request_uri.
func TestFlowAudienceThroughPAR(t *testing.T) {
	t.Parallel()
	app := flowStart(t, flowConfig{UsePAR: true, Options: func(o *monocloud.Options) {
		o.DefaultAuthParams.Audience = flowAPIOne.URL
	}})
	browser := flowBrowser(t)
	resp := app.get(t, browser, "/api/auth/signin?audience="+url.QueryEscape(flowAPITwo.URL)+"&return_url=/protected")
	loc, err := resp.Location()
	if err != nil || loc.Query().Has("audience") || !loc.Query().Has("request_uri") {
		t.Fatalf("sign-in route: %s to %v (%v), want the request_uri only", resp.Status, loc, err)
	}
	app.signInFrom(t, browser, loc.String(), "ivan", "/protected")
	if u := flowUserInfo(t, app, browser, http.StatusOK); u["sub"] != "ivan" {
		t.Errorf("userinfo: %v", u)
	}
}

// TestFlowCORSPreflight: a preflight to an auth route gets 204 and runs no
// flow; only the app's origin is allowed; a bare OPTIONS gets 405.
func TestFlowCORSPreflight(t *testing.T) {
	t.Parallel()
	app := flowStart(t, flowConfig{})
	preflight := func(path, origin string, request bool) *http.Response {
		req, _ := http.NewRequest(http.MethodOptions, app.url+path, nil)
		req.Header.Set("Origin", origin)
		if request {
			req.Header.Set("Access-Control-Request-Method", "GET")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	for _, path := range []string{"/api/auth/signin", "/api/auth/callback", "/api/auth/userinfo", "/api/auth/signout"} {
		if resp := preflight(path, app.url, true); resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") != app.url || len(resp.Cookies()) != 0 {
			t.Errorf("%s from the app: %s, headers %v", path, resp.Status, resp.Header)
		}
		if resp := preflight(path, "https://other.example.test", true); resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("%s from another origin: %s, headers %v", path, resp.Status, resp.Header)
		}
		if resp := preflight(path, app.url, false); resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("%s bare OPTIONS: %s, want 405", path, resp.Status)
		}
	}
}

// TestFlowStateLimits: with State.MaxConcurrent 2, the oldest of three
// sign-ins is dropped (its callback fails), the newest completes, and
// completing it ends the other one still under way.
func TestFlowStateLimits(t *testing.T) {
	t.Parallel()
	app := flowStart(t, flowConfig{Options: func(o *monocloud.Options) { o.State.MaxConcurrent = 2 }})
	browser := flowBrowser(t)
	var starts []string
	for _, ret := range []string{"/a", "/b", "/c"} {
		resp := app.get(t, browser, "/api/auth/signin?return_url="+ret)
		if resp.StatusCode != http.StatusTemporaryRedirect {
			t.Fatalf("sign-in route: %s", resp.Status)
		}
		starts = append(starts, resp.Header.Get("Location"))
	}
	callback := func(start string) *http.Response {
		resp := app.op.SignIn(t, browser, start, "judy")
		resp.Body.Close()
		return resp
	}
	if resp := callback(starts[0]); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("the dropped sign-in's callback: %s, want 400", resp.Status)
	}
	app.signInFrom(t, browser, starts[2], "judy", "/c")
	if resp := callback(starts[1]); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("the ended sign-in's callback: %s, want 400", resp.Status)
	}
}
