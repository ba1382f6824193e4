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
// The request path never calls it: sessions are checked against a view of
// the ended ones kept in each process, which WatchEnded keeps current.
// Until that view has loaded every ended session once (WatchEnded calls
// loaded), a request carrying a session waits for it, up to
// ResponseTimeout, then fails with a *StoreError (503): a new instance, or
// one started while the Coordinator is down, does not serve a session
// another instance ended. Requests without a session, and the sign-in, are
// served meanwhile. Once loaded, an instance keeps serving with the ended
// sessions it knows while the Coordinator is unreachable, and WatchEnded
// delivers those it missed when it is back.
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
	// EndSession records r for every instance until r.Expires and tells
	// their watchers. A Coordinator that is also the SessionStore deletes
	// the stored sessions r ends as well. Recording the same ended session
	// twice is harmless.
	//
	// A Coordinator may bound the ended sessions it keeps. One that forgets
	// the end of a session key or sid before its expiry must keep, in its
	// place, the end of its Sub at its At (and may keep one per Sub, the
	// latest), so that a session it ended stays ended for instances that
	// load the ended sessions later.
	EndSession(ctx context.Context, r EndedSession) error
	// WatchEnded calls fn with every ended session not yet expired:
	// first those recorded before the call, then loaded, then each new one
	// as it is recorded (by any instance, this one included), until ctx
	// ends or the Coordinator fails, when it returns the error. After a
	// reconnection that may have missed ended sessions, it delivers them all
	// again, then calls loaded again. The Client calls it again after a
	// failure, so an ended session recorded while the watch was down must be
	// delivered by the next call. It returns soon after ctx ends, however
	// busy. fn and loaded must not block.
	WatchEnded(ctx context.Context, fn func(EndedSession), loaded func()) error
	// UseTokenID records id, the ID of a token that may be used once (a
	// logout token's jti), until expires, after which the token is refused
	// anyway, and reports whether id was not recorded yet: true for exactly
	// one of several calls with the same id, whichever the instance.
	UseTokenID(ctx context.Context, id string, expires time.Time) (bool, error)
	// ReleaseTokenID forgets id, which UseTokenID recorded, when the use of
	// its token failed, so that the token may be presented again.
	ReleaseTokenID(ctx context.Context, id string) error
}

// EndedSession is an ended session, or set of sessions: Key, SID or Sub
// alone.
type EndedSession struct {
	// Key is the key of a signed-out session.
	Key string
	// SID is the sid of a session logged out by the provider: that
	// session is ended, whenever it was created.
	SID string
	// Sub, alone, is a user logged out by the provider: every session of
	// Sub created at or before At (with the clock skew) is ended. With Key
	// or SID, it is the user of the session ended, when known: an instance
	// that must forget the ended session before its expiry ends that user's
	// sessions created at or before At instead.
	Sub string
	// At is when the session ended.
	At time.Time
	// Expires is when every session it concerns has ended by
	// itself: At plus the maximum session duration.
	Expires time.Time
}

// coordination is what a Client asks of the Coordinator. New chooses it
// once: coordinated with a Coordinator, else standalone, so that no caller
// asks whether there is one.
type coordination interface {
	// endSession records r for every instance, filling in its expiry.
	endSession(ctx context.Context, r EndedSession) error
	// useTokenID records id, the ID of a token that may be used once,
	// until expires, for every instance, and reports whether it was not
	// recorded yet.
	useTokenID(ctx context.Context, id string, expires time.Time) (bool, error)
	// releaseTokenID forgets id, which useTokenID recorded.
	releaseTokenID(ctx context.Context, id string) error
	// watch starts keeping ended, this process's ended sessions, current
	// with those of every instance until stop is called: it calls record
	// with each session another instance ends, and emit with each failure.
	watch(ended *endedSessions, record func(EndedSession), emit func(context.Context, Event)) (stop func())
}

// newCoordination returns the coordination of cfg.
func newCoordination(cfg *config) coordination {
	if cfg.coordinator == nil {
		return standalone{}
	}
	return coordinated{co: cfg.coordinator, sessionDuration: cfg.opts.Session.MaximumDuration}
}

// standalone is the coordination of an instance without a Coordinator: it
// ends sessions and uses token IDs in this process only, which its callers
// do, and has no other instance's ended sessions to watch.
type standalone struct{}

func (standalone) endSession(context.Context, EndedSession) error { return nil }

func (standalone) useTokenID(context.Context, string, time.Time) (bool, error) { return true, nil }

func (standalone) releaseTokenID(context.Context, string) error { return nil }

func (standalone) watch(*endedSessions, func(EndedSession), func(context.Context, Event)) func() {
	return func() {}
}

// coordinated is the coordination of instances that share co.
type coordinated struct {
	co Coordinator
	// sessionDuration is the maximum session duration: how long an ended
	// session is recorded.
	sessionDuration time.Duration
}

func (cd coordinated) endSession(ctx context.Context, r EndedSession) error {
	r.Expires = r.At.Add(cd.sessionDuration)
	if err := cd.co.EndSession(ctx, r); err != nil {
		return storeError("recording the end of the session with the coordinator", err)
	}
	return nil
}

func (cd coordinated) useTokenID(ctx context.Context, id string, expires time.Time) (bool, error) {
	return cd.co.UseTokenID(ctx, id, expires)
}

func (cd coordinated) releaseTokenID(ctx context.Context, id string) error {
	return cd.co.ReleaseTokenID(ctx, id)
}

func (cd coordinated) watch(ended *endedSessions, record func(EndedSession), emit func(context.Context, Event)) func() {
	ended.startLoading()
	ctx, stop := context.WithCancel(context.Background())
	go cd.watchEnded(ctx, record, ended.markLoaded, emit)
	return stop
}

// watchRetry bounds the pause between two calls of WatchEnded after a
// failure.
const watchRetry = time.Second

// watchEnded calls WatchEnded until ctx ends, again after each failure:
// after 50 ms, doubling to watchRetry while it keeps failing.
func (cd coordinated) watchEnded(ctx context.Context, record func(EndedSession), loaded func(), emit func(context.Context, Event)) {
	wait := 50 * time.Millisecond
	for {
		started := time.Now()
		err := cd.co.WatchEnded(ctx, record, loaded)
		if ctx.Err() != nil {
			return
		}
		emit(ctx, Event{Kind: EventStoreError, Op: "watching the coordinator's ended sessions", Err: err})
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

// recordEnded records r, ended by any instance, in this process.
func (c *Client) recordEnded(r EndedSession) {
	switch {
	case r.Key != "":
		c.ended.addKey(r.Key, r.Sub, r.At)
		c.refreshes.Forget(r.Key)
	case r.SID != "" || r.Sub != "":
		c.ended.add(r.Sub, r.SID, r.At)
	}
}

// Close stops the work New started in the background for the Coordinator
// (watching its ended sessions); without a Coordinator it does nothing. The
// Client still serves requests, but no longer learns of sessions ended on
// other instances. Close may be called more than once.
func (c *Client) Close() error {
	c.stopWatch()
	return nil
}
