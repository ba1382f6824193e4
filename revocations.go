package monocloud

import (
	"strings"
	"sync"
	"time"
)

// revocations remembers ended sessions: back-channel logouts (a session
// whose sid was logged out, or whose sub was logged out without a sid, and
// that was created before the logout) and sign-outs (the session key, so a
// copy of the cookie taken before sign-out is refused). Entries are kept for
// the maximum session duration, after which every affected session has
// ended anyway. They live in this process: with several instances, use a
// shared SessionStore and delete the sessions in OnBackChannelLogout.
type revocations struct {
	mu        sync.Mutex
	ttl       time.Duration
	entries   map[string]time.Time // "sid:…", "sub:…" or "key:…" → time of logout
	subjects  int                  // how many entries are "sid:" or "sub:" ones
	nextSweep int                  // sweep expired entries when this many exist
	// sidFromIDToken: FilteredIDTokenClaims removes sid from the user, so
	// it is read from the session's ID token.
	sidFromIDToken bool
}

func newRevocations(ttl time.Duration, sidFromIDToken bool) *revocations {
	return &revocations{ttl: ttl, entries: make(map[string]time.Time), nextSweep: 1024, sidFromIDToken: sidFromIDToken}
}

// add records a logout of session sid, or of every session of sub when sid
// is empty.
func (rv *revocations) add(sub, sid string, at time.Time) {
	if sid != "" {
		rv.record("sid:"+sid, at)
		return
	}
	rv.record("sub:"+sub, at)
}

// addKey records the sign-out of the session with the given key.
func (rv *revocations) addKey(key string, at time.Time) { rv.record("key:"+key, at) }

func (rv *revocations) record(entry string, at time.Time) {
	rv.mu.Lock()
	defer rv.mu.Unlock()
	if len(rv.entries) >= rv.nextSweep {
		for k, t := range rv.entries {
			if at.Sub(t) > rv.ttl || len(rv.entries) >= maxRemembered {
				rv.forget(k)
			}
		}
		rv.nextSweep = max(1024, 2*len(rv.entries))
	}
	if _, ok := rv.entries[entry]; !ok && !strings.HasPrefix(entry, "key:") {
		rv.subjects++
	}
	rv.entries[entry] = at
}

// forget drops an entry. The caller holds rv.mu.
func (rv *revocations) forget(entry string) {
	if !strings.HasPrefix(entry, "key:") {
		rv.subjects--
	}
	delete(rv.entries, entry)
}

// revoked reports whether session s with the given key, created at unix
// time created, was logged out. It runs on every request: it decodes the ID
// token only when sid is filtered out of the user and a logout by sid or
// sub is on record.
func (rv *revocations) revoked(key string, s *Session, created int64) bool {
	rv.mu.Lock()
	defer rv.mu.Unlock()
	if len(rv.entries) == 0 {
		return false
	}
	if _, ok := rv.entries["key:"+key]; ok {
		return true
	}
	if rv.subjects == 0 {
		return false
	}
	sid := claimString(s.User, "sid")
	if sid == "" && rv.sidFromIDToken {
		sid = unverifiedClaim(s.IDToken, "sid")
	}
	for _, k := range []string{"sid:" + sid, "sub:" + s.subject()} {
		if t, ok := rv.entries[k]; ok && len(k) > 4 && created <= t.Unix() {
			return true
		}
	}
	return false
}

func claimString(u User, claim string) string {
	s, _ := u[claim].(string)
	return s
}
