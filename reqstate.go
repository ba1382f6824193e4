package monocloud

import (
	"cmp"
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/monocloud/auth-go/internal/cookie"
)

// reqStateKey is the context key of the request state of client c: each
// Client has its own, so a client never takes another's state for its own.
type reqStateKey struct{ c *Client }

// servingKey is the context key of the innermost Client serving a request,
// for the package-level helpers.
type servingKey struct{}

// reqStateContext is the context of a request served by a Client: it answers
// reqStateKey{c} with the request state and servingKey{} with c. It lives in
// the requestState, so serving a request adds no context allocation.
type reqStateContext struct {
	context.Context
	st *requestState
}

// Value returns the request state or the Client for their keys, and the
// parent's values for the others.
func (ctx *reqStateContext) Value(key any) any {
	switch k := key.(type) {
	case reqStateKey:
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
	// writer is the middleware's response writer, allocated with the state.
	writer cookieWriter
	ctx    reqStateContext // the context of r

	// loadCtx is the context of the load's store calls: it marks them as
	// the load's own, for loadOnce. Only the loader sets it.
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

// reqState returns the request state that c's AuthMiddleware or Handler put
// in ctx, or nil.
func (c *Client) reqState(ctx context.Context) *requestState {
	st, _ := ctx.Value(reqStateKey{c}).(*requestState)
	return st
}

// withResponse runs f with r's state when r is served under this client's
// middleware or handler; otherwise with a new state, whose cookies it then
// commits to w's header once, as the middleware does (w may be nil: then
// changes are not sent to the browser).
func (c *Client) withResponse(w http.ResponseWriter, r *http.Request, f func(st *requestState) error) error {
	if st := c.reqState(r.Context()); st != nil {
		return f(st)
	}
	st := &requestState{c: c, r: r}
	err := f(st)
	if w != nil {
		st.commit(w.Header())
	}
	return err
}

// queue keeps events to be emitted by emitQueued, for the code that runs
// under mu or inside the load, where a hook that reads the session would
// wait for itself.
func (st *requestState) queue(events ...Event) {
	st.mu.Lock()
	st.queued = append(st.queued, events...)
	st.mu.Unlock()
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
// Session.User may be nil; read them with userClaims. It emits the events
// the load queued.
func (st *requestState) lookupEncoded(ctx context.Context) (*sessionCookie, error) {
	sc, err := st.loadOnce(ctx)
	st.emitQueued(ctx)
	return sc, err
}

// loadOnce is lookupEncoded for an operation that emits the queued events
// itself, once it is done (GetTokens).
//
// The first caller loads the session, and the callers that come meanwhile
// wait for it, so a request decodes its session once; a caller inside the
// load (a store call of the load, through its context) does not wait for
// itself: it finds no session.
func (st *requestState) loadOnce(ctx context.Context) (*sessionCookie, error) {
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
	return sc, err
}

// lookupOrFail is lookup for an auth route, which is always served with
// its request state: it returns r's state and session (nil without one),
// or answers a store failure as rt's and reports false.
func (c *Client) lookupOrFail(w http.ResponseWriter, r *http.Request, rt route) (*requestState, *sessionCookie, bool) {
	st := c.reqState(r.Context())
	sc, err := st.lookup(r.Context())
	if err != nil {
		c.fail(w, r, rt, err)
		return nil, nil, false
	}
	return st, sc, true
}

// slideInterval is how often a sliding session is re-written: at most once
// a minute instead of on every request (more often for sessions shorter
// than two minutes).
const slideInterval = 60

// load reads the request's session for loadOnce: its events are queued.
func (st *requestState) load(ctx context.Context) (*sessionCookie, error) {
	cfg := st.c.cfg
	single, chunked, family := cookie.Find(st.r.Header["Cookie"], cfg.opts.Session.Cookie.Name)
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
	found, err := st.c.backend.load(ctx, &sc)
	if err != nil {
		return nil, err
	}
	if !found {
		st.expireFamily(nil)
		return nil, nil
	}
	if sc.Session == nil {
		return nil, nil
	}
	if sc.user == nil && sc.Session.User == nil {
		s := *sc.Session // the decoded session may be shared through the cache
		s.User = User{}
		sc.Session = &s
	}
	if !st.c.ended.isLoaded() {
		if err := st.c.ended.waitLoaded(ctx); err != nil {
			return nil, err
		}
	}
	if st.c.ended.includes(&sc) {
		st.remove(ctx, &sc)
		return nil, nil
	}
	if stale || (*cfg.opts.Session.Sliding && now-sc.Lifetime.U >= min(slideInterval, int64(cfg.opts.Session.Duration/time.Second)/2)) {
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
	name := st.c.cfg.opts.Session.Cookie.Name
	if cerr == nil && (err != nil || cmp.Or(cmp.Compare(csc.Lifetime.C, sc.Lifetime.C), cmp.Compare(csc.Lifetime.U, sc.Lifetime.U)) > 0) {
		st.mu.Lock()
		defer st.mu.Unlock()
		_ = st.setCookiesLocked(cookie.Expired(name, cookieAttributes(st.c.cfg.opts.Session.Cookie)))
		return csc, cstale, nil
	}
	st.expireFamily(map[string]bool{name: true})
	return sc, stale, nil
}

// adoptRefresh makes the refreshed session r the request's session, unless
// the session ended while the refresh ran (sign-out in this request or
// another one): then the refreshed cookie is not sent and ErrNoSession is
// returned. When the response header was already written, the browser keeps
// its cookie (the refresh is kept for its next request) and this request
// still sees the refreshed session. Its event is queued.
func (st *requestState) adoptRefresh(r *refreshedSession) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.current == nil || st.current.Key != r.sc.Key || st.c.ended.includes(r.sc) {
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

// withReqState serves r with a request state in its context and a response
// writer that adds the state's cookies before the header goes out.
func (c *Client) withReqState(w http.ResponseWriter, r *http.Request, serve func(http.ResponseWriter, *http.Request)) {
	if st := c.reqState(r.Context()); st != nil {
		serve(w, r)
		return
	}
	st := &requestState{c: c}
	st.ctx = reqStateContext{Context: r.Context(), st: st}
	r = r.WithContext(&st.ctx)
	st.r = r
	st.writer = cookieWriter{ResponseWriter: w, st: st}
	serve(&st.writer, r)
	st.commit(w.Header())
}
