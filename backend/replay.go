package backend

import (
	"context"
	"sync"
	"time"

	"github.com/monocloud/auth-go/internal/expiring"
)

// ReplayStore remembers the DPoP proofs already used (their jti, with the
// key that signed them), so that a proof is accepted once (RFC 9449
// section 11.1). Several instances of an API must share one: see
// redisstore.NewReplayStore. It is asked only about proofs that came with
// a valid token bound to their key.
type ReplayStore interface {
	// Remember records key until the given time, and reports whether it
	// was new. A bounded store that can no longer tell reports false. An
	// error refuses the request with 503.
	Remember(ctx context.Context, key string, until time.Time) (bool, error)
}

// memoryReplayStore is the ReplayStore of one process: a bounded map whose
// entries outlive any proof that can still be accepted.
//
// When the map is full, it evicts its oldest proof, which may still be
// accepted if replayed, so the store fails closed: it keeps the latest
// time until which an evicted proof had to be remembered (the watermark),
// and refuses every proof to be remembered no later than that. As that
// time is the proof's iat plus a constant, the proofs refused are those
// issued no later than the newest evicted one: with more proofs in the
// replay window than the map holds, proofs older than the map's span are
// refused, and clients retry with fresh ones.
type memoryReplayStore struct {
	now func() time.Time

	// mu makes each check of the watermark and the addition that may
	// raise it one step, so that no proof is added after its eviction.
	mu        sync.Mutex
	seen      *expiring.Map[string, time.Time] // key → until
	watermark time.Time
}

// newMemoryReplayStore returns a ReplayStore of at most size proofs, each
// kept for ttl, on the clock now.
func newMemoryReplayStore(size int, ttl time.Duration, now func() time.Time) *memoryReplayStore {
	s := &memoryReplayStore{seen: expiring.New[string, time.Time](size, max(ttl, time.Second)), now: now}
	s.seen.OnEvict = s.evicted
	return s
}

func (s *memoryReplayStore) Remember(_ context.Context, key string, until time.Time) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !until.After(s.watermark) {
		return false, nil
	}
	return s.seen.Add(key, until, s.now()), nil
}

// evicted raises the watermark to the time until which an evicted proof
// had to be remembered. It runs within Remember, with s.mu held.
func (s *memoryReplayStore) evicted(_ string, until, _ time.Time) {
	if until.After(s.watermark) {
		s.watermark = until
	}
}
