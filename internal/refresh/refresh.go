// Package refresh runs the refresh-token grants of sessions exactly once.
//
// Providers that rotate refresh tokens (oidc-provider, MonoCloud, Auth0,
// Okta) revoke a whole grant when a used refresh token is presented again.
// A Group makes sure that this process never does so:
//
//   - grants of one session run one at a time, and each presents the newest
//     refresh token the session was given;
//   - a grant is detached from the request that started it: it runs to
//     completion, bounded by Group.Timeout, and its outcome is kept even when
//     that request has gone;
//   - callers that need the same refresh while it runs wait for it and get
//     its outcome, success or failure: they never re-run a failed grant;
//   - a caller that presents a refresh token already used (a request still
//     carrying the cookie from before a refresh) gets the kept result
//     instead of presenting it again.
//
// The package knows nothing of sessions or tokens beyond the refresh token:
// what a grant produces is the caller's type R.
package refresh

import (
	"context"
	"crypto/sha256"
	"slices"
	"sync"
	"time"

	"github.com/monocloud/auth-go/internal/expiring"
)

// Request describes one caller's need for a refresh.
type Request struct {
	// Session identifies the session (its lineage of refresh tokens):
	// grants of one session are serialized.
	Session string
	// Query identifies what is refreshed (for example the resource and
	// scopes of an access token). Callers with the same query share a grant.
	Query string
	// RefreshToken is the refresh token the caller's copy of the session
	// holds.
	RefreshToken string
	// Force asks for a grant newer than the call, even if a kept result is
	// still fresh (unless RefreshToken was already used: the caller's copy
	// of the session is then behind, and the kept result is what it lacks).
	Force bool
}

// Outcome is what a grant produced.
type Outcome[R any] struct {
	// Value is the grant's result.
	Value R
	// RefreshToken is the refresh token the session holds after the grant:
	// the rotated one, or the presented one when the provider did not
	// rotate it. A GrantFunc that fails after the provider rotated the
	// token still sets it, so the next grant presents the new token.
	RefreshToken string
	// Expires is when Value stops being worth sharing, typically the
	// access token's expiry minus a margin.
	Expires time.Time
	// Source is how Do obtained the outcome for its caller. A GrantFunc
	// leaves it zero.
	Source Source
}

// Source is how Do obtained an Outcome.
type Source uint8

const (
	// Granted is the outcome of a grant the caller started.
	Granted Source = iota
	// Joined is the outcome of a grant another caller started.
	Joined
	// Kept is a result kept from an earlier grant.
	Kept
)

// GrantFunc runs one grant presenting refreshToken. Its ctx has the values
// of the ctx given to Do by the caller that started the grant, but not its
// cancellation: it ends after the Group's timeout.
type GrantFunc[R any] func(ctx context.Context, refreshToken string) (Outcome[R], error)

// Group coordinates the refresh grants of many sessions. Its zero value is
// not usable: create it with New.
type Group[R any] struct {
	timeout time.Duration
	now     func() time.Time

	mu       sync.Mutex // makes finding or creating a record atomic
	lineages *expiring.Map[string, *lineage[R]]
	results  *expiring.Map[resultKey[R], *result[R]]
}

// Limits of what a Group remembers, sized by memory. Past them the oldest
// records are dropped. A session's record (its newest refresh token and the
// digests of its used ones) is what keeps a caller that presents a used
// refresh token from presenting it to the provider: it is small and kept
// long. Results hold what R holds (a whole session cookie) and only save a
// grant: they are bounded apart, tighter, so that they cannot push records
// out. A caller whose session's result was dropped gets a new grant,
// presenting the session's newest refresh token; a caller whose session's
// record was dropped presents the refresh token it holds.
const (
	// MaxSessions bounds the sessions whose refresh records are kept. A
	// record takes about 290 bytes with a 43-byte refresh token and one
	// used token (BenchmarkRecordBytes), 32 bytes more per used token: about
	// 75 MB at the bound, more only for sessions refreshed many times in
	// KeepIdle.
	MaxSessions = 1 << 18
	// KeepIdle is how long the record of a session is kept after its last
	// refresh: a request carrying the cookie from before that refresh
	// within it has its session's newest refresh token presented.
	KeepIdle = 24 * time.Hour
	// MaxResults bounds the results kept across sessions. A result of the
	// monocloud package takes about 8 KB (the session decoded and
	// encoded): about 80 MB for the bound.
	MaxResults = 10_000
	// KeepResult is how long a result is kept after its grant. A result is
	// shared only until its Expires, an access token's lifetime, most
	// often an hour: a request that comes later gets a new grant.
	KeepResult = time.Hour
	// maxUsedTokens bounds the used refresh tokens remembered per session:
	// a cookie more than this many refreshes old presents its own token.
	maxUsedTokens = 32
	// maxResults bounds the kept results per session (one per query).
	maxResults = 16
)

// New returns a Group whose grants end after timeout, reading time from now.
func New[R any](timeout time.Duration, now func() time.Time) *Group[R] {
	return &Group[R]{
		timeout:  timeout,
		now:      now,
		lineages: expiring.New[string, *lineage[R]](MaxSessions, KeepIdle),
		results:  expiring.New[resultKey[R], *result[R]](MaxResults, KeepResult),
	}
}

// lineage is the refresh record of one session.
type lineage[R any] struct {
	mu      sync.Mutex
	latest  string              // newest refresh token of the session
	used    [][sha256.Size]byte // digests of used refresh tokens, oldest first
	queries []string            // queries with a kept result, least recent first
	flight  *flight[R]          // the grant in progress, if any
	gen     uint64              // grants completed
}

// resultKey names the kept result of a query of a session. It holds the
// session's record rather than its name, so a record created again after
// its predecessor was dropped never sees the predecessor's results.
type resultKey[R any] struct {
	ln    *lineage[R]
	query string
}

// result is a kept grant result.
type result[R any] struct {
	outcome Outcome[R]
	gen     uint64 // lineage.gen when it was obtained
}

// flight is a grant in progress.
type flight[R any] struct {
	query string
	done  chan struct{}
	// Set before done is closed.
	outcome Outcome[R]
	err     error
}

// Do returns the refresh result for req: a kept one when it can be shared,
// else the outcome of a grant, which it starts with grant unless one for the
// same query is already running. Do returns early with ctx's error when
// ctx ends; the grant goes on and its result is kept. The Outcome's
// RefreshToken is the session's newest refresh token.
func (g *Group[R]) Do(ctx context.Context, req Request, grant GrantFunc[R]) (Outcome[R], error) {
	ln := g.lineage(req.Session)
	ln.mu.Lock()
	arrived := ln.gen
	for {
		if out, ok := g.share(ln, req, arrived); ok {
			ln.mu.Unlock()
			out.Source = Kept
			return out, nil
		}
		f, source := ln.flight, Joined
		if f == nil {
			f, source = ln.start(ctx, g, req, grant), Granted
		}
		ln.mu.Unlock()
		select {
		case <-f.done:
		case <-ctx.Done():
			var zero Outcome[R]
			return zero, context.Cause(ctx)
		}
		if f.query == req.Query {
			// The outcome of the grant this call waited on, whatever it is.
			out := f.outcome
			out.Source = source
			return out, f.err
		}
		// A grant for another query ran first; now this one.
		ln.mu.Lock()
	}
}

// Forget drops the record of a session and its results, for example when
// it ends.
func (g *Group[R]) Forget(session string) {
	ln, ok := g.lineages.Get(session, g.now())
	g.lineages.Delete(session)
	if !ok {
		return
	}
	ln.mu.Lock()
	defer ln.mu.Unlock()
	for _, q := range ln.queries {
		g.results.Delete(resultKey[R]{ln, q})
	}
	ln.queries = nil
}

// lineage returns the record of session, created if needed, and keeps it
// for KeepIdle from now.
func (g *Group[R]) lineage(session string) *lineage[R] {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	ln, ok := g.lineages.Get(session, now)
	if !ok {
		ln = &lineage[R]{}
	}
	g.lineages.Put(session, ln, now)
	return ln
}

// share returns a kept result of ln for req when it can stand in for a new
// grant: it was obtained while the caller waited, or it is still fresh and
// either the caller's refresh token was already used or no new grant is
// forced. The caller holds ln.mu.
func (g *Group[R]) share(ln *lineage[R], req Request, arrived uint64) (Outcome[R], bool) {
	now := g.now()
	res, ok := g.results.Get(resultKey[R]{ln, req.Query}, now)
	if !ok {
		return Outcome[R]{}, false
	}
	fresh := now.Before(res.outcome.Expires)
	if res.gen > arrived || (fresh && (ln.isUsed(req.RefreshToken) || !req.Force)) {
		out := res.outcome
		out.RefreshToken = ln.latest
		return out, true
	}
	return Outcome[R]{}, false
}

// start starts a grant for req and returns its flight. The caller holds
// ln.mu.
func (ln *lineage[R]) start(ctx context.Context, g *Group[R], req Request, grant GrantFunc[R]) *flight[R] {
	rt := req.RefreshToken
	if ln.latest != "" && ln.isUsed(rt) {
		rt = ln.latest
	}
	f := &flight[R]{query: req.Query, done: make(chan struct{})}
	ln.flight = f
	go func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), g.timeout)
		defer cancel()
		out, err := grant(ctx, rt)
		g.finish(ln, f, rt, out, err)
	}()
	return f
}

// finish records the outcome of flight f of ln, which presented rt.
func (g *Group[R]) finish(ln *lineage[R], f *flight[R], rt string, out Outcome[R], err error) {
	ln.mu.Lock()
	defer ln.mu.Unlock()
	if out.RefreshToken != "" && out.RefreshToken != rt {
		ln.markUsed(rt)
		ln.latest = out.RefreshToken
	} else if ln.latest == "" {
		ln.latest = rt
	}
	if err == nil {
		ln.gen++
		g.keep(ln, f.query, out)
	}
	out.RefreshToken = ln.latest
	f.outcome, f.err = out, err
	ln.flight = nil
	close(f.done)
}

// keep files out as the newest result of query of ln, dropping the result
// of ln's least recent query past maxResults. The caller holds ln.mu.
func (g *Group[R]) keep(ln *lineage[R], query string, out Outcome[R]) {
	ln.queries = slices.DeleteFunc(ln.queries, func(q string) bool { return q == query })
	if len(ln.queries) == maxResults {
		g.results.Delete(resultKey[R]{ln, ln.queries[0]})
		ln.queries = slices.Delete(ln.queries, 0, 1)
	}
	ln.queries = append(ln.queries, query)
	g.results.Put(resultKey[R]{ln, query}, &result[R]{outcome: out, gen: ln.gen}, g.now())
}

func (ln *lineage[R]) markUsed(rt string) {
	if len(ln.used) == maxUsedTokens {
		ln.used = append(ln.used[:0], ln.used[1:]...)
	}
	ln.used = append(ln.used, sha256.Sum256([]byte(rt)))
}

func (ln *lineage[R]) isUsed(rt string) bool {
	sum := sha256.Sum256([]byte(rt))
	for _, u := range ln.used {
		if u == sum {
			return true
		}
	}
	return false
}
