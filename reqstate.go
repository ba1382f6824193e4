package monocloud

import (
	"context"
	"errors"
	"net/http"
	"sync"
)

// errResponseCommitted is logged when the session changes after the
// response header was written, so the browser keeps its old cookie.
var errResponseCommitted = errors.New("monocloud: session changed after the response header was written; the browser keeps the previous cookie")

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
	// onError is the route handler's OnError, which overrides
	// Options.OnError for its route.
	onError func(http.ResponseWriter, *http.Request, error)
	// callback marks a request of the callback route, whose failures are
	// callback_failed events.
	callback bool
	// writer is the middleware's response writer, allocated with the state.
	writer cookieWriter
	ctx    reqStateContext // the context of r

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

// state returns the request state that c's AuthMiddleware or Handler put
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

// setCookiesLocked queues Set-Cookie headers, replacing queued ones of the
// same name. The caller holds st.mu.
func (st *requestState) setCookiesLocked(cookies ...*http.Cookie) error {
	if st.committed {
		return errResponseCommitted
	}
	for _, ck := range cookies {
		st.pending.set(ck)
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
	st.pending.reset()
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
