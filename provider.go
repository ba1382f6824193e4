package monocloud

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/monocloud/auth-go/internal/opclient"
	"github.com/monocloud/auth-go/internal/provider"
)

// discoveredOP is the OpenID provider as discovered: its endpoints (the
// mutual TLS aliases in place of the regular ones for a client that
// authenticates with its certificate), the verifier of its tokens and the
// token endpoint client.
type discoveredOP struct {
	metadata      *provider.Metadata // the discovery document as served
	issuer        string
	authURL       string
	tokenURL      string
	userInfoURL   string
	parURL        string
	revocationURL string // empty if the provider has none
	verifier      *provider.Verifier
	tokens        *opclient.Client
}

// providerDiscoveredMessage is the Info line that names the discovered
// issuer, once.
const providerDiscoveredMessage = "monocloud: provider discovered"

// newDiscovery returns the lazy discovery of c's provider (see
// provider.Discovery). The failure of an attempt goes to the lookup that
// made it (see Client.provider); the Client sets no CacheDuration, so every
// attempt is made by a lookup.
func (c *Client) newDiscovery() *provider.Discovery {
	return &provider.Discovery{
		Issuer:   c.cfg.opts.TenantDomain,
		Client:   c.cfg.httpClient,
		Timeout:  c.cfg.opts.ResponseTimeout,
		Required: []string{"authorization_endpoint", "token_endpoint", "jwks_uri"},
		Now:      func() time.Time { return c.now() },
		OnError: func(ctx context.Context, err error) {
			if failed, ok := ctx.Value(attemptKey{}).(*error); ok {
				*failed = err
			}
		},
	}
}

// attemptKey is the context key of the failure of the discovery attempt
// that a provider lookup made, if it made one (see Client.provider).
type attemptKey struct{}

// failedDiscovery is the error of a provider lookup that made a discovery
// attempt, which failed. The operation that made the lookup reports the
// attempt at its top, once, with reportDiscovery or discoveryEvent,
// whether or not it answers the error.
type failedDiscovery struct{ err error }

func (e *failedDiscovery) Error() string { return e.err.Error() }

func (e *failedDiscovery) Unwrap() error { return e.err }

// discoveryEvent returns err, as Client.provider returned it, without the
// mark of a failed discovery attempt and, when it had one, the attempt's
// event.
func discoveryEvent(err error) (*Event, error) {
	fd, ok := err.(*failedDiscovery)
	if !ok {
		return nil, err
	}
	return &Event{Kind: EventProviderError, Op: "discovery", Err: fd.err}, fd.err
}

// reportDiscovery emits the event of the failed discovery attempt err
// marks, if any, and returns err without the mark.
func (c *Client) reportDiscovery(ctx context.Context, err error) error {
	e, err := discoveryEvent(err)
	if e != nil {
		c.emit(ctx, *e)
	}
	return err
}

// provider returns the discovered provider, discovering it first if needed
// (see provider.Discovery: one attempt at a time for all callers, spaced by
// a backoff after failures during which callers fail fast). Its errors
// match ErrProviderUnavailable, or are a *ValidationError for an answer
// that proves the configuration wrong. When this lookup made a discovery
// attempt that failed, its error is a *failedDiscovery, for the caller to
// report (see reportDiscovery).
func (c *Client) provider(ctx context.Context) (*discoveredOP, error) {
	if p := c.op.Load(); p != nil {
		return p, nil
	}
	var attempt error
	doc, err := c.disc.Get(context.WithValue(ctx, attemptKey{}, &attempt))
	if err != nil {
		if attempt != nil {
			return nil, &failedDiscovery{opError(err)}
		}
		return nil, opError(err)
	}
	p, err := newDiscoveredOP(doc, c.cfg, func() time.Time { return c.now() })
	if err != nil {
		return nil, err
	}
	if c.op.CompareAndSwap(nil, p) {
		c.cfg.opts.Logger.LogAttrs(ctx, slog.LevelInfo, providerDiscoveredMessage, slog.String("issuer", p.issuer))
	}
	return c.op.Load(), nil
}

// newDiscoveredOP returns the provider of discovery document doc as cfg
// uses it. Its error is a *ValidationError for a document that lacks the
// mutual TLS aliases or the PAR endpoint cfg needs. now is the clock of the
// JWKS refetch limit and of client assertions.
func newDiscoveredOP(doc *provider.Metadata, cfg *config, now func() time.Time) (*discoveredOP, error) {
	tokenURL, parURL, revocationURL := doc.TokenEndpoint, doc.PAREndpoint, doc.RevocationEndpoint
	if cfg.authMethod.MutualTLS() {
		aliases, member := doc.MTLSAliases(cfg.opts.TrustStoreID)
		tokenURL, parURL, revocationURL = aliases["token_endpoint"], aliases["pushed_authorization_request_endpoint"], aliases["revocation_endpoint"]
		// No falling back to the regular endpoints, which do not ask for
		// the certificate.
		if tokenURL == "" || *cfg.opts.UsePAR && parURL == "" {
			return nil, &ValidationError{Field: "TenantDomain", EnvVar: "MONOCLOUD_AUTH_TENANT_DOMAIN", Message: fmt.Sprintf("%s/.well-known/openid-configuration: %s lacks the token_endpoint (or, with UsePAR, pushed_authorization_request_endpoint) that %s needs", cfg.opts.TenantDomain, member, cfg.authMethod)}
		}
	}
	if *cfg.opts.UsePAR && parURL == "" {
		return nil, &ValidationError{Field: "UsePAR", EnvVar: "MONOCLOUD_AUTH_USE_PAR", Message: "pushed_authorization_request_endpoint endpoint is required but not available in the issuer metadata"}
	}
	return &discoveredOP{
		metadata:      doc,
		issuer:        doc.Issuer,
		authURL:       doc.AuthorizationEndpoint,
		tokenURL:      tokenURL,
		userInfoURL:   doc.UserinfoEndpoint,
		parURL:        parURL,
		revocationURL: revocationURL,
		verifier: &provider.Verifier{
			Issuer:    doc.Issuer,
			ClientID:  cfg.opts.ClientID,
			Algorithm: jose.SignatureAlgorithm(cfg.opts.IDTokenSigningAlg),
			Keys: &provider.KeySet{
				URL:     doc.JWKSURI,
				Client:  cfg.httpClient,
				Timeout: cfg.opts.ResponseTimeout,
				Now:     now,
			},
			// Token times are checked on the provider's clock.
			Now:    func() time.Time { return now().Add(*cfg.opts.ClockSkew) },
			Leeway: *cfg.opts.ClockTolerance,
		},
		tokens: &opclient.Client{
			HTTPClient:   cfg.httpClient,
			ClientID:     cfg.opts.ClientID,
			ClientSecret: cfg.opts.ClientSecret,
			AuthMethod:   cfg.authMethod,
			Key:          cfg.assertionKey,
			Audience:     tokenURL,
			Now:          now,
		},
	}, nil
}

// grantResult is what one refresh grant produced.
type grantResult struct {
	accessToken  string
	expiresAt    int64 // unix seconds
	scope        string
	idToken      string
	refreshToken string         // empty when the provider did not rotate it
	claims       map[string]any // verified claims of idToken
	userInfo     map[string]any
}

// grantRefresh runs the refresh grant of token q of session s presenting
// refresh token rt at the provider, discovered first if needed, and
// validates what it returns: the new ID token, and the userinfo refetched
// when q asks for it. When the provider answered but its answer fails
// validation, the result is returned with the error, so that a rotated
// refresh token is not lost.
func (c *Client) grantRefresh(ctx context.Context, s *Session, rt string, q tokenQuery) (*grantResult, error) {
	p, err := c.provider(ctx)
	if err != nil {
		return nil, err
	}
	resp, err := p.tokens.Refresh(ctx, p.tokenURL, rt, strings.Fields(q.resource), q.scopes)
	if err != nil {
		return nil, opError(err)
	}
	res := &grantResult{
		accessToken:  resp.AccessToken,
		expiresAt:    expiration(resp.Expiry),
		scope:        resp.Scope,
		idToken:      resp.IDToken,
		refreshToken: resp.RefreshToken,
	}
	if resp.IDToken != "" {
		res.claims, err = p.verifyIDToken(ctx, resp.IDToken, provider.IDTokenCheck{
			Refresh: true,
			Nonce:   unverifiedClaim(s.IDToken, "nonce"),
			Subject: s.subject(),
		})
		if err != nil {
			return res, err
		}
	}
	if q.refetch && hasScope(resp.Scope, "openid") && p.userInfoURL != "" {
		if res.userInfo, err = c.fetchUserInfo(ctx, p, resp.AccessToken, s.subject()); err != nil {
			return res, err
		}
	}
	return res, nil
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

// opError converts an error of the provider's side (package provider's
// *provider.Error, package opclient's *opclient.Error) into the package's
// error types, once for every caller: a provider that cannot be reached or
// cannot serve its keys matches ErrProviderUnavailable (with an
// *HTTPError), a discovery answer that proves the configuration wrong is a
// *ValidationError naming TenantDomain (a 500 on the routes), an invalid
// token or an access token the userinfo endpoint refused a *TokenError,
// the provider's OAuth error an *OPError, an unusable answer (userinfo of
// another user, for example) an *HTTPError.
func opError(err error) error {
	var pe *provider.Error
	if errors.As(err, &pe) {
		switch {
		case pe.Kind == provider.Invalid:
			return &TokenError{Code: CodeInvalidToken, Message: pe.Message, Err: pe.Err}
		case pe.Kind == provider.Misconfigured && pe.Op == "discovery":
			return &ValidationError{Field: "TenantDomain", EnvVar: "MONOCLOUD_AUTH_TENANT_DOMAIN", Message: withHint(pe.Message, pe), Err: err}
		}
		return providerUnavailable(&HTTPError{Message: withHint(pe.Error(), pe), StatusCode: pe.StatusCode, Err: err})
	}
	var te *opclient.Error
	if !errors.As(err, &te) {
		return &HTTPError{Message: err.Error(), Err: err}
	}
	switch te.Kind {
	case opclient.KindOAuth:
		return &OPError{Code: te.Code, Description: te.Description, StatusCode: te.StatusCode, Raw: rawResponse(te)}
	case opclient.KindRefused:
		return &TokenError{Code: TokenErrorCode(te.Code), Message: te.Description, Raw: rawResponse(te), Err: err}
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

// withHint returns message, the text of e, followed by e's hint of a
// likely misconfiguration and the variable to check, if any.
func withHint(message string, e *provider.Error) string {
	if e.Hint == "" {
		return message
	}
	return message + ": " + e.Hint + " (likely misconfiguration: check MONOCLOUD_AUTH_TENANT_DOMAIN)"
}
