package monocloud

import (
	"net/http"
	"regexp"
)

// MiddlewareOptions configures AuthMiddleware. A nil *MiddlewareOptions
// protects every route.
type MiddlewareOptions struct {
	// ProtectedRoutes lists the protected routes. nil protects every route;
	// an empty non-nil slice protects none. The first matching entry decides.
	ProtectedRoutes []ProtectedRoute
	// IsProtected, when set, decides instead of ProtectedRoutes which
	// requests need a session.
	IsProtected func(r *http.Request) bool
	// OnAccessDenied answers a protected request without a session (user
	// nil) or without a required group (user is a copy of the session's).
	// When nil, an API request gets 401 or 403 JSON, and a page request a
	// redirect to sign-in (see RedirectToSignIn) or a 403 page that offers
	// to sign out. A request is
	// an API request when its path is /api or below, its ProtectedRoute
	// has API set, or its client asked for JSON: Accept preferring
	// application/json (or a +json type) over text/html, Sec-Fetch-Mode
	// cors (a browser's fetch), or X-Requested-With XMLHttpRequest.
	//
	// It has the signature of ProtectOptions.OnAccessDenied, and like it
	// always answers: the handler is not called after it. A denial hook
	// that could let requests through would fail open when it forgets to
	// say no; a route that anyone may reach is left unprotected instead
	// (ProtectedRoutes, IsProtected).
	OnAccessDenied func(w http.ResponseWriter, r *http.Request, user User)
}

// ProtectedRoute is a protected path pattern and the groups it requires.
type ProtectedRoute struct {
	// Pattern is matched against the request path (relative to AppURL's
	// base path). It is unanchored: use ^ and $.
	Pattern *regexp.Regexp
	// GroupCheck, when it names groups, requires them of the user.
	GroupCheck
	// API marks the route as an API: a denied request gets 401 or 403
	// JSON whatever it asked for, as under /api.
	API bool
}

// Protect returns ProtectedRoutes that require a session for the given
// regular expressions. It panics if one does not compile, like
// regexp.MustCompile.
func Protect(patterns ...string) []ProtectedRoute {
	return ProtectGroups(nil, patterns...)
}

// ProtectGroups is Protect for routes that also require the user to be in
// any one of groups (found in Options.GroupsClaim); a user without them is
// answered 403:
//
//	ProtectedRoutes: slices.Concat(
//		monocloud.ProtectGroups([]string{"admin"}, `^/admin(/|$)`),
//		monocloud.Protect(`^/account(/|$)`),
//	)
//
// A ProtectedRoute literal requires every group (GroupCheck.MatchAll) or
// reads another claim.
func ProtectGroups(groups []string, patterns ...string) []ProtectedRoute {
	routes := make([]ProtectedRoute, len(patterns))
	for i, p := range patterns {
		routes[i] = ProtectedRoute{Pattern: regexp.MustCompile(p), GroupCheck: GroupCheck{Groups: groups}}
	}
	return routes
}

// AuthMiddleware returns middleware that serves the auth routes
// (Options.Routes), protects the other routes as opts says, and makes the
// request's auth state reachable from r.Context() for GetTokens, Session and
// the other helpers. The session is decoded at most once per request, and
// any change to it (sliding expiry, refreshed tokens) is added as
// Set-Cookie before the response header is written. Every method is
// protected, OPTIONS included: put a CORS middleware in front of this one
// to answer preflight requests, which carry no cookies.
func (c *Client) AuthMiddleware(opts *MiddlewareOptions) func(http.Handler) http.Handler {
	if opts == nil {
		opts = &MiddlewareOptions{}
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c.withReqState(w, r, func(w http.ResponseWriter, r *http.Request) {
				if h := c.authRoute(r); h != nil {
					h(w, r)
					return
				}
				route, protected := c.protection(opts, r)
				if !protected {
					next.ServeHTTP(w, r)
					return
				}
				c.guard(w, r, accessRule{GroupCheck: route.GroupCheck, api: route.API, apiByPath: true, onDenied: opts.OnAccessDenied}, next)
			})
		})
	}
}

// protection reports whether r needs a session, and the ProtectedRoute
// that says so (the zero route when every route is protected, or
// IsProtected decides).
func (c *Client) protection(opts *MiddlewareOptions, r *http.Request) (route ProtectedRoute, protected bool) {
	if opts.IsProtected != nil {
		return ProtectedRoute{}, opts.IsProtected(r)
	}
	if opts.ProtectedRoutes == nil {
		return ProtectedRoute{}, true
	}
	// Match the cleaned path: handlers and file servers resolve "//x",
	// "/./x" and "/a/../x" to "/x", so patterns must see it that way too.
	path := cleanPath(c.relativePath(r))
	for _, pr := range opts.ProtectedRoutes {
		if pr.Pattern != nil && pr.Pattern.MatchString(path) {
			return pr, true
		}
	}
	return ProtectedRoute{}, false
}
