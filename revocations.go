package monocloud

import (
	"sync"
	"time"
)

// revocations remembers back-channel logouts: a session whose sid was
// logged out, or whose sub was logged out without a sid, and that was
// created before the logout, is no longer valid. Entries are kept for the
// maximum session duration, after which every affected session has ended
// anyway. They live in this process: with several instances, use a shared
// SessionStore and delete the sessions in OnBackChannelLogout.
type revocations struct {
	mu      sync.Mutex
	ttl     time.Duration
	entries map[string]time.Time // "sid:…" or "sub:…" → time of logout
}

func newRevocations(ttl time.Duration) *revocations {
	return &revocations{ttl: ttl, entries: make(map[string]time.Time)}
}

// add records a logout of session sid, or of every session of sub when sid
// is empty.
func (rv *revocations) add(sub, sid string, at time.Time) {
	rv.mu.Lock()
	defer rv.mu.Unlock()
	for k, t := range rv.entries {
		if at.Sub(t) > rv.ttl {
			delete(rv.entries, k)
		}
	}
	if sid != "" {
		rv.entries["sid:"+sid] = at
		return
	}
	rv.entries["sub:"+sub] = at
}

// revoked reports whether session s, created at unix time created, was
// logged out. The sid and sub come from the user, or from the session's ID
// token when FilteredIDTokenClaims removed them.
func (rv *revocations) revoked(s *Session, created int64) bool {
	rv.mu.Lock()
	defer rv.mu.Unlock()
	if len(rv.entries) == 0 {
		return false
	}
	sid, sub := claimString(s.User, "sid"), s.User.Subject()
	if sid == "" {
		sid = unverifiedClaim(s.IDToken, "sid")
	}
	if sub == "" {
		sub = unverifiedClaim(s.IDToken, "sub")
	}
	for _, key := range []string{"sid:" + sid, "sub:" + sub} {
		if t, ok := rv.entries[key]; ok && len(key) > 4 && created <= t.Unix() {
			return true
		}
	}
	return false
}

func claimString(u User, claim string) string {
	s, _ := u[claim].(string)
	return s
}
