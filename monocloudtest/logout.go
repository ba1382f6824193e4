package monocloudtest

import (
	"io"
	"net/http"
	"net/url"
)

// EndSessionRequests returns the parameters of every request to the end
// session endpoint so far, in order.
func (p *Provider) EndSessionRequests() []url.Values {
	p.mu.Lock()
	defer p.mu.Unlock()
	requests := make([]url.Values, len(p.endSessionRequests))
	for i, params := range p.endSessionRequests {
		requests[i] = cloneValues(params)
	}
	return requests
}

// serveEndSession serves the end session endpoint (OpenID Connect
// RP-Initiated Logout 1.0). It records the request and, as the user is
// signed out at once, redirects to post_logout_redirect_uri, with state, or
// shows a "signed out" page when there is none.
func (p *Provider) serveEndSession(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "monocloudtest: "+err.Error(), http.StatusBadRequest)
		return
	}
	params := r.Form
	p.mu.Lock()
	p.endSessionRequests = append(p.endSessionRequests, cloneValues(params))
	p.mu.Unlock()

	clientID := params.Get("client_id")
	if clientID == "" && params.Get("id_token_hint") == "" {
		http.Error(w, "monocloudtest: client_id or id_token_hint is required", http.StatusBadRequest)
		return
	}
	if clientID != "" && clientID != p.cfg.ClientID {
		http.Error(w, "monocloudtest: unknown client_id "+clientID, http.StatusBadRequest)
		return
	}
	redirect := params.Get("post_logout_redirect_uri")
	if redirect == "" {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "signed out\n")
		return
	}
	u, err := url.Parse(redirect)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		http.Error(w, "monocloudtest: post_logout_redirect_uri is not an absolute http(s) URL", http.StatusBadRequest)
		return
	}
	if state := params.Get("state"); state != "" {
		query := u.Query()
		query.Set("state", state)
		u.RawQuery = query.Encode()
	}
	http.Redirect(w, r, u.String(), http.StatusFound)
}
