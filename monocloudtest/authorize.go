package monocloudtest

import (
	"crypto/rand"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// codeTTL is the lifetime of authorization codes.
const codeTTL = 10 * time.Minute

// Response modes (OAuth 2.0 Multiple Response Type Encoding Practices and
// OAuth 2.0 Form Post Response Mode).
const (
	responseModeQuery    = "query"
	responseModeFormPost = "form_post"
)

// authRequest is an authorization request (OpenID Connect Core 1.0, section
// 3.1.2.1).
type authRequest struct {
	redirectURI   string
	responseMode  string
	state         string
	nonce         string
	scopes        []string
	resources     []string // RFC 8707 resource indicators
	codeChallenge string   // S256
}

// authCode is an issued authorization code and what it was issued for.
type authCode struct {
	authRequest
	user     User
	authTime time.Time
	sid      string
	expiry   time.Time
	redeemed bool
	grant    *grant // the grant issued for the code, if any
}

// SetAuthorizeError makes the next authorization request that names the
// right client and a valid redirect_uri fail: the user is sent back to the
// client with error=code, error_description=description, state and iss.
func (p *Provider) SetAuthorizeError(code, description string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.authorizeError = &oauthError{Code: code, Description: description}
}

// LastAuthorizeRequest returns the parameters of the last authorization
// request, or nil if there was none. For a request by reference to a pushed
// authorization request, they are the pushed parameters plus request_uri.
func (p *Provider) LastAuthorizeRequest() url.Values {
	p.mu.Lock()
	defer p.mu.Unlock()
	return cloneValues(p.lastAuthorizeRequest)
}

// serveAuthorize serves the authorization endpoint for a user who consents
// to everything: the configured user, who is already signed in, or with
// Config.Users the user chosen on the sign-in page. Requests with a wrong
// client_id, redirect_uri or PKCE challenge get an error page; other errors
// are sent to the client's redirect_uri.
func (p *Provider) serveAuthorize(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "monocloudtest: "+err.Error(), http.StatusBadRequest)
		return
	}
	form := cloneValues(r.Form)
	chosen := form.Get(userField)
	form.Del(userField)
	p.mu.Lock()
	params, err := p.resolveRequestURI(form)
	p.lastAuthorizeRequest = params
	p.mu.Unlock()
	if err == nil {
		err = p.checkClient(params)
	}
	if err != nil {
		http.Error(w, "monocloudtest: "+err.Error(), http.StatusBadRequest)
		return
	}

	req, err := parseAuthRequest(params)
	user, ok := p.signingInUser(chosen)
	if err == nil && !ok {
		p.writeSignInPage(w, params)
		return
	}
	p.mu.Lock()
	if p.authorizeError != nil {
		err, p.authorizeError = p.authorizeError, nil
	}
	var code string
	if err == nil {
		code = p.issueCode(req, user)
	}
	p.mu.Unlock()

	if err != nil {
		p.respond(w, r, req, url.Values{"error": {err.Code}, "error_description": {err.Description}})
		return
	}
	p.respond(w, r, req, url.Values{"code": {code}})
}

// checkClient validates the parameters that must be right before the user may
// be sent back to the client: client_id, redirect_uri and, as this provider
// requires PKCE, the code challenge.
func (p *Provider) checkClient(params url.Values) *oauthError {
	if id := params.Get("client_id"); id != p.cfg.ClientID {
		return errorf("invalid_request", "unknown client_id %q", id)
	}
	if err := checkRedirectURI(params.Get("redirect_uri")); err != nil {
		return err
	}
	if params.Get("code_challenge") == "" {
		return errorf("invalid_request", "code_challenge is required")
	}
	if method := params.Get("code_challenge_method"); method != "S256" {
		return errorf("invalid_request", "code_challenge_method must be S256, not %q", method)
	}
	return nil
}

// checkRedirectURI reports whether uri is an absolute http(s) URL without a
// fragment. Any such URL is accepted as registered.
func checkRedirectURI(uri string) *oauthError {
	u, err := url.Parse(uri)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Fragment != "" {
		return errorf("invalid_request", "redirect_uri %q is not an absolute http(s) URL without a fragment", uri)
	}
	return nil
}

// parseAuthRequest returns the authorization request made of params, which
// checkClient accepted, and checks its remaining parameters. The request is
// returned even when they are invalid, so that the error can be sent to its
// redirect_uri.
func parseAuthRequest(params url.Values) (authRequest, *oauthError) {
	req := authRequest{
		redirectURI:   params.Get("redirect_uri"),
		responseMode:  params.Get("response_mode"),
		state:         params.Get("state"),
		nonce:         params.Get("nonce"),
		scopes:        strings.Fields(params.Get("scope")),
		resources:     params["resource"],
		codeChallenge: params.Get("code_challenge"),
	}
	if mode := req.responseMode; mode != "" && mode != responseModeQuery && mode != responseModeFormPost {
		return req, errorf("invalid_request", "unsupported response_mode %q", mode)
	}
	if responseType := params.Get("response_type"); responseType != "code" {
		return req, errorf("unsupported_response_type", "response_type must be code, not %q", responseType)
	}
	if req.state == "" {
		return req, errorf("invalid_request", "state is required")
	}
	if req.nonce == "" {
		return req, errorf("invalid_request", "nonce is required")
	}
	if !slices.Contains(req.scopes, "openid") {
		return req, errorf("invalid_scope", "scope must include openid")
	}
	if maxAge := params.Get("max_age"); maxAge != "" {
		if n, err := strconv.Atoi(maxAge); err != nil || n < 0 {
			return req, errorf("invalid_request", "max_age %q is not a non-negative integer", maxAge)
		}
	}
	for _, resource := range req.resources {
		if u, err := url.Parse(resource); err != nil || !u.IsAbs() || u.Fragment != "" {
			return req, errorf("invalid_target", "resource %q is not an absolute URI without a fragment", resource)
		}
	}
	return req, nil
}

// issueCode issues an authorization code for req, signing user in anew.
// p.mu must be held.
func (p *Provider) issueCode(req authRequest, user User) string {
	now := p.now()
	code := rand.Text()
	p.codes[code] = &authCode{
		authRequest: req,
		user:        user,
		authTime:    now,
		sid:         rand.Text(),
		expiry:      now.Add(codeTTL),
	}
	return code
}

// respond sends the authorization response params, plus state and iss
// (RFC 9207), to the client's redirect_uri in the request's response mode.
func (p *Provider) respond(w http.ResponseWriter, r *http.Request, req authRequest, params url.Values) {
	if req.state != "" {
		params.Set("state", req.state)
	}
	params.Set("iss", p.Issuer())
	if req.responseMode == responseModeFormPost {
		writeFormPost(w, req.redirectURI, params)
		return
	}
	u, _ := url.Parse(req.redirectURI) // checkClient validated it
	query := u.Query()
	for name, values := range params {
		query[name] = values
	}
	u.RawQuery = query.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
}
