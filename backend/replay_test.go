package backend

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestMemoryReplayStoreFailsClosedOnEviction: a proof evicted before its
// time cannot be remembered again, nor can any proof to be remembered no
// later than it; later proofs can.
func TestMemoryReplayStoreFailsClosedOnEviction(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	s := newMemoryReplayStore(2, time.Hour, func() time.Time { return t0 })
	at := func(sec int) time.Time { return t0.Add(time.Duration(sec) * time.Second) }
	for _, step := range []struct {
		key   string
		until time.Time
		fresh bool
	}{
		{"a", at(10), true},
		{"b", at(20), true},
		{"a", at(10), false}, // replayed, held
		{"c", at(30), true},  // evicts a: watermark 10
		{"a", at(10), false}, // replayed, evicted
		{"d", at(10), false}, // issued no later than a
		{"e", at(11), true},  // evicts b: watermark 20
		{"b", at(20), false},
		{"f", at(15), false},
		{"g", at(21), true},
	} {
		if fresh, err := s.Remember(t.Context(), step.key, step.until); fresh != step.fresh || err != nil {
			t.Fatalf("Remember(%s, %v) = %v, %v; want %v", step.key, step.until.Sub(t0), fresh, err, step.fresh)
		}
	}
	if n := s.seen.Len(); n != 2 {
		t.Errorf("store holds %d proofs, want its size, 2", n)
	}
}

// TestMemoryReplayStoreAcceptsEachProofOnceUnderContention: goroutines
// replay the same proofs, more than the store holds, concurrently; each
// proof is accepted at most once.
func TestMemoryReplayStoreAcceptsEachProofOnceUnderContention(t *testing.T) {
	const proofs, size, replayers = 400, 50, 8
	t0 := time.Unix(1_700_000_000, 0)
	s := newMemoryReplayStore(size, time.Hour, func() time.Time { return t0 })
	var accepted [proofs]atomic.Int32
	var wg sync.WaitGroup
	for range replayers {
		wg.Go(func() {
			for i := range proofs {
				fresh, err := s.Remember(t.Context(), fmt.Sprint(i), t0.Add(time.Duration(i)*time.Second))
				if err != nil {
					t.Error(err)
					return
				}
				if fresh {
					accepted[i].Add(1)
				}
			}
		})
	}
	wg.Wait()
	for i := range accepted {
		if n := accepted[i].Load(); n > 1 {
			t.Errorf("proof %d accepted %d times", i, n)
		}
	}
}
