package monocloud

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"time"

	"github.com/monocloud/auth-go/internal/cookie"
)

// sessionBackend is where sessions live: in their cookies (cookieSessions)
// or in a SessionStore (storedSessions). New chooses it once; the request
// state and the refresh call it without asking which it is.
type sessionBackend interface {
	// load completes cookie sc, read from the request, with its session
	// (for stored sessions, the stored one). It reports false when the
	// store no longer has it.
	load(ctx context.Context, sc *sessionCookie) (bool, error)
	// ready returns a *StoreError when the store does not answer.
	ready(ctx context.Context) error
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
	// saveRefreshed saves sc, the refresh of session base that presented
	// refresh token rt, as save does, and shares it with the other
	// instances; latest is what lockRefresh found. A failure to share is
	// returned apart, as unshared: the refresh stands without it.
	saveRefreshed(ctx context.Context, sc *sessionCookie, latest newest, rt string, base *Session) (saved *sessionCookie, unshared, err error)
}

// newest is what lockRefresh found of a session.
type newest struct {
	session *Session // nil when there is nothing newer than the request's
	// adoptable reports that session is another instance's refresh, to
	// adopt rather than run another grant when it holds a fresh token.
	adoptable bool
	from      Outcome // the outcome of adopting it
	// shared is the refresh the Coordinator keeps for the session, whether
	// or not the request's cookie is behind it; nil when there is none.
	shared *refreshDelta
}

// newSessionBackend returns the backend of cfg: cookieSessions without a
// SessionStore, else storedSessions. A Coordinator shares the refreshes of
// sessions that no SessionLocker serializes; coord records the sessions
// cookieSessions end.
func newSessionBackend(cfg *config, codec *cookie.Codec, now func() time.Time, coord coordination) sessionBackend {
	sharing := refreshSharing{coord: cfg.coordinator, codec: codec, now: now}
	if cfg.opts.Session.Store == nil {
		return &cookieSessions{sharing: sharing, coord: coord}
	}
	locker, _ := cfg.opts.Session.Store.(SessionLocker)
	if locker != nil {
		sharing = refreshSharing{}
	}
	return &storedSessions{store: cfg.opts.Session.Store, locker: locker, sharing: sharing}
}

// cookieSessions keeps each session in its cookie.
type cookieSessions struct {
	sharing refreshSharing
	coord   coordination // records the sessions ended
}

// load has nothing to add: sc carries its session, or, for a stored
// session's cookie, none.
func (*cookieSessions) load(context.Context, *sessionCookie) (bool, error) {
	return true, nil
}

func (*cookieSessions) ready(context.Context) error { return nil }

func (*cookieSessions) save(_ context.Context, sc *sessionCookie) (*sessionCookie, error) {
	return sc, nil
}

func (*cookieSessions) discard(context.Context, string) error { return nil }

func (*cookieSessions) remove(context.Context, string) error { return nil }

func (b *cookieSessions) end(ctx context.Context, _ *sessionCookie, r EndedSession) error {
	return b.coord.endSession(ctx, r)
}

func (*cookieSessions) lockWrite(context.Context, string) (*Session, func(), error) {
	return nil, func() {}, nil
}

func (b *cookieSessions) lockRefresh(ctx context.Context, sc *sessionCookie, rt string, force bool) (newest, func(), error) {
	return b.sharing.lock(ctx, sc, rt, force)
}

func (b *cookieSessions) saveRefreshed(ctx context.Context, sc *sessionCookie, latest newest, rt string, base *Session) (*sessionCookie, error, error) {
	return sc, b.sharing.share(ctx, latest.shared, rt, base, sc), nil
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

// readyProbeKey is the session key ready reads to reach the store; no
// session is stored under it.
const readyProbeKey = "monocloud-ready-probe"

func (b *storedSessions) ready(ctx context.Context) error {
	if _, err := b.store.Get(ctx, readyProbeKey); err != nil {
		return &StoreError{Op: "reaching the session store", Err: err}
	}
	return nil
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

func (b *storedSessions) saveRefreshed(ctx context.Context, sc *sessionCookie, latest newest, rt string, base *Session) (*sessionCookie, error, error) {
	saved, err := b.save(ctx, sc)
	if err != nil {
		return nil, nil, err
	}
	return saved, b.sharing.share(ctx, latest.shared, rt, base, sc), nil
}

// refreshSharing shares refreshes between instances through a Coordinator.
// It keeps one refresh a session, the newest (see refreshDelta), with the
// digests of the refresh tokens the session's refreshes presented: an
// instance about to present one of those, for a cookie from before a
// refresh, adopts the newest refresh instead. Without a Coordinator it does
// nothing.
type refreshSharing struct {
	coord Coordinator
	codec *cookie.Codec
	now   func() time.Time
}

// lock holds the Coordinator's lock of session sc and returns what the
// Coordinator keeps of it: the newest refresh, to adopt when sc's refresh
// token rt was presented already.
func (rs refreshSharing) lock(ctx context.Context, sc *sessionCookie, rt string, force bool) (newest, func(), error) {
	if rs.coord == nil {
		return newest{}, func() {}, nil
	}
	unlock, err := rs.coord.LockSession(ctx, sc.Key)
	if err != nil {
		return newest{}, nil, storeError("locking the session for a token refresh", err)
	}
	value, used, err := rs.coord.GetRefreshed(ctx, sc.Key, tokenDigest(rt))
	if err != nil {
		unlock()
		return newest{}, nil, storeError("reading a shared refresh", err)
	}
	shared := rs.decode(sc.Key, value)
	if shared == nil || !used {
		return newest{shared: shared}, unlock, nil
	}
	s := shared.adopt(sc.Session)
	// Adoptable unless a new grant is forced and the refresh token was not
	// rotated (then sc is not behind).
	return newest{session: s, adoptable: !force || s.RefreshToken != rt, from: OutcomeCoordinator, shared: shared}, unlock, nil
}

// decode returns the refresh of session key that value holds; nil when
// value is nil, or was written by another app or with a retired secret:
// not ours to adopt.
func (rs refreshSharing) decode(key string, value []byte) *refreshDelta {
	if value == nil {
		return nil
	}
	var d refreshDelta
	if _, err := rs.codec.Decode(refreshDeltaName, string(value), &d); err != nil || d.key != key {
		return nil
	}
	return &d
}

// share shares sc, the refresh of session base that presented refresh token
// rt, in place of prev, the refresh the Coordinator kept for the session
// (nil when none): only what a cookie of the session lacks to adopt it (see
// refreshDelta), encrypted and authenticated by the Client's codec. It is
// kept, with the digest of rt and those of the refresh tokens presented
// before, until sc's session expires: a cookie holding a used token may come
// until then, as a sliding session's cookie re-written by a request that
// needed no token lives as long as the session.
func (rs refreshSharing) share(ctx context.Context, prev *refreshDelta, rt string, base *Session, sc *sessionCookie) error {
	if rs.coord == nil {
		return nil
	}
	ttl := time.Unix(sc.Lifetime.E, 0).Sub(rs.now())
	if ttl <= 0 {
		return nil
	}
	value, err := rs.codec.Encode(refreshDeltaName, newRefreshDelta(sc.Key, prev, base, sc.Session))
	if err == nil {
		err = rs.coord.PutRefreshed(ctx, sc.Key, tokenDigest(rt), []byte(value), ttl)
	}
	return err
}

// tokenDigest returns the digest of a refresh token that a shared refresh
// records as used: the first 128 bits of its SHA-256, base64url-encoded (22
// characters, which the Coordinator keeps once a refresh). That is ample to
// tell apart the refresh tokens of a session.
func tokenDigest(rt string) string {
	sum := sha256.Sum256([]byte(rt))
	return base64.RawURLEncoding.EncodeToString(sum[:16])
}
