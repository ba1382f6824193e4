package monocloudtest

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Grant types (RFC 6749).
const (
	grantAuthorizationCode = "authorization_code"
	grantRefreshToken      = "refresh_token"
)

// grant is the authorization the user gave to the client in one
// authorization request, from which all tokens of a code exchange and its
// refreshes derive.
type grant struct {
	user      User
	scopes    []string
	resources []string
	authTime  time.Time
	sid       string
	revoked   bool // by code replay, refresh token reuse or revocation
}

// refreshToken is an issued refresh token.
type refreshToken struct {
	grant    *grant
	consumed bool // by rotation
}

// accessToken is an issued access token.
type accessToken struct {
	grant  *grant
	expiry time.Time
}

// tokenResponse is a successful token response (OpenID Connect Core 1.0,
// section 3.1.3.3).
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    *int64 `json:"expires_in,omitempty"` // nil with Config.OmitExpiresIn
	Scope        string `json:"scope"`
	IDToken      string `json:"id_token"`
	RefreshToken string `json:"refresh_token,omitempty"`
}

// CodeGrants returns the number of authorization_code grant requests that
// reached the token endpoint, failed ones included.
func (p *Provider) CodeGrants() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.codeGrants
}

// RefreshGrants returns the number of refresh_token grant requests that
// reached the token endpoint, failed ones included.
func (p *Provider) RefreshGrants() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.refreshGrants
}

// ReuseDetected returns the number of times a consumed refresh token was
// presented again.
func (p *Provider) ReuseDetected() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.reuseDetected
}

// LastTokenRequest returns the form of the last token request, or nil if
// there was none.
func (p *Provider) LastTokenRequest() url.Values {
	p.mu.Lock()
	defer p.mu.Unlock()
	return cloneValues(p.lastTokenRequest)
}

// AuthMethod returns the client authentication method of the last token
// request: "client_secret_basic", "client_secret_post", "client_secret_jwt",
// "private_key_jwt", or "" if it had no client credentials or there was none.
func (p *Provider) AuthMethod() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lastAuthMethod
}

// serveToken serves the token endpoint.
func (p *Provider) serveToken(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeError(w, errorf("invalid_request", "%v", err))
		return
	}
	p.mu.Lock()
	p.lastTokenRequest = cloneValues(r.PostForm)
	p.lastAuthMethod = clientAuthMethod(r)
	switch r.PostForm.Get("grant_type") {
	case grantAuthorizationCode:
		p.codeGrants++
	case grantRefreshToken:
		p.refreshGrants++
	}
	fault := p.tokenFault
	p.mu.Unlock()

	if fault.intercept(w, r, p.closed) || !p.authenticateClient(w, r) {
		return
	}
	p.mu.Lock()
	resp, err := p.grantTokens(r.PostForm)
	p.mu.Unlock()
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// grantTokens serves the token request form of the authenticated client.
// p.mu must be held.
func (p *Provider) grantTokens(form url.Values) (*tokenResponse, error) {
	switch grantType := form.Get("grant_type"); grantType {
	case grantAuthorizationCode:
		return p.exchangeCode(form)
	case grantRefreshToken:
		return p.refresh(form)
	case "":
		return nil, errorf("invalid_request", "grant_type is required")
	default:
		return nil, errorf("unsupported_grant_type", "unsupported grant_type %q", grantType)
	}
}

// exchangeCode serves an authorization_code grant request. A code can be
// presented once; presenting it again revokes the tokens issued for it.
// p.mu must be held.
func (p *Provider) exchangeCode(form url.Values) (*tokenResponse, error) {
	code, ok := p.codes[form.Get("code")]
	if !ok {
		return nil, errorf("invalid_grant", "unknown authorization code")
	}
	if code.redeemed {
		if code.grant != nil {
			code.grant.revoked = true
		}
		return nil, errorf("invalid_grant", "authorization code already used; tokens issued for it are revoked")
	}
	code.redeemed = true

	verifier := form.Get("code_verifier")
	switch {
	case p.now().After(code.expiry):
		return nil, errorf("invalid_grant", "authorization code expired")
	case form.Get("redirect_uri") != code.redirectURI:
		return nil, errorf("invalid_grant", "redirect_uri does not match the authorization request")
	case verifier == "":
		return nil, errorf("invalid_request", "code_verifier is required")
	case !pkceVerified(verifier, code.codeChallenge):
		return nil, errorf("invalid_grant", "code_verifier does not match the code_challenge")
	}
	audience, err := p.audience(form["resource"], code.resources)
	if err != nil {
		return nil, err
	}
	code.grant = &grant{
		user:      code.user,
		scopes:    code.scopes,
		resources: code.resources,
		authTime:  code.authTime,
		sid:       code.sid,
	}
	return p.issue(code.grant, p.scopesAt(code.scopes, form["resource"]), audience, code.nonce, true)
}

// refresh serves a refresh_token grant request. Unless rotation is disabled,
// the refresh token is consumed, and presenting it again revokes the grant.
// p.mu must be held.
func (p *Provider) refresh(form url.Values) (*tokenResponse, error) {
	rt, ok := p.refreshTokens[form.Get("refresh_token")]
	switch {
	case !ok:
		return nil, errorf("invalid_grant", "unknown refresh token")
	case rt.consumed:
		p.reuseDetected++
		rt.grant.revoked = true
		return nil, errorf("invalid_grant", "refresh token already used; the grant is revoked")
	case rt.grant.revoked:
		return nil, errorf("invalid_grant", "the grant is revoked")
	}

	scopes := rt.grant.scopes
	if scope := form.Get("scope"); scope != "" {
		scopes = strings.Fields(scope)
		for _, s := range scopes {
			if !slices.Contains(rt.grant.scopes, s) {
				return nil, errorf("invalid_scope", "scope %q was not granted", s)
			}
		}
	}
	audience, err := p.audience(form["resource"], rt.grant.resources)
	if err != nil {
		return nil, err
	}
	rotate := !p.cfg.DisableRotation
	rt.consumed = rotate
	return p.issue(rt.grant, p.scopesAt(scopes, form["resource"]), audience, "", rotate)
}

// scopesAt returns the scopes of a token requested for resources: those
// of scopes that Config.ResourceScopes lists for one of them, or all of
// scopes when it lists none of the resources.
func (p *Provider) scopesAt(scopes, resources []string) []string {
	var accepted []string
	listed := false
	for _, r := range resources {
		if s, ok := p.cfg.ResourceScopes[r]; ok {
			listed = true
			accepted = append(accepted, s...)
		}
	}
	if !listed {
		return scopes
	}
	return slices.DeleteFunc(slices.Clone(scopes), func(s string) bool { return !slices.Contains(accepted, s) })
}

// audience returns the audience of an access token for the requested
// resources, each of which must be authorized. Without requested resources,
// the token is for all authorized ones, or for the client when there are
// none (RFC 8707).
func (p *Provider) audience(requested, authorized []string) ([]string, error) {
	for _, resource := range requested {
		if !slices.Contains(authorized, resource) {
			return nil, errorf("invalid_target", "resource %q was not authorized", resource)
		}
	}
	switch {
	case len(requested) > 0:
		return requested, nil
	case len(authorized) > 0:
		return authorized, nil
	default:
		return []string{p.cfg.ClientID}, nil
	}
}

// issue issues an access token for scopes and audience, an ID token with the
// given nonce (none if empty) and, if withRefresh is set, a refresh token,
// all from grant g. p.mu must be held.
func (p *Provider) issue(g *grant, scopes, audience []string, nonce string, withRefresh bool) (*tokenResponse, error) {
	now := p.now()
	scope := strings.Join(scopes, " ")
	accessExpiry := now.Add(p.cfg.AccessTokenTTL)
	var aud any = audience
	if len(audience) == 1 {
		aud = audience[0]
	}
	at := rand.Text()
	if !p.cfg.OpaqueAccessTokens {
		var err error
		at, err = p.key.sign(typAccessToken, map[string]any{
			"iss":       p.Issuer(),
			"sub":       g.user.Subject,
			"aud":       aud,
			"client_id": p.cfg.ClientID,
			"scope":     scope,
			"iat":       now.Unix(),
			"exp":       accessExpiry.Unix(),
			"jti":       rand.Text(),
		})
		if err != nil {
			return nil, err
		}
	}

	claims := maps.Clone(g.user.Claims)
	if claims == nil {
		claims = make(map[string]any)
	}
	maps.Copy(claims, map[string]any{
		"iss":       p.Issuer(),
		"sub":       g.user.Subject,
		"aud":       p.cfg.ClientID,
		"iat":       now.Unix(),
		"exp":       now.Add(p.cfg.IDTokenTTL).Unix(),
		"auth_time": g.authTime.Unix(),
		"sid":       g.sid,
		"at_hash":   accessTokenHash(at),
	})
	if nonce != "" {
		claims["nonce"] = nonce
	}
	if p.idTokenEdit != nil {
		p.idTokenEdit(claims)
	}
	idToken, err := p.key.sign(typJWT, claims)
	if err != nil {
		return nil, err
	}

	p.accessTokens[at] = &accessToken{grant: g, expiry: accessExpiry}
	resp := &tokenResponse{
		AccessToken: at,
		TokenType:   "Bearer",
		Scope:       scope,
		IDToken:     idToken,
	}
	if !p.cfg.OmitExpiresIn {
		expiresIn := int64(p.cfg.AccessTokenTTL / time.Second)
		resp.ExpiresIn = &expiresIn
	}
	if withRefresh {
		resp.RefreshToken = rand.Text()
		p.refreshTokens[resp.RefreshToken] = &refreshToken{grant: g}
	}
	return resp, nil
}

// pkceVerified reports whether verifier is a well-formed PKCE code verifier
// matching the S256 challenge (RFC 7636, sections 4.1 and 4.6).
func pkceVerified(verifier, challenge string) bool {
	if len(verifier) < 43 || len(verifier) > 128 {
		return false
	}
	for _, c := range verifier {
		if !isUnreserved(c) {
			return false
		}
	}
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:]) == challenge
}

// isUnreserved reports whether c is an unreserved URI character (RFC 3986,
// section 2.3).
func isUnreserved(c rune) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

// accessTokenHash returns the at_hash ID token claim for access token at
// (OpenID Connect Core 1.0, section 3.1.3.6).
func accessTokenHash(at string) string {
	sum := sha256.Sum256([]byte(at))
	return base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2])
}
