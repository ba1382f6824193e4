package monocloudtest

import (
	"net/http"
	"net/url"
)

// Client authentication methods (OpenID Connect Core 1.0, section 9).
const (
	authMethodBasic = "client_secret_basic"
	authMethodPost  = "client_secret_post"
)

// clientAuthMethod returns the client authentication method of r, whose form
// must be parsed, or "" when r carries no client credentials.
func clientAuthMethod(r *http.Request) string {
	if _, _, ok := r.BasicAuth(); ok {
		return authMethodBasic
	}
	if r.PostForm.Has("client_secret") {
		return authMethodPost
	}
	return ""
}

// authenticateClient checks the client credentials of r, whose form must be
// parsed. On failure it writes the error response and returns false.
func (p *Provider) authenticateClient(w http.ResponseWriter, r *http.Request) bool {
	err := p.checkClientCredentials(r)
	if err == nil {
		return true
	}
	if clientAuthMethod(r) == authMethodBasic && err.Code == "invalid_client" {
		// RFC 6749, section 5.2.
		w.Header().Set("WWW-Authenticate", `Basic realm="monocloudtest"`)
	}
	writeError(w, err)
	return false
}

// checkClientCredentials implements authenticateClient.
func (p *Provider) checkClientCredentials(r *http.Request) *oauthError {
	formID := r.PostForm.Get("client_id")
	switch clientAuthMethod(r) {
	case authMethodBasic:
		if r.PostForm.Has("client_secret") {
			return errorf("invalid_request", "the client used more than one authentication method")
		}
		id, secret, _ := r.BasicAuth()
		if !basicCredentialEqual(id, p.cfg.ClientID) || !basicCredentialEqual(secret, p.cfg.ClientSecret) {
			return errorf("invalid_client", "wrong client_id or client_secret in the Authorization header")
		}
		if formID != "" && formID != p.cfg.ClientID {
			return errorf("invalid_request", "client_id %q does not match the authenticated client", formID)
		}
	case authMethodPost:
		if formID != p.cfg.ClientID || r.PostForm.Get("client_secret") != p.cfg.ClientSecret {
			return errorf("invalid_client", "wrong client_id or client_secret in the request body")
		}
	default:
		return errorf("invalid_client", "client authentication is required")
	}
	return nil
}

// basicCredentialEqual reports whether a client_id or client_secret from the
// Authorization header equals want. RFC 6749, section 2.3.1, has clients
// form-urlencode both before Basic encoding, but many do not, so either form
// is accepted.
func basicCredentialEqual(got, want string) bool {
	if got == want {
		return true
	}
	decoded, err := url.QueryUnescape(got)
	return err == nil && decoded == want
}
