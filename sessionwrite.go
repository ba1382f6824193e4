package monocloud

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/monocloud/auth-go/internal/cookie"
)

// sessionWarnSize is the size, names plus values, past which a session's
// cookies raise a session_large event: nginx's default limit of a header
// line, the smallest among common front ends.
const sessionWarnSize = 8 << 10

// create starts a new session (sign-in): a new key, so a session fixed
// before sign-in is never reused.
func (st *requestState) create(ctx context.Context, s *Session) error {
	defer st.emitQueued(ctx)
	old, err := st.lookup(ctx)
	if err != nil {
		return err
	}
	if old != nil {
		if err := st.c.backend.discard(ctx, old.Key); err != nil {
			return err
		}
	}
	return st.write(ctx, st.c.newSessionCookie(s))
}

// update replaces the session's content, keeping its key and creation time.
func (st *requestState) update(ctx context.Context, s *Session) error {
	defer st.emitQueued(ctx)
	cur, err := st.lookup(ctx)
	if err != nil {
		return err
	}
	if cur == nil {
		return ErrNoSession
	}
	sc := &sessionCookie{Key: cur.Key, Lifetime: cur.Lifetime, Session: s}
	sc.Lifetime.U = st.c.now().Unix()
	sc.Lifetime.E = st.c.cfg.expiry(sc.Lifetime)
	return st.writeMerged(ctx, sc, cur.Session.RefreshToken)
}

// writeMerged is write for changes made outside a token refresh. With a
// SessionLocker store it holds the session's lock and keeps the tokens that
// another instance refreshed since this request read the session (its
// refresh token was then loadedRT), so a rotated refresh token is never put
// back into the store.
func (st *requestState) writeMerged(ctx context.Context, sc *sessionCookie, loadedRT string) error {
	stored, unlock, err := st.c.backend.lockWrite(ctx, sc.Key)
	if errors.Is(err, ErrNoSession) {
		// Signed out (or logged out by the provider) meanwhile: do not
		// bring the session back.
		st.expireFamily(nil)
	}
	if err != nil {
		return err
	}
	defer unlock()
	if stored != nil && stored.RefreshToken != loadedRT && sc.Session.RefreshToken == loadedRT {
		s := *sc.Session
		s.RefreshToken, s.IDToken, s.AccessTokens = stored.RefreshToken, stored.IDToken, stored.AccessTokens
		merged := *sc
		merged.Session = &s
		*sc = merged
	}
	return st.write(ctx, sc)
}

// destroy ends the session locally: store entry and cookies. The session's
// key is also recorded as ended in this process, so a copy of the cookie taken before
// is refused too; with cookie sessions and a Coordinator, on every
// instance. With a SessionLocker store it holds the session's lock, so a
// refresh running meanwhile either sees the session gone or is undone.
// When the store or the Coordinator fails, nothing changes and a
// *StoreError is returned: the session has not ended.
func (st *requestState) destroy(ctx context.Context) error {
	defer st.emitQueued(ctx)
	sc, err := st.lookup(ctx)
	if err != nil {
		return err
	}
	if sc != nil {
		now := st.c.now()
		sub := subject(sc.userClaims(), sc.Session.IDToken)
		if err := st.c.backend.end(ctx, sc, EndedSession{Key: sc.Key, Sub: sub, At: now}); err != nil {
			return err
		}
		st.c.ended.addKey(sc.Key, sub, now)
		st.c.refreshes.Forget(sc.Key)
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	st.current = nil
	return st.expireFamilyLocked(nil)
}

// remove ends a session found invalid at load (expired or ended): it
// deletes sc's store entry, if any, and expires every session cookie the
// request carried. A store failure is logged: the stale entry stays, but
// the session is not served. It runs in the load: its events are queued.
func (st *requestState) remove(ctx context.Context, sc *sessionCookie) {
	if err := st.c.backend.remove(ctx, sc.Key); err != nil {
		st.queue(Event{Kind: EventStoreError, Op: "deleting an ended session", Session: sessionTag(sc.Key), Err: err})
	}
	st.expireFamily(nil)
}

// encodeSession saves sc to the session backend and returns the session
// cookie value for it (with a store: its key, lifetime and version only).
func (c *Client) encodeSession(ctx context.Context, sc *sessionCookie) (string, error) {
	payload, err := c.backend.save(ctx, sc)
	if err != nil {
		return "", err
	}
	return c.encodeSaved(payload)
}

// write saves sc (to the store, if any) and makes it the request's session,
// queueing its cookies.
func (st *requestState) write(ctx context.Context, sc *sessionCookie) error {
	value, err := st.c.encodeSession(ctx, sc)
	if err != nil {
		return err
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if err := st.setSessionLocked(value, sc); err != nil {
		return err
	}
	st.current = sc
	return nil
}

// setSessionLocked queues the cookies of session cookie value (of sc),
// expiring the request's session cookies that it does not overwrite, and a
// session_large event when they pass sessionWarnSize. The caller holds
// st.mu.
func (st *requestState) setSessionLocked(value string, sc *sessionCookie) error {
	cfg := st.c.cfg
	attrs := cookieAttributes(cfg.opts.Session.Cookie)
	cookies, err := st.c.sessionCookies(value, sc)
	if err != nil {
		return err
	}
	written := make(map[string]bool, len(cookies))
	size := 0
	for _, ck := range cookies {
		written[ck.Name] = true
		size += len(ck.Name) + len(ck.Value)
	}
	if size > sessionWarnSize {
		st.queued = append(st.queued, Event{Kind: EventSessionLarge, Session: sessionTag(sc.Key), Err: fmt.Errorf("monocloud: the session cookies hold %d bytes, more than the %d bytes some front ends accept in a Cookie header", size, sessionWarnSize)})
	}
	if err := st.expireFamilyLocked(written); err != nil {
		return err
	}
	if len(cookies) > 1 && len(st.family) == 0 {
		// A request carries all of the session cookies or none; one with
		// none (a callback from the provider, cross-site) may come from a
		// browser that holds some. A single cookie or leftover chunks
		// would hide or corrupt these chunks: expire them. A single
		// cookie written here needs no such care: leftover chunks hold an
		// older session, which decodeNewest discards.
		expired := []*http.Cookie{cookie.Expired(cfg.opts.Session.Cookie.Name, attrs)}
		for i := len(cookies); i < cookie.MaxChunks; i++ {
			expired = append(expired, cookie.Expired(cfg.opts.Session.Cookie.Name+"."+strconv.Itoa(i), attrs))
		}
		if err := st.setCookiesLocked(expired...); err != nil {
			return err
		}
	}
	return st.setCookiesLocked(cookies...)
}

// expireFamily is expireFamilyLocked for callers that do not hold st.mu. A
// failure (the response header was written) is queued as an event.
func (st *requestState) expireFamily(keep map[string]bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if err := st.expireFamilyLocked(keep); err != nil {
		st.queued = append(st.queued, Event{Kind: EventSessionNotWritten, Op: "expiring the session cookies", Err: err})
	}
}

// expireFamilyLocked expires the session cookies that the request carried
// or that an earlier write of this request queued, except those in keep.
// Both are names the library writes (see cookie.Find), at most
// cookie.MaxChunks+1 each. It fails only when the response header was
// already written. The caller holds st.mu.
func (st *requestState) expireFamilyLocked(keep map[string]bool) error {
	cfg := st.c.cfg.opts.Session.Cookie
	attrs := cookieAttributes(cfg)
	names := slices.Clone(st.family)
	for _, ck := range st.pending.list {
		if ck.Name == cfg.Name || strings.HasPrefix(ck.Name, cfg.Name+".") {
			names = append(names, ck.Name)
		}
	}
	for _, name := range names {
		if !keep[name] {
			if err := st.setCookiesLocked(cookie.Expired(name, attrs)); err != nil {
				return err
			}
		}
	}
	return nil
}
