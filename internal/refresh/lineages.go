package refresh

import (
	"container/list"
	"time"
)

// lineages holds the records of at most max sessions, least recently used
// first; a record unused for idle is dropped. Every operation is O(1).
type lineages[R any] struct {
	max   int
	idle  time.Duration
	byKey map[string]*list.Element
	order *list.List // of *entry[R], least recently used at the front
}

type entry[R any] struct {
	session string
	lastUse time.Time
	ln      *lineage[R]
}

func newLineages[R any](max int, idle time.Duration) *lineages[R] {
	return &lineages[R]{max: max, idle: idle, byKey: make(map[string]*list.Element), order: list.New()}
}

// getOrCreate returns the record of session, created if needed, and marks
// it used at now.
func (ls *lineages[R]) getOrCreate(session string, now time.Time) *lineage[R] {
	ls.dropIdle(now)
	if el, ok := ls.byKey[session]; ok {
		e := el.Value.(*entry[R])
		e.lastUse = now
		ls.order.MoveToBack(el)
		return e.ln
	}
	if ls.order.Len() >= ls.max {
		ls.remove(ls.order.Front())
	}
	e := &entry[R]{session: session, lastUse: now, ln: &lineage[R]{}}
	ls.byKey[session] = ls.order.PushBack(e)
	return e.ln
}

// dropIdle drops the records unused since before now-idle. Each record is
// dropped once, so the work is O(1) amortized.
func (ls *lineages[R]) dropIdle(now time.Time) {
	for el := ls.order.Front(); el != nil; el = ls.order.Front() {
		if now.Sub(el.Value.(*entry[R]).lastUse) < ls.idle {
			return
		}
		ls.remove(el)
	}
}

func (ls *lineages[R]) delete(session string) {
	if el, ok := ls.byKey[session]; ok {
		ls.remove(el)
	}
}

func (ls *lineages[R]) remove(el *list.Element) {
	delete(ls.byKey, el.Value.(*entry[R]).session)
	ls.order.Remove(el)
}

func (ls *lineages[R]) len() int { return ls.order.Len() }
