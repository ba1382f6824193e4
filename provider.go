package monocloud

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"

	"github.com/monocloud/auth-go/internal/opclient"
)

// provider is the OpenID provider as discovered: its endpoints, its JWKS
// and the token endpoint client.
type provider struct {
	issuer        string
	authURL       string
	tokenURL      string
	userInfoURL   string
	endSessionURL string
	parURL        string
	revocationURL string // empty if the provider has none
	keys          *keySet
	// idTokens configures go-oidc's ID token verifier (with keys as its key set).
	idTokens *oidc.Config
	tokens   *opclient.Client
}

// discoveryDoc holds the fields of the discovery document that are used.
type discoveryDoc struct {
	Issuer        string `json:"issuer"`
	AuthURL       string `json:"authorization_endpoint"`
	TokenURL      string `json:"token_endpoint"`
	UserInfoURL   string `json:"userinfo_endpoint"`
	JWKSURL       string `json:"jwks_uri"`
	EndSessionURL string `json:"end_session_endpoint"`
	PARURL        string `json:"pushed_authorization_request_endpoint"`
	RevocationURL string `json:"revocation_endpoint"`
	// The endpoints of mutual TLS client authentication (RFC 8705 section
	// 5), and MonoCloud's by trust store ID.
	MTLSAliases           endpointAliases            `json:"mtls_endpoint_aliases"`
	MTLSAdditionalAliases map[string]endpointAliases `json:"mtls_additional_endpoint_aliases"`
}

// endpointAliases are the mutual TLS endpoints a client with a TLS client
// certificate uses in place of the regular ones.
type endpointAliases struct {
	TokenURL      string `json:"token_endpoint"`
	PARURL        string `json:"pushed_authorization_request_endpoint"`
	RevocationURL string `json:"revocation_endpoint"`
}

// Discovery retry backoff: the wait after the first failed attempt, doubled
// after each further failure up to the maximum.
const (
	minDiscoveryBackoff = time.Second
	maxDiscoveryBackoff = 30 * time.Second
)

// discovery is the provider once discovered, and the retry state until then.
type discovery struct {
	p atomic.Pointer[provider]

	mu       sync.Mutex    // guards the fields below
	attempt  chan struct{} // closed when the attempt in flight ends; nil if none
	err      error         // of the last failed attempt
	failures int           // consecutive failed attempts
	retryAt  time.Time     // no attempt before
}

// provider returns the discovered provider, discovering it first if needed.
// One attempt runs at a time, for all callers; after a failure, attempts
// are spaced by an exponential backoff (minDiscoveryBackoff to
// maxDiscoveryBackoff) during which callers fail fast. Errors match
// ErrProviderUnavailable.
func (c *Client) provider(ctx context.Context) (*provider, error) {
	d := &c.disc
	if p := d.p.Load(); p != nil {
		return p, nil
	}
	d.mu.Lock()
	if p := d.p.Load(); p != nil {
		d.mu.Unlock()
		return p, nil
	}
	if done := d.attempt; done != nil {
		d.mu.Unlock()
		select {
		case <-done:
		case <-ctx.Done():
			return nil, providerUnavailable(ctx.Err())
		}
		d.mu.Lock()
		defer d.mu.Unlock()
		if p := d.p.Load(); p != nil {
			return p, nil
		}
		return nil, d.err
	}
	if c.now().Before(d.retryAt) {
		defer d.mu.Unlock()
		return nil, d.err
	}
	done := make(chan struct{})
	d.attempt = done
	d.mu.Unlock()
	p, err := c.discover(ctx)
	return p, c.settleDiscovery(ctx, p, err)
}

// discover runs one discovery attempt, bounded by ResponseTimeout and not
// cancelled with ctx: other callers may wait for it.
func (c *Client) discover(ctx context.Context) (*provider, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.cfg.responseTimeout)
	defer cancel()
	return discover(ctx, c.cfg, func() time.Time { return c.now() })
}

// settleDiscovery records the outcome of a discovery attempt, ends the
// attempt in flight, if any, and returns the error for its callers.
func (c *Client) settleDiscovery(ctx context.Context, p *provider, err error) error {
	d := &c.disc
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.attempt != nil {
		close(d.attempt)
		d.attempt = nil
	}
	if err == nil {
		d.p.Store(p)
		return nil
	}
	d.failures++
	wait := min(minDiscoveryBackoff<<(d.failures-1), maxDiscoveryBackoff)
	d.retryAt = c.now().Add(wait)
	d.err = providerUnavailable(err)
	c.emit(ctx, Event{Kind: EventProviderError, Op: "discovery", Err: err})
	return d.err
}

// discover fetches the discovery document of cfg.issuer. An *HTTPError
// reports a provider that could not be reached (no answer, a 5xx, 408 or
// 429 status): worth a retry. A *ValidationError naming TenantDomain
// reports an answer that proves the configuration wrong (another status,
// not JSON, another issuer, required endpoints missing). now is the clock
// of the JWKS refetch limit.
func discover(ctx context.Context, cfg *config, now func() time.Time) (*provider, error) {
	docURL := cfg.issuer + "/.well-known/openid-configuration"
	misconfigured := func(err error, format string, args ...any) error {
		return &ValidationError{Field: "TenantDomain", EnvVar: "MONOCLOUD_AUTH_TENANT_DOMAIN", Message: docURL + ": " + fmt.Sprintf(format, args...), Err: err}
	}
	body, status, err := getJSON(ctx, cfg.httpClient, docURL)
	if err != nil {
		return nil, &HTTPError{Message: "Error while fetching metadata: " + err.Error(), StatusCode: status, Err: err}
	}
	if status >= 500 || status == http.StatusRequestTimeout || status == http.StatusTooManyRequests {
		return nil, &HTTPError{Message: fmt.Sprintf("Error while fetching metadata from %s. Unexpected status code: %d", docURL, status), StatusCode: status}
	}
	if status != http.StatusOK {
		return nil, misconfigured(&HTTPError{Message: "Unexpected status code", StatusCode: status}, "the discovery document answered status %d, want 200: is this the issuer URL?", status)
	}
	var doc discoveryDoc
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, misconfigured(err, "the discovery document is not JSON: %v", err)
	}
	// The issuer may differ from the configured one by a trailing slash,
	// which configuration drops.
	if doc.Issuer != cfg.issuer && doc.Issuer != cfg.issuer+"/" {
		return nil, misconfigured(nil, "the provider's issuer is %q, not the configured %q", doc.Issuer, cfg.issuer)
	}
	for _, required := range []struct{ name, value string }{
		{"authorization_endpoint", doc.AuthURL},
		{"token_endpoint", doc.TokenURL},
		{"jwks_uri", doc.JWKSURL},
	} {
		if required.value == "" {
			return nil, misconfigured(nil, "%s is required but not available in the issuer metadata", required.name)
		}
	}
	if cfg.authMethod.MutualTLS() {
		name, aliases := "mtls_endpoint_aliases", doc.MTLSAliases
		if id := cfg.trustStoreID; id != "" {
			name, aliases = fmt.Sprintf("mtls_additional_endpoint_aliases[%q]", id), doc.MTLSAdditionalAliases[id]
		}
		// No falling back to the regular endpoints, which do not ask for
		// the certificate.
		if aliases.TokenURL == "" || cfg.usePAR && aliases.PARURL == "" {
			return nil, misconfigured(nil, "%s lacks the token_endpoint (or, with UsePAR, pushed_authorization_request_endpoint) that %s needs", name, cfg.authMethod)
		}
		doc.TokenURL, doc.PARURL, doc.RevocationURL = aliases.TokenURL, aliases.PARURL, aliases.RevocationURL
	}
	if cfg.usePAR && doc.PARURL == "" {
		return nil, &ValidationError{Field: "UsePAR", EnvVar: "MONOCLOUD_AUTH_USE_PAR", Message: "pushed_authorization_request_endpoint endpoint is required but not available in the issuer metadata"}
	}
	offset := cfg.clockSkew - cfg.clockTolerance
	return &provider{
		issuer:        doc.Issuer,
		authURL:       doc.AuthURL,
		tokenURL:      doc.TokenURL,
		userInfoURL:   doc.UserInfoURL,
		endSessionURL: doc.EndSessionURL,
		parURL:        doc.PARURL,
		revocationURL: doc.RevocationURL,
		keys: &keySet{
			url:     doc.JWKSURL,
			alg:     jose.SignatureAlgorithm(cfg.idTokenAlg),
			client:  cfg.httpClient,
			timeout: cfg.responseTimeout,
			now:     now,
		},
		idTokens: &oidc.Config{
			ClientID:             cfg.clientID,
			SupportedSigningAlgs: []string{cfg.idTokenAlg},
			// go-oidc rejects exp < now; its clock is the provider's
			// (ClockSkew), shifted back by the tolerance to accept tokens
			// that expired within it.
			Now: func() time.Time { return now().Add(offset) },
		},
		tokens: &opclient.Client{
			HTTPClient:   cfg.httpClient,
			ClientID:     cfg.clientID,
			ClientSecret: cfg.clientSecret,
			AuthMethod:   cfg.authMethod,
			Key:          cfg.assertionKey,
			Audience:     doc.TokenURL,
			Now:          now,
		},
	}, nil
}

// endSession returns the provider's end_session URL for RP-initiated
// logout; state is sent only with a post-logout redirect URI.
func (p *provider) endSession(clientID, idToken, postLogout, state string) (string, bool) {
	if p.endSessionURL == "" {
		return "", false
	}
	u, err := url.Parse(p.endSessionURL)
	if err != nil {
		return "", false
	}
	q := u.Query()
	q.Set("client_id", clientID)
	if idToken != "" {
		q.Set("id_token_hint", idToken)
	}
	if postLogout != "" {
		q.Set("post_logout_redirect_uri", postLogout)
		if state != "" {
			q.Set("state", state)
		}
	}
	u.RawQuery = q.Encode()
	return u.String(), true
}

// opError converts an error of the token endpoint client into the package's
// error types.
func opError(err error) error {
	var te *opclient.Error
	if !errors.As(err, &te) {
		return &HTTPError{Message: err.Error(), Err: err}
	}
	switch te.Kind {
	case opclient.KindOAuth:
		return &OPError{Code: te.Code, Description: te.Description, StatusCode: te.StatusCode, Raw: rawResponse(te)}
	case opclient.KindValidation:
		return &ValidationError{Message: te.Message, Err: te.Err}
	}
	return &HTTPError{Message: te.Message, StatusCode: te.StatusCode, Err: err, Raw: rawResponse(te)}
}

// rawResponse returns the answer e was built from, or nil.
func rawResponse(e *opclient.Error) *RawResponse {
	if e.Header == nil {
		return nil
	}
	return &RawResponse{StatusCode: e.StatusCode, Header: e.Header, Body: e.Body}
}
