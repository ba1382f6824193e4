package monocloud

import (
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
