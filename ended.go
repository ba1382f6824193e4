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

// maxEnded bounds each kind of ended session (sign-outs, logouts by sid,
// logouts by sub) that New's Client keeps: about 150 MB at most each. Past
// it, endedSessions fails closed for the user of the entry it forgets (see
// there). A variable only so that tests can scale it down.
var maxEnded = 1 << 20

// endedSessions remembers ended sessions: back-channel logouts (a session
// whose sid was logged out, or every session of a sub logged out without a
// sid that was created before the logout) and sign-outs (the session key,
// so a copy of the cookie taken before sign-out is refused). Entries are
// kept for the maximum session duration, after which every affected session
// has ended anyway. They live in this process; with a Coordinator, every
// instance records those of the others too (see coordinated.watchEnded).
//
// Each kind holds at most a fixed number of entries. When one is full, its
// oldest entry is evicted, and endedSessions fails closed for the user it
// concerns: an evicted sign-out or sid logout becomes a logout of its
// user's sessions created at or before it, so one account signing in and
// out in a loop signs only itself out. Only an evicted logout by sub (a
// million users logged out by the provider within the session duration),
// or an entry whose user is unknown, fails closed for everyone: every
// session created at or before it counts as ended.
type endedSessions struct {
	keys *expiring.Map[string, ending] // session key → sign-out
	sids *expiring.Map[string, ending] // sid → logout
	subs *expiring.Map[string, int64]  // sub → unix time of the latest logout without sid
	// watermark is the latest logout time (unix) of an entry evicted
	// before its expiry whose user is unknown: sessions created then or
	// before are ended.
	watermark atomic.Int64
	// skew (seconds) is the clock skew tolerated between the instance that
	// created a session and the one that recorded a logout by sub.
	skew int64
	// sidFromIDToken: FilteredIDTokenClaims removes sid from the user, so
	// it is read from the session's ID token.
	sidFromIDToken bool

	// loaded is closed while the ended sessions of every instance are all
	// known: from the start without a Coordinator, else once it delivered
	// them (see startLoading and markLoaded).
	loaded   chan struct{}
	loadedMu sync.Mutex // serializes closing loaded
	// loadTimeout bounds the wait of a request for loaded (see waitLoaded).
	loadTimeout time.Duration
}

// ending is an ended session key or sid: when (unix time) and whose.
type ending struct {
	at  int64
	sub string // the session's user; empty when unknown
}

// newEndedSessions returns endedSessions kept for ttl, at most capacity of each
// kind.
func newEndedSessions(ttl time.Duration, capacity int, sidFromIDToken bool) *endedSessions {
	es := &endedSessions{
		keys:           expiring.New[string, ending](capacity, ttl),
		sids:           expiring.New[string, ending](capacity, ttl),
		subs:           expiring.New[string, int64](capacity, ttl),
		sidFromIDToken: sidFromIDToken,
		loaded:         make(chan struct{}),
	}
	close(es.loaded)
	es.watermark.Store(math.MinInt64)
	es.keys.OnEvict = es.evicted
	es.sids.OnEvict = es.evicted
	es.subs.OnEvict = func(_ string, at int64, _ time.Time) { es.raiseWatermark(at) }
	return es
}

// evicted turns a sign-out or sid logout evicted before its expiry into a
// logout of its user's sessions created until then, or raises the
// watermark when its user is unknown. It runs with keys or sids locked,
// and uses only subs.
func (es *endedSessions) evicted(_ string, r ending, putAt time.Time) {
	if r.sub == "" {
		es.raiseWatermark(r.at)
		return
	}
	// Put with the time of the evicted entry: the user's logout expires
	// when it would have.
	if prev, ok := es.subs.Get(r.sub, putAt); ok && prev > r.at {
		r.at = prev
	}
	es.subs.Put(r.sub, r.at, putAt)
}

// raiseWatermark raises the watermark to at.
func (es *endedSessions) raiseWatermark(at int64) {
	for {
		w := es.watermark.Load()
		if at <= w || es.watermark.CompareAndSwap(w, at) {
			return
		}
	}
}

// add records a logout of session sid of user sub, or of every session of
// sub when sid is empty.
func (es *endedSessions) add(sub, sid string, at time.Time) {
	if sid != "" {
		es.sids.Put(sid, ending{at: at.Unix(), sub: sub}, at)
		return
	}
	if prev, ok := es.subs.Get(sub, at); ok && prev > at.Unix() {
		return // a later logout of sub is on record: it ends more
	}
	es.subs.Put(sub, at.Unix(), at)
}

// addKey records the sign-out of the session with the given key, of user
// sub.
func (es *endedSessions) addKey(key, sub string, at time.Time) {
	es.keys.Put(key, ending{at: at.Unix(), sub: sub}, at)
}

// includes reports whether session cookie sc was ended. It runs on
// every request. Only when a logout by sid or sub is on record does it read
// the user claims, decoding them if still encoded (once per cookie value),
// and the ID token when sid is filtered out of the user; otherwise it
// allocates nothing.
//
// A session whose sid was logged out is ended whenever it was created:
// the provider gives a new sign-in a new sid. A logout by sub ends the
// sessions created up to the clock skew after it, as the instance that
// created a session and the one that recorded the logout may disagree on
// the time: a user who signs in again within the skew of a logout by sub
// is signed out too.
func (es *endedSessions) includes(sc *sessionCookie) bool {
	key, created := sc.Key, sc.Lifetime.C
	if created <= es.watermark.Load() {
		return true
	}
	// An entry that expired before the session was created cannot
	// concern it, so the creation time serves as the time of the lookups.
	now := time.Unix(created, 0)
	if _, ok := es.keys.Get(key, now); ok {
		return true
	}
	if es.sids.Len() == 0 && es.subs.Len() == 0 {
		return false
	}
	user := sc.userClaims()
	sid := claimString(user, "sid")
	if sid == "" && es.sidFromIDToken {
		sid = unverifiedClaim(sc.Session.IDToken, "sid")
	}
	if _, ok := es.sids.Get(sid, now); ok && sid != "" {
		return true
	}
	sub := subject(user, sc.Session.IDToken)
	t, ok := es.subs.Get(sub, now)
	return ok && sub != "" && created <= t+es.skew
}

// startLoading marks the ended sessions as not loaded until markLoaded:
// the Coordinator has those of the other instances to deliver. New calls
// it, through coordination.watch, before serving any request.
func (es *endedSessions) startLoading() {
	es.loaded = make(chan struct{})
}

// markLoaded records that the Coordinator's ended sessions were all
// delivered. It may be called again, after a reconnection.
func (es *endedSessions) markLoaded() {
	es.loadedMu.Lock()
	defer es.loadedMu.Unlock()
	if !es.isLoaded() {
		close(es.loaded)
	}
}

// isLoaded reports whether the ended sessions of every instance are all
// known: always without a Coordinator, else once markLoaded was called.
func (es *endedSessions) isLoaded() bool {
	select {
	case <-es.loaded:
		return true
	default:
		return false
	}
}

// errEndedNotLoaded is the cause of the *StoreError a request carrying
// a session gets while the Coordinator's ended sessions are not loaded.
var errEndedNotLoaded = errors.New("the coordinator's ended sessions are not loaded yet")

// waitLoaded is the wait of a request carrying a session, while isLoaded
// is false, until the ended sessions of every instance were all delivered
// once: until then, a session another instance ended would be served. It
// waits up to loadTimeout, then returns a *StoreError.
func (es *endedSessions) waitLoaded(ctx context.Context) error {
	t := time.NewTimer(es.loadTimeout)
	defer t.Stop()
	select {
	case <-es.loaded:
		return nil
	case <-t.C:
		return storeError("checking the session against the ended ones", errEndedNotLoaded)
	case <-ctx.Done():
		return storeError("checking the session against the ended ones", context.Cause(ctx))
	}
}

func claimString(u User, claim string) string {
	s, _ := u[claim].(string)
	return s
}
