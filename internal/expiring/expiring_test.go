package expiring

import (
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var t0 = time.Unix(1_700_000_000, 0)

type eviction struct {
	key   string
	v     int
	putAt time.Time
}

// newRecorded returns a Map that records its evictions into *evicted.
func newRecorded(capacity int, ttl time.Duration, evicted *[]eviction) *Map[string, int] {
	m := New[string, int](capacity, ttl)
	m.OnEvict = func(k string, v int, putAt time.Time) { *evicted = append(*evicted, eviction{k, v, putAt}) }
	return m
}

// TestOldestEvictedFirst: a full map evicts the oldest entry, reports it
// with its put time, and keeps every other one.
func TestOldestEvictedFirst(t *testing.T) {
	var evicted []eviction
	m := newRecorded(3, time.Hour, &evicted)
	for i, k := range []string{"a", "b", "c", "d"} {
		m.Put(k, i, t0.Add(time.Duration(i)*time.Second))
	}
	if want := []eviction{{"a", 0, t0}}; !slices.Equal(evicted, want) {
		t.Fatalf("evicted %v, want %v", evicted, want)
	}
	if m.Len() != 3 {
		t.Errorf("Len = %d, want 3", m.Len())
	}
	now := t0.Add(time.Minute)
	for i, k := range []string{"b", "c", "d"} {
		if v, ok := m.Get(k, now); !ok || v != i+1 {
			t.Errorf("Get(%q) = %d, %t; want %d, true", k, v, ok, i+1)
		}
	}
	if _, ok := m.Get("a", now); ok {
		t.Error("the evicted key is still there")
	}
}

// TestPutMovesToTheBack: Put of a present key replaces its value and
// restarts its TTL, so it is evicted last.
func TestPutMovesToTheBack(t *testing.T) {
	var evicted []eviction
	m := newRecorded(2, time.Minute, &evicted)
	m.Put("a", 1, t0)
	m.Put("b", 2, t0.Add(time.Second))
	m.Put("a", 3, t0.Add(50*time.Second))
	if v, ok := m.Get("a", t0.Add(90*time.Second)); !ok || v != 3 {
		t.Errorf("Get(a) after its first TTL = %d, %t; want 3, true", v, ok)
	}
	m.Put("c", 4, t0.Add(55*time.Second))
	if want := []eviction{{"b", 2, t0.Add(time.Second)}}; !slices.Equal(evicted, want) {
		t.Fatalf("evicted %v, want %v", evicted, want)
	}
}

// TestAddReaddAfterTTL: a key can be added again once its entry expired,
// not before.
func TestAddReaddAfterTTL(t *testing.T) {
	m := New[string, int](10, time.Minute)
	if !m.Add("k", 1, t0) {
		t.Fatal("first Add reported the key as present")
	}
	if m.Add("k", 2, t0.Add(30*time.Second)) {
		t.Error("Add within the TTL reported the key as new")
	}
	if v, _ := m.Get("k", t0.Add(30*time.Second)); v != 1 {
		t.Errorf("a refused Add changed the value to %d", v)
	}
	if _, ok := m.Get("k", t0.Add(time.Minute)); ok {
		t.Error("Get at exactly the TTL found the key")
	}
	if !m.Add("k", 3, t0.Add(2*time.Minute)) {
		t.Error("Add after the TTL reported the key as present")
	}
	if m.Add("k", 4, t0.Add(2*time.Minute+30*time.Second)) {
		t.Error("the re-added key was not remembered for its new TTL")
	}
}

// TestDelete: a deleted key is gone and frees its place.
func TestDelete(t *testing.T) {
	var evicted []eviction
	m := newRecorded(2, time.Minute, &evicted)
	m.Put("a", 1, t0)
	m.Put("b", 2, t0)
	m.Delete("a")
	m.Delete("missing")
	if _, ok := m.Get("a", t0); ok {
		t.Error("the deleted key is still there")
	}
	m.Put("c", 3, t0)
	if len(evicted) != 0 || m.Len() != 2 {
		t.Errorf("after delete and put: evicted %v, Len %d; want none, 2", evicted, m.Len())
	}
}

// TestExpiredEntriesAreNotReportedEvicted: OnEvict sees only entries
// evicted before their expiry.
func TestExpiredEntriesAreNotReportedEvicted(t *testing.T) {
	var evicted []eviction
	m := newRecorded(4, time.Minute, &evicted)
	for i := range 4 {
		m.Put(string(rune('a'+i)), i, t0)
	}
	// Each Put drops up to dropPerPut expired entries, and evicts another
	// (expired) one when still full: no live entry is evicted.
	for i := range 4 {
		m.Put(string(rune('w'+i)), i, t0.Add(time.Minute))
	}
	if len(evicted) != 0 {
		t.Errorf("expired entries reported as evicted: %v", evicted)
	}
}

// TestPutDoesBoundedWork: a Put into a full map of expired entries drops a
// few of them, not all: no call sweeps the map. The backlog is gone after
// capacity/dropPerPut more puts.
func TestPutDoesBoundedWork(t *testing.T) {
	const capacity = 1000
	m := New[int, int](capacity, time.Minute)
	for i := range capacity {
		m.Put(i, i, t0)
	}
	later := t0.Add(time.Hour)
	m.Put(-1, 0, later)
	if n := m.Len(); n != capacity-dropPerPut+1 {
		t.Fatalf("after one Put: Len = %d, want %d (%d expired dropped)", n, capacity-dropPerPut+1, dropPerPut)
	}
	for i := 1; i < capacity/dropPerPut; i++ {
		m.Put(-1-i, 0, later)
	}
	if n := m.Len(); n != capacity/dropPerPut {
		t.Errorf("after %d puts: Len = %d, want only those", capacity/dropPerPut, n)
	}
}

// TestExpiredDroppedAsNewOnesArrive: with a steady flow of puts, expired
// entries are dropped and live ones kept, long before the bound is reached.
func TestExpiredDroppedAsNewOnesArrive(t *testing.T) {
	m := New[int, int](1<<20, time.Minute)
	for i := range 10_000 {
		if !m.Add(i, i, t0.Add(time.Duration(i)*time.Second)) {
			t.Fatalf("entry %d reported as present", i)
		}
	}
	if n := m.Len(); n > 61 {
		t.Errorf("Len = %d, want the 60 live entries (and one expired at most)", n)
	}
	if _, ok := m.Get(9_940, t0.Add(9_999*time.Second)); !ok {
		t.Error("a live entry was dropped")
	}
}

func TestNewPanicsOnNonPositiveBounds(t *testing.T) {
	for _, c := range []struct {
		capacity int
		ttl      time.Duration
	}{{0, time.Minute}, {-1, time.Minute}, {1, 0}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("New(%d, %v) did not panic", c.capacity, c.ttl)
				}
			}()
			New[int, int](c.capacity, c.ttl)
		}()
	}
}

// model is the reference for FuzzMap: a slice in insertion order, from
// which every expired entry is dropped before each put.
type model struct {
	capacity int
	ttl      time.Duration
	entries  []eviction // oldest first
	evicted  []eviction
}

func (md *model) index(k string) int {
	return slices.IndexFunc(md.entries, func(e eviction) bool { return e.key == k })
}

func (md *model) get(k string, now time.Time) (int, bool) {
	if i := md.index(k); i >= 0 && now.Before(md.entries[i].putAt.Add(md.ttl)) {
		return md.entries[i].v, true
	}
	return 0, false
}

func (md *model) put(k string, v int, now time.Time) {
	md.entries = slices.DeleteFunc(md.entries, func(e eviction) bool { return e.key == k || !now.Before(e.putAt.Add(md.ttl)) })
	if len(md.entries) == md.capacity {
		md.evicted = append(md.evicted, md.entries[0])
		md.entries = md.entries[1:]
	}
	md.entries = append(md.entries, eviction{k, v, now})
}

// FuzzMap runs a script of operations on a Map and on the reference model,
// with a clock that never goes back, and compares every result, the
// evictions and the bound.
func FuzzMap(f *testing.F) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 300 {
		script := make([]byte, 3*rng.IntN(400))
		for i := range script {
			script[i] = byte(rng.Uint32())
		}
		f.Add(script)
	}
	f.Fuzz(func(t *testing.T, script []byte) {
		const capacity, ttl = 6, 20 * time.Second
		md := &model{capacity: capacity, ttl: ttl}
		var evicted []eviction
		m := newRecorded(capacity, ttl, &evicted)
		now := t0
		for i := 0; i+2 < len(script); i += 3 {
			op, k, v := script[i]%6, string(rune('a'+script[i+1]%12)), int(script[i+2])
			switch op {
			case 0, 1:
				got, gotOK := m.Get(k, now)
				want, wantOK := md.get(k, now)
				if got != want || gotOK != wantOK {
					t.Fatalf("op %d: Get(%q) = %d, %t; model %d, %t", i/3, k, got, gotOK, want, wantOK)
				}
			case 2:
				m.Put(k, v, now)
				md.put(k, v, now)
			case 3:
				_, present := md.get(k, now)
				if !present {
					md.put(k, v, now)
				}
				if added := m.Add(k, v, now); added == present {
					t.Fatalf("op %d: Add(%q) = %t with the key present: %t", i/3, k, added, present)
				}
			case 4:
				m.Delete(k)
				if j := md.index(k); j >= 0 {
					md.entries = slices.Delete(md.entries, j, j+1)
				}
			case 5:
				now = now.Add(time.Duration(v%16) * time.Second)
			}
			if n := m.Len(); n > capacity || n < len(md.entries) {
				t.Fatalf("op %d: Len = %d, model holds %d, capacity %d", i/3, n, len(md.entries), capacity)
			}
			if !slices.Equal(evicted, md.evicted) {
				t.Fatalf("op %d: evicted %v, model %v", i/3, evicted, md.evicted)
			}
		}
		for j := range 12 {
			k := string(rune('a' + j))
			got, gotOK := m.Get(k, now)
			want, wantOK := md.get(k, now)
			if got != want || gotOK != wantOK {
				t.Fatalf("end: Get(%q) = %d, %t; model %d, %t", k, got, gotOK, want, wantOK)
			}
		}
	})
}

// TestConcurrentUse runs readers and writers at once (run it with -race):
// the bound holds throughout and every value read is one that was put
// under its key.
func TestConcurrentUse(t *testing.T) {
	const capacity = 64
	var evictions atomic.Int64
	m := New[int, int](capacity, time.Second)
	m.OnEvict = func(int, int, time.Time) { evictions.Add(1) }
	var clock atomic.Int64 // milliseconds after t0
	now := func() time.Time { return t0.Add(time.Duration(clock.Load()) * time.Millisecond) }
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 0))
			for range 5000 {
				k := rng.IntN(200)
				switch rng.IntN(6) {
				case 0:
					m.Put(k, -k, now())
				case 1:
					m.Add(k, -k, now())
				case 2:
					m.Delete(k)
				case 3:
					clock.Add(int64(rng.IntN(5)))
				default:
					if v, ok := m.Get(k, now()); ok && v != -k {
						t.Errorf("Get(%d) = %d", k, v)
						return
					}
				}
				if n := m.Len(); n > capacity {
					t.Errorf("Len = %d past the capacity %d", n, capacity)
					return
				}
			}
		})
	}
	wg.Wait()
	if evictions.Load() == 0 {
		t.Error("no eviction happened: the test did not reach the bound")
	}
}
