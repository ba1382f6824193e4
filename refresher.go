package monocloud

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/monocloud/auth-go/internal/refresh"
)

// refreshedSession is a session after a refresh grant: the cookie to
// send, encoded once and shared by every request that adopts the refresh.
type refreshedSession struct {
	sc    *sessionCookie
	value string // sc encoded; with a store, its key, lifetime and version
}

// refreshRequest is what GetTokens asks c.refreshes for: the refresh of
// token q of session sc.
func refreshRequest(sc *sessionCookie, q tokenQuery) refresh.Request {
	return refresh.Request{
		Session:      sc.Key,
		Query:        q.resource + "\x00" + q.fileScopes,
		RefreshToken: sc.Session.RefreshToken,
		Force:        q.force,
	}
}

// grantFunc returns the grant of token q of session sc that c.refreshes
// runs (see runRefresh), which reports to report.
func (c *Client) grantFunc(sc *sessionCookie, q tokenQuery, report *grantReport) refresh.GrantFunc[*refreshedSession] {
	return func(ctx context.Context, rt string) (refresh.Outcome[*refreshedSession], error) {
		return c.runRefresh(ctx, sc, rt, q, report)
	}
}

// grantReport hands the events of a grant to the request that started it,
// which emits them with its own, at its top (see getTokens). A grant that
// ends after its request stopped waiting for it emits them itself.
type grantReport struct {
	mu        sync.Mutex
	events    []Event
	ended     bool // the grant ended: events are its report
	abandoned bool // the request stopped waiting: the grant emits its report
}

// end files events, the report of the grant, and reports whether the grant
// must emit them itself.
func (r *grantReport) end(events []Event) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events, r.ended = events, true
	return r.abandoned
}

// take returns the report of the grant for its request to emit. Before the
// grant ended (the request stopped waiting, or joined another request's
// grant or took a kept result, and this grant never runs) it returns none
// and leaves the report to the grant.
func (r *grantReport) take() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.ended {
		r.abandoned = true
		return nil
	}
	return r.events
}

// runRefresh runs one refresh of session sc presenting rt, detached from
// any request (it may serve several requests and outlive the one that
// started it: its ctx keeps the request's values, such as trace IDs, but
// not its auth state). It holds the backend's lock of the session, so that a
// sign-out cannot be undone by a refresh that finishes after it; adopts
// the newest version of the session another instance saved or shared, if
// it holds a fresh token; else runs the grant, verifies and applies its
// answer, saves the refreshed session and shares it. It files its report
// in report: one event, refresh, or refresh_shared when it adopted another
// instance's, after a store_error for what it could not save or share, or
// the provider_error of a discovery attempt it made that failed.
func (c *Client) runRefresh(ctx context.Context, sc *sessionCookie, rt string, q tokenQuery, report *grantReport) (out refresh.Outcome[*refreshedSession], err error) {
	ctx = c.detached(ctx)
	start := c.now()
	var (
		adopted Outcome
		unsaved *Event
	)
	defer func() {
		var events []Event
		var failed *Event
		if failed, err = discoveryEvent(err); failed != nil {
			events = append(events, *failed)
		}
		if unsaved != nil {
			events = append(events, *unsaved)
		}
		events = append(events, refreshEvent(sc.Key, adopted, c.now().Sub(start), err))
		if report.end(events) {
			for _, e := range events {
				c.emit(ctx, e)
			}
		}
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
			next := c.refreshedCookie(sc, latest.session)
			var saved *sessionCookie
			if saved, err = c.backend.save(ctx, next); err != nil {
				return out, err
			}
			return c.refreshedOutcome(next, saved, tok)
		}
		base, rt = latest.session, latest.session.RefreshToken
	}
	if c.ended.includes(&sessionCookie{Key: sc.Key, Lifetime: sc.Lifetime, Session: base}) {
		return out, ErrNoSession
	}
	res, err := c.grantRefresh(ctx, base, rt, q)
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
	next := c.refreshedCookie(sc, s)
	saved, unshared, err := c.backend.saveRefreshed(ctx, next, latest, rt, base)
	if err != nil {
		return out, err
	}
	// A failure to share is reported: the refresh succeeded, and this
	// request gets it.
	if unshared != nil {
		unsaved = &Event{Kind: EventStoreError, Op: "sharing a token refresh with the coordinator", Session: sessionTag(sc.Key), Err: unshared}
	}
	return c.refreshedOutcome(next, saved, findToken(s.AccessTokens, q.resource, q.fileScopes))
}

// detached returns ctx without c's request state, for work that runs
// detached from the request: the request helpers answer
// ErrNoRequestContext there.
func (c *Client) detached(ctx context.Context) context.Context {
	return context.WithValue(ctx, reqStateKey{c}, (*requestState)(nil))
}

// refreshEvent is the event of a refresh of the session with key that took
// d: refresh_shared when it adopted another instance's refresh (adopted is
// the Outcome saying from where), else refresh.
func refreshEvent(key string, adopted Outcome, d time.Duration, err error) Event {
	e := Event{Kind: EventRefresh, Outcome: OutcomeOK, Duration: d, Session: sessionTag(key), Err: err}
	switch {
	case errors.Is(err, ErrNoSession):
		e.Outcome = OutcomeEnded
	case err != nil:
		e.Outcome = OutcomeFailed
	case adopted != "":
		e = Event{Kind: EventRefreshShared, Outcome: adopted, Session: e.Session}
	}
	return e
}

// refreshedCookie returns the cookie of sc's session refreshed into s,
// written now.
func (c *Client) refreshedCookie(sc *sessionCookie, s *Session) *sessionCookie {
	next := &sessionCookie{Key: sc.Key, Lifetime: sc.Lifetime, Session: s}
	next.Lifetime.U = c.now().Unix()
	next.Lifetime.E = c.cfg.expiry(next.Lifetime)
	return next
}

// refreshedOutcome encodes saved, what the session backend saved of the
// refreshed cookie next, into the outcome of a refresh that obtained token
// tok.
func (c *Client) refreshedOutcome(next, saved *sessionCookie, tok *AccessToken) (refresh.Outcome[*refreshedSession], error) {
	value, err := c.encodeSaved(saved)
	if err != nil {
		return refresh.Outcome[*refreshedSession]{}, err
	}
	return refresh.Outcome[*refreshedSession]{
		Value:        &refreshedSession{sc: next, value: value},
		RefreshToken: next.Session.RefreshToken,
		Expires:      shareUntil(tok, next.Lifetime.U),
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
