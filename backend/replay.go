package backend

import (
	"context"
	"time"

	"github.com/monocloud/auth-go/internal/expiring"
)

// ReplayStore remembers the DPoP proofs already used (their jti, with the
// key that signed them), so that a proof is accepted once (RFC 9449
// section 11.1). Several instances of an API must share one: see
// redisstore.NewReplayStore.
type ReplayStore interface {
	// Remember records key until the given time, and reports whether it
	// was new. An error refuses the request with 503.
	Remember(ctx context.Context, key string, until time.Time) (bool, error)
}

// memoryReplayStore is the ReplayStore of one process: a bounded map whose
// entries outlive any proof that can still be accepted.
type memoryReplayStore struct {
	seen *expiring.Map[string, struct{}]
	now  func() time.Time
}

// newMemoryReplayStore returns a ReplayStore of at most size proofs, each
// kept for ttl, on the clock now.
func newMemoryReplayStore(size int, ttl time.Duration, now func() time.Time) *memoryReplayStore {
	return &memoryReplayStore{seen: expiring.New[string, struct{}](size, max(ttl, time.Second)), now: now}
}

func (s *memoryReplayStore) Remember(_ context.Context, key string, _ time.Time) (bool, error) {
	return s.seen.Add(key, struct{}{}, s.now()), nil
}
