package monocloud

import "net/http"

// ProtectOptions configures ProtectAPI and ProtectPage.
type ProtectOptions struct {
	// GroupCheck, when it names groups, requires them of the user.
	GroupCheck
	// ReturnURL is where sign-in returns (ProtectPage); default the
	// request's own path and query.
	ReturnURL string
	// OnAccessDenied answers a denied request instead of the default; see
	// MiddlewareOptions.OnAccessDenied.
	OnAccessDenied func(w http.ResponseWriter, r *http.Request, user User)
}

// ProtectAPI returns middleware that protects an API: without a session it
// answers 401 {"message":"unauthorized"}, without a required group 403
// {"message":"forbidden"}, and lets the request through otherwise. A nil
// opts requires a session only. It is router middleware as it is (chi's
// Use and With, echo.WrapMiddleware), and wraps one handler as
// ProtectAPI(opts)(h). Serve it under AuthMiddleware or Handler, or on its
// own (it then reads the session itself).
func (c *Client) ProtectAPI(opts *ProtectOptions) func(http.Handler) http.Handler {
	return c.protect(opts, true)
}

// ProtectPage returns middleware that protects pages: without a session it
// redirects to sign-in as RedirectToSignIn does (307, or 303 for methods
// other than GET and HEAD), returning to the page afterwards; without a
// required group it answers 403. A client that asked for JSON (a script's
// fetch: see MiddlewareOptions.OnAccessDenied) gets ProtectAPI's answers
// instead. It is used as ProtectAPI is.
func (c *Client) ProtectPage(opts *ProtectOptions) func(http.Handler) http.Handler {
	return c.protect(opts, false)
}

func (c *Client) protect(opts *ProtectOptions, api bool) func(http.Handler) http.Handler {
	if opts == nil {
		opts = &ProtectOptions{}
	}
	rule := accessRule{GroupCheck: opts.GroupCheck, api: api, returnURL: opts.ReturnURL, onDenied: opts.OnAccessDenied}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c.withReqState(w, r, func(w http.ResponseWriter, r *http.Request) {
				c.guard(w, r, rule, next)
			})
		})
	}
}

// accessRule is what a protected request needs, and how a denial is
// answered. AuthMiddleware, ProtectAPI and ProtectPage share it.
type accessRule struct {
	GroupCheck
	api       bool   // deny with JSON, not with a sign-in redirect or text
	apiByPath bool   // api for /api and below (decided only on denial)
	returnURL string // where sign-in returns; "" for the request's own URL
	onDenied  func(w http.ResponseWriter, r *http.Request, user User)
}

// guard serves r with next when its session passes rule, and denies it
// otherwise. A session that cannot be read (a *StoreError) is not "signed
// out": it is answered by fail, so the client keeps its session and retries.
func (c *Client) guard(w http.ResponseWriter, r *http.Request, rule accessRule, next http.Handler) {
	sc, err := c.reqState(r.Context()).lookupEncoded(r.Context())
	switch {
	case err != nil:
		c.failWith(w, r, route{}, err, errorStatus(err), rule.answersJSON(c, r))
	case sc == nil:
		c.deny(w, r, rule, false, nil)
	case !c.inGroup(sc, rule.GroupCheck):
		c.deny(w, r, rule, true, deepCopyMap(sc.userClaims()))
	default:
		next.ServeHTTP(w, r)
	}
}

// answersJSON reports whether r, under rule, is answered as an API: by
// rule, or because its client asked for JSON.
func (rule accessRule) answersJSON(c *Client, r *http.Request) bool {
	return rule.api || rule.apiByPath && c.isAPIPath(r) || wantsJSON(r)
}

// deny answers a request that rule refuses: through rule.onDenied when set;
// else an API request (see answersJSON) gets 401 (no session) or 403 JSON,
// and a page a redirect to sign-in (no session) or the 403 page, which
// offers to sign out.
func (c *Client) deny(w http.ResponseWriter, r *http.Request, rule accessRule, signedIn bool, user User) {
	api := rule.answersJSON(c, r)
	switch {
	case rule.onDenied != nil:
		rule.onDenied(w, r, user)
	case api && !signedIn:
		writeJSON(w, http.StatusUnauthorized, map[string]string{"message": "unauthorized"})
	case api:
		writeJSON(w, http.StatusForbidden, map[string]string{"message": "forbidden"})
	case !signedIn:
		ret := rule.returnURL
		if ret == "" {
			ret = c.returnPath(r)
		}
		c.RedirectToSignIn(w, r, ret, nil)
	default:
		c.forbiddenPage().write(w)
	}
}
