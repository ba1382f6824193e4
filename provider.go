package monocloud

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/monocloud/auth-go/internal/opclient"
	"github.com/monocloud/auth-go/internal/provider"
)

// discoveredOP is the OpenID provider as discovered: its endpoints, the
// verifier of its tokens and the token endpoint client.
type discoveredOP struct {
	issuer        string
	authURL       string
	tokenURL      string
	userInfoURL   string
	endSessionURL string
	parURL        string
	revocationURL string // empty if the provider has none
	verifier      *provider.Verifier
	tokens        *opclient.Client
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
	p atomic.Pointer[discoveredOP]

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
func (c *Client) provider(ctx context.Context) (*discoveredOP, error) {
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
func (c *Client) discover(ctx context.Context) (*discoveredOP, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.cfg.responseTimeout)
	defer cancel()
	return discover(ctx, c.cfg, func() time.Time { return c.now() })
}

// settleDiscovery records the outcome of a discovery attempt, ends the
// attempt in flight, if any, and returns the error for its callers.
func (c *Client) settleDiscovery(ctx context.Context, p *discoveredOP, err error) error {
	d := &c.disc
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.attempt != nil {
		close(d.attempt)
		d.attempt = nil
	}
	if err == nil {
		d.p.Store(p)
		c.cfg.logger.LogAttrs(ctx, slog.LevelInfo, providerDiscoveredMessage, slog.String("issuer", p.issuer))
		return nil
	}
	d.failures++
	wait := min(minDiscoveryBackoff<<(d.failures-1), maxDiscoveryBackoff)
	d.retryAt = c.now().Add(wait)
	d.err = providerUnavailable(err)
	c.emit(ctx, Event{Kind: EventProviderError, Op: "discovery", Err: err})
	return d.err
}

// providerDiscoveredMessage is the Info line that names the discovered
// issuer, once.
const providerDiscoveredMessage = "monocloud: provider discovered"

// discover fetches the discovery document of cfg.issuer. An *HTTPError
// reports a provider that could not be reached (no answer, a 5xx, 408 or
// 429 status): worth a retry. A *ValidationError naming TenantDomain
// reports an answer that proves the configuration wrong (another status,
// not JSON, another issuer, required endpoints missing). now is the clock
// of the JWKS refetch limit.
func discover(ctx context.Context, cfg *config, now func() time.Time) (*discoveredOP, error) {
	docURL := cfg.issuer + "/.well-known/openid-configuration"
	misconfigured := func(err error, format string, args ...any) error {
		return &ValidationError{Field: "TenantDomain", EnvVar: "MONOCLOUD_AUTH_TENANT_DOMAIN", Message: docURL + ": " + fmt.Sprintf(format, args...), Err: err}
	}
	body, status, err := provider.GetJSON(ctx, cfg.httpClient, docURL)
	if err != nil {
		return nil, &HTTPError{Message: "Error while fetching metadata: " + err.Error() + misconfigurationHint(err, nil), StatusCode: status, Err: err}
	}
	if status >= 500 || status == http.StatusRequestTimeout || status == http.StatusTooManyRequests {
		return nil, &HTTPError{Message: fmt.Sprintf("Error while fetching metadata from %s. Unexpected status code: %d", docURL, status), StatusCode: status}
	}
	if status != http.StatusOK {
		return nil, misconfigured(&HTTPError{Message: "Unexpected status code", StatusCode: status}, "the discovery document answered status %d, want 200: is this the issuer URL?%s", status, misconfigurationHint(nil, body))
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
	return &discoveredOP{
		issuer:        doc.Issuer,
		authURL:       doc.AuthURL,
		tokenURL:      doc.TokenURL,
		userInfoURL:   doc.UserInfoURL,
		endSessionURL: doc.EndSessionURL,
		parURL:        doc.PARURL,
		revocationURL: doc.RevocationURL,
		verifier: &provider.Verifier{
			Issuer:    doc.Issuer,
			ClientID:  cfg.clientID,
			Algorithm: jose.SignatureAlgorithm(cfg.idTokenAlg),
			Keys: &provider.KeySet{
				URL:     doc.JWKSURL,
				Client:  cfg.httpClient,
				Timeout: cfg.responseTimeout,
				Now:     now,
			},
			// Token times are checked on the provider's clock.
			Now:    func() time.Time { return now().Add(cfg.clockSkew) },
			Leeway: cfg.clockTolerance,
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

// verifyIDToken verifies raw, an ID token of a token response, as
// provider.Verifier.VerifyIDToken says, with the errors of the package.
func (p *discoveredOP) verifyIDToken(ctx context.Context, raw string, chk provider.IDTokenCheck) (map[string]any, error) {
	claims, err := p.verifier.VerifyIDToken(ctx, raw, chk)
	if err != nil {
		return nil, opError(err)
	}
	return claims, nil
}

// endSession returns the provider's end_session URL for RP-initiated
// logout; state is sent only with a post-logout redirect URI.
func (p *discoveredOP) endSession(clientID, idToken, postLogout, state string) (string, bool) {
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

// opError converts an error of the provider's side (package provider's
// *provider.Error, package opclient's *opclient.Error) into the package's
// error types, once for every caller: a provider that cannot be reached or
// cannot serve its keys matches ErrProviderUnavailable (with an
// *HTTPError), a discovery answer that proves the configuration wrong is a
// *ValidationError naming TenantDomain, an invalid token a *TokenError, the
// provider's OAuth error an *OPError.
func opError(err error) error {
	var pe *provider.Error
	if errors.As(err, &pe) {
		switch {
		case pe.Kind == provider.Invalid:
			return &TokenError{Code: CodeInvalidToken, Message: pe.Message, Err: pe.Err}
		case pe.Kind == provider.Misconfigured && pe.Op == "discovery":
			return &ValidationError{Field: "TenantDomain", EnvVar: "MONOCLOUD_AUTH_TENANT_DOMAIN", Message: pe.Message, Err: err}
		}
		return providerUnavailable(&HTTPError{Message: pe.Error(), StatusCode: pe.StatusCode, Err: err})
	}
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

// misconfigurationHint names the likely misconfiguration behind a failed
// discovery request (err) or answer (body), or returns "": a host that
// does not exist, https against a provider that speaks http, http against
// one that speaks https.
func misconfigurationHint(err error, body []byte) string {
	const fix = " (likely misconfiguration: check MONOCLOUD_AUTH_TENANT_DOMAIN)"
	var (
		dnsErr *net.DNSError
		tlsErr tls.RecordHeaderError
	)
	switch {
	case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
		return ": the host " + strconv.Quote(dnsErr.Name) + " does not exist" + fix
	// net/http reports an http answer to its TLS handshake as this text,
	// other records as the TLS error.
	case errors.As(err, &tlsErr), err != nil && strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		return ": the provider does not speak TLS; is it http:// rather than https://?" + fix
	case bytes.Contains(body, []byte("HTTP request to an HTTPS server")), bytes.Contains(body, []byte("plain HTTP request was sent to HTTPS port")):
		return ": the provider speaks TLS; is it https:// rather than http://?" + fix
	}
	return ""
}
