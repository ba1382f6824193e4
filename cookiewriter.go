package monocloud

import (
	"errors"
	"net/http"
)

// errResponseCommitted is logged when the session changes after the
// response header was written, so the browser keeps its old cookie.
var errResponseCommitted = errors.New("monocloud: session changed after the response header was written; the browser keeps the previous cookie")

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
