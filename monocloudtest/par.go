package monocloudtest

import (
	"crypto/rand"
	"net/http"
	"net/url"
	"time"
)

// parTTL is the lifetime of pushed authorization requests.
const parTTL = 60 * time.Second

// requestURIPrefix starts every request_uri (RFC 9126, section 2.2).
const requestURIPrefix = "urn:ietf:params:oauth:request_uri:"

// pushedRequest is a pushed authorization request awaiting use.
type pushedRequest struct {
	params url.Values
	expiry time.Time
}

// parResponse is the pushed authorization response (RFC 9126, section 2.2).
type parResponse struct {
	RequestURI string `json:"request_uri"`
	ExpiresIn  int64  `json:"expires_in"`
}

// servePAR serves the pushed authorization request endpoint (RFC 9126). The
// request is validated as at the authorization endpoint.
func (p *Provider) servePAR(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeError(w, errorf("invalid_request", "%v", err))
		return
	}
	if !p.authenticateClient(w, r) {
		return
	}
	params := cloneValues(r.PostForm)
	params.Del("client_secret")
	params.Del("client_assertion")
	params.Del("client_assertion_type")
	params.Set("client_id", p.cfg.ClientID) // absent with client_secret_basic
	if params.Has("request_uri") {
		writeError(w, errorf("invalid_request", "request_uri must not be pushed"))
		return
	}
	if err := p.checkClient(params); err != nil {
		writeError(w, err)
		return
	}
	if _, err := parseAuthRequest(params); err != nil {
		writeError(w, err)
		return
	}

	uri := requestURIPrefix + rand.Text()
	p.mu.Lock()
	p.pushed[uri] = &pushedRequest{params: params, expiry: p.now().Add(parTTL)}
	p.mu.Unlock()
	writeJSON(w, http.StatusCreated, parResponse{RequestURI: uri, ExpiresIn: int64(parTTL / time.Second)})
}

// resolveRequestURI returns the parameters of the authorization request
// params: the pushed ones, plus request_uri, if params has a request_uri, and
// params itself otherwise. A pushed request can be used once. p.mu must be
// held.
func (p *Provider) resolveRequestURI(params url.Values) (url.Values, *oauthError) {
	uri := params.Get("request_uri")
	if uri == "" {
		return params, nil
	}
	pushed, ok := p.pushed[uri]
	if !ok {
		return params, errorf("invalid_request_uri", "unknown or used request_uri %q", uri)
	}
	delete(p.pushed, uri)
	if p.now().After(pushed.expiry) {
		return params, errorf("invalid_request_uri", "request_uri %q expired", uri)
	}
	if id := params.Get("client_id"); id != p.cfg.ClientID {
		return params, errorf("invalid_request", "client_id %q does not match the pushed request", id)
	}
	resolved := cloneValues(pushed.params)
	resolved.Set("request_uri", uri)
	return resolved, nil
}
