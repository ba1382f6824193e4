// Package memstore is an in-memory [monocloud.SessionStore] for tests. Its
// [Store] is also a [monocloud.SessionLocker] and a [monocloud.Coordinator],
// as a store shared by several instances is (package redisstore), so that
// several Clients of one test given the same Store behave as the instances
// of one application: sessions, refreshes and ended sessions are shared.
//
// It counts its calls and can be taken down, so that a test can assert how
// the store was used and how the application behaves while it is out:
//
//	store := memstore.New()
//	client := apptest.NewClient(t, op, appURL, &monocloud.Options{
//		Session: monocloud.SessionOptions{Store: store},
//	})
//	...
//	store.SetDown(errors.New("connection refused")) // every call fails
//
// It is a package of its own because package monocloud's own tests use
// monocloudtest, which therefore cannot import monocloud.
package memstore

import (
	"context"
	"encoding/json"
	"slices"
	"sync"
	"time"

	monocloud "github.com/monocloud/auth-go"
)

// Store is an in-memory session store, session locker and coordinator. It
// keeps copies of the sessions (JSON round trips), so a caller never shares
// a map with it. The zero value is not usable: create one with [New]. It is
// safe for concurrent use.
type Store struct {
	mu        sync.Mutex
	sessions  map[string]entry
	locks     map[string]chan struct{} // session key → a token while locked
	refreshed map[string]sharedRefresh // session key → its shared refresh
	ended     []monocloud.EndedSession
	watchers  map[*watcher]struct{}
	usedIDs   map[string]time.Time // token ID → expiry
	down      error
	counts    Counts
	now       func() time.Time
}

// entry is a stored value with its expiry.
type entry struct {
	data     []byte
	lifetime monocloud.Lifetime
	expires  time.Time
}

// sharedRefresh is what PutRefreshed keeps for a session: its newest
// refresh, and the digests of the refresh tokens its refreshes presented.
type sharedRefresh struct {
	value   []byte
	used    map[string]bool
	expires time.Time
}

// watcher is a running WatchEnded.
type watcher struct {
	fn   func(monocloud.EndedSession)
	down chan error // receives the error of SetDown
}

// Counts is how many times each method of a Store was called, failed calls
// included.
type Counts struct {
	Gets, Sets, Deletes int
	Locks               int // LockSession
	Puts, GetRefreshed  int // PutRefreshed, GetRefreshed
	Ends                int // EndSession
	TokenIDs            int // UseTokenID
}

// New returns an empty Store.
func New() *Store {
	return &Store{
		sessions:  make(map[string]entry),
		locks:     make(map[string]chan struct{}),
		refreshed: make(map[string]sharedRefresh),
		watchers:  make(map[*watcher]struct{}),
		usedIDs:   make(map[string]time.Time),
		now:       time.Now,
	}
}

// SetDown makes every call fail with err, as a store that is unreachable,
// and ends the running WatchEnded with err; nil brings the store back.
func (s *Store) SetDown(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = err
	if err == nil {
		return
	}
	for w := range s.watchers {
		w.down <- err
		delete(s.watchers, w)
	}
}

// Counts returns how many times each method was called.
func (s *Store) Counts() Counts {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts
}

// Keys returns the keys of the stored sessions, sorted.
func (s *Store) Keys() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	keys := make([]string, 0, len(s.sessions))
	for k := range s.sessions {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Lifetime returns the lifetime the session key was last stored with, and
// whether it is stored.
func (s *Store) Lifetime(key string) (monocloud.Lifetime, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.sessions[key]
	return e.lifetime, ok
}

// Ended returns the ended sessions recorded with EndSession, oldest first.
func (s *Store) Ended() []monocloud.EndedSession {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.ended)
}

// Get returns a copy of the session key, or (nil, nil) when there is none
// or it has expired.
func (s *Store) Get(_ context.Context, key string) (*monocloud.Session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts.Gets++
	if s.down != nil {
		return nil, s.down
	}
	e, ok := s.sessions[key]
	if !ok || !s.now().Before(e.expires) {
		return nil, nil
	}
	var sess monocloud.Session
	if err := json.Unmarshal(e.data, &sess); err != nil {
		return nil, err
	}
	return &sess, nil
}

// Set stores a copy of sess under key until lifetime.Expires.
func (s *Store) Set(_ context.Context, key string, sess *monocloud.Session, lifetime monocloud.Lifetime) error {
	data, err := json.Marshal(sess)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts.Sets++
	if s.down != nil {
		return s.down
	}
	s.sessions[key] = entry{data: data, lifetime: lifetime, expires: lifetime.Expires}
	return nil
}

// Delete removes the session key.
func (s *Store) Delete(_ context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts.Deletes++
	if s.down != nil {
		return s.down
	}
	delete(s.sessions, key)
	return nil
}

// LockSession blocks until it holds the lock of the session key or ctx
// ends. The lock does not expire: a test that loses an unlock hangs.
func (s *Store) LockSession(ctx context.Context, key string) (unlock func(), err error) {
	s.mu.Lock()
	s.counts.Locks++
	if s.down != nil {
		defer s.mu.Unlock()
		return nil, s.down
	}
	lock, ok := s.locks[key]
	if !ok {
		lock = make(chan struct{}, 1)
		s.locks[key] = lock
	}
	s.mu.Unlock()
	select {
	case lock <- struct{}{}:
		return func() { <-lock }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// PutRefreshed keeps value for the session with key, in place of the one
// kept, adds usedToken to the digests kept with it, and keeps them all for
// ttl.
func (s *Store) PutRefreshed(_ context.Context, key, usedToken string, value []byte, ttl time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts.Puts++
	if s.down != nil {
		return s.down
	}
	r, ok := s.refreshed[key]
	if !ok || !s.now().Before(r.expires) {
		r = sharedRefresh{used: make(map[string]bool)}
	}
	r.value, r.expires = slices.Clone(value), s.now().Add(ttl)
	r.used[usedToken] = true
	s.refreshed[key] = r
	return nil
}

// GetRefreshed returns the value kept for the session with key, or nil,
// and whether tokenHash is one of the digests kept with it.
func (s *Store) GetRefreshed(_ context.Context, key, tokenHash string) ([]byte, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts.GetRefreshed++
	if s.down != nil {
		return nil, false, s.down
	}
	r, ok := s.refreshed[key]
	if !ok || !s.now().Before(r.expires) {
		return nil, false, nil
	}
	return slices.Clone(r.value), r.used[tokenHash], nil
}

// EndSession records r, deletes the session it ends by key, and tells the
// running watches.
func (s *Store) EndSession(_ context.Context, r monocloud.EndedSession) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts.Ends++
	if s.down != nil {
		return s.down
	}
	s.ended = append(s.ended, r)
	if r.Key != "" {
		delete(s.sessions, r.Key)
	}
	for w := range s.watchers {
		w.fn(r)
	}
	return nil
}

// WatchEnded calls fn with every ended session not yet expired, then
// loaded, then each new one, until ctx ends or the store goes down.
func (s *Store) WatchEnded(ctx context.Context, fn func(monocloud.EndedSession), loaded func()) error {
	s.mu.Lock()
	if s.down != nil {
		defer s.mu.Unlock()
		return s.down
	}
	now := s.now()
	for _, r := range s.ended {
		if now.Before(r.Expires) {
			fn(r)
		}
	}
	loaded()
	w := &watcher{fn: fn, down: make(chan error, 1)}
	s.watchers[w] = struct{}{}
	s.mu.Unlock()
	select {
	case err := <-w.down:
		return err
	case <-ctx.Done():
		s.mu.Lock()
		delete(s.watchers, w)
		s.mu.Unlock()
		return ctx.Err()
	}
}

// UseTokenID records id until expires and reports whether it was not
// recorded yet.
func (s *Store) UseTokenID(_ context.Context, id string, expires time.Time) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts.TokenIDs++
	if s.down != nil {
		return false, s.down
	}
	if exp, ok := s.usedIDs[id]; ok && s.now().Before(exp) {
		return false, nil
	}
	s.usedIDs[id] = expires
	return true, nil
}

// ReleaseTokenID forgets id.
func (s *Store) ReleaseTokenID(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down != nil {
		return s.down
	}
	delete(s.usedIDs, id)
	return nil
}
