package monocloud

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Session returns the session of ctx's request (served under AuthMiddleware
// or Handler), or ErrNoSession. It reflects changes made earlier in the
// same request. The result is a copy: change it with UpdateSession.
func (c *Client) Session(ctx context.Context) (*Session, error) {
	st := stateFrom(ctx)
	if st == nil || st.c != c {
		return nil, ErrNoRequestContext
	}
	return st.sessionCopy(ctx)
}

// SessionWithResponse is Session for an explicit request and response; a
// sliding session's renewed cookie is written to w.
func (c *Client) SessionWithResponse(w http.ResponseWriter, r *http.Request) (*Session, error) {
	return c.requestState(w, r).sessionCopy(r.Context())
}

func (st *requestState) sessionCopy(ctx context.Context) (*Session, error) {
	sc, err := st.lookup(ctx)
	if err != nil {
		return nil, err
	}
	if sc == nil {
		return nil, ErrNoSession
	}
	return sc.Session.clone(), nil
}

// UpdateSession replaces the content of the session of ctx's request,
// keeping its creation time; the cookie is re-written. It returns
// ErrNoSession when there is no session to update.
func (c *Client) UpdateSession(ctx context.Context, s *Session) error {
	st := stateFrom(ctx)
	if st == nil || st.c != c {
		return ErrNoRequestContext
	}
	return st.replace(ctx, s)
}

// UpdateSessionWithResponse is UpdateSession for an explicit request and
// response.
func (c *Client) UpdateSessionWithResponse(w http.ResponseWriter, r *http.Request, s *Session) error {
	return c.requestState(w, r).replace(r.Context(), s)
}

func (st *requestState) replace(ctx context.Context, s *Session) error {
	return st.update(ctx, s.clone())
}

// DestroySession ends the session of ctx's request locally (no call to the
// provider): the store entry is deleted and the cookies expired.
// It fails when the response header was already written, since the cookies
// can then no longer be expired, and with a *StoreError when the store
// fails: the session has then not ended.
func (c *Client) DestroySession(ctx context.Context) error {
	st := stateFrom(ctx)
	if st == nil || st.c != c {
		return ErrNoRequestContext
	}
	return st.destroy(ctx)
}

// DestroySessionWithResponse is DestroySession for an explicit request and
// response.
func (c *Client) DestroySessionWithResponse(w http.ResponseWriter, r *http.Request) error {
	return c.requestState(w, r).destroy(r.Context())
}

// IsAuthenticated reports whether the request of ctx (or r with
// IsAuthenticatedRequest) has a valid session. It is false when the
// SessionStore fails; Session tells that case apart (a *StoreError).
func (c *Client) IsAuthenticated(ctx context.Context) bool {
	st := stateFrom(ctx)
	if st == nil || st.c != c {
		return false
	}
	sc, err := st.lookup(ctx)
	return err == nil && sc != nil
}

// IsAuthenticatedRequest reports whether r has a valid session.
func (c *Client) IsAuthenticatedRequest(r *http.Request) bool {
	sc, err := c.requestState(nil, r).lookup(r.Context())
	return err == nil && sc != nil
}

// GroupOptions configures a group check.
type GroupOptions struct {
	// GroupsClaim overrides Options.GroupsClaim.
	GroupsClaim string
	// MatchAll requires every group instead of any one.
	MatchAll bool
}

// IsUserInGroup reports whether the signed-in user of ctx's request is in
// any of groups (all with MatchAll). No groups means true; no session means
// false.
func (c *Client) IsUserInGroup(ctx context.Context, groups []string, opts *GroupOptions) bool {
	st := stateFrom(ctx)
	if st == nil || st.c != c {
		return false
	}
	sc, err := st.lookup(ctx)
	if err != nil || sc == nil {
		return false
	}
	if opts == nil {
		opts = &GroupOptions{}
	}
	return inGroups(sc.Session.User, c.groupsClaim(opts.GroupsClaim), groups, opts.MatchAll)
}

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
			sc, err := stateFrom(r.Context()).lookup(r.Context())
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

// SignInParams are the query parameters of a sign-in redirect.
type SignInParams struct {
	ReturnURL         string
	Scopes            []string
	Resource          []string
	Prompt            string
	LoginHint         string
	AuthenticatorHint string
	Display           string
	UILocales         string
	ACRValues         []string
	MaxAge            *int
}

// SignInURL returns the URL of the sign-in route with p as query parameters.
func (c *Client) SignInURL(p *SignInParams) string {
	if p == nil {
		p = &SignInParams{}
	}
	q := url.Values{}
	for name, v := range map[string]string{
		"return_url": p.ReturnURL, "scope": strings.Join(p.Scopes, " "), "resource": strings.Join(p.Resource, " "),
		"prompt": p.Prompt, "login_hint": p.LoginHint, "authenticator_hint": p.AuthenticatorHint,
		"display": p.Display, "ui_locales": p.UILocales, "acr_values": strings.Join(p.ACRValues, " "),
	} {
		if v != "" {
			q.Set(name, v)
		}
	}
	if p.MaxAge != nil {
		q.Set("max_age", strconv.Itoa(*p.MaxAge))
	}
	u := c.appURL(c.cfg.routes.SignIn)
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}

// RedirectToSignIn redirects (307) to the sign-in route.
func (c *Client) RedirectToSignIn(w http.ResponseWriter, r *http.Request, p *SignInParams) {
	http.Redirect(w, r, c.SignInURL(p), http.StatusTemporaryRedirect)
}

// SignOutURL returns the URL of the sign-out route; postLogoutURL, when
// set, is where sign-out returns (on the app's origin only).
func (c *Client) SignOutURL(postLogoutURL string) string {
	u := c.appURL(c.cfg.routes.SignOut)
	if strings.TrimSpace(postLogoutURL) != "" {
		u += "?" + url.Values{"post_logout_url": {postLogoutURL}}.Encode()
	}
	return u
}

// RedirectToSignOut redirects (307) to SignOutURL(postLogoutURL).
func (c *Client) RedirectToSignOut(w http.ResponseWriter, r *http.Request, postLogoutURL string) {
	http.Redirect(w, r, c.SignOutURL(postLogoutURL), http.StatusTemporaryRedirect)
}

// refetchUserInfo refetches the user's claims with the (refreshed if
// needed) default access token and saves them in the session.
func (c *Client) refetchUserInfo(ctx context.Context, st *requestState) (User, error) {
	tokens, err := c.getTokens(ctx, st, nil)
	if err != nil {
		return nil, err
	}
	if !hasScope(tokens.Scopes, "openid") {
		return nil, &ValidationError{Message: "Fetching userinfo requires the openid scope"}
	}
	sc, err := st.lookup(ctx)
	if err != nil {
		return nil, err
	}
	if sc == nil {
		return nil, ErrNoSession
	}
	info, err := c.fetchUserInfo(ctx, tokens.AccessToken, sc.Session.subject())
	if err != nil {
		return nil, err
	}
	s := sc.Session.clone()
	for k, v := range info {
		s.User[k] = v
	}
	if hook := c.cfg.opts.OnSessionCreating; hook != nil {
		if err := hook(ctx, s, nil, info, nil); err != nil {
			return nil, err
		}
	}
	if err := st.update(ctx, s); err != nil {
		return nil, err
	}
	return s.User, nil
}
