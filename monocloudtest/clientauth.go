package monocloudtest

import (
	"maps"
	"net/http"
	"net/url"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Client authentication methods (OpenID Connect Core 1.0, section 9).
const (
	authMethodBasic = "client_secret_basic"
	authMethodPost  = "client_secret_post"

	authMethodSecretJWT     = "client_secret_jwt"
	authMethodPrivateKeyJWT = "private_key_jwt"
)

// assertionType is the client_assertion_type of a JWT client assertion
// (RFC 7523 section 2.2).
const assertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

var (
	hmacAlgs      = []jose.SignatureAlgorithm{jose.HS256, jose.HS384, jose.HS512}
	publicKeyAlgs = []jose.SignatureAlgorithm{
		jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512,
		jose.ES256, jose.ES384, jose.ES512,
	}
)

// ClientCredentials returns the client ID and secret of the provider's
// registered client: Config.ClientID and Config.ClientSecret, or their
// defaults.
func (p *Provider) ClientCredentials() (id, secret string) {
	return p.cfg.ClientID, p.cfg.ClientSecret
}

// clientAuthMethod returns the client authentication method of r, whose form
// must be parsed, or "" when r carries no client credentials.
func clientAuthMethod(r *http.Request) string {
	if _, _, ok := r.BasicAuth(); ok {
		return authMethodBasic
	}
	if a := r.PostForm.Get("client_assertion"); a != "" {
		if _, err := jose.ParseSigned(a, hmacAlgs); err == nil {
			return authMethodSecretJWT
		}
		return authMethodPrivateKeyJWT
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
	method := clientAuthMethod(r)
	if method != "" && p.cfg.ClientAuthMethod != "" && method != p.cfg.ClientAuthMethod {
		return errorf("invalid_client", "the client must authenticate with %s, not %s", p.cfg.ClientAuthMethod, method)
	}
	if method == authMethodSecretJWT || method == authMethodPrivateKeyJWT {
		if r.PostForm.Has("client_secret") {
			return errorf("invalid_request", "the client used more than one authentication method")
		}
		return p.checkAssertion(method, r.PostForm)
	}
	switch method {
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

// checkAssertion checks the client assertion of form (OpenID Connect Core
// section 9, RFC 7523 section 3): its type, its signature (with
// ClientSecret for client_secret_jwt, ClientPublicKey for private_key_jwt),
// iss and sub equal to the client ID, an aud holding the token endpoint or
// the issuer, an exp in the future, an iat, and a jti not used before.
func (p *Provider) checkAssertion(method string, form url.Values) *oauthError {
	if form.Get("client_assertion_type") != assertionType {
		return errorf("invalid_request", "client_assertion_type must be %s", assertionType)
	}
	algs, key := hmacAlgs, any([]byte(p.cfg.ClientSecret))
	if method == authMethodPrivateKeyJWT {
		algs, key = publicKeyAlgs, p.cfg.ClientPublicKey
		if key == nil {
			return errorf("invalid_client", "no public key is registered for private_key_jwt")
		}
	}
	tok, err := jwt.ParseSigned(form.Get("client_assertion"), algs)
	if err != nil {
		return errorf("invalid_client", "client assertion: %v", err)
	}
	var claims jwt.Claims
	if err := tok.Claims(key, &claims); err != nil {
		return errorf("invalid_client", "client assertion signature: %v", err)
	}
	id := p.cfg.ClientID
	switch {
	case claims.Issuer != id || claims.Subject != id:
		return errorf("invalid_client", "client assertion iss %q and sub %q must be the client ID", claims.Issuer, claims.Subject)
	case !claims.Audience.Contains(p.Issuer()+tokenPath) && !claims.Audience.Contains(p.Issuer()):
		return errorf("invalid_client", "client assertion aud %q holds neither the token endpoint nor the issuer", claims.Audience)
	case claims.Expiry == nil || !claims.Expiry.Time().After(p.now()):
		return errorf("invalid_client", "client assertion has expired or has no exp")
	case claims.IssuedAt == nil:
		return errorf("invalid_client", "client assertion has no iat")
	case claims.ID == "":
		return errorf("invalid_client", "client assertion has no jti")
	}
	if formID := form.Get("client_id"); formID != "" && formID != id {
		return errorf("invalid_request", "client_id %q does not match the authenticated client", formID)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	maps.DeleteFunc(p.assertionIDs, func(_ string, exp time.Time) bool { return !exp.After(now) })
	if _, used := p.assertionIDs[claims.ID]; used {
		return errorf("invalid_client", "client assertion jti %q was used before", claims.ID)
	}
	p.assertionIDs[claims.ID] = claims.Expiry.Time()
	return nil
}
