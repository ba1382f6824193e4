package monocloud

import (
	"errors"
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
	case c.cfg.opts.Routes.SignIn:
		return func(w http.ResponseWriter, r *http.Request) { c.signIn(w, r, &SignInOptions{}) }
	case c.cfg.opts.Routes.Callback:
		return func(w http.ResponseWriter, r *http.Request) { c.callback(w, r, &CallbackOptions{}) }
	case c.cfg.opts.Routes.UserInfo:
		return func(w http.ResponseWriter, r *http.Request) { c.userInfo(w, r, &UserInfoOptions{}) }
	case c.cfg.opts.Routes.SignOut:
		return func(w http.ResponseWriter, r *http.Request) { c.signOut(w, r, &SignOutOptions{}) }
	case c.cfg.opts.Routes.BackChannelLogout:
		return c.backChannelLogout
	}
	return nil
}

// queryOverrides returns the query parameters r may override options with:
// its query, or none when Options.AllowQueryParamOverrides is off.
func (c *Client) queryOverrides(r *http.Request) url.Values {
	if !*c.cfg.opts.AllowQueryParamOverrides {
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

// SignInOptions configures a sign-in handler made by SignInHandler. Zero
// fields take the client's options.
type SignInOptions struct {
	// ReturnURL is where the user returns after signing in when the
	// request has no valid return_url query parameter: a path of the app
	// or a URL on AppURL's origin. Any other value is dropped (with a
	// warning logged), as the route drops such a return_url: the user then
	// returns to the app's root.
	ReturnURL string
	// Register asks the provider for its sign-up page (prompt=create),
	// unless the request has a prompt query parameter.
	Register bool
	// AuthParams are this handler's authorization parameters: each one
	// set replaces its Options.DefaultAuthParams value (Scopes replaces
	// the scopes of Options.Resources too), and the request's query
	// parameters (see SignInURL) replace them in turn.
	AuthParams AuthParams
	// RedirectURI is the callback URL sent to the provider, a path of the
	// app or a URL on AppURL's origin, where a CallbackHandler serves the
	// callback; the provider must have it registered. Default AppURL +
	// Options.Routes.Callback. The code is exchanged with the redirect URI
	// the sign-in sent, which the state cookie carries.
	RedirectURI string
	// OnError handles the handler's errors instead of Options.OnError.
	OnError func(w http.ResponseWriter, r *http.Request, err error)
}

// CallbackOptions configures a callback handler made by CallbackHandler.
// Zero fields take the client's options.
type CallbackOptions struct {
	// UserInfo overrides Options.UserInfo: whether the callback fetches the
	// userinfo endpoint and merges its claims into the user.
	UserInfo *bool
	// RedirectURI is the redirect URI this callback is served at, as
	// SignInOptions.RedirectURI. The callback refuses, with a
	// *ValidationError, a sign-in that sent another one. Default: the one
	// the sign-in sent.
	RedirectURI string
	// OnError handles the handler's errors instead of Options.OnError.
	OnError func(w http.ResponseWriter, r *http.Request, err error)
}

// UserInfoOptions configures a userinfo handler made by UserInfoHandler.
type UserInfoOptions struct {
	// RefetchUserInfo overrides Options.RefetchUserInfo: whether the
	// handler refetches the user's claims from the provider.
	RefetchUserInfo *bool
	// OnError handles the handler's errors instead of Options.OnError.
	OnError func(w http.ResponseWriter, r *http.Request, err error)
}

// SignOutOptions configures a sign-out handler made by SignOutHandler.
// Zero fields take the client's options.
type SignOutOptions struct {
	// PostLogoutRedirectURI is where sign-out returns when the request has
	// no valid post_logout_url query parameter, in place of
	// Options.PostLogoutRedirectURI: a path of the app or a URL on
	// AppURL's origin. Any other value is dropped, with a warning logged.
	PostLogoutRedirectURI string
	// FederatedSignOut overrides Options.FederatedSignOut: whether the
	// provider's session ends too.
	FederatedSignOut *bool
	// IDTokenHint is the id_token_hint sent to the provider's end_session
	// endpoint. Default the session's ID token.
	IDTokenHint string
	// State is sent to the end_session endpoint, which hands it back to
	// the post-logout redirect URI. Default none.
	State string
	// OnError handles the handler's errors instead of Options.OnError.
	OnError func(w http.ResponseWriter, r *http.Request, err error)
}

// SignInHandler returns a handler that starts a sign-in as the sign-in
// route does, configured by opts (nil: as the route). Mount it on a path of
// its own, such as a sign-up page:
//
//	mux.Handle("/signup", client.SignInHandler(&monocloud.SignInOptions{Register: true}))
//
// Under AuthMiddleware that path must be left unprotected. It panics if
// opts.AuthParams or opts.RedirectURI is invalid, with a *ValidationError
// for each problem, joined with errors.Join as New does.
func (c *Client) SignInHandler(opts *SignInOptions) http.Handler {
	o := &SignInOptions{}
	if opts != nil {
		*o = *opts
	}
	o.ReturnURL = c.redirectOption("SignInOptions.ReturnURL", o.ReturnURL)
	r := newResolver(noEnvironment)
	if o.RedirectURI != "" {
		u, ok := c.resolveReturnURL(o.RedirectURI)
		if !ok || strings.Contains(u, "#") {
			r.Fail("SignInOptions.RedirectURI", "", "must be a path of the app or a URL on AppURL's origin, without a fragment, got %s", o.RedirectURI)
		}
		o.RedirectURI = u
	}
	p := &o.AuthParams
	if p.Scopes != "" {
		p.Scopes = joinFields(p.Scopes)
		if p.Scopes == "" {
			r.Fail("SignInOptions.AuthParams.Scopes", "", "Scopes must be a space-separated string")
		}
	}
	p.Resource = r.resource(p.Resource, "SignInOptions.AuthParams.Resource", "")
	p.ACRValues = joinFields(p.ACRValues)
	if m := p.ResponseMode; m != "" && m != "query" && m != "form_post" {
		r.Fail("SignInOptions.AuthParams.ResponseMode", "", "must be query or form_post, got %q", m)
	}
	if p.MaxAge != nil && *p.MaxAge < 0 {
		r.Fail("SignInOptions.AuthParams.MaxAge", "", "must not be negative, got %d", *p.MaxAge)
	}
	if errs := r.validationErrors(); len(errs) > 0 {
		panic(errors.Join(errs...))
	}
	return c.routeHandler(func(w http.ResponseWriter, r *http.Request) { c.signIn(w, r, o) })
}

// CallbackHandler returns a handler that completes a sign-in as the
// callback route does, configured by opts (nil: as the route). Serve it at
// the RedirectURI of the SignInHandler that sends users to it. It panics
// with a *ValidationError if opts.RedirectURI is not a path of the app or a
// URL on AppURL's origin.
func (c *Client) CallbackHandler(opts *CallbackOptions) http.Handler {
	o := &CallbackOptions{}
	if opts != nil {
		*o = *opts
	}
	if o.RedirectURI != "" {
		u, ok := c.resolveReturnURL(o.RedirectURI)
		if !ok {
			panic(&ValidationError{Field: "CallbackOptions.RedirectURI", Message: "must be a path of the app or a URL on AppURL's origin, got " + o.RedirectURI})
		}
		o.RedirectURI = u
	}
	return c.routeHandler(func(w http.ResponseWriter, r *http.Request) { c.callback(w, r, o) })
}

// UserInfoHandler returns a handler that answers the user's claims as the
// userinfo route does, configured by opts (nil: as the route).
func (c *Client) UserInfoHandler(opts *UserInfoOptions) http.Handler {
	o := &UserInfoOptions{}
	if opts != nil {
		*o = *opts
	}
	return c.routeHandler(func(w http.ResponseWriter, r *http.Request) { c.userInfo(w, r, o) })
}

// SignOutHandler returns a handler that signs out as the sign-out route
// does, configured by opts (nil: as the route). A cross-site request gets
// the confirmation page, whose link leads back to this handler.
func (c *Client) SignOutHandler(opts *SignOutOptions) http.Handler {
	o := &SignOutOptions{}
	if opts != nil {
		*o = *opts
	}
	o.PostLogoutRedirectURI = c.redirectOption("SignOutOptions.PostLogoutRedirectURI", o.PostLogoutRedirectURI)
	return c.routeHandler(func(w http.ResponseWriter, r *http.Request) { c.signOut(w, r, o) })
}

// redirectOption returns the absolute URL of v, a return URL option named
// field, or "" (with a warning) when v is not on the app's origin.
func (c *Client) redirectOption(field, v string) string {
	if v == "" {
		return ""
	}
	u, ok := c.resolveReturnURL(v)
	if !ok {
		c.cfg.opts.Logger.Warn("monocloud: "+field+" is not on the app's origin; ignored", "value", v)
		return ""
	}
	return u
}

// routeHandler serves an auth route's handler with the request state.
func (c *Client) routeHandler(serve http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.withReqState(w, r, serve)
	})
}
