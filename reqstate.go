package monocloud

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/monocloud/auth-go/internal/cookie"
)

// sessionWarnSize is the size, names plus values, past which a session's
// cookies raise a session_large event: nginx's default limit of a header
// line, the smallest among common front ends.
const sessionWarnSize = 8 << 10

// slideInterval is how often a sliding session is re-written: at most once
// a minute instead of on every request (more often for sessions shorter
// than two minutes).
const slideInterval = 60

// errResponseCommitted is logged when the session changes after the
// response header was written, so the browser keeps its old cookie.
var errResponseCommitted = errors.New("monocloud: session changed after the response header was written; the browser keeps the previous cookie")

// stateKey is the context key of the request state of client c: each
// Client has its own, so a client never takes another's state for its own.
type stateKey struct{ c *Client }

// servingKey is the context key of the innermost Client serving a request,
// for the package-level helpers.
type servingKey struct{}

// stateContext is the context of a request served by a Client: it answers
// stateKey{c} with the request state and servingKey{} with c. It lives in
// the requestState, so serving a request adds no context allocation.
type stateContext struct {
	context.Context
	st *requestState
}

// Value returns the request state or the Client for their keys, and the
// parent's values for the others.
func (ctx *stateContext) Value(key any) any {
	switch k := key.(type) {
	case stateKey:
		if k.c == ctx.st.c {
			return ctx.st
		}
	case servingKey:
		return ctx.st.c
	}
	return ctx.Context.Value(key)
}

// requestState is the auth state of one request: the session, loaded at most
// once, and the Set-Cookie headers waiting for the response.
//
// No hook, logger or store call runs while mu is held, nor while a caller
// waits for another: the load runs outside mu, in the first caller of
// lookup, while later callers wait for its end. A store call of the load
// that reads the session through the context it was given (a context-aware
// log handler, say) finds no session instead of waiting for itself. The
// events raised under mu or by the load are queued and emitted by the
// operation that raised them once it holds no lock (emitQueued).
type requestState struct {
	c *Client
	r *http.Request
	// direct, when set, receives Set-Cookie headers as soon as they are
	// produced (the explicit (w, r) forms outside the middleware).
	direct http.ResponseWriter
	// onError overrides Options.OnError for the auth routes: the route
	// handler's OnError, else MiddlewareOptions.OnError.
	onError func(http.ResponseWriter, *http.Request, error)
	// callback marks a request of the callback route, whose failures are
	// callback_failed events.
	callback bool
	// writer is the middleware's response writer, allocated with the state.
	writer cookieWriter
	ctx    stateContext // the context of r

	// loadCtx is the context of the load's store calls: it marks them as
	// the load's own, for lookupEncoded. Only the loader sets it.
	loadCtx loadingContext

	mu        sync.Mutex
	loadStep  loadStep
	loadDone  chan struct{}  // made by the first caller that waits for the load; closed at its end
	loadErr   error          // a failure of the store while loading
	family    []string       // session cookie names the request carried
	current   *sessionCookie // nil when there is no valid session
	pending   pendingCookies
	committed bool
	queued    []Event // raised under mu or by the load, not yet emitted
}

// loadStep is how far the request state's session is loaded.
type loadStep int

const (
	notLoaded loadStep = iota
	loading
	loaded
)

// loadingKey is the context key that marks the load's store calls: it
// answers the request state being loaded.
type loadingKey struct{}

// loadingContext is the context of the load's store calls (see
// loadingKey). It lives in the requestState, so a load adds no context
// allocation.
type loadingContext struct {
	context.Context
	st *requestState
}

// Value returns the request state for loadingKey, and the parent's values
// for the other keys.
func (ctx *loadingContext) Value(key any) any {
	if _, ok := key.(loadingKey); ok {
		return ctx.st
	}
	return ctx.Context.Value(key)
}

// state returns the request state that c's AuthMiddleware or Handler put
// in ctx, or nil.
func (c *Client) state(ctx context.Context) *requestState {
	st, _ := ctx.Value(stateKey{c}).(*requestState)
	return st
}

// detached returns ctx without c's request state, for work that runs
// detached from the request (a token refresh, which may serve several
// requests and outlive the one that started it): the request helpers
// answer ErrNoRequestContext there.
func (c *Client) detached(ctx context.Context) context.Context {
	return context.WithValue(ctx, stateKey{c}, (*requestState)(nil))
}

// requestState returns r's state when r is served under this client's
// middleware or handler; otherwise a new one that writes cookies to w
// directly (w may be nil: then changes are not sent to the browser).
func (c *Client) requestState(w http.ResponseWriter, r *http.Request) *requestState {
	if st := c.state(r.Context()); st != nil {
		return st
	}
	return &requestState{c: c, r: r, direct: w}
}

// lookup returns the request's session cookie, decoding it on first use:
// nil without a valid session, or an error (a *StoreError) when the
// SessionStore failed, which is not "signed out". The Session it points to
// may be shared with other requests (decoded values are cached) and must
// not be modified: copy it with clone first.
func (st *requestState) lookup(ctx context.Context) (*sessionCookie, error) {
	sc, err := st.lookupEncoded(ctx)
	if sc == nil || sc.user == nil {
		return sc, err
	}
	decoded := sc.withUser()
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.current == sc {
		// Later lookups of this request get the decoded claims as they are.
		st.current = decoded
	}
	return decoded, err
}

// lookupEncoded is lookup for the paths every request takes, which read
// the session's key, lifetime and tokens: the user claims of a session read
// from its cookie may still be encoded (see sessionCookie.user), so
// Session.User may be nil; read them with userClaims.
//
// The first caller loads the session, and the callers that come meanwhile
// wait for it, so a request decodes its session once; a caller inside the
// load (a store call of the load, through its context) does not wait for
// itself: it finds no session.
func (st *requestState) lookupEncoded(ctx context.Context) (*sessionCookie, error) {
	st.mu.Lock()
	for st.loadStep == loading {
		if ctx.Value(loadingKey{}) == st {
			st.mu.Unlock()
			return nil, nil
		}
		if st.loadDone == nil {
			st.loadDone = make(chan struct{})
		}
		done := st.loadDone
		st.mu.Unlock()
		<-done
		st.mu.Lock()
	}
	if st.loadStep == notLoaded {
		st.loadStep = loading
		st.mu.Unlock()
		st.loadCtx = loadingContext{Context: ctx, st: st}
		sc, err := st.load(&st.loadCtx)
		st.mu.Lock()
		st.current, st.loadErr, st.loadStep = sc, err, loaded
		if st.loadDone != nil {
			close(st.loadDone)
		}
	}
	sc, err := st.current, st.loadErr
	st.mu.Unlock()
	st.emitQueued(ctx)
	return sc, err
}

// queue keeps e to be emitted by emitQueued, for the code that runs under
// mu or inside the load, where a hook that reads the session would wait
// for itself.
func (st *requestState) queue(e Event) {
	st.mu.Lock()
	st.queued = append(st.queued, e)
	st.mu.Unlock()
}

// emitQueued emits the queued events. The caller holds no lock and runs
// no load.
func (st *requestState) emitQueued(ctx context.Context) {
	st.mu.Lock()
	events := st.queued
	st.queued = nil
	st.mu.Unlock()
	for _, e := range events {
		st.c.emit(ctx, e)
	}
}

// lookupOrFail is lookup for an auth route: it returns r's state and
// session (nil without one), or answers a store failure and reports false.
func (c *Client) lookupOrFail(w http.ResponseWriter, r *http.Request) (*requestState, *sessionCookie, bool) {
	st := c.requestState(w, r)
	sc, err := st.lookup(r.Context())
	if err != nil {
		c.fail(w, r, err)
		return nil, nil, false
	}
	return st, sc, true
}

// load reads the request's session for lookupEncoded: its events are
// queued.
func (st *requestState) load(ctx context.Context) (*sessionCookie, error) {
	cfg := st.c.cfg
	single, chunked, family := cookie.Find(st.r.Header["Cookie"], cfg.sessionCookie.name)
	st.mu.Lock()
	st.family = family
	st.mu.Unlock()
	if single == "" && chunked == "" {
		st.expireFamily(nil)
		return nil, nil
	}
	sc, stale, err := st.decodeNewest(single, chunked)
	if err != nil {
		st.expireFamily(nil)
		return nil, nil
	}
	now := st.c.now().Unix()
	if !cfg.valid(sc.Lifetime, now) {
		st.remove(ctx, &sc)
		return nil, nil
	}
	if cfg.store != nil {
		s, err := cfg.store.Get(ctx, sc.Key)
		if err != nil {
			return nil, storeError("reading the session", err)
		}
		if s == nil {
			st.expireFamily(nil)
			return nil, nil
		}
		sc.Session, sc.user = s, nil
	}
	if sc.Session == nil {
		return nil, nil
	}
	if sc.user == nil && sc.Session.User == nil {
		s := *sc.Session // the decoded session may be shared through the cache
		s.User = User{}
		sc.Session = &s
	}
	if err := st.c.revocations.awaitLoaded(ctx, cfg.responseTimeout); err != nil {
		return nil, err
	}
	if st.c.revocations.revoked(&sc) {
		st.remove(ctx, &sc)
		return nil, nil
	}
	if stale || (cfg.sliding && now-sc.Lifetime.U >= min(slideInterval, int64(cfg.duration/time.Second)/2)) {
		next := sc
		next.Lifetime.U = now
		next.Lifetime.E = cfg.expiry(next.Lifetime)
		if err := st.writeMerged(ctx, &next, sc.Session.RefreshToken); err != nil {
			st.queue(Event{Kind: EventSessionNotWritten, Op: "re-writing the session cookie", Session: sessionTag(sc.Key), Err: err})
		} else {
			sc = next
		}
	}
	return &sc, nil
}

// decodeNewest decodes the request's session cookie value, single or
// chunked. A browser holds both only when a write could not expire the
// other form: a sign-in whose callback arrived without the session cookies
// (form_post, SameSite=Strict) and wrote a single cookie beside older
// chunks, or a version that did not expire the single cookie when writing
// chunks. Then both are decoded, the session signed in last (the later
// Lifetime.C, then Lifetime.U; single on a tie) wins, and the cookies of
// the other form are expired.
func (st *requestState) decodeNewest(single, chunked string) (sessionCookie, bool, error) {
	if single == "" || chunked == "" {
		return st.c.decodeSession(single + chunked)
	}
	sc, stale, err := st.c.decodeSession(single)
	csc, cstale, cerr := st.c.decodeSession(chunked)
	if err != nil && cerr != nil {
		return sessionCookie{}, false, err
	}
	name := st.c.cfg.sessionCookie.name
	if cerr == nil && (err != nil || cmp.Or(cmp.Compare(csc.Lifetime.C, sc.Lifetime.C), cmp.Compare(csc.Lifetime.U, sc.Lifetime.U)) > 0) {
		st.mu.Lock()
		defer st.mu.Unlock()
		_ = st.setCookiesLocked(cookie.Expired(name, cookieAttributes(st.c.cfg.sessionCookie)))
		return csc, cstale, nil
	}
	st.expireFamily(map[string]bool{name: true})
	return sc, stale, nil
}

// decodeSession decodes a session cookie value, through the cache of
// decoded values.
func (c *Client) decodeSession(value string) (sessionCookie, bool, error) {
	now := c.now()
	if sc, stale, ok := c.sessions.get(value, now); ok {
		return sc, stale, nil
	}
	var sc sessionCookie
	stale, err := c.sessionCodec.Decode(c.cfg.sessionCookie.name, value, &sc)
	if err != nil {
		return sessionCookie{}, false, err
	}
	if sc.Key == "" {
		return sessionCookie{}, false, errors.New("monocloud: session cookie without key")
	}
	c.sessions.put(value, sc, stale, now)
	return sc, stale, nil
}

// create starts a new session (sign-in): a new key, so a session fixed
// before sign-in is never reused.
func (st *requestState) create(ctx context.Context, s *Session) error {
	defer st.emitQueued(ctx)
	old, err := st.lookup(ctx)
	if err != nil {
		return err
	}
	if old != nil && st.c.cfg.store != nil {
		if err := st.c.cfg.store.Delete(ctx, old.Key); err != nil {
			return storeError("deleting the previous session", err)
		}
	}
	return st.write(ctx, st.c.newSessionCookie(s))
}

// update replaces the session's content, keeping its key and creation time.
func (st *requestState) update(ctx context.Context, s *Session) error {
	defer st.emitQueued(ctx)
	cur, err := st.lookup(ctx)
	if err != nil {
		return err
	}
	if cur == nil {
		return ErrNoSession
	}
	sc := &sessionCookie{Key: cur.Key, Lifetime: cur.Lifetime, Session: s}
	sc.Lifetime.U = st.c.now().Unix()
	sc.Lifetime.E = st.c.cfg.expiry(sc.Lifetime)
	return st.writeMerged(ctx, sc, cur.Session.RefreshToken)
}

// writeMerged is write for changes made outside a token refresh. With a
// SessionLocker store it holds the session's lock and keeps the tokens that
// another instance refreshed since this request read the session (its
// refresh token was then loadedRT), so a rotated refresh token is never put
// back into the store.
func (st *requestState) writeMerged(ctx context.Context, sc *sessionCookie, loadedRT string) error {
	locker, ok := st.c.cfg.store.(SessionLocker)
	if !ok {
		return st.write(ctx, sc)
	}
	unlock, err := locker.LockSession(ctx, sc.Key)
	if err != nil {
		return storeError("locking the session", err)
	}
	defer unlock()
	stored, err := st.c.cfg.store.Get(ctx, sc.Key)
	if err != nil {
		return storeError("re-reading the session", err)
	}
	if stored == nil {
		// Signed out (or logged out by the provider) meanwhile: do not
		// bring the session back.
		st.expireFamily(nil)
		return ErrNoSession
	}
	if stored.RefreshToken != loadedRT && sc.Session.RefreshToken == loadedRT {
		s := *sc.Session
		s.RefreshToken, s.IDToken, s.AccessTokens = stored.RefreshToken, stored.IDToken, stored.AccessTokens
		merged := *sc
		merged.Session = &s
		*sc = merged
	}
	return st.write(ctx, sc)
}

// adoptRefresh makes the refreshed session r the request's session, unless
// the session ended while the refresh ran (sign-out in this request or
// another one): then the refreshed cookie is not sent and ErrNoSession is
// returned. When the response header was already written, the browser keeps
// its cookie (the refresh is kept for its next request) and this request
// still sees the refreshed session.
func (st *requestState) adoptRefresh(ctx context.Context, r *refreshed) error {
	defer st.emitQueued(ctx)
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.current == nil || st.current.Key != r.sc.Key || st.c.revocations.revoked(r.sc) {
		return ErrNoSession
	}
	if err := st.setSessionLocked(r.value, r.sc); err != nil {
		if !errors.Is(err, errResponseCommitted) {
			return err
		}
		st.queued = append(st.queued, Event{Kind: EventSessionNotWritten, Op: "sending the refreshed session", Session: sessionTag(r.sc.Key), Err: err})
	}
	st.current = r.sc
	return nil
}

// destroy ends the session locally: store entry and cookies. The session's
// key is also revoked in this process, so a copy of the cookie taken before
// is refused too; with cookie sessions and a Coordinator, on every
// instance. With a SessionLocker store it holds the session's lock, so a
// refresh running meanwhile either sees the session gone or is undone.
// When the store or the Coordinator fails, nothing changes and a
// *StoreError is returned: the session has not ended.
func (st *requestState) destroy(ctx context.Context) error {
	defer st.emitQueued(ctx)
	sc, err := st.lookup(ctx)
	if err != nil {
		return err
	}
	if sc != nil {
		if err := st.c.deleteStored(ctx, sc.Key); err != nil {
			return err
		}
		if err := st.c.revokeSignOut(ctx, sc); err != nil {
			return err
		}
		st.c.refreshes.Forget(sc.Key)
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	st.current = nil
	return st.expireFamilyLocked(nil)
}

// deleteStored deletes the stored session key, under its lock when the
// store is a SessionLocker. Without a store it does nothing.
func (c *Client) deleteStored(ctx context.Context, key string) error {
	store := c.cfg.store
	if store == nil {
		return nil
	}
	if locker, ok := store.(SessionLocker); ok {
		unlock, err := locker.LockSession(ctx, key)
		if err != nil {
			return storeError("locking the session", err)
		}
		defer unlock()
	}
	if err := store.Delete(ctx, key); err != nil {
		return storeError("deleting the session", err)
	}
	return nil
}

// remove ends a session found invalid at load (expired or revoked): it
// deletes sc's store entry, if any, and expires every session cookie the
// request carried. A store failure is logged: the stale entry stays, but
// the session is not served. It runs in the load: its events are queued.
func (st *requestState) remove(ctx context.Context, sc *sessionCookie) {
	if err := st.c.deleteStored(ctx, sc.Key); err != nil {
		st.queue(Event{Kind: EventStoreError, Op: "deleting an ended session", Session: sessionTag(sc.Key), Err: err})
	}
	st.expireFamily(nil)
}

// write saves sc (to the store, if any) and makes it the request's session,
// queueing its cookies.
func (st *requestState) write(ctx context.Context, sc *sessionCookie) error {
	value, err := st.c.encodeSession(ctx, sc)
	if err != nil {
		return err
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if err := st.setSessionLocked(value, sc); err != nil {
		return err
	}
	st.current = sc
	return nil
}

// encodeSession saves sc to the store, if any, and returns the session
// cookie value for it (with a store: its key, lifetime and version only).
func (c *Client) encodeSession(ctx context.Context, sc *sessionCookie) (string, error) {
	cfg := c.cfg
	payload := sc
	if cfg.store != nil {
		if err := cfg.store.Set(ctx, sc.Key, sc.Session, sc.Lifetime.public()); err != nil {
			return "", storeError("saving the session", err)
		}
		payload = &sessionCookie{Key: sc.Key, Lifetime: sc.Lifetime, Version: tokenVersion(sc.Session.RefreshToken)}
	}
	value, err := c.sessionCodec.Encode(cfg.sessionCookie.name, payload)
	if err != nil {
		return "", err
	}
	// The browser sends this value back next: spare that request the decode.
	c.sessions.put(value, *payload, false, c.now())
	return value, nil
}

// setSessionLocked queues the cookies of session cookie value (of sc),
// expiring the request's session cookies that it does not overwrite, and a
// session_large event when they pass sessionWarnSize. The caller holds
// st.mu.
func (st *requestState) setSessionLocked(value string, sc *sessionCookie) error {
	cfg := st.c.cfg
	attrs := cookieAttributes(cfg.sessionCookie)
	cookies, err := st.c.sessionCookies(value, sc)
	if err != nil {
		return err
	}
	written := make(map[string]bool, len(cookies))
	size := 0
	for _, ck := range cookies {
		written[ck.Name] = true
		size += len(ck.Name) + len(ck.Value)
	}
	if size > sessionWarnSize {
		st.queued = append(st.queued, Event{Kind: EventSessionLarge, Session: sessionTag(sc.Key), Err: fmt.Errorf("monocloud: the session cookies hold %d bytes, more than the %d bytes some front ends accept in a Cookie header", size, sessionWarnSize)})
	}
	if err := st.expireFamilyLocked(written); err != nil {
		return err
	}
	if len(cookies) > 1 && len(st.family) == 0 {
		// A request carries all of the session cookies or none; one with
		// none (a callback from the provider, cross-site) may come from a
		// browser that holds some. A single cookie or leftover chunks
		// would hide or corrupt these chunks: expire them. A single
		// cookie written here needs no such care: leftover chunks hold an
		// older session, which decodeNewest discards.
		expired := []*http.Cookie{cookie.Expired(cfg.sessionCookie.name, attrs)}
		for i := len(cookies); i < cookie.MaxChunks; i++ {
			expired = append(expired, cookie.Expired(cfg.sessionCookie.name+"."+strconv.Itoa(i), attrs))
		}
		if err := st.setCookiesLocked(expired...); err != nil {
			return err
		}
	}
	return st.setCookiesLocked(cookies...)
}

// expireFamily is expireFamilyLocked for callers that do not hold st.mu. A
// failure (the response header was written) is queued as an event.
func (st *requestState) expireFamily(keep map[string]bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if err := st.expireFamilyLocked(keep); err != nil {
		st.queued = append(st.queued, Event{Kind: EventSessionNotWritten, Op: "expiring the session cookies", Err: err})
	}
}

// expireFamilyLocked expires the session cookies that the request carried
// or that an earlier write of this request queued, except those in keep.
// Both are names the library writes (see cookie.Find), at most
// cookie.MaxChunks+1 each. It fails only when the response header was
// already written. The caller holds st.mu.
func (st *requestState) expireFamilyLocked(keep map[string]bool) error {
	cfg := st.c.cfg.sessionCookie
	attrs := cookieAttributes(cfg)
	names := slices.Clone(st.family)
	for _, ck := range st.pending.list {
		if ck.Name == cfg.name || strings.HasPrefix(ck.Name, cfg.name+".") {
			names = append(names, ck.Name)
		}
	}
	for _, name := range names {
		if !keep[name] {
			if err := st.setCookiesLocked(cookie.Expired(name, attrs)); err != nil {
				return err
			}
		}
	}
	return nil
}

// setCookiesLocked queues Set-Cookie headers, replacing queued ones of the
// same name; outside the middleware they go to the response writer at once.
// The caller holds st.mu.
func (st *requestState) setCookiesLocked(cookies ...*http.Cookie) error {
	if st.committed {
		return errResponseCommitted
	}
	for _, ck := range cookies {
		st.pending.set(ck)
	}
	if st.direct != nil {
		st.flush(st.direct.Header())
	}
	return nil
}

// flush writes the queued cookies into h, replacing Set-Cookie lines this
// state wrote earlier for the same names.
func (st *requestState) flush(h http.Header) {
	if len(st.pending.list) == 0 {
		return
	}
	lines := h["Set-Cookie"][:0:0]
	for _, line := range h["Set-Cookie"] {
		if !st.pending.replaces(line) {
			lines = append(lines, line)
		}
	}
	for _, ck := range st.pending.list {
		if v := ck.String(); v != "" {
			lines = append(lines, v)
		}
	}
	h["Set-Cookie"] = lines
	if st.direct == nil {
		st.pending.reset()
	}
}

// commit writes the queued cookies into h just before the response header
// goes out; later session changes cannot reach the browser.
func (st *requestState) commit(h http.Header) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.committed {
		return
	}
	st.flush(h)
	st.committed = true
}

func cookieAttributes(c cookieConfig) cookie.Attributes {
	return cookie.Attributes{Path: c.path, Domain: c.domain, HTTPOnly: c.httpOnly, Secure: c.secure, SameSite: c.sameSite}
}

// newKey returns a random session key.
func newKey() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// withState serves r with a request state in its context and a response
// writer that adds the state's cookies before the header goes out.
// onError, when set, handles the auth routes' errors instead of
// Options.OnError.
func (c *Client) withState(w http.ResponseWriter, r *http.Request, onError func(http.ResponseWriter, *http.Request, error), serve func(http.ResponseWriter, *http.Request)) {
	if st := c.state(r.Context()); st != nil {
		serve(w, r)
		return
	}
	st := &requestState{c: c, onError: onError}
	st.ctx = stateContext{Context: r.Context(), st: st}
	r = r.WithContext(&st.ctx)
	st.r = r
	st.writer = cookieWriter{ResponseWriter: w, st: st}
	serve(&st.writer, r)
	st.commit(w.Header())
}

// cookieWriter adds the request state's pending cookies to the header just
// before it is written.
type cookieWriter struct {
	http.ResponseWriter
	st *requestState
}

func (w *cookieWriter) WriteHeader(code int) {
	if code >= 200 {
		w.st.commit(w.Header())
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *cookieWriter) Write(b []byte) (int, error) {
	w.st.commit(w.Header())
	return w.ResponseWriter.Write(b)
}

// Flush implements http.Flusher.
func (w *cookieWriter) Flush() {
	w.st.commit(w.Header())
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *cookieWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
