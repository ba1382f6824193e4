package monocloud

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/monocloud/auth-go/internal/refresh"
)

// expiryMargin is how early, in seconds, an access token counts as expired.
const expiryMargin = 30

// GetTokensOptions selects and refreshes the token GetTokens returns.
type GetTokensOptions struct {
	// ForceRefresh refreshes the token even if it has not expired.
	ForceRefresh bool
	// Resource selects a token for these resource indicators (RFC 8707),
	// space-separated. Empty selects the default resource
	// (DefaultAuthParams.Resource).
	Resource string
	// Scopes selects a token requested with exactly these scopes,
	// space-separated. With Resource and no Scopes, the scopes of the
	// matching Options.Resources entry are used.
	Scopes string
	// RefetchUserInfo refetches userinfo when a refresh happens; nil uses
	// Options.RefetchUserInfo.
	RefetchUserInfo *bool
}

// Tokens is what GetTokens returns: one access token with the session's ID
// and refresh tokens. Its JSON names are those of MonoCloud's JavaScript
// SDK. Keep the refresh token on the server: a client that uses it
// refreshes behind the session's back.
//
// An access token's expiry may be unknown (AccessTokenExpiration 0): the
// token response had no expires_in, which RFC 6749 only recommends, and
// the access token is not a JWT with an exp claim. Such a token never
// counts as expired and GetTokens does not refresh it on its own: it is
// used until the API that takes it refuses it, and the application then
// calls GetTokens with ForceRefresh. Refreshing it at every call instead
// would cost a refresh grant per request, and any assumed lifetime would
// be a guess that is either too short (needless grants) or too long (the
// same refusal).
type Tokens struct {
	AccessToken string `json:"accessToken"`
	// AccessTokenExpiration is when AccessToken expires, in unix seconds;
	// 0 when unknown.
	AccessTokenExpiration int64  `json:"accessTokenExpiration"`
	Scopes                string `json:"scopes"` // granted
	Resource              string `json:"resource,omitempty"`
	RequestedScopes       string `json:"requestedScopes,omitempty"`
	IDToken               string `json:"idToken,omitempty"`
	RefreshToken          string `json:"refreshToken,omitempty"`
	// IsExpired is true when the access token expires within 30 seconds;
	// false when its expiry is unknown.
	IsExpired bool `json:"isExpired"`
}

// Token returns t's access token as an *oauth2.Token (Bearer), for use with
// x/oauth2, with the ID token and the granted scopes as extras. An unknown
// expiry is the zero Expiry, which x/oauth2 takes for a token that does not
// expire. It leaves
// out the refresh token: an oauth2.Config.TokenSource built from it would
// refresh behind the session's back, and a provider that rotates refresh
// tokens would then refuse the session's own refresh token (or revoke the
// grant). Refresh through GetTokens, or use TokenSource.
func (t *Tokens) Token() *oauth2.Token {
	tok := &oauth2.Token{AccessToken: t.AccessToken, TokenType: "Bearer"}
	if t.AccessTokenExpiration != 0 {
		tok.Expiry = time.Unix(t.AccessTokenExpiration, 0)
	}
	return tok.WithExtra(map[string]any{"id_token": t.IDToken, "scope": t.Scopes})
}

// GetTokens returns the signed-in user's tokens for the request of ctx,
// which must be r.Context() of a request served under AuthMiddleware or
// Handler (else ErrNoRequestContext). Without options it returns the
// default token (default resource, sign-in scopes). The token is refreshed
// when it is missing, expires within 30 seconds (not when its expiry is
// unknown, see Tokens), or ForceRefresh is set; the
// refreshed session is written to the request's response as Set-Cookie.
//
// Concurrent calls that need the same refresh share one refresh grant, and a
// request still carrying the cookie from before a refresh gets the refreshed
// tokens without presenting the old refresh token again.
//
// Errors: ErrNoSession without a session; ErrNoRefreshToken when a refresh
// is needed and the session has no refresh token; ErrResourceNotRequested
// for a resource not requested at sign-in (all three are *ValidationError);
// a *ValidationError for other invalid options; an *OPError when the provider refuses the
// refresh; an *HTTPError when it cannot be reached or answers garbage; a
// *TokenError when the new ID token is invalid; the SessionStore's own
// errors, wrapped, when it fails. On error the session is unchanged.
func (c *Client) GetTokens(ctx context.Context, opts *GetTokensOptions) (*Tokens, error) {
	st := c.reqState(ctx)
	if st == nil {
		return nil, ErrNoRequestContext
	}
	return c.getTokens(ctx, st, opts)
}

// GetTokensFromRequest is GetTokens for an explicit request. Under
// AuthMiddleware or Handler the refreshed session goes to that request's
// response; otherwise it is not sent, but the refresh is remembered so the
// next request with the same cookie reuses it instead of refreshing again.
func (c *Client) GetTokensFromRequest(r *http.Request, opts *GetTokensOptions) (*Tokens, error) {
	return c.GetTokensWithResponse(nil, r, opts)
}

// GetTokensWithResponse is GetTokens for an explicit request and response:
// the refreshed session is written to w as Set-Cookie, so call it before
// writing the response header.
func (c *Client) GetTokensWithResponse(w http.ResponseWriter, r *http.Request, opts *GetTokensOptions) (*Tokens, error) {
	var tok *Tokens
	err := c.withResponse(w, r, func(st *requestState) (err error) {
		tok, err = c.getTokens(r.Context(), st, opts)
		return err
	})
	return tok, err
}

// GetTokens calls Client.GetTokens on the client serving ctx's request, or
// on Default().
func GetTokens(ctx context.Context, opts *GetTokensOptions) (*Tokens, error) {
	c, err := clientFor(ctx)
	if err != nil {
		return nil, err
	}
	return c.GetTokens(ctx, opts)
}

// GetTokensFromRequest calls Client.GetTokensFromRequest on the client
// serving r, or on Default().
func GetTokensFromRequest(r *http.Request, opts *GetTokensOptions) (*Tokens, error) {
	c, err := clientFor(r.Context())
	if err != nil {
		return nil, err
	}
	return c.GetTokensFromRequest(r, opts)
}

// GetTokensWithResponse calls Client.GetTokensWithResponse on the client
// serving r, or on Default().
func GetTokensWithResponse(w http.ResponseWriter, r *http.Request, opts *GetTokensOptions) (*Tokens, error) {
	c, err := clientFor(r.Context())
	if err != nil {
		return nil, err
	}
	return c.GetTokensWithResponse(w, r, opts)
}

// tokenQuery is a validated GetTokensOptions: which token to find and how
// to refresh it.
type tokenQuery struct {
	resource string // resource set the token is filed under
	scopes   string // scope parameter of the refresh grant
	// fileScopes is the requestedScopes the token is filed under and found
	// by; for the default token the session's authorized scopes.
	fileScopes   string
	defaultToken bool
	force        bool
	refetch      bool
}

func (c *Client) tokenQuery(opts *GetTokensOptions) (tokenQuery, error) {
	if opts == nil {
		opts = &GetTokensOptions{}
	}
	q := tokenQuery{force: opts.ForceRefresh, refetch: *c.cfg.opts.RefetchUserInfo}
	if opts.RefetchUserInfo != nil {
		q.refetch = *opts.RefetchUserInfo
	}
	if opts.Resource != "" {
		if joinFields(opts.Resource) == "" {
			return q, &ValidationError{Message: "Resource must not be empty"}
		}
		for _, item := range strings.Fields(opts.Resource) {
			if !validResource(item) {
				return q, &ValidationError{Message: `Invalid resource "` + item + `": Resource must be a valid URL without query or hash parameters`}
			}
		}
	}
	if opts.Scopes != "" && joinFields(opts.Scopes) == "" {
		return q, &ValidationError{Message: "Scopes must be a space-separated string"}
	}
	q.resource = joinFields(opts.Resource)
	q.scopes = joinFields(opts.Scopes)
	if q.resource != "" && q.scopes == "" {
		q.scopes = c.indicatorScopes(q.resource)
	}
	switch {
	case q.resource == "" && q.scopes == "":
		q.resource = c.cfg.opts.DefaultAuthParams.Resource
		q.defaultToken = true
	case q.resource == "":
		q.resource = c.cfg.opts.DefaultAuthParams.Resource
		q.fileScopes = q.scopes
	default:
		q.fileScopes = q.scopes
	}
	return q, nil
}

// checkAuthorizedResource refuses to refresh for a resource that was not
// requested at sign-in. The provider would refuse it too (RFC 8707), and
// some (oidc-provider) consume the refresh token first, ending the session.
func (c *Client) checkAuthorizedResource(s *Session, resource string) error {
	if resource == "" || resource == c.cfg.opts.DefaultAuthParams.Resource {
		return nil
	}
	for item := range strings.FieldsSeq(resource) {
		if !slices.Contains(strings.Fields(s.AuthorizedResources), item) {
			return &ValidationError{Message: `Resource "` + item + `" was not requested at sign-in: add it to Options.Resources or DefaultAuthParams.Resource`, Err: ErrResourceNotRequested}
		}
	}
	return nil
}

// indicatorScopes returns the scopes of the Options.Resources entry for
// resource: none when an entry without scopes matches, else those of the
// first matching entry.
func (c *Client) indicatorScopes(resource string) string {
	var scopes string
	found := false
	for _, ind := range c.cfg.opts.Resources {
		if !sameSet(ind.Resource, resource) {
			continue
		}
		if ind.Scopes == "" {
			return ""
		}
		if !found {
			scopes, found = ind.Scopes, true
		}
	}
	return scopes
}

// getTokens is GetTokens on request state st. The events the operation
// raises (its load, the refresh, adopting the refresh) are emitted once,
// when it is done: none while it holds a lock or loads.
func (c *Client) getTokens(ctx context.Context, st *requestState, opts *GetTokensOptions) (*Tokens, error) {
	defer st.emitQueued(ctx)
	q, err := c.tokenQuery(opts)
	if err != nil {
		return nil, err
	}
	sc, err := st.loadOnce(ctx)
	if err != nil {
		return nil, err
	}
	if sc == nil {
		return nil, ErrNoSession
	}
	if q.defaultToken {
		q.fileScopes = sc.Session.AuthorizedScopes
	}
	now := c.now().Unix()
	if tok := findToken(sc.Session.AccessTokens, q.resource, q.fileScopes); tok != nil && !q.force && !expired(tok, now) {
		return newTokens(tok, sc.Session, now), nil
	}
	// A resource never requested is the caller's mistake whatever the
	// session holds: say so before saying a refresh token is missing.
	if err := c.checkAuthorizedResource(sc.Session, q.resource); err != nil {
		return nil, err
	}
	if sc.Session.RefreshToken == "" {
		return nil, ErrNoRefreshToken
	}
	// The refresh runs through c.refreshes (see package refresh): once per
	// need, detached from the request, with the result kept for requests
	// that still carry sc's cookie. The report of a grant this request
	// started, and a refresh it joined or reused, are queued here.
	sc = sc.withUser()
	report := new(grantReport)
	out, err := c.refreshes.Do(ctx, refreshRequest(sc, q), c.grantFunc(sc, q, report))
	st.queue(report.take()...)
	if err != nil {
		return nil, err
	}
	switch out.Source {
	case refresh.Joined:
		st.queue(Event{Kind: EventRefreshShared, Outcome: OutcomeJoined, Session: sessionTag(sc.Key)})
	case refresh.Kept:
		st.queue(Event{Kind: EventRefreshShared, Outcome: OutcomeKept, Session: sessionTag(sc.Key)})
	}
	r := out.Value
	if err := st.adoptRefresh(r); err != nil {
		return nil, err
	}
	s := r.sc.Session
	tok := findToken(s.AccessTokens, q.resource, q.fileScopes)
	if tok == nil {
		return nil, &ValidationError{Message: "Access token not found"}
	}
	return newTokens(tok, s, c.now().Unix()), nil
}

func newTokens(t *AccessToken, s *Session, now int64) *Tokens {
	return &Tokens{
		AccessToken:           t.AccessToken,
		AccessTokenExpiration: t.AccessTokenExpiration,
		Scopes:                t.Scopes,
		Resource:              t.Resource,
		RequestedScopes:       t.RequestedScopes,
		IDToken:               s.IDToken,
		RefreshToken:          s.RefreshToken,
		IsExpired:             expired(t, now),
	}
}

// expired reports whether t expires within expiryMargin of now; a token
// whose expiry is unknown has not expired.
func expired(t *AccessToken, now int64) bool {
	return t.AccessTokenExpiration != 0 && t.AccessTokenExpiration-expiryMargin < now
}

// expiration returns expiry as an AccessTokenExpiration: unix seconds, or
// 0 for the zero time, an unknown expiry.
func expiration(expiry time.Time) int64 {
	if expiry.IsZero() {
		return 0
	}
	return expiry.Unix()
}

// findToken returns the first token whose resource set and requested
// scope set equal resource and scopes (order- and duplicate-insensitive).
func findToken(tokens []AccessToken, resource, scopes string) *AccessToken {
	for i := range tokens {
		if sameSet(tokens[i].Resource, resource) && sameSet(tokens[i].RequestedScopes, scopes) {
			return &tokens[i]
		}
	}
	return nil
}
