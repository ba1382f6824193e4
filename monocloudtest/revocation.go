package monocloudtest

import "net/http"

// serveRevocation serves the token revocation endpoint (RFC 7009). Revoking
// a refresh token revokes its whole grant; revoking an access token revokes
// only that token.
func (p *Provider) serveRevocation(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeError(w, errorf("invalid_request", "%v", err))
		return
	}
	if !p.authenticateClient(w, r) {
		return
	}
	token := r.PostForm.Get("token")
	if token == "" {
		writeError(w, errorf("invalid_request", "token is required"))
		return
	}
	p.mu.Lock()
	if rt, ok := p.refreshTokens[token]; ok {
		rt.grant.revoked = true
	}
	delete(p.accessTokens, token)
	p.mu.Unlock()
	// Unknown tokens are not an error (RFC 7009, section 2.2).
	w.WriteHeader(http.StatusOK)
}
