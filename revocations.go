package monocloud

import (
	"context"
	"errors"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/monocloud/auth-go/internal/expiring"
)

// maxRevocations bounds each kind of revocation (sign-outs, logouts by sid,
// logouts by sub) that New's Client keeps: about 150 MB at most each. Past
// it, revocations fails closed for the user of the revocation it forgets
// (see there). A variable only so that tests can scale it down.
var maxRevocations = 1 << 20

// revocations remembers ended sessions: back-channel logouts (a session
// whose sid was logged out, or every session of a sub logged out without a
// sid that was created before the logout) and sign-outs (the session key,
// so a copy of the cookie taken before sign-out is refused). Entries are
// kept for the maximum session duration, after which every affected session
// has ended anyway. They live in this process; with a Coordinator, every
// instance records those of the others too (see watchRevocations).
//
// Each kind holds at most a fixed number of entries. When one is full, its
// oldest entry is evicted, and revocations fails closed for the user it
// concerns: an evicted sign-out or sid logout becomes a logout of its
// user's sessions created at or before it, so one account signing in and
// out in a loop signs only itself out. Only an evicted logout by sub (a
// million users logged out by the provider within the session duration),
// or a revocation whose user is unknown, fails closed for everyone: every
// session created at or before it counts as revoked.
type revocations struct {
	keys *expiring.Map[string, revocation] // session key → sign-out
	sids *expiring.Map[string, revocation] // sid → logout
	subs *expiring.Map[string, int64]      // sub → unix time of the latest logout without sid
	// watermark is the latest logout time (unix) of a revocation evicted
	// before its expiry whose user is unknown: sessions created then or
	// before are revoked.
	watermark atomic.Int64
	// skew (seconds) is the clock skew tolerated between the instance that
	// created a session and the one that recorded a logout by sub.
	skew int64
	// sidFromIDToken: FilteredIDTokenClaims removes sid from the user, so
	// it is read from the session's ID token.
	sidFromIDToken bool

	// loaded is closed once the Coordinator's revocations were all
	// delivered (see awaitLoaded); nil without a Coordinator.
	loaded     chan struct{}
	loadedOnce sync.Once
}

// revocation is a revoked session key or sid: when (unix time) and whose.
type revocation struct {
	at  int64
	sub string // the session's user; empty when unknown
}

// newRevocations returns revocations kept for ttl, at most capacity of each
// kind.
func newRevocations(ttl time.Duration, capacity int, sidFromIDToken bool) *revocations {
	rv := &revocations{
		keys:           expiring.New[string, revocation](capacity, ttl),
		sids:           expiring.New[string, revocation](capacity, ttl),
		subs:           expiring.New[string, int64](capacity, ttl),
		sidFromIDToken: sidFromIDToken,
	}
	rv.watermark.Store(math.MinInt64)
	rv.keys.OnEvict = rv.evicted
	rv.sids.OnEvict = rv.evicted
	rv.subs.OnEvict = func(_ string, at int64, _ time.Time) { rv.raiseWatermark(at) }
	return rv
}

// evicted turns a sign-out or sid logout evicted before its expiry into a
// logout of its user's sessions created until then, or raises the
// watermark when its user is unknown. It runs with keys or sids locked,
// and uses only subs.
func (rv *revocations) evicted(_ string, r revocation, putAt time.Time) {
	if r.sub == "" {
		rv.raiseWatermark(r.at)
		return
	}
	// Put with the time of the evicted entry: the user's logout expires
	// when it would have.
	if prev, ok := rv.subs.Get(r.sub, putAt); ok && prev > r.at {
		r.at = prev
	}
	rv.subs.Put(r.sub, r.at, putAt)
}

// raiseWatermark raises the watermark to at.
func (rv *revocations) raiseWatermark(at int64) {
	for {
		w := rv.watermark.Load()
		if at <= w || rv.watermark.CompareAndSwap(w, at) {
			return
		}
	}
}

// add records a logout of session sid of user sub, or of every session of
// sub when sid is empty.
func (rv *revocations) add(sub, sid string, at time.Time) {
	if sid != "" {
		rv.sids.Put(sid, revocation{at: at.Unix(), sub: sub}, at)
		return
	}
	if prev, ok := rv.subs.Get(sub, at); ok && prev > at.Unix() {
		return // a later logout of sub is on record: it ends more
	}
	rv.subs.Put(sub, at.Unix(), at)
}

// addKey records the sign-out of the session with the given key, of user
// sub.
func (rv *revocations) addKey(key, sub string, at time.Time) {
	rv.keys.Put(key, revocation{at: at.Unix(), sub: sub}, at)
}

// revoked reports whether session cookie sc was logged out. It runs on
// every request. Only when a logout by sid or sub is on record does it read
// the user claims, decoding them if still encoded (once per cookie value),
// and the ID token when sid is filtered out of the user; otherwise it
// allocates nothing.
//
// A session whose sid was logged out is revoked whenever it was created:
// the provider gives a new sign-in a new sid. A logout by sub revokes the
// sessions created up to the clock skew after it, as the instance that
// created a session and the one that recorded the logout may disagree on
// the time: a user who signs in again within the skew of a logout by sub
// is signed out too.
func (rv *revocations) revoked(sc *sessionCookie) bool {
	key, created := sc.Key, sc.Lifetime.C
	if created <= rv.watermark.Load() {
		return true
	}
	// A revocation that expired before the session was created cannot
	// concern it, so the creation time serves as the time of the lookups.
	now := time.Unix(created, 0)
	if _, ok := rv.keys.Get(key, now); ok {
		return true
	}
	if rv.sids.Len() == 0 && rv.subs.Len() == 0 {
		return false
	}
	user := sc.userClaims()
	sid := claimString(user, "sid")
	if sid == "" && rv.sidFromIDToken {
		sid = unverifiedClaim(sc.Session.IDToken, "sid")
	}
	if _, ok := rv.sids.Get(sid, now); ok && sid != "" {
		return true
	}
	sub := subject(user, sc.Session.IDToken)
	t, ok := rv.subs.Get(sub, now)
	return ok && sub != "" && created <= t+rv.skew
}

// markLoaded records that the Coordinator's revocations were all
// delivered.
func (rv *revocations) markLoaded() {
	if rv.loaded != nil {
		rv.loadedOnce.Do(func() { close(rv.loaded) })
	}
}

// errRevocationsNotLoaded is the cause of the *StoreError a request carrying
// a session gets while the Coordinator's revocations are not loaded.
var errRevocationsNotLoaded = errors.New("the coordinator's revocations are not loaded yet")

// awaitLoaded waits, up to timeout, until the Coordinator's revocations
// were all delivered once: before, a session another instance ended would
// be served. It returns a *StoreError when they are not loaded in time.
func (rv *revocations) awaitLoaded(ctx context.Context, timeout time.Duration) error {
	if rv.loaded == nil {
		return nil
	}
	select {
	case <-rv.loaded:
		return nil
	default:
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-rv.loaded:
		return nil
	case <-t.C:
		return storeError("checking the session against the ended ones", errRevocationsNotLoaded)
	case <-ctx.Done():
		return storeError("checking the session against the ended ones", context.Cause(ctx))
	}
}

func claimString(u User, claim string) string {
	s, _ := u[claim].(string)
	return s
}
