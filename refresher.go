package monocloud

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"time"

	"github.com/monocloud/auth-go/internal/refresh"
)

// refreshed is a session after a refresh grant: the cookie to send, encoded
// once and shared by every request that adopts the refresh.
type refreshed struct {
	sc    *sessionCookie
	value string // sc encoded; with a store, its key, lifetime and version
}

// refresh returns session sc with the token q refreshed. Refreshes run
// through c.refreshes (see package refresh): once per need, detached from
// the request, with the result kept for requests that still carry sc's
// cookie. With a SessionLocker store the grant also holds the session's
// lock, re-reads the session, adopts a refresh another instance made, and
// saves the result before it releases the lock, so that a sign-out cannot
// be undone by a refresh that finishes after it. With cookie sessions and a
// Coordinator, the grant holds the Coordinator's lock of the session,
// adopts a refresh another instance shared for the refresh token it would
// present, and shares its own.
func (c *Client) refresh(ctx context.Context, sc *sessionCookie, q tokenQuery) (*refreshed, error) {
	req := refresh.Request{
		Session:      sc.Key,
		Query:        q.resource + "\x00" + q.fileScopes,
		RefreshToken: sc.Session.RefreshToken,
		Force:        q.force,
	}
	// The grant runs detached from this request and may serve others: its
	// ctx keeps the request's values (trace IDs) but not its auth state.
	out, err := c.refreshes.Do(c.detached(ctx), req, func(ctx context.Context, rt string) (refresh.Outcome[*refreshed], error) {
		return c.runRefresh(ctx, sc, rt, q)
	})
	if err != nil {
		return nil, err
	}
	switch out.Source {
	case refresh.Joined:
		c.emit(ctx, Event{Kind: EventRefreshShared, Outcome: OutcomeJoined, Session: sessionTag(sc.Key)})
	case refresh.Kept:
		c.emit(ctx, Event{Kind: EventRefreshShared, Outcome: OutcomeKept, Session: sessionTag(sc.Key)})
	}
	return out.Value, nil
}

// runRefresh runs one refresh grant of session sc presenting rt, and
// builds the refreshed session cookie. Its ctx is detached from any request.
// It reports the refresh as an event: refresh, or refresh_shared when it
// adopted another instance's.
func (c *Client) runRefresh(ctx context.Context, sc *sessionCookie, rt string, q tokenQuery) (out refresh.Outcome[*refreshed], err error) {
	start, adopted := c.now(), ""
	defer func() { c.emitRefresh(ctx, sc.Key, adopted, c.now().Sub(start), err) }()
	base := sc.Session
	locker, _ := c.cfg.store.(SessionLocker)
	if locker != nil {
		unlock, err := locker.LockSession(ctx, sc.Key)
		if err != nil {
			return out, storeError("locking the session for a token refresh", err)
		}
		defer unlock()
		current, err := c.cfg.store.Get(ctx, sc.Key)
		if err != nil {
			return out, storeError("re-reading the session", err)
		}
		if current == nil {
			return out, ErrNoSession // signed out meanwhile
		}
		behind := sc.Version != "" && sc.Version != tokenVersion(current.RefreshToken)
		if current.RefreshToken != rt || behind {
			// Another instance refreshed while this request ran, or
			// before it while the browser still held the cookie from
			// before that refresh: adopt it rather than run another.
			if tok := findToken(current.AccessTokens, q.resource, q.fileScopes); tok != nil && !expired(tok, c.now().Unix()) {
				adopted = OutcomeStore
				return c.refreshedOutcome(ctx, sc, current, tok)
			}
		}
		base, rt = current, current.RefreshToken
	}
	shared := locker == nil && c.cfg.coordinator != nil
	if shared {
		unlock, err := c.cfg.coordinator.LockSession(ctx, sc.Key)
		if err != nil {
			return out, storeError("locking the session for a token refresh", err)
		}
		defer unlock()
		other, err := c.sharedRefresh(ctx, sc, rt)
		if err != nil {
			return out, err
		}
		if other != nil {
			// Adopt another instance's refresh unless a new grant is
			// forced and the refresh token was not rotated (then sc is
			// not behind).
			if tok := findToken(other.AccessTokens, q.resource, q.fileScopes); tok != nil && !expired(tok, c.now().Unix()) && (!q.force || other.RefreshToken != rt) {
				adopted = OutcomeCoordinator
				return c.refreshedOutcome(ctx, sc, other, tok)
			}
			base, rt = other, other.RefreshToken
		}
	}
	if c.revocations.revoked(&sessionCookie{Key: sc.Key, Lifetime: sc.Lifetime, Session: base}) {
		return out, ErrNoSession
	}
	res, err := c.grant(ctx, base, rt, q)
	if res != nil {
		out.RefreshToken = res.refreshToken
	}
	if err != nil {
		if out.RefreshToken != "" && c.cfg.store != nil {
			// The provider rotated the refresh token but its answer is
			// refused: keep the new token, or the next grant, on any
			// instance, presents the used one and the grant is revoked.
			kept := base.clone()
			kept.RefreshToken = out.RefreshToken
			if serr := c.cfg.store.Set(ctx, sc.Key, kept, sc.Lifetime.public()); serr != nil {
				c.emit(ctx, Event{Kind: EventStoreError, Op: "saving a rotated refresh token", Session: sessionTag(sc.Key), Err: serr})
			}
		}
		return out, err
	}
	s, err := c.applyRefresh(ctx, base.clone(), res, q)
	if err != nil {
		return out, err
	}
	out, err = c.refreshedOutcome(ctx, sc, s, findToken(s.AccessTokens, q.resource, q.fileScopes))
	if err == nil && shared {
		c.shareRefresh(ctx, rt, base, out.Value)
	}
	return out, err
}

// emitRefresh reports a refresh of the session with key that took d: as
// refresh_shared when it adopted another instance's refresh (adopted is the
// Outcome saying from where), else as refresh.
func (c *Client) emitRefresh(ctx context.Context, key, adopted string, d time.Duration, err error) {
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

// refreshedOutcome encodes refreshed session s of sc (saving it to the
// store, if any) into the outcome of a refresh that obtained token tok.
func (c *Client) refreshedOutcome(ctx context.Context, sc *sessionCookie, s *Session, tok *AccessToken) (refresh.Outcome[*refreshed], error) {
	now := c.now().Unix()
	next := &sessionCookie{Key: sc.Key, Lifetime: sc.Lifetime, Session: s}
	next.Lifetime.U = now
	next.Lifetime.E = c.cfg.expiry(next.Lifetime)
	value, err := c.encodeSession(ctx, next)
	if err != nil {
		return refresh.Outcome[*refreshed]{}, err
	}
	return refresh.Outcome[*refreshed]{
		Value:        &refreshed{sc: next, value: value},
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

// maxSharedRefreshes bounds how many refreshes of a session, shared by
// other instances, a refresh follows to reach the newest one.
const maxSharedRefreshes = 32

// sharedRefresh returns session sc as the newest of the refreshes other
// instances shared through the Coordinator, after refresh token rt was
// presented, made it; or nil when there is none. It follows the refreshes
// made since, each shared under the digest of the refresh token it
// presented, and applies each to the session the previous one made.
func (c *Client) sharedRefresh(ctx context.Context, sc *sessionCookie, rt string) (*Session, error) {
	var newest *Session
	base := sc.Session
	for range maxSharedRefreshes {
		value, err := c.cfg.coordinator.GetRefreshed(ctx, tokenDigest(rt))
		if err != nil {
			return nil, storeError("reading a shared refresh", err)
		}
		if value == nil {
			break
		}
		var d refreshDelta
		if _, err := c.sessionCodec.Decode(refreshDeltaName, string(value), &d); err != nil || d.key != sc.Key {
			// Written by another app or with a retired secret: not ours
			// to adopt.
			break
		}
		newest = d.adopt(base)
		if newest.RefreshToken == rt {
			break // not rotated: this is the newest
		}
		base, rt = newest, newest.RefreshToken
	}
	return newest, nil
}

// shareRefresh shares r, the refresh of session base that presented refresh
// token rt, with the other instances: only what a cookie holding base lacks
// to adopt it (see refreshDelta), encrypted and authenticated by the
// Client's codec. It is kept until r's session expires: a cookie holding rt
// may come until then, as a sliding session's cookie re-written by a
// request that needed no token lives as long as the session. A failure is
// logged: the refresh succeeded, and this request gets it.
func (c *Client) shareRefresh(ctx context.Context, rt string, base *Session, r *refreshed) {
	ttl := time.Unix(r.sc.Lifetime.E, 0).Sub(c.now())
	if ttl <= 0 {
		return
	}
	value, err := c.sessionCodec.Encode(refreshDeltaName, newRefreshDelta(r.sc.Key, base, r.sc.Session))
	if err == nil {
		err = c.cfg.coordinator.PutRefreshed(ctx, tokenDigest(rt), []byte(value), ttl)
	}
	if err != nil {
		c.emit(ctx, Event{Kind: EventStoreError, Op: "sharing a token refresh with the coordinator", Session: sessionTag(r.sc.Key), Err: err})
	}
}

// tokenDigest returns the hex SHA-256 digest of a refresh token, under
// which its refresh is shared.
func tokenDigest(rt string) string {
	sum := sha256.Sum256([]byte(rt))
	return hex.EncodeToString(sum[:])
}

// refreshResult is what one refresh grant produced.
type refreshResult struct {
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
func (c *Client) grant(ctx context.Context, s *Session, rt string, q tokenQuery) (*refreshResult, error) {
	p, err := c.provider(ctx)
	if err != nil {
		return nil, err
	}
	resp, err := p.tokens.Refresh(ctx, p.tokenURL, rt, strings.Fields(q.resource), q.scopes)
	if err != nil {
		return nil, opError(err)
	}
	res := &refreshResult{
		accessToken:  resp.AccessToken,
		expiresAt:    expiration(resp.Expiry),
		scope:        resp.Scope,
		idToken:      resp.IDToken,
		refreshToken: resp.RefreshToken,
	}
	if resp.IDToken != "" {
		res.claims, err = c.verifyIDToken(ctx, resp.IDToken, idTokenCheck{
			refresh: true,
			nonce:   unverifiedClaim(s.IDToken, "nonce"),
			subject: s.subject(),
		})
		if err != nil {
			return res, err
		}
	}
	if q.refetch && hasScope(resp.Scope, "openid") && p.userInfoURL != "" {
		if res.userInfo, err = c.fetchUserInfo(ctx, resp.AccessToken, s.subject()); err != nil {
			return res, err
		}
	}
	return res, nil
}

// storeError wraps a failure of the SessionStore.
func storeError(op string, err error) error {
	return &StoreError{Op: op, Err: err}
}
