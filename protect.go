package monocloud

import "net/http"

// ProtectOptions configures ProtectAPI and ProtectPage.
type ProtectOptions struct {
	// Groups, when set, are required (any one, or all with MatchAll).
	Groups      []string
	GroupsClaim string
	MatchAll    bool
	// ReturnURL is where sign-in returns (ProtectPage); default the
	// request's own path and query.
	ReturnURL string
	// OnAccessDenied answers a denied request instead of the default; user
	// is nil without a session.
	OnAccessDenied func(w http.ResponseWriter, r *http.Request, user User)
}

// ProtectAPI wraps an API handler: without a session it answers 401
// {"message":"unauthorized"}, without a required group 403
// {"message":"forbidden"}. Serve it under AuthMiddleware or Handler, or on
// its own (it then reads the session itself).
func (c *Client) ProtectAPI(h http.Handler, opts *ProtectOptions) http.Handler {
	return c.protect(h, opts, func(w http.ResponseWriter, r *http.Request, signedIn bool) {
		if !signedIn {
			writeJSON(w, http.StatusUnauthorized, map[string]string{"message": "unauthorized"})
			return
		}
		writeJSON(w, http.StatusForbidden, map[string]string{"message": "forbidden"})
	})
}

// ProtectPage wraps a page handler: without a session it redirects (307) to
// sign-in, returning to the page afterwards; without a required group it
// answers 403.
func (c *Client) ProtectPage(h http.Handler, opts *ProtectOptions) http.Handler {
	if opts == nil {
		opts = &ProtectOptions{}
	}
	return c.protect(h, opts, func(w http.ResponseWriter, r *http.Request, signedIn bool) {
		if !signedIn {
			ret := opts.ReturnURL
			if ret == "" {
				ret = c.returnPath(r)
			}
			c.RedirectToSignIn(w, r, &SignInParams{ReturnURL: ret})
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte("forbidden"))
	})
}

func (c *Client) protect(h http.Handler, opts *ProtectOptions, deny func(http.ResponseWriter, *http.Request, bool)) http.Handler {
	if opts == nil {
		opts = &ProtectOptions{}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.withState(w, r, nil, func(w http.ResponseWriter, r *http.Request) {
			sc, err := c.state(r.Context()).lookup(r.Context())
			switch {
			case err != nil:
				c.fail(w, r, err)
			case sc == nil:
				if opts.OnAccessDenied != nil {
					opts.OnAccessDenied(w, r, nil)
					return
				}
				deny(w, r, false)
			case !inGroups(sc.Session.User, c.groupsClaim(opts.GroupsClaim), opts.Groups, opts.MatchAll):
				if opts.OnAccessDenied != nil {
					opts.OnAccessDenied(w, r, deepCopyMap(sc.Session.User))
					return
				}
				deny(w, r, true)
			default:
				h.ServeHTTP(w, r)
			}
		})
	})
}
