package monocloud

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// maxFormBytes bounds the bodies of the callback (form_post) and
// back-channel logout routes.
const maxFormBytes = 64 << 10

// Handler returns the handler of the auth routes (Options.Routes): sign-in,
// callback, userinfo, sign-out and back-channel logout. Other paths get 404.
// Mount it on the routes' paths or at "/"; AuthMiddleware serves the same
// routes itself.
func (c *Client) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.withReqState(w, r, func(w http.ResponseWriter, r *http.Request) {
			if h := c.authRoute(r); h != nil {
				h(w, r)
				return
			}
			http.NotFound(w, r)
		})
	})
}

// authRoute returns the handler of r's auth route, or nil.
func (c *Client) authRoute(r *http.Request) http.HandlerFunc {
	path := r.URL.Path
	if base := strings.TrimSuffix(c.cfg.appURL.Path, "/"); base != "" && strings.HasPrefix(path, base+"/") {
		path = strings.TrimPrefix(path, base)
	}
	switch path {
	case c.cfg.routes.SignIn:
		return func(w http.ResponseWriter, r *http.Request) { c.signIn(w, r, &SignInOptions{}) }
	case c.cfg.routes.Callback:
		return func(w http.ResponseWriter, r *http.Request) { c.callback(w, r, &CallbackOptions{}) }
	case c.cfg.routes.UserInfo:
		return func(w http.ResponseWriter, r *http.Request) { c.userInfo(w, r, &UserInfoOptions{}) }
	case c.cfg.routes.SignOut:
		return func(w http.ResponseWriter, r *http.Request) { c.signOut(w, r, &SignOutOptions{}) }
	case c.cfg.routes.BackChannelLogout:
		return c.backChannelLogout
	}
	return nil
}

// appURL returns AppURL joined with a path of the app.
func (c *Client) appURL(path string) string {
	return strings.TrimSuffix(c.cfg.appURL.String(), "/") + path
}

// queryOverrides returns the query parameters r may override options with:
// its query, or none when Options.AllowQueryParamOverrides is off.
func (c *Client) queryOverrides(r *http.Request) url.Values {
	if !c.cfg.queryOverrides {
		return url.Values{}
	}
	return r.URL.Query()
}

// queryBool returns the boolean query parameter name of q ("true" or
// "false"; a bare ?name is true), or def when it is absent or invalid.
func queryBool(q url.Values, name string, def bool) bool {
	if !q.Has(name) {
		return def
	}
	switch q.Get(name) {
	case "", "true":
		return true
	case "false":
		return false
	}
	return def
}

// startAuthRoute begins every answer of an auth route that serves the
// methods allowed: it is not to be cached, a CORS preflight gets 204 (see
// preflight) and another method 405. It reports whether the route goes on.
func (c *Client) startAuthRoute(w http.ResponseWriter, r *http.Request, allowed ...string) bool {
	noCache(w)
	switch {
	case isPreflight(r):
		c.preflight(w, r, allowed)
		return false
	case !slices.Contains(allowed, r.Method):
		methodNotAllowed(w, allowed...)
		return false
	}
	return true
}

// redirect answers an auth route with a redirect to url: 307, as the SDK
// does, or 303 after a POST (a form_post callback), so that the browser
// does not post the form again to the next page.
func redirect(w http.ResponseWriter, r *http.Request, url string) {
	http.Redirect(w, r, url, redirectStatus(r))
}

// redirectStatus is 307 Temporary Redirect for GET and HEAD, else 303 See
// Other, which a browser follows with a GET.
func redirectStatus(r *http.Request) int {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return http.StatusSeeOther
	}
	return http.StatusTemporaryRedirect
}
