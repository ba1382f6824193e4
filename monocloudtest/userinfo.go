package monocloudtest

import (
	"fmt"
	"io"
	"maps"
	"net/http"
	"strings"
)

// serveUserinfo serves the userinfo endpoint (OpenID Connect Core 1.0,
// section 5.3): the configured claims of the user, for a valid access token.
func (p *Provider) serveUserinfo(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	p.userinfoRequests++
	fault := p.userinfoFault
	p.mu.Unlock()
	if fault.intercept(w, r, p.closed) {
		return
	}

	token, ok := bearerToken(r)
	if !ok {
		// RFC 6750, section 3.1: no error code for a request without a token.
		w.Header().Set("WWW-Authenticate", `Bearer realm="monocloudtest"`)
		http.Error(w, "monocloudtest: a bearer access token is required", http.StatusUnauthorized)
		return
	}
	p.mu.Lock()
	user, err := p.checkAccessToken(token)
	p.mu.Unlock()
	if err != nil {
		w.Header().Set("WWW-Authenticate",
			fmt.Sprintf(`Bearer error=%q, error_description=%q`, err.Code, err.Description))
		writeJSON(w, http.StatusUnauthorized, err)
		return
	}

	claims := maps.Clone(user.Claims)
	if claims == nil {
		claims = make(map[string]any)
	}
	claims["sub"] = user.Subject
	if !p.cfg.SignedUserinfo {
		writeJSON(w, http.StatusOK, claims)
		return
	}
	claims["iss"] = p.Issuer()
	claims["aud"] = p.cfg.ClientID
	jwt, signErr := p.signingKey().sign(typJWT, claims)
	if signErr != nil {
		http.Error(w, "monocloudtest: "+signErr.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/jwt")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = io.WriteString(w, jwt)
}

// UserinfoRequests returns the number of requests the userinfo endpoint
// received, faulty ones included.
func (p *Provider) UserinfoRequests() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.userinfoRequests
}

// bearerToken returns the access token in the Authorization header of r
// (RFC 6750, section 2.1).
func bearerToken(r *http.Request) (string, bool) {
	scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	return token, strings.EqualFold(scheme, "Bearer") && token != ""
}

// checkAccessToken returns the user token was issued for, or why it is not
// a valid access token. p.mu must be held.
func (p *Provider) checkAccessToken(token string) (User, *oauthError) {
	at, ok := p.accessTokens[token]
	switch {
	case !ok:
		return User{}, errorf("invalid_token", "unknown access token")
	case at.grant.revoked:
		return User{}, errorf("invalid_token", "access token revoked")
	case p.now().After(at.expiry):
		return User{}, errorf("invalid_token", "access token expired")
	}
	return at.grant.user, nil
}
