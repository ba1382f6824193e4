package monocloud

import (
	"math"
	"sync/atomic"
	"time"

	"github.com/monocloud/auth-go/internal/expiring"
)

// maxRevocations bounds each kind of revocation (sign-outs, logouts by sid,
// logouts by sub): about 150 MB at most each. Past it, revocations fails
// closed (see there).
const maxRevocations = 1 << 20

// revocations remembers ended sessions: back-channel logouts (a session
// whose sid was logged out, or whose sub was logged out without a sid, and
// that was created before the logout) and sign-outs (the session key, so a
// copy of the cookie taken before sign-out is refused). Entries are kept for
// the maximum session duration, after which every affected session has
// ended anyway. They live in this process; with a Coordinator, every
// instance records those of the others too (see watchRevocations).
//
// Each kind holds at most a fixed number of entries. When one is full, its
// oldest entry is evicted, and revocations fails closed: every session
// created at or before the logout time of an evicted revocation counts as
// revoked. A flood of sign-outs past the bound thus ends older sessions
// early; it never lets a signed-out session back in.
type revocations struct {
	keys *expiring.Map[string, int64] // session key → unix time of the sign-out
	sids *expiring.Map[string, int64] // sid → unix time of the logout
	subs *expiring.Map[string, int64] // sub → unix time of a logout without sid
	// watermark is the latest logout time (unix) of a revocation evicted
	// before its expiry: sessions created then or before are revoked.
	watermark atomic.Int64
	// sidFromIDToken: FilteredIDTokenClaims removes sid from the user, so
	// it is read from the session's ID token.
	sidFromIDToken bool
}

// newRevocations returns revocations kept for ttl, at most capacity of each
// kind.
func newRevocations(ttl time.Duration, capacity int, sidFromIDToken bool) *revocations {
	rv := &revocations{
		keys:           expiring.New[string, int64](capacity, ttl),
		sids:           expiring.New[string, int64](capacity, ttl),
		subs:           expiring.New[string, int64](capacity, ttl),
		sidFromIDToken: sidFromIDToken,
	}
	rv.watermark.Store(math.MinInt64)
	for _, m := range []*expiring.Map[string, int64]{rv.keys, rv.sids, rv.subs} {
		m.OnEvict = rv.evicted
	}
	return rv
}

// evicted raises the watermark to the logout time of a revocation evicted
// before its expiry.
func (rv *revocations) evicted(_ string, at int64, _ time.Time) {
	for {
		w := rv.watermark.Load()
		if at <= w || rv.watermark.CompareAndSwap(w, at) {
			return
		}
	}
}

// add records a logout of session sid, or of every session of sub when sid
// is empty.
func (rv *revocations) add(sub, sid string, at time.Time) {
	if sid != "" {
		rv.sids.Put(sid, at.Unix(), at)
		return
	}
	rv.subs.Put(sub, at.Unix(), at)
}

// addKey records the sign-out of the session with the given key.
func (rv *revocations) addKey(key string, at time.Time) { rv.keys.Put(key, at.Unix(), at) }

// revoked reports whether session cookie sc was logged out. It runs on
// every request. Only when a logout by sid or sub is on record does it read
// the user claims, decoding them if still encoded (once per cookie value),
// and the ID token when sid is filtered out of the user; otherwise it
// allocates nothing.
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
	if t, ok := rv.sids.Get(sid, now); ok && sid != "" && created <= t {
		return true
	}
	sub := subject(user, sc.Session.IDToken)
	t, ok := rv.subs.Get(sub, now)
	return ok && sub != "" && created <= t
}

func claimString(u User, claim string) string {
	s, _ := u[claim].(string)
	return s
}
