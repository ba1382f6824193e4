package refresh

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/monocloud/auth-go/internal/expiring"
)

// rotatingProvider is a token endpoint with refresh-token rotation and
// reuse detection: presenting a used refresh token revokes the grant.
type rotatingProvider struct {
	mu      sync.Mutex
	current string
	n       int
	grants  atomic.Int32
	reused  atomic.Int32
	release chan struct{} // when set, each grant waits for it after rotating
	fail    error         // when set, each grant fails after rotating
}

func newProvider() *rotatingProvider { return &rotatingProvider{current: "rt-0"} }

// grant returns a GrantFunc that gives value v.
func (p *rotatingProvider) grant(v string) GrantFunc[string] {
	return func(ctx context.Context, rt string) (Outcome[string], error) {
		p.grants.Add(1)
		p.mu.Lock()
		if rt != p.current {
			p.reused.Add(1)
			p.mu.Unlock()
			return Outcome[string]{}, errors.New("invalid_grant: refresh token reused, grant revoked")
		}
		p.n++
		p.current = fmt.Sprintf("rt-%d", p.n)
		next, release, fail := p.current, p.release, p.fail
		p.mu.Unlock()
		if release != nil {
			select {
			case <-release:
			case <-ctx.Done():
				return Outcome[string]{RefreshToken: next}, ctx.Err()
			}
		}
		if fail != nil {
			return Outcome[string]{RefreshToken: next}, fail
		}
		return Outcome[string]{Value: v, RefreshToken: next, Expires: time.Now().Add(time.Hour)}, nil
	}
}

func newGroup() *Group[string] { return New[string](time.Second, time.Now) }

func TestDoSharesOneGrantAmongConcurrentCallers(t *testing.T) {
	p := newProvider()
	p.release = make(chan struct{})
	g := newGroup()
	const n = 20
	var wg sync.WaitGroup
	outs := make([]Outcome[string], n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			outs[i], errs[i] = g.Do(context.Background(), Request{Session: "s", Query: "q", RefreshToken: "rt-0"}, p.grant("v"))
		})
	}
	waitFor(t, func() bool { return p.grants.Load() == 1 })
	time.Sleep(20 * time.Millisecond) // let the other callers join
	close(p.release)
	wg.Wait()
	sources := map[Source]int{}
	for i := range n {
		if errs[i] != nil || outs[i].Value != "v" || outs[i].RefreshToken != "rt-1" {
			t.Fatalf("caller %d: %+v, %v", i, outs[i], errs[i])
		}
		sources[outs[i].Source]++
	}
	if got := p.grants.Load(); got != 1 {
		t.Fatalf("%d grants for %d concurrent callers, want 1", got, n)
	}
	if sources[Granted] != 1 || sources[Granted]+sources[Joined]+sources[Kept] != n {
		t.Fatalf("sources %v, want one Granted and the others Joined or Kept", sources)
	}

	// A caller still presenting the used token gets the kept result.
	out, err := g.Do(context.Background(), Request{Session: "s", Query: "q", RefreshToken: "rt-0"}, p.grant("other"))
	if err != nil || out.Source != Kept {
		t.Fatalf("later caller: %+v, %v; want the Kept result", out, err)
	}
}

func TestDoGrantOutlivesItsCaller(t *testing.T) {
	p := newProvider()
	p.release = make(chan struct{})
	g := newGroup()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() {
		_, err := g.Do(ctx, Request{Session: "s", Query: "q", RefreshToken: "rt-0"}, p.grant("v"))
		done <- err
	}()
	waitFor(t, func() bool { return p.grants.Load() == 1 })
	cancel() // the tab is closed while the provider rotates the token
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled caller: %v", err)
	}
	close(p.release)

	// The session's next request still carries the used token: it gets the
	// kept result, with no second grant.
	out, err := g.Do(context.Background(), Request{Session: "s", Query: "q", RefreshToken: "rt-0"}, p.grant("other"))
	if err != nil || out.Value != "v" || out.RefreshToken != "rt-1" {
		t.Fatalf("next request: %+v, %v", out, err)
	}
	if p.grants.Load() != 1 || p.reused.Load() != 0 {
		t.Fatalf("grants %d, reuse %d; want 1, 0", p.grants.Load(), p.reused.Load())
	}
}

func TestDoWaitersShareAFailureWithoutRetrying(t *testing.T) {
	p := newProvider()
	p.release = make(chan struct{})
	p.fail = errors.New("provider hung up")
	g := newGroup()
	var wg sync.WaitGroup
	errs := make(chan error, 5)
	for range 5 {
		wg.Go(func() {
			_, err := g.Do(context.Background(), Request{Session: "s", Query: "q", RefreshToken: "rt-0"}, p.grant("v"))
			errs <- err
		})
	}
	waitFor(t, func() bool { return p.grants.Load() == 1 })
	time.Sleep(20 * time.Millisecond)
	close(p.release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if !errors.Is(err, p.fail) {
			t.Fatalf("waiter got %v, want the grant's failure", err)
		}
	}
	if p.grants.Load() != 1 {
		t.Fatalf("%d grants, want 1", p.grants.Load())
	}

	// The failed grant had rotated the token: the next need presents the
	// rotated one, not the used one.
	p.release, p.fail = nil, nil
	out, err := g.Do(context.Background(), Request{Session: "s", Query: "q", RefreshToken: "rt-0"}, p.grant("v2"))
	if err != nil || out.Value != "v2" || p.reused.Load() != 0 {
		t.Fatalf("after a failure: %+v, %v, reuse %d", out, err, p.reused.Load())
	}
}

func TestDoGrantIsBoundedByTimeout(t *testing.T) {
	p := newProvider()
	p.release = make(chan struct{}) // never released: a hung provider
	g := New[string](50*time.Millisecond, time.Now)
	start := time.Now()
	_, err := g.Do(context.Background(), Request{Session: "s", Query: "q", RefreshToken: "rt-0"}, p.grant("v"))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("hung grant: %v", err)
	}
	if waited := time.Since(start); waited > time.Second {
		t.Fatalf("waited %v for a grant bounded by 50ms", waited)
	}
}

func TestDoQueriesOfOneSessionAreSerialized(t *testing.T) {
	p := newProvider()
	g := newGroup()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			q := fmt.Sprintf("resource-%d", i)
			if _, err := g.Do(context.Background(), Request{Session: "s", Query: q, RefreshToken: "rt-0"}, p.grant(q)); err != nil {
				t.Errorf("%s: %v", q, err)
			}
		})
	}
	wg.Wait()
	if p.grants.Load() != 8 || p.reused.Load() != 0 {
		t.Fatalf("grants %d, reuse %d; want 8, 0", p.grants.Load(), p.reused.Load())
	}
}

func TestDoSharing(t *testing.T) {
	tests := []struct {
		name       string
		presented  string
		force      bool
		wantGrant  bool
		wantResult string
	}{
		{"used token, not forced", "rt-0", false, false, "first"},
		{"used token, forced", "rt-0", true, false, "first"},
		{"newest token, not forced", "rt-1", false, false, "first"},
		{"newest token, forced", "rt-1", true, true, "second"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newProvider()
			g := newGroup()
			if _, err := g.Do(context.Background(), Request{Session: "s", Query: "q", RefreshToken: "rt-0"}, p.grant("first")); err != nil {
				t.Fatal(err)
			}
			out, err := g.Do(context.Background(), Request{Session: "s", Query: "q", RefreshToken: tt.presented, Force: tt.force}, p.grant("second"))
			if err != nil || out.Value != tt.wantResult {
				t.Fatalf("got %+v, %v; want %q", out, err, tt.wantResult)
			}
			if grants := p.grants.Load(); (grants == 2) != tt.wantGrant || p.reused.Load() != 0 {
				t.Fatalf("grants %d (want a second: %v), reuse %d", grants, tt.wantGrant, p.reused.Load())
			}
		})
	}
}

func TestDoExpiredResultIsNotShared(t *testing.T) {
	now := time.Now()
	clock := func() time.Time { return now }
	p := newProvider()
	g := New[string](time.Second, clock)
	if _, err := g.Do(context.Background(), Request{Session: "s", Query: "q", RefreshToken: "rt-0"}, p.grant("first")); err != nil {
		t.Fatal(err)
	}
	now = now.Add(2 * time.Hour) // the kept result expired
	out, err := g.Do(context.Background(), Request{Session: "s", Query: "q", RefreshToken: "rt-0"}, p.grant("second"))
	if err != nil || out.Value != "second" || p.reused.Load() != 0 {
		t.Fatalf("got %+v, %v, reuse %d; want a new grant with the newest token", out, err, p.reused.Load())
	}
}

func TestUsedTokenRecordIsBounded(t *testing.T) {
	p := newProvider()
	g := newGroup()
	rt := "rt-0"
	for range 300 {
		out, err := g.Do(context.Background(), Request{Session: "s", Query: "q", RefreshToken: rt, Force: true}, p.grant("v"))
		if err != nil {
			t.Fatal(err)
		}
		rt = out.RefreshToken
	}
	ln := g.lineage("s")
	if len(ln.used) > maxUsedTokens || len(ln.queries) > maxResults {
		t.Fatalf("after 300 refreshes: %d used tokens, %d results remembered", len(ln.used), len(ln.queries))
	}
}

func TestSessionRecordsAreBounded(t *testing.T) {
	p := newProvider()
	g := newGroup()
	for i := range MaxSessions + 100 {
		g.lineage(fmt.Sprint(i))
	}
	if n := g.lineages.Len(); n > MaxSessions {
		t.Fatalf("%d session records, bound %d", n, MaxSessions)
	}
	// A used record is kept while the oldest are evicted.
	if _, err := g.Do(context.Background(), Request{Session: "active", Query: "q", RefreshToken: "rt-0"}, p.grant("v")); err != nil {
		t.Fatal(err)
	}
	for i := range MaxSessions - 1 {
		g.lineage(fmt.Sprint("other-", i))
	}
	if g.lineage("active").latest != "rt-1" {
		t.Fatal("the most recently used record was evicted")
	}
}

func TestForgetDropsTheRecord(t *testing.T) {
	p := newProvider()
	g := newGroup()
	if _, err := g.Do(context.Background(), Request{Session: "s", Query: "q", RefreshToken: "rt-0"}, p.grant("v")); err != nil {
		t.Fatal(err)
	}
	g.Forget("s")
	if g.lineage("s").latest != "" {
		t.Fatal("record kept after Forget")
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		time.Sleep(time.Millisecond)
	}
}

// TestDoUsedTokenOutlivesResultsOfManySessions: a caller whose refresh
// answer was lost comes back with the used refresh token after ten times
// the former bound of 10,000 other sessions refreshed. Its session's result
// is long gone (results are bounded tighter), but its record is not: the
// grant presents the session's newest refresh token, not the used one.
func TestDoUsedTokenOutlivesResultsOfManySessions(t *testing.T) {
	p := newProvider()
	g := newGroup()
	if _, err := g.Do(context.Background(), Request{Session: "victim", Query: "q", RefreshToken: "rt-0"}, p.grant("v")); err != nil {
		t.Fatal(err)
	}
	other := func(context.Context, string) (Outcome[string], error) {
		return Outcome[string]{Value: "o", RefreshToken: "rt-other", Expires: time.Now().Add(time.Hour)}, nil
	}
	const others = 100_000
	for i := range others {
		if _, err := g.Do(context.Background(), Request{Session: fmt.Sprint("other-", i), Query: "q", RefreshToken: "rt"}, other); err != nil {
			t.Fatal(err)
		}
	}
	if n := g.results.Len(); n > MaxResults {
		t.Fatalf("%d results kept, bound %d", n, MaxResults)
	}
	out, err := g.Do(context.Background(), Request{Session: "victim", Query: "q", RefreshToken: "rt-0"}, p.grant("v2"))
	if err != nil || p.reused.Load() != 0 {
		t.Fatalf("after %d other sessions refreshed, the used token was presented: %v, %d reuses", others, err, p.reused.Load())
	}
	if out.Source != Granted || out.Value != "v2" || out.RefreshToken != "rt-2" {
		t.Fatalf("outcome %+v, want a grant presenting rt-1", out)
	}
}

// BenchmarkRecordBytes reports the memory a session's refresh record takes
// once its result is gone: a 43-byte refresh token (32 random bytes in
// base64url, as most providers issue) and one used token.
func BenchmarkRecordBytes(b *testing.B) {
	const n = 100_000
	g := New[string](time.Second, time.Now)
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("%043d", i) // a session key, as long as the library's
	}
	grant := func(_ context.Context, rt string) (Outcome[string], error) {
		return Outcome[string]{RefreshToken: rt[:1] + fmt.Sprintf("%042d", 1), Expires: time.Now().Add(time.Hour)}, nil
	}
	for b.Loop() {
		g.lineages = expiring.New[string, *lineage[string]](MaxSessions, KeepIdle)
		g.results = expiring.New[resultKey[string], *result[string]](MaxResults, KeepResult)
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		for _, k := range keys {
			if _, err := g.Do(context.Background(), Request{Session: k, RefreshToken: fmt.Sprintf("%043d", 0)}, grant); err != nil {
				b.Fatal(err)
			}
		}
		g.results = expiring.New[resultKey[string], *result[string]](MaxResults, KeepResult)
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "B/record")
		runtime.KeepAlive(g)
	}
}
