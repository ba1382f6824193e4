package monocloud

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"
)

// lineageIdle is how long the refresh record of a session is kept after its
// last use once its results have expired.
const lineageIdle = 10 * time.Minute

// refresher runs refresh grants exactly once. Refreshes of one session (its
// lineage: the cookie key, kept across updates) are serialized, so a
// rotated refresh token is never presented twice; a caller that waited for
// a grant that another caller ran gets that grant's result; and a request
// still carrying a cookie from before a refresh gets the refreshed tokens
// (the results are kept until the access token expires).
type refresher struct {
	c         *Client
	mu        sync.Mutex
	lineages  map[string]*lineage
	nextSweep int // sweep when this many lineages exist
}

// lineage is the refresh record of one session.
type lineage struct {
	sem      chan struct{} // one grant at a time
	latestRT string        // newest refresh token issued to this session
	consumed map[string]bool
	results  map[resultKey]*refreshResult
	// lastUsed and keepUntil (unix seconds: the latest expiry of its
	// results) are guarded by refresher.mu, the rest by sem.
	lastUsed  time.Time
	keepUntil int64
}

type resultKey struct{ refreshToken, resource, scopes string }

// refreshResult is what one refresh grant produced.
type refreshResult struct {
	accessToken  string
	expiresAt    int64 // unix seconds
	scope        string
	idToken      string
	refreshToken string
	claims       map[string]any // verified claims of idToken
	userInfo     map[string]any
	obtained     time.Time
}

func newRefresher(c *Client) *refresher {
	return &refresher{c: c, lineages: make(map[string]*lineage), nextSweep: 1024}
}

func (rf *refresher) lineage(key string, now time.Time) *lineage {
	rf.mu.Lock()
	defer rf.mu.Unlock()
	ln, ok := rf.lineages[key]
	if !ok {
		if len(rf.lineages) >= rf.nextSweep {
			rf.sweep(now)
			rf.nextSweep = max(1024, 2*len(rf.lineages))
		}
		ln = &lineage{sem: make(chan struct{}, 1), consumed: make(map[string]bool), results: make(map[resultKey]*refreshResult)}
		rf.lineages[key] = ln
	}
	ln.lastUsed = now
	return ln
}

// sweep drops idle lineages. The caller holds rf.mu.
func (rf *refresher) sweep(now time.Time) {
	for key, ln := range rf.lineages {
		if now.Sub(ln.lastUsed) >= lineageIdle && ln.keepUntil < now.Unix() && len(ln.sem) == 0 {
			delete(rf.lineages, key)
		}
	}
}

// refresh refreshes the token q of session sc and saves the updated
// session with save, running at most one grant per session at a time: in
// this process always, and across instances when the SessionStore
// implements SessionLocker (the session is then re-read from the store under
// the lock, and a refresh made meanwhile by another instance is adopted).
// It returns the saved session.
func (rf *refresher) refresh(ctx context.Context, sc *sessionCookie, q tokenQuery, save func(*Session) error) (*Session, error) {
	arrived := time.Now()
	ln := rf.lineage(sc.Key, arrived)
	select {
	case ln.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, &HTTPError{Message: "waiting for a token refresh: " + ctx.Err().Error(), Err: ctx.Err()}
	}
	defer func() { <-ln.sem }()

	base := sc.Session
	if locker, ok := rf.c.cfg.store.(SessionLocker); ok {
		unlock, err := locker.LockSession(ctx, sc.Key)
		if err != nil {
			return nil, fmt.Errorf("monocloud: locking the session for a token refresh: %w", err)
		}
		defer unlock()
		current, err := rf.c.cfg.store.Get(ctx, sc.Key)
		if err != nil {
			return nil, fmt.Errorf("monocloud: re-reading the session: %w", err)
		}
		if current == nil {
			return nil, ErrNoSession
		}
		// Another instance refreshed while this request ran, or before it
		// while the browser still held the cookie from before the refresh:
		// adopt that refresh (forced or not) rather than running another.
		behind := sc.Version != "" && sc.Version != tokenVersion(current.RefreshToken)
		if current.RefreshToken != base.RefreshToken || behind {
			if tok := findToken(current.AccessTokens, q.resource, q.fileScopes); tok != nil && !expired(tok, rf.c.now().Unix()) {
				return current, save(current)
			}
			base = current
		}
	}

	res, err := rf.result(ctx, ln, arrived, base, q)
	if err != nil {
		return nil, err
	}
	s, err := rf.c.applyRefresh(ctx, base.clone(), res, q)
	if err != nil {
		return nil, err
	}
	return s, save(s)
}

// result returns the refresh result for q: one obtained by an earlier grant
// of this lineage when it can be shared, else a new grant's. The caller
// holds ln.sem.
func (rf *refresher) result(ctx context.Context, ln *lineage, arrived time.Time, base *Session, q tokenQuery) (*refreshResult, error) {
	rt := base.RefreshToken
	key := resultKey{rt, q.resource, q.fileScopes}
	now := rf.c.now().Unix()
	if res, ok := ln.results[key]; ok {
		// Shared when it was obtained while this call waited (whatever
		// its lifetime), or while it is fresh when this call's refresh
		// token was already used or the refresh is not forced.
		fresh := res.expiresAt-expiryMargin >= now
		if res.obtained.After(arrived) || (fresh && (ln.consumed[rt] || !q.force)) {
			return ln.withLatest(res), nil
		}
	}
	if ln.consumed[rt] && ln.latestRT != "" {
		rt = ln.latestRT
	}
	res, err := rf.grant(ctx, base, rt, q)
	if err != nil {
		return nil, err
	}
	if res.refreshToken != "" && res.refreshToken != rt {
		ln.consumed[rt] = true
		ln.consumed[base.RefreshToken] = true
		ln.latestRT = res.refreshToken
	}
	for k, old := range ln.results {
		if old.expiresAt < now && time.Since(old.obtained) > time.Minute {
			delete(ln.results, k)
		}
	}
	ln.results[key] = res
	ln.results[resultKey{rt, q.resource, q.fileScopes}] = res
	rf.mu.Lock()
	ln.keepUntil = max(ln.keepUntil, res.expiresAt)
	rf.mu.Unlock()
	return ln.withLatest(res), nil
}

// withLatest returns res carrying the newest refresh token of the lineage,
// so that a session updated from an older result does not keep a consumed
// refresh token.
func (ln *lineage) withLatest(res *refreshResult) *refreshResult {
	if ln.latestRT == "" || ln.latestRT == res.refreshToken {
		return res
	}
	r := *res
	r.refreshToken = ln.latestRT
	return &r
}

// grant runs the refresh grant and validates what it returns.
func (rf *refresher) grant(ctx context.Context, s *Session, rt string, q tokenQuery) (*refreshResult, error) {
	c := rf.c
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
		expiresAt:    c.now().Unix() + resp.ExpiresIn,
		scope:        resp.Scope,
		idToken:      resp.IDToken,
		refreshToken: resp.RefreshToken,
		obtained:     time.Now(),
	}
	if resp.IDToken != "" {
		res.claims, err = c.verifyIDToken(ctx, resp.IDToken, idTokenCheck{
			refresh: true,
			nonce:   unverifiedClaim(s.IDToken, "nonce"),
			subject: s.subject(),
		})
		if err != nil {
			return nil, err
		}
	}
	if q.refetch && hasScope(resp.Scope, "openid") && p.userInfoURL != "" {
		if res.userInfo, err = c.fetchUserInfo(ctx, resp.AccessToken, s.subject()); err != nil {
			return nil, err
		}
	}
	return res, nil
}
