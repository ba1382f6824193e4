package monocloud

import (
	"context"
	"time"
)

// Coordinator is what several instances of an application share so that
// they behave as one: the refresh of a session runs once across them, a
// session ended on one instance is ended on all, and a logout token is
// accepted once by all. Set it as Options.Coordinator; a SessionStore that
// implements it is used as the Coordinator too.
// github.com/monocloud/auth-go/redisstore implements it on Redis.
//
// The request path never calls it: revocations are checked against a view
// kept in each process, which WatchRevocations keeps current. Until that
// view has loaded every revocation once (WatchRevocations calls loaded), a
// request carrying a session waits for it, up to ResponseTimeout, then
// fails with a *StoreError (503): a new instance, or one started while the
// Coordinator is down, does not serve a session another instance ended.
// Requests without a session, and the sign-in, are served meanwhile. Once
// loaded, an instance keeps serving with the revocations it knows while the
// Coordinator is unreachable, and WatchRevocations delivers those it missed
// when it is back.
//
// It is called by refreshes (cookie sessions only: with a SessionStore, the
// store's SessionLocker serializes them), sign-outs (cookie sessions only:
// with a SessionStore, deleting the session ends it everywhere) and
// back-channel logouts. A failure of any method is answered as a failure of
// the store: a *StoreError, 503 on the auth routes.
type Coordinator interface {
	// LockSession serializes the refreshes of a session across instances,
	// as SessionLocker does for stores: a refresh holds it while it reads
	// the shared result, calls the provider and shares its own.
	SessionLocker
	// PutRefreshed keeps value, the newest refresh of the session with key
	// (encrypted and authenticated by the Client: opaque to the
	// Coordinator), in place of the one kept before, and adds usedToken,
	// the digest of the refresh token that refresh presented, to the
	// digests kept with it. It keeps the value and all the digests for ttl:
	// each call sets the expiry of them all. A refresh calls it holding the
	// session's lock.
	PutRefreshed(ctx context.Context, key, usedToken string, value []byte, ttl time.Duration) error
	// GetRefreshed returns the value kept for the session with key, or nil
	// when there is none, and whether tokenHash is one of the digests kept
	// with it.
	GetRefreshed(ctx context.Context, key, tokenHash string) (value []byte, used bool, err error)
	// Revoke records r for every instance until r.Expires and tells their
	// watchers. A Coordinator that is also the SessionStore deletes the
	// stored sessions r ends as well. Recording the same revocation twice
	// is harmless.
	//
	// A Coordinator may bound the revocations it keeps. One that forgets a
	// revocation of a session key or sid before its expiry must keep, in
	// its place, a revocation of its Sub at its At (and may keep one per
	// Sub, the latest), so that a session it ended stays ended for
	// instances that load the revocations later.
	Revoke(ctx context.Context, r Revocation) error
	// WatchRevocations calls fn with every revocation not yet expired:
	// first those recorded before the call, then loaded, then each new one
	// as it is recorded (by any instance, this one included), until ctx
	// ends or the Coordinator fails, when it returns the error. After a
	// reconnection that may have missed revocations, it delivers them all
	// again, then calls loaded again. The Client calls it again after a
	// failure, so a revocation recorded while the watch was down must be
	// delivered by the next call. It returns soon after ctx ends, however
	// busy. fn and loaded must not block.
	WatchRevocations(ctx context.Context, fn func(Revocation), loaded func()) error
	// UseTokenID records id, the ID of a token that may be used once (a
	// logout token's jti), until expires, after which the token is refused
	// anyway, and reports whether id was not recorded yet: true for exactly
	// one of several calls with the same id, whichever the instance.
	UseTokenID(ctx context.Context, id string, expires time.Time) (bool, error)
	// ReleaseTokenID forgets id, which UseTokenID recorded, when the use of
	// its token failed, so that the token may be presented again.
	ReleaseTokenID(ctx context.Context, id string) error
}

// Revocation is an ended session, or set of sessions: Key, SID or Sub
// alone.
type Revocation struct {
	// Key is the key of a signed-out session.
	Key string
	// SID is the sid of a session logged out by the provider: that
	// session is ended, whenever it was created.
	SID string
	// Sub, alone, is a user logged out by the provider: every session of
	// Sub created at or before At (with the clock skew) is ended. With Key
	// or SID, it is the user of the session ended, when known: an instance
	// that must forget the revocation before its expiry ends that user's
	// sessions created at or before At instead.
	Sub string
	// At is when the session ended.
	At time.Time
	// Expires is when every session the revocation concerns has ended by
	// itself: At plus the maximum session duration.
	Expires time.Time
}

// watchRetry bounds the pause between two calls of WatchRevocations after a
// failure.
const watchRetry = time.Second

// watchRevocations keeps c.revocations current with the Coordinator's
// revocations until ctx ends, calling WatchRevocations again after each
// failure: after 50 ms, doubling to watchRetry while it keeps failing.
func (c *Client) watchRevocations(ctx context.Context) {
	wait := 50 * time.Millisecond
	for {
		started := time.Now()
		err := c.cfg.coordinator.WatchRevocations(ctx, c.applyRevocation, c.revocations.markLoaded)
		if ctx.Err() != nil {
			return
		}
		c.emit(ctx, Event{Kind: EventStoreError, Op: "watching the coordinator's revocations", Err: err})
		if time.Since(started) > watchRetry {
			wait = 50 * time.Millisecond
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, watchRetry)
	}
}

// applyRevocation records r in this process.
func (c *Client) applyRevocation(r Revocation) {
	switch {
	case r.Key != "":
		c.revocations.addKey(r.Key, r.Sub, r.At)
		c.refreshes.Forget(r.Key)
	case r.SID != "" || r.Sub != "":
		c.revocations.add(r.Sub, r.SID, r.At)
	}
}

// revoke records r with the Coordinator, if any, filling in its expiry.
func (c *Client) revoke(ctx context.Context, r Revocation) error {
	if c.cfg.coordinator == nil {
		return nil
	}
	r.Expires = r.At.Add(c.cfg.maxDuration)
	if err := c.cfg.coordinator.Revoke(ctx, r); err != nil {
		return storeError("recording the end of the session with the coordinator", err)
	}
	return nil
}

// Close stops the work New started in the background for the Coordinator
// (watching its revocations); without a Coordinator it does nothing. The
// Client still serves requests, but no longer learns of sessions ended on
// other instances. Close may be called more than once.
func (c *Client) Close() error {
	if c.stopWatch != nil {
		c.stopWatch()
	}
	return nil
}
