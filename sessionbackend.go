package monocloud

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/monocloud/auth-go/internal/cookie"
)

// sessionBackend is where sessions live: in their cookies (cookieSessions)
// or in a SessionStore (storedSessions). New chooses it once; the request
// state and the refresh call it without asking which it is.
type sessionBackend interface {
	// load completes cookie sc, read from the request, with its session:
	// for stored sessions, the stored one. It reports false when the store
	// no longer has it.
	load(ctx context.Context, sc *sessionCookie) (bool, error)
	// save saves sc and returns what its cookie carries: sc itself, or
	// only its key, lifetime and version.
	save(ctx context.Context, sc *sessionCookie) (*sessionCookie, error)
	// discard deletes the stored session key, which a sign-in replaces.
	discard(ctx context.Context, key string) error
	// remove deletes the stored session key, under its lock: a session
	// found expired or ended.
	remove(ctx context.Context, key string) error
	// end ends session sc, signed out, for every instance (r names it):
	// its stored entry is deleted, or, for cookie sessions with a
	// Coordinator, r is recorded with it.
	end(ctx context.Context, sc *sessionCookie, r EndedSession) error
	// lockWrite holds session key's lock for a change made outside a
	// refresh and returns the session as stored now, so the change keeps
	// tokens refreshed meanwhile. Without such a lock it returns a nil
	// session; ErrNoSession when the session ended meanwhile.
	lockWrite(ctx context.Context, key string) (stored *Session, unlock func(), err error)
	// lockRefresh holds session sc's lock for a refresh grant that would
	// present refresh token rt, and returns the newest version of the
	// session that other instances saved or shared; ErrNoSession when the
	// session ended meanwhile. force asks for a new grant: a shared refresh
	// that did not rotate rt is then not offered for adoption.
	lockRefresh(ctx context.Context, sc *sessionCookie, rt string, force bool) (newest, func(), error)
	// share shares refresh r of session base, which presented refresh
	// token rt, with the other instances.
	share(ctx context.Context, rt string, base *Session, r *refreshedSession) error
}

// newest is what lockRefresh found of a session.
type newest struct {
	session *Session // nil when there is nothing newer than the request's
	// adoptable reports that session is another instance's refresh, to
	// adopt rather than run another grant when it holds a fresh token.
	adoptable bool
	from      Outcome // the outcome of adopting it
}

// newSessionBackend returns the backend of cfg: cookieSessions without a
// SessionStore, else storedSessions. A Coordinator shares the refreshes of
// sessions that no SessionLocker serializes.
func newSessionBackend(cfg *config, codec *cookie.Codec, now func() time.Time, endSession func(context.Context, EndedSession) error) sessionBackend {
	sharing := refreshSharing{coord: cfg.coordinator, codec: codec, now: now}
	if cfg.store == nil {
		return &cookieSessions{sharing: sharing, endSession: endSession}
	}
	locker, _ := cfg.store.(SessionLocker)
	if locker != nil {
		sharing = refreshSharing{}
	}
	return &storedSessions{store: cfg.store, locker: locker, sharing: sharing}
}

// cookieSessions keeps each session in its cookie.
type cookieSessions struct {
	sharing refreshSharing
	// endSession records an ended session with the Coordinator; without
	// one it does nothing.
	endSession func(context.Context, EndedSession) error
}

func (*cookieSessions) load(context.Context, *sessionCookie) (bool, error) { return true, nil }

func (*cookieSessions) save(_ context.Context, sc *sessionCookie) (*sessionCookie, error) {
	return sc, nil
}

func (*cookieSessions) discard(context.Context, string) error { return nil }

func (*cookieSessions) remove(context.Context, string) error { return nil }

func (b *cookieSessions) end(ctx context.Context, _ *sessionCookie, r EndedSession) error {
	return b.endSession(ctx, r)
}

func (*cookieSessions) lockWrite(context.Context, string) (*Session, func(), error) {
	return nil, func() {}, nil
}

func (b *cookieSessions) lockRefresh(ctx context.Context, sc *sessionCookie, rt string, force bool) (newest, func(), error) {
	return b.sharing.lock(ctx, sc, rt, force)
}

func (b *cookieSessions) share(ctx context.Context, rt string, base *Session, r *refreshedSession) error {
	return b.sharing.share(ctx, rt, base, r)
}

// storedSessions keeps sessions in a SessionStore; their cookies carry only
// the key, lifetime and version.
type storedSessions struct {
	store   SessionStore
	locker  SessionLocker  // the store, when it is one; else nil
	sharing refreshSharing // without a locker
}

func (b *storedSessions) load(ctx context.Context, sc *sessionCookie) (bool, error) {
	s, err := b.store.Get(ctx, sc.Key)
	if err != nil {
		return false, storeError("reading the session", err)
	}
	if s == nil {
		return false, nil
	}
	sc.Session, sc.user = s, nil
	return true, nil
}

func (b *storedSessions) save(ctx context.Context, sc *sessionCookie) (*sessionCookie, error) {
	if err := b.store.Set(ctx, sc.Key, sc.Session, sc.Lifetime.public()); err != nil {
		return nil, storeError("saving the session", err)
	}
	return &sessionCookie{Key: sc.Key, Lifetime: sc.Lifetime, Version: tokenVersion(sc.Session.RefreshToken)}, nil
}

func (b *storedSessions) discard(ctx context.Context, key string) error {
	if err := b.store.Delete(ctx, key); err != nil {
		return storeError("deleting the previous session", err)
	}
	return nil
}

func (b *storedSessions) remove(ctx context.Context, key string) error {
	if b.locker != nil {
		unlock, err := b.locker.LockSession(ctx, key)
		if err != nil {
			return storeError("locking the session", err)
		}
		defer unlock()
	}
	if err := b.store.Delete(ctx, key); err != nil {
		return storeError("deleting the session", err)
	}
	return nil
}

func (b *storedSessions) end(ctx context.Context, sc *sessionCookie, _ EndedSession) error {
	return b.remove(ctx, sc.Key)
}

func (b *storedSessions) lockWrite(ctx context.Context, key string) (*Session, func(), error) {
	if b.locker == nil {
		return nil, func() {}, nil
	}
	unlock, err := b.locker.LockSession(ctx, key)
	if err != nil {
		return nil, nil, storeError("locking the session", err)
	}
	stored, err := b.store.Get(ctx, key)
	if err != nil {
		unlock()
		return nil, nil, storeError("re-reading the session", err)
	}
	if stored == nil {
		// Signed out (or logged out by the provider) meanwhile.
		unlock()
		return nil, nil, ErrNoSession
	}
	return stored, unlock, nil
}

func (b *storedSessions) lockRefresh(ctx context.Context, sc *sessionCookie, rt string, force bool) (newest, func(), error) {
	if b.locker == nil {
		return b.sharing.lock(ctx, sc, rt, force)
	}
	unlock, err := b.locker.LockSession(ctx, sc.Key)
	if err != nil {
		return newest{}, nil, storeError("locking the session for a token refresh", err)
	}
	current, err := b.store.Get(ctx, sc.Key)
	if err != nil {
		unlock()
		return newest{}, nil, storeError("re-reading the session", err)
	}
	if current == nil {
		unlock()
		return newest{}, nil, ErrNoSession // signed out meanwhile
	}
	// Another instance refreshed while this request ran, or before it while
	// the browser still held the cookie from before that refresh.
	behind := sc.Version != "" && sc.Version != tokenVersion(current.RefreshToken)
	return newest{session: current, adoptable: current.RefreshToken != rt || behind, from: OutcomeStore}, unlock, nil
}

func (b *storedSessions) share(ctx context.Context, rt string, base *Session, r *refreshedSession) error {
	return b.sharing.share(ctx, rt, base, r)
}

// refreshSharing shares refreshes between instances through a Coordinator:
// each refresh is kept under the digest of the refresh token it presented,
// so an instance that would present that token adopts it instead. Without
// a Coordinator it does nothing.
type refreshSharing struct {
	coord Coordinator
	codec *cookie.Codec
	now   func() time.Time
}

// maxSharedRefreshes bounds how many refreshes of a session, shared by
// other instances, a refresh follows to reach the newest one.
const maxSharedRefreshes = 32

// lock holds the Coordinator's lock of session sc and returns the newest of
// the refreshes that other instances shared since refresh token rt.
func (rs refreshSharing) lock(ctx context.Context, sc *sessionCookie, rt string, force bool) (newest, func(), error) {
	if rs.coord == nil {
		return newest{}, func() {}, nil
	}
	unlock, err := rs.coord.LockSession(ctx, sc.Key)
	if err != nil {
		return newest{}, nil, storeError("locking the session for a token refresh", err)
	}
	other, err := rs.latest(ctx, sc, rt)
	if err != nil {
		unlock()
		return newest{}, nil, err
	}
	// Adoptable unless a new grant is forced and the refresh token was not
	// rotated (then sc is not behind).
	adoptable := other != nil && (!force || other.RefreshToken != rt)
	return newest{session: other, adoptable: adoptable, from: OutcomeCoordinator}, unlock, nil
}

// latest returns session sc as the newest of the refreshes other instances
// shared after refresh token rt was presented, or nil when there is none.
// It follows the refreshes made since, each shared under the digest of the
// refresh token it presented, and applies each to the session the previous
// one made.
func (rs refreshSharing) latest(ctx context.Context, sc *sessionCookie, rt string) (*Session, error) {
	var newest *Session
	base := sc.Session
	for range maxSharedRefreshes {
		value, err := rs.coord.GetRefreshed(ctx, tokenDigest(rt))
		if err != nil {
			return nil, storeError("reading a shared refresh", err)
		}
		if value == nil {
			break
		}
		var d refreshDelta
		if _, err := rs.codec.Decode(refreshDeltaName, string(value), &d); err != nil || d.key != sc.Key {
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

// share shares r, the refresh of session base that presented refresh token
// rt: only what a cookie holding base lacks to adopt it (see refreshDelta),
// encrypted and authenticated by the Client's codec. It is kept until r's
// session expires: a cookie holding rt may come until then, as a sliding
// session's cookie re-written by a request that needed no token lives as
// long as the session.
func (rs refreshSharing) share(ctx context.Context, rt string, base *Session, r *refreshedSession) error {
	if rs.coord == nil {
		return nil
	}
	ttl := time.Unix(r.sc.Lifetime.E, 0).Sub(rs.now())
	if ttl <= 0 {
		return nil
	}
	value, err := rs.codec.Encode(refreshDeltaName, newRefreshDelta(r.sc.Key, base, r.sc.Session))
	if err == nil {
		err = rs.coord.PutRefreshed(ctx, tokenDigest(rt), []byte(value), ttl)
	}
	return err
}

// tokenDigest returns the hex SHA-256 digest of a refresh token, under
// which its refresh is shared.
func tokenDigest(rt string) string {
	sum := sha256.Sum256([]byte(rt))
	return hex.EncodeToString(sum[:])
}
