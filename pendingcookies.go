package monocloud

import (
	"errors"
	"net/http"
	"strings"
)

// pendingCookies are the Set-Cookie headers a request state queued: one
// per cookie name, in the order each name was first queued, so the
// response lists them in a deterministic order. Queuing a cookie, and
// asking whether a name is queued, cost O(1) whatever the number queued.
type pendingCookies struct {
	list  []*http.Cookie
	index map[string]int // of each name in list
}

// set queues ck, replacing the queued cookie of the same name.
func (p *pendingCookies) set(ck *http.Cookie) {
	if i, ok := p.index[ck.Name]; ok {
		p.list[i] = ck
		return
	}
	if p.index == nil {
		p.index = make(map[string]int)
	}
	p.index[ck.Name] = len(p.list)
	p.list = append(p.list, ck)
}

// replaces reports whether a queued cookie replaces the Set-Cookie header
// line, a cookie of the same name.
func (p *pendingCookies) replaces(line string) bool {
	name, _, _ := strings.Cut(line, "=")
	_, ok := p.index[name]
	return ok
}

// reset empties p.
func (p *pendingCookies) reset() {
	p.list, p.index = nil, nil
}

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
