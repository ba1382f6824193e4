package monocloud

// The fakes the tests share, one of each kind: fakeStore (the session store,
// session locker and Coordinator), logRecorder (the logger and event hook)
// and fakeTransport (the HTTP client's transport to the provider).

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeStore is the in-memory SessionStore, SessionLocker and Coordinator of
// the package's tests, as monocloudtest/memstore.Store is for the tests of
// applications. The package's tests cannot use memstore: it imports this
// package, and they need its internals (the Client's clock, its cookies'
// contents), which tests outside it cannot reach.
//
// A Client finds a store's locker and Coordinator with type assertions, so
// a test hands it the part it needs: asStore is a SessionStore only,
// asLockingStore also a SessionLocker, standing in for a store shared by
// several instances; the fakeStore itself is given as Options.Coordinator.
//
// It stores JSON copies of the sessions, so callers never share maps with
// it, and counts its calls (calls). While down (setDown) every call fails,
// as a Redis that is paused or killed. Its Coordinator shares refreshes with
// no expiry, delivers each ended session to every watch, as redisstore does
// through pub/sub, fails EndSession while failEndSession is set and
// WatchEnded watchFailures times, and holds back loaded while holdLoad is
// open. Its zero value is ready to use; set its fields under mu once a
// Client uses it.
type fakeStore struct {
	mu       sync.Mutex
	sessions map[string]fakeEntry
	deletes  []string // the keys Delete was given, in order
	counts   fakeCalls
	down     error

	failEndSession bool
	watchFailures  int
	holdLoad       chan struct{} // when set, loaded waits for it to close
	watchEnded     chan struct{} // closed when a watch returns for its ctx, when set
	ended          []EndedSession
	watchers       map[*func(EndedSession)]bool
	used           map[string]time.Time // token ID → expiry
	refreshed      map[string][]byte    // session key → its newest shared refresh
	usedTokens     map[string]bool      // session key + " " + token digest → used
	ttls           []time.Duration      // of each PutRefreshed
	locks          sync.Map             // session key → chan struct{}, holding a token while locked
}

// fakeEntry is a stored session with its lifetime.
type fakeEntry struct {
	data     []byte
	lifetime Lifetime
}

// fakeCalls counts the calls of a fakeStore.
type fakeCalls struct {
	gets           int // Get, failed calls included
	sets           int // Set, successful calls only
	refreshLookups int // GetRefreshed
}

// errStoreDown is the error of a fakeStore taken down by the tests that do
// not need one of their own.
var errStoreDown = errors.New("fakeStore: connection refused")

// asStore returns s as a SessionStore only: sessions in s, refreshes
// neither serialized nor shared by it.
func (s *fakeStore) asStore() SessionStore { return struct{ SessionStore }{s} }

// asLockingStore returns s as a SessionStore and SessionLocker, not as a
// Coordinator.
func (s *fakeStore) asLockingStore() SessionStore {
	return struct {
		SessionStore
		SessionLocker
	}{s, s}
}

// setDown makes every call fail with err; nil brings the store back.
func (s *fakeStore) setDown(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = err
}

// calls returns how many times the counted methods were called.
func (s *fakeStore) calls() fakeCalls {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts
}

// keys returns the keys of the stored sessions, sorted.
func (s *fakeStore) keys() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	keys := make([]string, 0, len(s.sessions))
	for k := range s.sessions {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// lifetime returns the lifetime the session key was stored with, and
// whether it is stored.
func (s *fakeStore) lifetime(key string) (Lifetime, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.sessions[key]
	return e.lifetime, ok
}

// deleted returns the keys Delete was given, in order.
func (s *fakeStore) deleted() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.deletes)
}

func (s *fakeStore) Get(_ context.Context, key string) (*Session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts.gets++
	if s.down != nil {
		return nil, s.down
	}
	e, ok := s.sessions[key]
	if !ok {
		return nil, nil
	}
	var out Session
	if err := json.Unmarshal(e.data, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

func (s *fakeStore) Set(_ context.Context, key string, sess *Session, lt Lifetime) error {
	data, err := json.Marshal(sess)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down != nil {
		return s.down
	}
	if s.sessions == nil {
		s.sessions = make(map[string]fakeEntry)
	}
	s.sessions[key] = fakeEntry{data: data, lifetime: lt}
	s.counts.sets++
	return nil
}

func (s *fakeStore) Delete(_ context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down != nil {
		return s.down
	}
	delete(s.sessions, key)
	s.deletes = append(s.deletes, key)
	return nil
}

// LockSession blocks until it holds key's lock or ctx ends.
func (s *fakeStore) LockSession(ctx context.Context, key string) (func(), error) {
	s.mu.Lock()
	down := s.down
	s.mu.Unlock()
	if down != nil {
		return nil, down
	}
	v, _ := s.locks.LoadOrStore(key, make(chan struct{}, 1))
	lock := v.(chan struct{})
	select {
	case lock <- struct{}{}:
		return func() { <-lock }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (s *fakeStore) PutRefreshed(_ context.Context, key, usedToken string, v []byte, ttl time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down != nil {
		return s.down
	}
	if s.refreshed == nil {
		s.refreshed, s.usedTokens = map[string][]byte{}, map[string]bool{}
	}
	s.refreshed[key] = v
	s.usedTokens[key+" "+usedToken] = true
	s.ttls = append(s.ttls, ttl)
	return nil
}

func (s *fakeStore) GetRefreshed(_ context.Context, key, tokenHash string) ([]byte, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts.refreshLookups++
	if s.down != nil {
		return nil, false, s.down
	}
	return s.refreshed[key], s.usedTokens[key+" "+tokenHash], nil
}

// EndSession records r, deletes the session it ends by key, and delivers it
// to every watch.
func (s *fakeStore) EndSession(_ context.Context, r EndedSession) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down != nil {
		return s.down
	}
	if s.failEndSession {
		return errors.New("coordinator down")
	}
	s.ended = append(s.ended, r)
	delete(s.sessions, r.Key)
	for fn := range s.watchers {
		(*fn)(r)
	}
	return nil
}

func (s *fakeStore) WatchEnded(ctx context.Context, fn func(EndedSession), loaded func()) error {
	s.mu.Lock()
	if s.down != nil {
		defer s.mu.Unlock()
		return s.down
	}
	if s.watchFailures > 0 {
		s.watchFailures--
		s.mu.Unlock()
		return errors.New("coordinator down")
	}
	for _, r := range s.ended {
		fn(r)
	}
	if s.watchers == nil {
		s.watchers = map[*func(EndedSession)]bool{}
	}
	s.watchers[&fn] = true
	hold := s.holdLoad
	s.mu.Unlock()
	if hold != nil {
		select {
		case <-hold:
		case <-ctx.Done():
		}
	}
	loaded()
	<-ctx.Done()
	s.mu.Lock()
	delete(s.watchers, &fn)
	s.mu.Unlock()
	if s.watchEnded != nil {
		close(s.watchEnded)
	}
	return ctx.Err()
}

func (s *fakeStore) UseTokenID(_ context.Context, id string, expires time.Time) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down != nil {
		return false, s.down
	}
	if exp, ok := s.used[id]; ok && time.Now().Before(exp) {
		return false, nil
	}
	if s.used == nil {
		s.used = map[string]time.Time{}
	}
	s.used[id] = expires
	return true, nil
}

func (s *fakeStore) ReleaseTokenID(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down != nil {
		return s.down
	}
	delete(s.used, id)
	return nil
}

// logRecorder is a slog.Handler that keeps every record at or above its
// level, and every Event given to its hook, each also formatted as text.
// Unless discovery is set, it leaves out the Info line of the provider's
// discovery, which New logs once before any test acts.
type logRecorder struct {
	level     slog.Level
	discovery bool // keep the Info line of the provider's discovery

	mu     sync.Mutex
	recs   []slog.Record
	text   bytes.Buffer
	events []Event
}

func (h *logRecorder) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level }
func (h *logRecorder) WithAttrs([]slog.Attr) slog.Handler           { return h }
func (h *logRecorder) WithGroup(string) slog.Handler                { return h }

func (h *logRecorder) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == providerDiscoveredMessage && !h.discovery {
		return nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.recs = append(h.recs, r.Clone())
	return slog.NewJSONHandler(&h.text, nil).Handle(ctx, r)
}

func (h *logRecorder) onEvent(_ context.Context, e Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.events = append(h.events, e)
	fmt.Fprintf(&h.text, "%+v\n", e)
}

func (h *logRecorder) options() Options {
	return Options{Logger: slog.New(h), OnEvent: h.onEvent}
}

// logged returns the text of everything recorded so far.
func (h *logRecorder) logged() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.text.String()
}

// find returns the records of kind.
func (h *logRecorder) find(kind EventKind) []slog.Record {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []slog.Record
	for _, r := range h.recs {
		if attrsOf(r)["event"] == string(kind) {
			out = append(out, r)
		}
	}
	return out
}

// attrsOf returns a record's attributes as text.
func attrsOf(r slog.Record) map[string]string {
	m := map[string]string{}
	r.Attrs(func(a slog.Attr) bool {
		m[a.Key] = a.Value.String()
		return true
	})
	return m
}

// expectEvent fails t unless h has a record of kind with message msg, at
// level, holding the attributes of want ("" asks only that the key is
// present), and returns its attributes.
func (h *logRecorder) expectEvent(t *testing.T, kind EventKind, msg string, level slog.Level, want map[string]string) map[string]string {
	t.Helper()
	recs := h.find(kind)
	for _, r := range recs {
		got := attrsOf(r)
		ok := r.Message == msg && r.Level == level
		for k, v := range want {
			if g, has := got[k]; !has || (v != "" && g != v) {
				ok = false
			}
		}
		if ok {
			return got
		}
	}
	var seen []string
	for _, r := range recs {
		seen = append(seen, fmt.Sprintf("%s %q %v", r.Level, r.Message, attrsOf(r)))
	}
	t.Fatalf("no %s record %q at %s with %v; have %q", kind, msg, level, want, seen)
	return nil
}

// fakeTransport is the transport of the tests that watch or disturb the
// Client's calls to the provider. It records the User-Agent of every
// request (userAgents), fails the requests to one path (failPath, heal),
// and hands the token endpoint's answers to POSTs back late (setDelay): the
// provider carries out the grant (and rotates the refresh token) whatever
// happens to the caller, and its answer reaches the caller only after the
// delay, or not at all when the caller gives up first. This is the window
// in which a closed tab or an aborted fetch would lose the rotated
// refresh token if the grant ran on the caller's context. It passes the requests on to next, or to
// http.DefaultTransport when next is nil.
type fakeTransport struct {
	next http.RoundTripper

	mu         sync.Mutex
	userAgents []string
	failSuffix string        // requests to a path ending in it fail; "": none
	failStatus int           // their answer; 0: a connection error
	delay      time.Duration // of the token endpoint's answers to POSTs; 0: none
}

// failPath makes the requests to a path ending in suffix fail: with a
// connection error when status is 0, else answered status.
func (tr *fakeTransport) failPath(suffix string, status int) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.failSuffix, tr.failStatus = suffix, status
}

// heal passes every request on again.
func (tr *fakeTransport) heal() { tr.failPath("", 0) }

// setDelay delays the token endpoint's answers to POSTs by d; 0 passes
// them through.
func (tr *fakeTransport) setDelay(d time.Duration) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.delay = d
}

// seenUserAgents returns the User-Agent of every request, in order.
func (tr *fakeTransport) seenUserAgents() []string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return slices.Clone(tr.userAgents)
}

func (tr *fakeTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	tr.mu.Lock()
	tr.userAgents = append(tr.userAgents, r.Header.Get("User-Agent"))
	failSuffix, failStatus, delay := tr.failSuffix, tr.failStatus, tr.delay
	tr.mu.Unlock()
	next := tr.next
	if next == nil {
		next = http.DefaultTransport
	}
	switch {
	case failSuffix != "" && strings.HasSuffix(r.URL.Path, failSuffix) && failStatus == 0:
		return nil, errors.New("tk: connection refused")
	case failSuffix != "" && strings.HasSuffix(r.URL.Path, failSuffix):
		return &http.Response{StatusCode: failStatus, Body: io.NopCloser(strings.NewReader("")), Request: r}, nil
	case delay > 0 && r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/token"):
		return lateAnswer(next, r, delay)
	}
	return next.RoundTrip(r)
}

// lateAnswer sends r through next whatever happens to r's caller, and
// returns the answer after delay, or the caller's error if it gives up
// first.
func lateAnswer(next http.RoundTripper, r *http.Request, delay time.Duration) (*http.Response, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	detached := r.Clone(context.WithoutCancel(r.Context()))
	detached.Body = io.NopCloser(bytes.NewReader(body))
	resp, err := next.RoundTrip(detached)
	if err != nil {
		return nil, err
	}
	answer, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(answer))
	select {
	case <-time.After(delay):
		return resp, nil
	case <-r.Context().Done():
		return nil, r.Context().Err()
	}
}
