package monocloud

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/monocloud/auth-go/internal/cookie"
	"github.com/monocloud/auth-go/internal/returnurl"
	"github.com/monocloud/auth-go/internal/tokenendpoint"
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

// withState serves r with a request state in its context and a response
// writer that adds the state's cookies before the header goes out.
// onError, when set, handles the auth routes' errors instead of
// Options.OnError.
func (c *Client) withState(w http.ResponseWriter, r *http.Request, onError func(http.ResponseWriter, *http.Request, error), serve func(http.ResponseWriter, *http.Request)) {
	if st := stateFrom(r.Context()); st != nil && st.c == c {
		serve(w, r)
		return
	}
	st := &requestState{c: c, onError: onError}
	r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, st))
	st.r = r
	cw := &cookieWriter{ResponseWriter: w, st: st}
	serve(cw, r)
	st.commit(w.Header())
}

// authRoute returns the handler of r's auth route, or nil.
func (c *Client) authRoute(r *http.Request) http.HandlerFunc {
	path := r.URL.Path
	if base := strings.TrimSuffix(c.cfg.appURL.Path, "/"); base != "" && strings.HasPrefix(path, base+"/") {
		path = strings.TrimPrefix(path, base)
	}
	switch path {
	case c.cfg.routes.SignIn:
		return c.signIn
	case c.cfg.routes.Callback:
		return c.callback
	case c.cfg.routes.UserInfo:
		return c.userInfo
	case c.cfg.routes.SignOut:
		return c.signOut
	case c.cfg.routes.BackChannelLogout:
		return c.backChannelLogout
	}
	return nil
}

// resolveReturnURL returns the absolute URL for a return_url or
// post_logout_url value, and false when it is not on the app's origin. A
// relative path without its leading slash ("dashboard") is taken from the
// app's root, as the SDK does.
func (c *Client) resolveReturnURL(v string) (string, bool) {
	return returnurl.Resolve(c.cfg.appURL, withLeadingSlash(v))
}

// withLeadingSlash prefixes "/" to a relative path that starts with a
// letter or digit and has no scheme ("dashboard", "a/b?x=1").
func withLeadingSlash(v string) string {
	if v == "" || !(unicode.IsLetter(rune(v[0])) || unicode.IsDigit(rune(v[0]))) {
		return v
	}
	if u, err := url.Parse(v); err == nil && u.Scheme == "" && u.Host == "" {
		return "/" + v
	}
	return v
}

// appURL returns AppURL joined with a path of the app.
func (c *Client) appURL(path string) string {
	return strings.TrimSuffix(c.cfg.appURL.String(), "/") + path
}

// signIn starts the authorization code flow with PKCE and redirects to the
// provider. It accepts the query parameters return_url, scope, resource,
// prompt, login_hint, authenticator_hint, display, ui_locales, acr_values and
// max_age; return_url is honoured only on the app's origin, and only if the
// state cookie stays within cookie.MaxSize with it (else the user returns
// to the app's root). A state cookie still too large (application state,
// scope, resource) is a *ValidationError, answered before the redirect.
func (c *Client) signIn(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		methodNotAllowed(w, http.MethodGet)
		return
	}
	op, err := c.provider(r.Context())
	if err != nil {
		c.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	p := c.cfg.authParams
	scopes := mergeLists(p.Scopes, indicatorField(c.cfg.resources, false))
	resources := mergeLists(p.Resource, indicatorField(c.cfg.resources, true))
	exchangeResource := p.Resource
	if s := joinFields(q.Get("scope")); s != "" {
		scopes = s
	}
	if res := joinFields(q.Get("resource")); res != "" && allValidResources(res) {
		resources = res
		if len(strings.Fields(res)) == 1 {
			// Exchange the code for the requested resource and file the
			// token under it. Providers refuse several resources in one
			// token request (RFC 8707 allows them to), so with several
			// the code is exchanged for the default resource.
			exchangeResource = res
		}
	}
	for name, dst := range map[string]*string{"prompt": &p.Prompt, "login_hint": &p.LoginHint, "authenticator_hint": &p.AuthenticatorHint, "display": &p.Display, "ui_locales": &p.UILocales} {
		if v := q.Get(name); v != "" {
			*dst = v
		}
	}
	if v := q.Get("acr_values"); strings.TrimSpace(v) != "" {
		p.ACRValues = strings.Fields(v)
	}
	if v, err := strconv.Atoi(q.Get("max_age")); err == nil && v >= 0 {
		p.MaxAge = &v
	}
	returnTo := c.appURL("/")
	if v := q.Get("return_url"); v != "" {
		if u, ok := c.resolveReturnURL(v); ok {
			returnTo = u
		}
	}
	var appState map[string]any
	if hook := c.cfg.opts.OnSetApplicationState; hook != nil {
		s, err := hook(r)
		if err != nil {
			c.fail(w, r, err)
			return
		}
		if s == nil {
			c.fail(w, r, &ValidationError{Message: "Invalid Application State. Expected state to be an object"})
			return
		}
		appState = s
	}

	state, nonce, verifier := randomString(), randomString(), randomString()
	challenge := sha256.Sum256([]byte(verifier))
	params := url.Values{
		"client_id":             {c.cfg.clientID},
		"redirect_uri":          {c.appURL(c.cfg.routes.Callback)},
		"scope":                 {scopes},
		"response_type":         {"code"},
		"nonce":                 {nonce},
		"state":                 {state},
		"code_challenge":        {base64.RawURLEncoding.EncodeToString(challenge[:])},
		"code_challenge_method": {"S256"},
	}
	for name, v := range map[string]string{"prompt": p.Prompt, "login_hint": p.LoginHint, "authenticator_hint": p.AuthenticatorHint, "display": p.Display, "ui_locales": p.UILocales, "response_mode": p.ResponseMode} {
		if v != "" {
			params.Set(name, v)
		}
	}
	if len(p.ACRValues) > 0 {
		params.Set("acr_values", strings.Join(p.ACRValues, " "))
	}
	if p.MaxAge != nil {
		params.Set("max_age", strconv.Itoa(*p.MaxAge))
	}
	for _, res := range strings.Fields(resources) {
		params.Add("resource", res)
	}

	as := &authState{Nonce: nonce, CodeVerifier: verifier, ReturnURL: returnTo, MaxAge: p.MaxAge, Resource: exchangeResource, Resources: resources, Scopes: scopes, AppState: appState}
	formPost := p.ResponseMode == "form_post"
	stateCookie, err := c.stateCookie(state, as, formPost)
	if errors.Is(err, cookie.ErrTooLarge) && as.ReturnURL != c.appURL("/") {
		// Dropped, as a malformed return_url is, rather than a cookie
		// the browser would drop.
		c.cfg.logger.WarnContext(r.Context(), "monocloud: return_url too long for the state cookie; returning to the app's root", "length", len(as.ReturnURL))
		as.ReturnURL = c.appURL("/")
		stateCookie, err = c.stateCookie(state, as, formPost)
	}
	if err != nil {
		c.fail(w, r, err)
		return
	}

	authorize := op.authURL
	if c.cfg.usePAR {
		requestURI, err := op.tokens.PushAuthorization(r.Context(), op.parURL, params)
		if err != nil {
			c.fail(w, r, opError(err))
			return
		}
		params = url.Values{"client_id": {c.cfg.clientID}, "request_uri": {requestURI}}
	}
	c.expireOldStates(w, r, len(stateCookie.Name)+len(stateCookie.Value))
	http.SetCookie(w, stateCookie)
	sep := "?"
	if strings.Contains(authorize, "?") {
		sep = "&"
	}
	noCache(w)
	http.Redirect(w, r, authorize+sep+params.Encode(), http.StatusFound)
}

// callback completes sign-in: it checks the state, exchanges the code,
// validates the ID token, fetches userinfo (option UserInfo), creates the
// session and redirects to the return URL. It accepts GET and form_post.
// An error answered by the provider becomes an *OPError.
func (c *Client) callback(w http.ResponseWriter, r *http.Request) {
	var params url.Values
	switch r.Method {
	case http.MethodGet:
		params = r.URL.Query()
	case http.MethodPost:
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		if err := r.ParseForm(); err != nil {
			c.fail(w, r, &ValidationError{Message: "Invalid callback body", Err: err})
			return
		}
		params = r.PostForm
	default:
		methodNotAllowed(w, http.MethodGet, http.MethodPost)
		return
	}
	noCache(w)
	p, err := c.provider(r.Context())
	if err != nil {
		c.fail(w, r, err) // the state is kept: the callback can be retried
		return
	}
	as, err := c.takeAuthState(w, r, params.Get("state"))
	if err != nil {
		c.fail(w, r, err)
		return
	}
	if code := params.Get("error"); code != "" {
		c.fail(w, r, &OPError{Code: code, Description: params.Get("error_description")})
		return
	}
	if iss := params.Get("iss"); iss != "" && iss != p.issuer {
		c.fail(w, r, &ValidationError{Message: "Invalid issuer in the authorization response"})
		return
	}
	code := params.Get("code")
	if code == "" {
		c.fail(w, r, &ValidationError{Message: "Authorization code not found in the callback"})
		return
	}
	session, err := c.exchange(r.Context(), p, code, as)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	if err := c.requestState(w, r).create(r.Context(), session); err != nil {
		c.fail(w, r, err)
		return
	}
	returnTo, ok := returnurl.Resolve(c.cfg.appURL, as.ReturnURL)
	if !ok {
		returnTo = c.appURL("/")
	}
	http.Redirect(w, r, returnTo, http.StatusFound)
}

// exchange redeems the authorization code and builds the new session.
func (c *Client) exchange(ctx context.Context, p *provider, code string, as *authState) (*Session, error) {
	resp, err := p.tokens.ExchangeCode(ctx, p.tokenURL, code, c.appURL(c.cfg.routes.Callback), as.CodeVerifier, strings.Fields(as.Resource))
	if err != nil {
		return nil, opError(err)
	}
	claims, err := c.verifyIDToken(ctx, resp.IDToken, idTokenCheck{nonce: as.Nonce, maxAge: as.MaxAge})
	if err != nil {
		return nil, err
	}
	user := User(c.userClaims(claims))
	var info map[string]any
	if c.cfg.userInfo && hasScope(resp.Scope, "openid") && p.userInfoURL != "" {
		if info, err = c.fetchUserInfo(ctx, resp.AccessToken, user.Subject()); err != nil {
			return nil, err
		}
		maps.Copy(user, info)
	}
	s := &Session{
		User:                user,
		IDToken:             resp.IDToken,
		RefreshToken:        resp.RefreshToken,
		AuthorizedScopes:    as.Scopes,
		AuthorizedResources: as.Resources,
		AccessTokens: []AccessToken{{
			AccessToken:           resp.AccessToken,
			AccessTokenExpiration: c.now().Unix() + resp.ExpiresIn,
			Scopes:                resp.Scope,
			Resource:              as.Resource,
			RequestedScopes:       as.Scopes,
		}},
	}
	if hook := c.cfg.opts.OnSessionCreating; hook != nil {
		if err := hook(ctx, s, claims, info, as.AppState); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// fetchUserInfo calls the userinfo endpoint and checks that it describes
// the session's user.
func (c *Client) fetchUserInfo(ctx context.Context, accessToken, sub string) (map[string]any, error) {
	p, err := c.provider(ctx)
	if err != nil {
		return nil, err
	}
	info, err := tokenendpoint.UserInfo(ctx, c.cfg.httpClient, p.userInfoURL, accessToken)
	if err != nil {
		return nil, opError(err)
	}
	if got, _ := info["sub"].(string); sub != "" && got != sub {
		return nil, &ValidationError{Message: "userinfo sub does not match the ID token sub"}
	}
	return info, nil
}

// userInfo answers the signed-in user's claims as JSON, or 204 without a
// session. With RefetchUserInfo it first refetches them from the provider.
func (c *Client) userInfo(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		methodNotAllowed(w, http.MethodGet)
		return
	}
	noCache(w)
	st := c.requestState(w, r)
	sc, err := st.lookup(r.Context())
	if err != nil {
		c.fail(w, r, err)
		return
	}
	if sc == nil {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	user := sc.Session.User
	if c.cfg.refetchUserInfo {
		u, err := c.refetchUserInfo(r.Context(), st)
		if err != nil {
			c.fail(w, r, err)
			return
		}
		user = u
	}
	writeJSON(w, http.StatusOK, user)
}

// signOut ends the session and, with FederatedSignOut, the provider's
// session through its end_session endpoint. The post_logout_url query
// parameter is honoured only on the app's origin. While the provider cannot
// be reached, a federated sign-out answers 503 and ends nothing, so that a
// retry ends the session here and at the provider.
//
// A request the browser marks Sec-Fetch-Site: cross-site (a link, redirect
// or form of another site, which the Lax session cookie follows) ends
// nothing here or at the provider: it gets a page asking the user to
// confirm, whose link repeats the sign-out from the app's origin. Requests
// marked same-origin, same-site (another host of the same registrable
// domain, which SameSite cookies already trust and which can set cookies
// for the app's domain) or none (typed, bookmarked), and requests without
// the header (older browsers, scripts), sign out at once.
func (c *Client) signOut(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		methodNotAllowed(w, http.MethodGet)
		return
	}
	noCache(w)
	if r.Header.Get("Sec-Fetch-Site") == "cross-site" {
		c.confirmSignOut(w, r)
		return
	}
	returnTo := c.appURL("/")
	if u, ok := c.resolveReturnURL(c.cfg.postLogoutURL); ok {
		returnTo = u
	}
	if v := r.URL.Query().Get("post_logout_url"); v != "" {
		if u, ok := c.resolveReturnURL(v); ok {
			returnTo = u
		}
	}
	st := c.requestState(w, r)
	sc, err := st.lookup(r.Context())
	if err != nil {
		c.fail(w, r, err)
		return
	}
	if sc == nil {
		http.Redirect(w, r, returnTo, http.StatusFound)
		return
	}
	var p *provider
	if c.cfg.federated {
		// Before anything ends: a retry must still end both sessions.
		if p, err = c.provider(r.Context()); err != nil {
			c.fail(w, r, err)
			return
		}
	}
	if err := st.destroy(r.Context()); err != nil {
		c.fail(w, r, err)
		return
	}
	if p != nil {
		if u, ok := p.endSession(c.cfg.clientID, sc.Session.IDToken, returnTo); ok {
			returnTo = u
		}
	}
	http.Redirect(w, r, returnTo, http.StatusFound)
}

// backChannelLogout verifies a logout token (OpenID Connect Back-Channel
// Logout 1.0), revokes the matching sessions and calls OnBackChannelLogout.
// Invalid tokens get 400, as the specification asks.
func (c *Client) backChannelLogout(w http.ResponseWriter, r *http.Request) {
	noCache(w)
	if r.Method != http.MethodPost {
		methodNotAllowed(w, http.MethodPost)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	token := r.PostFormValue("logout_token")
	if token == "" {
		c.fail(w, r, &ValidationError{Message: "Missing Logout Token"})
		return
	}
	p, err := c.provider(r.Context())
	if err != nil {
		c.fail(w, r, err)
		return
	}
	lt, err := c.verifyLogoutToken(r.Context(), p, token)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	// Marked used before anything else, so that two copies arriving at once
	// are not both served.
	if !c.logoutJTIs.Add(lt.TokenID, struct{}{}, c.now()) {
		c.fail(w, r, &TokenError{Message: "Invalid logout token: already used"})
		return
	}
	c.revocations.add(lt.Subject, lt.SessionID, c.now())
	if hook := c.cfg.opts.OnBackChannelLogout; hook != nil {
		if err := hook(r.Context(), lt.Subject, lt.SessionID); err != nil {
			c.logoutJTIs.Delete(lt.TokenID) // the provider may retry
			c.fail(w, r, err)
			return
		}
	}
	w.WriteHeader(http.StatusOK)
}

// fail answers an auth route's error: through Options.OnError when set,
// else with a status that fits the error and a plain-text body.
func (c *Client) fail(w http.ResponseWriter, r *http.Request, err error) {
	hook := c.cfg.opts.OnError
	if st := stateFrom(r.Context()); st != nil && st.onError != nil {
		hook = st.onError
	}
	if hook != nil {
		hook(w, r, err)
		return
	}
	status := errorStatus(err)
	if status >= 500 {
		c.cfg.logger.ErrorContext(r.Context(), "monocloud: auth route failed", "path", r.URL.Path, "error", err)
	} else {
		c.cfg.logger.WarnContext(r.Context(), "monocloud: auth route refused a request", "path", r.URL.Path, "error", err)
	}
	// The details stay in the log: they may hold internal addresses, and
	// error_description on the callback is attacker-supplied text.
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(http.StatusText(status) + "\n"))
}

// errorStatus maps an error to the HTTP status of an auth route's answer.
func errorStatus(err error) int {
	var (
		ve *ValidationError
		oe *OPError
		te *TokenError
		he *HTTPError
		se *StoreError
	)
	switch {
	case errors.As(err, &se), errors.Is(err, ErrProviderUnavailable):
		return http.StatusServiceUnavailable
	case errors.As(err, &oe), errors.As(err, &ve), errors.As(err, &te):
		return http.StatusBadRequest
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout
	case errors.As(err, &he):
		return http.StatusBadGateway
	}
	return http.StatusInternalServerError
}

func methodNotAllowed(w http.ResponseWriter, allowed ...string) {
	w.Header().Set("Allow", strings.Join(allowed, ", "))
	w.WriteHeader(http.StatusMethodNotAllowed)
}

func noCache(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-cache, no-store")
	w.Header().Set("Pragma", "no-cache")
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// randomString returns 32 random bytes, base64url-encoded.
func randomString() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// mergeLists joins space-separated lists, dropping duplicates and keeping
// the first occurrence.
func mergeLists(lists ...string) string {
	var out []string
	for _, l := range lists {
		for _, item := range strings.Fields(l) {
			if !slices.Contains(out, item) {
				out = append(out, item)
			}
		}
	}
	return strings.Join(out, " ")
}

func indicatorField(inds []Indicator, resource bool) string {
	var parts []string
	for _, ind := range inds {
		if resource {
			parts = append(parts, ind.Resource)
		} else {
			parts = append(parts, ind.Scopes)
		}
	}
	return strings.Join(parts, " ")
}

func allValidResources(s string) bool {
	for _, item := range strings.Fields(s) {
		if !validResource(item) {
			return false
		}
	}
	return true
}

// hasScope reports whether the space-separated scopes contain scope.
func hasScope(scopes, scope string) bool { return slices.Contains(strings.Fields(scopes), scope) }
