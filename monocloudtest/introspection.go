package monocloudtest

import (
	"maps"
	"net/http"
	"strings"
	"time"
)

const introspectionPath = "/introspect"

// apiState is the provider's state for the APIs it issues tokens to.
type apiState struct {
	opaque             map[string]map[string]any // claims of opaque tokens, by token
	introspections     int
	introspectionFault Fault
}

// IntrospectionRequests returns the number of requests to the
// introspection endpoint, faulty ones included.
func (p *Provider) IntrospectionRequests() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.api.introspections
}

// SetIntrospectionFault applies f to every request to the introspection
// endpoint until it is cleared with SetIntrospectionFault(Fault{}).
func (p *Provider) SetIntrospectionFault(f Fault) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.api.introspectionFault = f
}

// serveIntrospection serves token introspection (RFC 7662) for the
// registered client: opaque tokens from MintOpaqueToken, and the access
// tokens of the token endpoint.
func (p *Provider) serveIntrospection(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	p.api.introspections++
	fault := p.api.introspectionFault
	p.mu.Unlock()
	if fault.intercept(w, r, p.closed) {
		return
	}
	if err := r.ParseForm(); err != nil {
		writeError(w, errorf("invalid_request", "malformed form"))
		return
	}
	if !p.authenticateClient(w, r) {
		return
	}
	token := r.PostForm.Get("token")
	p.mu.Lock()
	defer p.mu.Unlock()
	claims, ok := p.api.opaque[token]
	if !ok {
		if user, err := p.checkAccessToken(token); err == nil {
			at := p.accessTokens[token]
			claims, ok = map[string]any{"iss": p.Issuer(), "sub": user.Subject, "client_id": p.cfg.ClientID, "scope": strings.Join(at.grant.scopes, " "), "exp": at.expiry.Unix()}, true
		}
	}
	if exp, _ := claims["exp"].(int64); !ok || !p.now().Before(time.Unix(exp, 0)) {
		writeJSON(w, http.StatusOK, map[string]any{"active": false})
		return
	}
	resp := maps.Clone(claims)
	resp["active"] = true
	resp["token_type"] = "Bearer"
	writeJSON(w, http.StatusOK, resp)
}
