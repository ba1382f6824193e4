package monocloud

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/monocloud/auth-go/internal/provider"
	"github.com/monocloud/auth-go/internal/refresh"
)

// refreshedSession is a session after a refresh grant: the cookie to
// send, encoded once and shared by every request that adopts the refresh.
type refreshedSession struct {
	sc    *sessionCookie
	value string // sc encoded; with a store, its key, lifetime and version
}

// refresh returns session sc with the token q refreshed. Refreshes run
// through c.refreshes (see package refresh): once per need, detached from
// the request, with the result kept for requests that still carry sc's
// cookie. A refresh this request joined or reused is queued in st as a
// refresh_shared event; the grant reports itself (see runRefresh).
func (c *Client) refresh(ctx context.Context, st *requestState, sc *sessionCookie, q tokenQuery) (*refreshedSession, error) {
	req := refresh.Request{
		Session:      sc.Key,
		Query:        q.resource + "\x00" + q.fileScopes,
		RefreshToken: sc.Session.RefreshToken,
		Force:        q.force,
	}
	// The grant runs detached from this request and may serve others: its
	// ctx keeps the request's values (trace IDs) but not its auth state.
	out, err := c.refreshes.Do(c.detached(ctx), req, func(ctx context.Context, rt string) (refresh.Outcome[*refreshedSession], error) {
		return c.runRefresh(ctx, sc, rt, q)
	})
	if err != nil {
		return nil, err
	}
	switch out.Source {
	case refresh.Joined:
		st.queue(Event{Kind: EventRefreshShared, Outcome: OutcomeJoined, Session: sessionTag(sc.Key)})
	case refresh.Kept:
		st.queue(Event{Kind: EventRefreshShared, Outcome: OutcomeKept, Session: sessionTag(sc.Key)})
	}
	return out.Value, nil
}

// detached returns ctx without c's request state, for work that runs
// detached from the request (a token refresh, which may serve several
// requests and outlive the one that started it): the request helpers
// answer ErrNoRequestContext there.
func (c *Client) detached(ctx context.Context) context.Context {
	return context.WithValue(ctx, reqStateKey{c}, (*requestState)(nil))
}

// runRefresh runs one refresh of session sc presenting rt, detached from
// any request: it holds the backend's lock of the session, so that a
// sign-out cannot be undone by a refresh that finishes after it; adopts
// the newest version of the session another instance saved or shared, if
// it holds a fresh token; else runs the grant, verifies and applies its
// answer, saves the refreshed session and shares it. It reports itself in
// one event, refresh, or refresh_shared when it adopted another
// instance's, after a store_error for what it could not save or share.
func (c *Client) runRefresh(ctx context.Context, sc *sessionCookie, rt string, q tokenQuery) (out refresh.Outcome[*refreshedSession], err error) {
	start := c.now()
	var (
		adopted Outcome
		unsaved *Event
	)
	defer func() {
		if unsaved != nil {
			c.emit(ctx, *unsaved)
		}
		c.emitRefresh(ctx, sc.Key, adopted, c.now().Sub(start), err)
	}()
	latest, unlock, err := c.backend.lockRefresh(ctx, sc, rt, q.force)
	if err != nil {
		return out, err
	}
	defer unlock()
	base := sc.Session
	if latest.session != nil {
		if tok := findToken(latest.session.AccessTokens, q.resource, q.fileScopes); latest.adoptable && tok != nil && !expired(tok, c.now().Unix()) {
			adopted = latest.from
			return c.refreshedOutcome(ctx, sc, latest.session, tok)
		}
		base, rt = latest.session, latest.session.RefreshToken
	}
	if c.ended.includes(&sessionCookie{Key: sc.Key, Lifetime: sc.Lifetime, Session: base}) {
		return out, ErrNoSession
	}
	p, err := c.provider(ctx)
	if err != nil {
		return out, err
	}
	res, err := c.grant(ctx, p, base, rt, q)
	if res != nil {
		out.RefreshToken = res.refreshToken
	}
	if err != nil {
		if out.RefreshToken != "" {
			// The provider rotated the refresh token but its answer is
			// refused: keep the new token in the store, or the next grant,
			// on any instance, presents the used one and the grant is
			// revoked.
			kept := base.clone()
			kept.RefreshToken = out.RefreshToken
			if _, serr := c.backend.save(ctx, &sessionCookie{Key: sc.Key, Lifetime: sc.Lifetime, Session: kept}); serr != nil {
				unsaved = &Event{Kind: EventStoreError, Op: "saving a rotated refresh token", Session: sessionTag(sc.Key), Err: serr}
			}
		}
		return out, err
	}
	s, err := c.applyRefresh(ctx, base.clone(), res, q)
	if err != nil {
		return out, err
	}
	out, err = c.refreshedOutcome(ctx, sc, s, findToken(s.AccessTokens, q.resource, q.fileScopes))
	if err != nil {
		return out, err
	}
	// A failure to share is reported: the refresh succeeded, and this
	// request gets it.
	if serr := c.backend.share(ctx, latest, rt, base, out.Value); serr != nil {
		unsaved = &Event{Kind: EventStoreError, Op: "sharing a token refresh with the coordinator", Session: sessionTag(sc.Key), Err: serr}
	}
	return out, nil
}

// emitRefresh reports a refresh of the session with key that took d: as
// refresh_shared when it adopted another instance's refresh (adopted is the
// Outcome saying from where), else as refresh.
func (c *Client) emitRefresh(ctx context.Context, key string, adopted Outcome, d time.Duration, err error) {
	e := Event{Kind: EventRefresh, Outcome: OutcomeOK, Duration: d, Session: sessionTag(key), Err: err}
	switch {
	case errors.Is(err, ErrNoSession):
		e.Outcome = OutcomeEnded
	case err != nil:
		e.Outcome = OutcomeFailed
	case adopted != "":
		e = Event{Kind: EventRefreshShared, Outcome: adopted, Session: e.Session}
	}
	c.emit(ctx, e)
}

// refreshedOutcome saves refreshed session s of sc to the session backend
// and encodes it into the outcome of a refresh that obtained token tok.
func (c *Client) refreshedOutcome(ctx context.Context, sc *sessionCookie, s *Session, tok *AccessToken) (refresh.Outcome[*refreshedSession], error) {
	now := c.now().Unix()
	next := &sessionCookie{Key: sc.Key, Lifetime: sc.Lifetime, Session: s}
	next.Lifetime.U = now
	next.Lifetime.E = c.cfg.expiry(next.Lifetime)
	payload, err := c.backend.save(ctx, next)
	if err != nil {
		return refresh.Outcome[*refreshedSession]{}, err
	}
	value, err := c.encodeSaved(payload)
	if err != nil {
		return refresh.Outcome[*refreshedSession]{}, err
	}
	return refresh.Outcome[*refreshedSession]{
		Value:        &refreshedSession{sc: next, value: value},
		RefreshToken: s.RefreshToken,
		Expires:      shareUntil(tok, now),
	}, nil
}

// shareUntil is when the outcome of a refresh that obtained tok stops being
// worth sharing: when tok counts as expired, or, for a token whose expiry is
// unknown (which GetTokens never refreshes by itself), as long as a result
// is kept at all.
func shareUntil(tok *AccessToken, now int64) time.Time {
	if tok.AccessTokenExpiration == 0 {
		return time.Unix(now, 0).Add(refresh.KeepResult)
	}
	return time.Unix(tok.AccessTokenExpiration-expiryMargin, 0)
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

// grant runs the refresh grant and validates what it returns. When the
// provider answered but its answer fails validation, the result is
// returned with the error, so that a rotated refresh token is not lost.
func (c *Client) grant(ctx context.Context, p *discoveredOP, s *Session, rt string, q tokenQuery) (*grantResult, error) {
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

// applyRefresh files a refresh result into s: the new access token replaces
// the one with the same resource and requested scopes, and the rotated
// refresh token, the new ID token and the new claims are kept.
func (c *Client) applyRefresh(ctx context.Context, s *Session, res *grantResult, q tokenQuery) (*Session, error) {
	s.AccessTokens = slices.DeleteFunc(s.AccessTokens, func(t AccessToken) bool {
		return sameSet(t.Resource, q.resource) && sameSet(t.RequestedScopes, q.fileScopes)
	})
	s.AccessTokens = append(s.AccessTokens, AccessToken{
		AccessToken:           res.accessToken,
		AccessTokenExpiration: res.expiresAt,
		Scopes:                res.scope,
		Resource:              q.resource,
		RequestedScopes:       q.fileScopes,
	})
	if res.refreshToken != "" {
		s.RefreshToken = res.refreshToken
	}
	if res.idToken != "" {
		s.IDToken = res.idToken
	}
	if len(res.claims) > 0 || len(res.userInfo) > 0 {
		c.syncProfile(s, res.claims, res.userInfo)
	}
	if hook := c.cfg.opts.OnSessionCreating; hook != nil {
		if err := hook(ctx, s, res.claims, res.userInfo, nil); err != nil {
			return nil, err
		}
	}
	return s, nil
}
