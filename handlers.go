package monocloud

import (
	"net/http"
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
		c.withState(w, r, nil, func(w http.ResponseWriter, r *http.Request) {
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
