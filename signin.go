package monocloud

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"maps"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/monocloud/auth-go/internal/cookie"
	"github.com/monocloud/auth-go/internal/provider"
	"github.com/monocloud/auth-go/internal/returnurl"
)

// signIn starts the authorization code flow with PKCE and redirects to the
// provider. Unless Options.AllowQueryParamOverrides is off, it accepts the
// query parameters return_url, scope, resource, audience, prompt,
// login_hint, authenticator_hint, display, ui_locales, acr_values and
// max_age (see queryAuthParams); return_url is honoured only on the app's
// origin, and only if the state cookie stays within cookie.MaxSize with it
// (else the user returns to the app's root). A state cookie still too large (application state,
// scope, resource) is a *ValidationError, answered before the redirect.
// o (checked by SignInHandler) adds to the client's options: see
// SignInOptions.
func (c *Client) signIn(w http.ResponseWriter, r *http.Request, o *SignInOptions) {
	if !c.startAuthRoute(w, r, http.MethodGet) {
		return
	}
	rt := route{onError: o.OnError}
	op, err := c.provider(r.Context())
	if err != nil {
		c.fail(w, r, rt, err)
		return
	}
	q := c.queryOverrides(r)
	p, resources, exchangeResource := c.signInParams(o, q)
	scopes := p.Scopes
	returnTo := cmp.Or(o.ReturnURL, c.cfg.appRoot)
	if v := q.Get("return_url"); v != "" {
		if u, ok := c.resolveReturnURL(v); ok {
			returnTo = u
		}
	}
	var appState map[string]any
	if hook := c.cfg.opts.OnSetApplicationState; hook != nil {
		s, err := hook(r)
		if err != nil {
			c.fail(w, r, rt, err)
			return
		}
		if s == nil {
			c.fail(w, r, rt, &ValidationError{Message: "Invalid Application State. Expected state to be an object"})
			return
		}
		appState = s
	}

	state, nonce, verifier := randomString(), randomString(), randomString()
	challenge := sha256.Sum256([]byte(verifier))
	params := url.Values{
		"client_id":             {c.cfg.opts.ClientID},
		"redirect_uri":          {cmp.Or(o.RedirectURI, c.appURL(c.cfg.opts.Routes.Callback))},
		"scope":                 {scopes},
		"response_type":         {"code"},
		"nonce":                 {nonce},
		"state":                 {state},
		"code_challenge":        {base64.RawURLEncoding.EncodeToString(challenge[:])},
		"code_challenge_method": {"S256"},
	}
	for _, f := range authParamFields {
		if v := *f.field(&p); v != "" {
			params.Set(f.name, v)
		}
	}
	if p.MaxAge != nil {
		params.Set("max_age", strconv.Itoa(*p.MaxAge))
	}
	for _, res := range strings.Fields(resources) {
		params.Add("resource", res)
	}

	as := &signInTxn{Nonce: nonce, CodeVerifier: verifier, ReturnURL: returnTo, MaxAge: p.MaxAge, Resource: exchangeResource, Resources: resources, Scopes: scopes, AppState: appState, RedirectURI: o.RedirectURI}
	formPost := p.ResponseMode == "form_post"
	stateCookie, err := c.stateCookie(state, as, formPost)
	started := OutcomeOK
	if errors.Is(err, cookie.ErrTooLarge) && as.ReturnURL != c.cfg.appRoot {
		// Dropped, as a malformed return_url is, rather than a cookie
		// the browser would drop.
		started = OutcomeReturnURLDropped
		as.ReturnURL = c.cfg.appRoot
		stateCookie, err = c.stateCookie(state, as, formPost)
	}
	if err != nil {
		c.fail(w, r, rt, err)
		return
	}

	authorize := op.authURL
	if *c.cfg.opts.UsePAR {
		requestURI, err := op.tokens.PushAuthorization(r.Context(), op.parURL, params)
		if err != nil {
			c.failProvider(w, r, rt, opError(err))
			return
		}
		params = url.Values{"client_id": {c.cfg.opts.ClientID}, "request_uri": {requestURI}}
	}
	c.expireOldStates(w, r, len(stateCookie.Name)+len(stateCookie.Value))
	http.SetCookie(w, stateCookie)
	sep := "?"
	if strings.Contains(authorize, "?") {
		sep = "&"
	}
	c.emit(r.Context(), Event{Kind: EventSignInStarted, Outcome: started})
	redirect(w, r, authorize+sep+params.Encode())
}

// callback completes sign-in: it checks the state, exchanges the code,
// validates the ID token, fetches userinfo (option UserInfo, or
// o.UserInfo), creates the session, ends the other sign-ins under way in
// the browser and redirects to the return URL. It
// accepts GET and form_post. An error answered by the provider becomes an
// *OPError.
func (c *Client) callback(w http.ResponseWriter, r *http.Request, o *CallbackOptions) {
	if !c.startAuthRoute(w, r, http.MethodGet, http.MethodPost) {
		return
	}
	rt := route{onError: o.OnError, callback: true}
	params := r.URL.Query()
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		if err := r.ParseForm(); err != nil {
			c.fail(w, r, rt, &ValidationError{Message: "Invalid callback body", Err: err})
			return
		}
		params = r.PostForm
	}
	p, err := c.provider(r.Context())
	if err != nil {
		c.fail(w, r, rt, err) // the state is kept: the callback can be retried
		return
	}
	as, err := c.takeSignInTxn(w, r, params.Get("state"))
	if err != nil {
		c.fail(w, r, rt, err)
		return
	}
	if code := params.Get("error"); code != "" {
		c.fail(w, r, rt, &OPError{Code: code, Description: params.Get("error_description")})
		return
	}
	if iss := params.Get("iss"); iss != "" && iss != p.issuer {
		c.fail(w, r, rt, &ValidationError{Message: "Invalid issuer in the authorization response"})
		return
	}
	code := params.Get("code")
	if code == "" {
		c.fail(w, r, rt, &ValidationError{Message: "Authorization code not found in the callback"})
		return
	}
	if o.RedirectURI != "" && o.RedirectURI != c.callbackURL(as) {
		c.fail(w, r, rt, &ValidationError{Message: "The sign-in sent the redirect URI " + c.callbackURL(as) + ", not this callback's " + o.RedirectURI})
		return
	}
	session, claims, info, err := c.exchange(r.Context(), p, code, as, boolOr(o.UserInfo, *c.cfg.opts.UserInfo))
	if err != nil {
		c.failProvider(w, r, rt, err)
		return
	}
	if hook := c.cfg.opts.OnSessionCreating; hook != nil {
		if err := hook(r.Context(), session, claims, info, as.AppState); err != nil {
			c.fail(w, r, rt, err)
			return
		}
	}
	st := c.reqState(r.Context()) // the auth routes are served with their request state
	if err := st.create(r.Context(), session); err != nil {
		c.fail(w, r, rt, err)
		return
	}
	if sc, err := st.lookup(r.Context()); err == nil && sc != nil {
		c.emit(r.Context(), Event{Kind: EventSignInCompleted, Session: sessionTag(sc.Key)})
	}
	c.clearStates(w, r, c.stateCookieName(params.Get("state")))
	returnTo, ok := returnurl.Resolve(c.cfg.appURL, as.ReturnURL)
	if !ok {
		returnTo = c.cfg.appRoot
	}
	redirect(w, r, returnTo)
}

// exchange redeems the authorization code and builds the new session,
// with the userinfo claims when userInfo is set. It returns the ID token's
// claims and the userinfo claims too, for OnSessionCreating. Its errors are
// the provider's doing: a refusal, or an answer that fails a check.
func (c *Client) exchange(ctx context.Context, p *discoveredOP, code string, as *signInTxn, userInfo bool) (s *Session, claims, info map[string]any, err error) {
	resp, err := p.tokens.ExchangeCode(ctx, p.tokenURL, code, c.callbackURL(as), as.CodeVerifier, strings.Fields(as.Resource))
	if err != nil {
		return nil, nil, nil, opError(err)
	}
	claims, err = p.verifyIDToken(ctx, resp.IDToken, provider.IDTokenCheck{Nonce: as.Nonce, MaxAge: as.MaxAge})
	if err != nil {
		return nil, nil, nil, err
	}
	user := User(c.withoutFilteredClaims(claims))
	if userInfo && hasScope(resp.Scope, "openid") && p.userInfoURL != "" {
		if info, err = c.fetchUserInfo(ctx, p, resp.AccessToken, user.Subject()); err != nil {
			return nil, nil, nil, err
		}
		maps.Copy(user, info)
	}
	s = &Session{
		User:                user,
		IDToken:             resp.IDToken,
		RefreshToken:        resp.RefreshToken,
		AuthorizedScopes:    as.Scopes,
		AuthorizedResources: as.Resources,
		AccessTokens: []AccessToken{{
			AccessToken:           resp.AccessToken,
			AccessTokenExpiration: expiration(resp.Expiry),
			Scopes:                resp.Scope,
			Resource:              as.Resource,
			RequestedScopes:       as.Scopes,
		}},
	}
	return s, claims, info, nil
}

// signInParams returns the authorization parameters of one sign-in, with
// the scopes to request in p.Scopes: the defaults (with those of
// Options.Resources), overlaid with o's, then with the request's query
// parameters. It also returns the resources to request, and the one to
// exchange the code for (its token is filed under it).
func (c *Client) signInParams(o *SignInOptions, q url.Values) (p AuthParams, resources, exchangeResource string) {
	p = c.cfg.opts.DefaultAuthParams
	p.Scopes = mergeLists(p.Scopes, indicatorField(c.cfg.opts.Resources, false))
	resources = mergeLists(p.Resource, indicatorField(c.cfg.opts.Resources, true))
	exchangeResource = p.Resource
	own, query := o.AuthParams, queryAuthParams(q)
	if o.Register {
		own.Prompt = "create"
	}
	for _, over := range []AuthParams{own, query} {
		if over.Scopes != "" {
			p.Scopes = over.Scopes
		}
		if over.Resource != "" {
			resources = over.Resource
			// Exchange the code for the requested resource and file the
			// token under it. Providers refuse several resources in one
			// token request (RFC 8707 allows them to), so with several
			// the code is exchanged for the default resource.
			exchangeResource = c.cfg.opts.DefaultAuthParams.Resource
			if len(strings.Fields(over.Resource)) == 1 {
				exchangeResource = over.Resource
			}
		}
		for _, f := range authParamFields {
			if v := *f.field(&over); v != "" {
				*f.field(&p) = v
			}
		}
		if over.MaxAge != nil {
			p.MaxAge = over.MaxAge
		}
	}
	return p, resources, exchangeResource
}

// authParamFields are the fields of AuthParams sent as they are, by the
// name of their authorization request parameter; Scopes, Resource and
// MaxAge are read and checked apart. The sign-in route's query carries
// those marked query (SignInURL writes them), not response_mode or
// id_token_hint.
var authParamFields = []struct {
	name  string
	field func(*AuthParams) *string
	query bool
}{
	{"prompt", func(p *AuthParams) *string { return &p.Prompt }, true},
	{"login_hint", func(p *AuthParams) *string { return &p.LoginHint }, true},
	{"authenticator_hint", func(p *AuthParams) *string { return &p.AuthenticatorHint }, true},
	{"display", func(p *AuthParams) *string { return &p.Display }, true},
	{"ui_locales", func(p *AuthParams) *string { return &p.UILocales }, true},
	{"acr_values", func(p *AuthParams) *string { return &p.ACRValues }, true},
	{"audience", func(p *AuthParams) *string { return &p.Audience }, true},
	{"response_mode", func(p *AuthParams) *string { return &p.ResponseMode }, false},
	{"id_token_hint", func(p *AuthParams) *string { return &p.IDTokenHint }, false},
}

// queryAuthParams returns the authorization parameters of the sign-in
// route's query; invalid values (scopes without openid, a resource that is
// not a URL, a max_age that is not a number) are ignored.
func queryAuthParams(q url.Values) AuthParams {
	var p AuthParams
	for _, f := range authParamFields {
		if f.query {
			*f.field(&p) = q.Get(f.name)
		}
	}
	p.ACRValues = joinFields(p.ACRValues)
	if scopes := joinFields(q.Get("scope")); hasScope(scopes, "openid") {
		p.Scopes = scopes
	}
	if res := joinFields(q.Get("resource")); res != "" && allValidResources(res) {
		p.Resource = res
	}
	if v, err := strconv.Atoi(q.Get("max_age")); err == nil && v >= 0 {
		p.MaxAge = &v
	}
	return p
}
