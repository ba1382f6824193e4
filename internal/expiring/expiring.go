// Package expiring provides Map, a bounded map whose entries all live for
// the same time, dropped oldest first, with O(1) work per operation.
//
// It is not hashicorp/golang-lru/v2/expirable: that cache orders entries by
// last use rather than insertion, reads the wall clock itself and sweeps
// expired entries from a goroutine per cache that cannot be stopped. Above
// all, it cannot tell its caller that an entry was evicted by the bound
// before its expiry, with its put time, which revocations need to fail
// closed.
package expiring

import (
	"sync"
	"time"
)

// dropPerPut bounds how many expired entries one Put or Add drops from the
// front. More than one, so that a backlog of expired entries shrinks while
// new ones arrive; a constant, so that no call sweeps the whole map.
const dropPerPut = 2

// Map is a bounded map whose entries expire a fixed TTL after they were put.
// As every entry has the same TTL, insertion order is expiry order: entries
// are kept in a list in that order, and Put and Add drop expired entries
// from its front, a few per call. When the map is full, the oldest entry is
// evicted to make room. Every operation is O(1); readers share a read lock.
//
// Expiry is checked against the time the caller passes, so a Map follows
// the caller's clock. An expired entry counts against the capacity until it
// is dropped or evicted, but Get and Add treat it as absent. With a clock
// that goes backwards, an expired entry behind a newer-stamped one waits
// until it reaches the front.
//
// A Map is safe for concurrent use.
type Map[K comparable, V any] struct {
	// OnEvict, when set, is called for each entry evicted before its
	// expiry to make room for another (not for expired, replaced or
	// deleted ones), with the time it was put. It runs with the map
	// locked: it must be quick and must not use the map. Set it before
	// the map is used.
	OnEvict func(key K, v V, putAt time.Time)

	capacity int
	ttl      time.Duration

	mu    sync.RWMutex
	items map[K]*entry[K, V]
	root  entry[K, V] // sentinel: root.next is the oldest entry, root.prev the newest
}

type entry[K comparable, V any] struct {
	key        K
	value      V
	putAt      time.Time
	prev, next *entry[K, V]
}

// New returns an empty Map that holds at most capacity entries, each for
// ttl after it was put. It panics if capacity or ttl is not positive.
func New[K comparable, V any](capacity int, ttl time.Duration) *Map[K, V] {
	if capacity <= 0 || ttl <= 0 {
		panic("expiring: capacity and ttl must be positive")
	}
	m := &Map[K, V]{capacity: capacity, ttl: ttl, items: make(map[K]*entry[K, V])}
	m.root.next, m.root.prev = &m.root, &m.root
	return m
}

// Get returns the value of key, unless it is absent or expired at now.
func (m *Map[K, V]) Get(key K, now time.Time) (V, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if e, ok := m.items[key]; ok && !m.expired(e, now) {
		return e.value, true
	}
	var zero V
	return zero, false
}

// Put sets the value of key, put at now: an existing entry is replaced and
// moves to the back, its TTL restarted.
func (m *Map[K, V]) Put(key K, v V, now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.put(key, v, now)
}

// Add puts the value of key unless key is present and unexpired at now, and
// reports whether it did.
func (m *Map[K, V]) Add(key K, v V, now time.Time) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e, ok := m.items[key]; ok && !m.expired(e, now) {
		return false
	}
	m.put(key, v, now)
	return true
}

// Delete removes key, if present.
func (m *Map[K, V]) Delete(key K) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e, ok := m.items[key]; ok {
		m.remove(e)
	}
}

// Len returns the number of entries held, expired ones not yet dropped
// included. It is at most the capacity.
func (m *Map[K, V]) Len() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.items)
}

// put is Put with m.mu held.
func (m *Map[K, V]) put(key K, v V, now time.Time) {
	for range dropPerPut {
		if front := m.root.next; front != &m.root && m.expired(front, now) {
			m.remove(front)
		}
	}
	e, ok := m.items[key]
	if ok {
		m.unlink(e)
	} else {
		if len(m.items) >= m.capacity {
			m.evictOldest()
		}
		e = &entry[K, V]{key: key}
		m.items[key] = e
	}
	e.value, e.putAt = v, now
	e.prev, e.next = m.root.prev, &m.root
	e.prev.next, m.root.prev = e, e
}

// evictOldest removes the oldest entry and reports it to OnEvict. The
// caller holds m.mu, the map is full, and its oldest entry has not expired
// (put dropped it otherwise).
func (m *Map[K, V]) evictOldest() {
	e := m.root.next
	m.remove(e)
	if m.OnEvict != nil {
		m.OnEvict(e.key, e.value, e.putAt)
	}
}

// expired reports whether e has expired at now.
func (m *Map[K, V]) expired(e *entry[K, V], now time.Time) bool {
	return !now.Before(e.putAt.Add(m.ttl))
}

// remove deletes e from the map and the list. The caller holds m.mu.
func (m *Map[K, V]) remove(e *entry[K, V]) {
	m.unlink(e)
	delete(m.items, e.key)
}

// unlink takes e out of the list. The caller holds m.mu.
func (m *Map[K, V]) unlink(e *entry[K, V]) {
	e.prev.next, e.next.prev = e.next, e.prev
	e.prev, e.next = nil, nil
}
