package backend

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
)

// Protect returns middleware that lets a request through only with a valid
// access token that meets opts (nil: any valid token), and makes the
// token's claims reachable with ClaimsFromContext. It refuses the others
// with the answers of the package documentation, through
// Options.ErrorWriter. With Options.DPoPNonces, the answer to a DPoP
// request it lets through carries the current nonce in DPoP-Nonce,
// set before next runs, whenever the proof carried an older one (see
// NonceSource). It panics if a scope in opts cannot appear in a scope
// parameter (RFC 6749 section 3.3), as that is a programming error.
func (c *Client) Protect(opts *ProtectOptions) func(http.Handler) http.Handler {
	req := c.requirements(opts)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			claims, proof, err := c.validateRequest(r, req)
			if err != nil {
				c.setChallenge(w.Header(), err)
				c.cfg.errorWriter(w, r, err)
				return
			}
			c.renewNonce(w.Header(), proof)
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), claimsKey{}, claims)))
		})
	}
}

// ValidateRequest returns the claims of the request's access token if it
// is valid, sender-constrained as its claims require (DPoP proof, client
// certificate), and meets opts. Its error is an *Error; StatusOf gives its
// status. It sets no header: with Options.DPoPNonces, a caller that
// answers DPoP requests itself renews the client's nonce as Protect does,
// sending DPoPNonces.Nonce() in DPoP-Nonce.
func (c *Client) ValidateRequest(r *http.Request, opts *ProtectOptions) (Claims, error) {
	claims, _, err := c.validateRequest(r, c.requirements(opts))
	if err != nil {
		return nil, err
	}
	return claims, nil
}

// ValidateAccessToken returns the claims of token if it is valid and meets
// opts. With no request, a sender-constrained token is refused: use
// ValidateRequest for DPoP-bound and certificate-bound tokens. Its error
// is an *Error.
func (c *Client) ValidateAccessToken(ctx context.Context, token string, opts *ProtectOptions) (Claims, error) {
	token = strings.TrimSpace(token)
	if token == "" {
		return nil, refuse(ErrNoToken, "no_token", nil)
	}
	if len(token) > c.cfg.maxTokenLength {
		return nil, refuse(ErrInvalidToken, "token_too_long", nil)
	}
	cred := credentials{token: token, scheme: schemeBearer}
	claims, _, err := c.validate(ctx, nil, cred, c.requirements(opts))
	if err != nil {
		return nil, err
	}
	return claims, nil
}

// requirements resolves opts.
func (c *Client) requirements(opts *ProtectOptions) *requirements {
	if opts == nil {
		return nil
	}
	for _, scopes := range [...][]string{opts.Scopes, opts.AnyScopes} {
		for _, s := range scopes {
			if s == "" || strings.ContainsAny(s, "\" \\") || strings.ContainsFunc(s, func(r rune) bool { return r < 0x21 || r > 0x7e }) {
				panic(fmt.Sprintf("backend: invalid scope %q in ProtectOptions", s))
			}
		}
	}
	return &requirements{
		scopes:    opts.Scopes,
		anyScopes: opts.AnyScopes,
		groups:    opts.Groups,
		matchAll:  opts.MatchAll || c.cfg.groupsMatchAll,
	}
}

// validateRequest validates the request's token and reports the outcome.
// The DPoP proof it returns is nil for a Bearer token.
func (c *Client) validateRequest(r *http.Request, req *requirements) (Claims, *dpopProof, *Error) {
	ctx := r.Context()
	cred, err := c.extract(r)
	if err != nil {
		c.rejected(ctx, err, tokenKey{}, false)
		return nil, nil, err
	}
	return c.validate(ctx, r, cred, req)
}

// validate validates a token read from r (nil for a bare token): its DPoP
// proof first, which is cheap to refuse, then the token, from cache or
// not, its sender constraints, and the route's requirements, these read
// from the token's grant, never from the claims handlers receive. The proof's
// jti is recorded only once the token is valid and bound to the proof's
// key. It returns the claims and the DPoP proof, if the token came with
// one.
func (c *Client) validate(ctx context.Context, r *http.Request, cred credentials, req *requirements) (Claims, *dpopProof, *Error) {
	key := keyOf(cred.token)
	var proof *dpopProof
	if cred.scheme == schemeDPoP {
		var err *Error
		if proof, err = c.readProof(r, cred.token); err != nil {
			c.rejected(ctx, err, key, true)
			return nil, nil, err
		}
	}
	g, outcome, err := c.tokenGrant(ctx, cred, key)
	if err == nil {
		err = c.checkDPoP(ctx, cred, g, proof)
	}
	if err == nil {
		err = c.checkCertificate(r, g)
	}
	if err == nil {
		err = c.authorize(g, req)
	}
	if err != nil {
		if err.Scheme == "" {
			err.Scheme = cred.scheme
		}
		c.rejected(ctx, err, key, true)
		return nil, nil, err
	}
	if c.observed(ctx, slog.LevelDebug) {
		c.emit(ctx, Event{Kind: EventTokenAccepted, Outcome: outcome, Token: tokenTag(key)})
	}
	return g.claims, proof, nil
}

// rejected reports a refusal.
func (c *Client) rejected(ctx context.Context, err *Error, key tokenKey, hasToken bool) {
	e := Event{Kind: EventTokenRejected, Outcome: errorCode(err.Code), Reason: err.Reason, Status: StatusOf(err), Err: err}
	if !c.observed(ctx, e.level()) {
		return
	}
	if hasToken {
		e.Token = tokenTag(key)
	}
	c.emit(ctx, e)
}
