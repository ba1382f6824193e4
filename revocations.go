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

// revoked reports whether a session of user created at unix time created
// was logged out.
func (rv *revocations) revoked(user User, created int64) bool {
	rv.mu.Lock()
	defer rv.mu.Unlock()
	if len(rv.entries) == 0 {
		return false
	}
	for _, key := range []string{"sid:" + claimString(user, "sid"), "sub:" + user.Subject()} {
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
