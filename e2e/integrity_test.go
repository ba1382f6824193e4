package e2e

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	monocloud "github.com/monocloud/auth-go"
	"github.com/monocloud/auth-go/e2e/realop"
)

// Refresh grants under client aborts and a hung provider. oidc-provider
// rotates the refresh token on every use and revokes the whole grant when a
// used one is presented again (grant.revoked): a refresh token lost on the
// way is a signed-out user.

// TestFlowAbortedRefresh: the browser gives up on a request (a closed tab)
// while its refresh grant is at the provider, which rotates the refresh
// token but answers late. The grant is not cancelled with the request: its
// result is kept, so the page reloaded with the cookie from before the
// refresh gets the new tokens without presenting the used refresh token
// again, and the session can refresh later on.
func TestFlowAbortedRefresh(t *testing.T) {
	t.Parallel()
	const hold = 1500 * time.Millisecond // the provider's answer is this late
	forced := url.Values{"force": {"1"}}

	// Nobody waits for the grant when its request is aborted.
	t.Run("next request", func(t *testing.T) {
		t.Parallel()
		app := flowStart(t, flowConfig{})
		op := app.op
		browser := flowBrowser(t)
		app.signIn(t, browser, "ivan", "/protected")
		t0, _ := app.tokens(t, browser, nil)
		cookie0 := app.sessionCookie(browser)
		requests := op.TokenRequests()

		op.SetTokenFault(realop.Fault{HoldResponse: hold})
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		err := flowAbandon(ctx, app.url+"/api/tokens?"+forced.Encode(), cookie0)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		op.WaitCount(t, "grant.success", "refresh_token", 1, 5*time.Second) // rotated
		time.Sleep(hold)                                                    // the answer reached the grant, which nobody waits for
		op.SetTokenFault(realop.Fault{})

		// The browser still holds the pre-refresh cookie.
		t1, resp := app.tokens(t, browser, forced)
		if t1.AccessToken == t0.AccessToken || t1.RefreshToken == "" || t1.RefreshToken == t0.RefreshToken {
			t.Errorf("after the aborted refresh the old cookie got %+v, want new tokens (before %+v)", t1, t0)
		}
		if len(resp.sessionSetCookies()) == 0 {
			t.Errorf("refreshed session not sent back to the old cookie")
		}
		if got := op.TokenRequests() - requests; got != 1 {
			t.Errorf("%d token requests, want the aborted request's 1", got)
		}
		flowCheckGrantAlive(t, app, browser, t1, 1)
	})

	// A second request of the session waits on the grant when the request
	// that started it is aborted: it gets the grant's outcome.
	t.Run("waiting request", func(t *testing.T) {
		t.Parallel()
		app := flowStart(t, flowConfig{})
		op := app.op
		browser := flowBrowser(t)
		app.signIn(t, browser, "judy", "/protected")
		t0, _ := app.tokens(t, browser, nil)
		cookie0 := app.sessionCookie(browser)
		requests := op.TokenRequests()

		op.SetTokenFault(realop.Fault{HoldResponse: hold})
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		aborted := make(chan error, 1)
		go func() { aborted <- flowAbandon(ctx, app.url+"/api/tokens?"+forced.Encode(), cookie0) }()
		op.WaitCount(t, "grant.success", "refresh_token", 1, 5*time.Second) // rotated, answer held

		type result struct {
			resp flowResponse
			err  error
		}
		waited := make(chan result, 1)
		go func() {
			resp, err := flowDo(browser, app.url+"/api/tokens?"+forced.Encode(), "")
			waited <- result{resp, err}
		}()
		time.Sleep(100 * time.Millisecond) // the second request waits on the grant
		cancel()
		if err := <-aborted; err != nil {
			t.Fatal(err)
		}
		r := <-waited
		op.SetTokenFault(realop.Fault{})
		if r.err != nil || r.resp.StatusCode != http.StatusOK {
			t.Fatalf("waiting request: %v %s %s", r.err, r.resp.Status, r.resp.body)
		}
		var tok monocloud.Tokens
		r.resp.decode(t, &tok)
		if tok.AccessToken == t0.AccessToken || tok.RefreshToken == "" || tok.RefreshToken == t0.RefreshToken {
			t.Errorf("waiting request got %+v, want new tokens (before %+v)", tok, t0)
		}
		if len(r.resp.sessionSetCookies()) == 0 {
			t.Errorf("waiting request: refreshed session not sent")
		}
		if got := op.TokenRequests() - requests; got != 1 {
			t.Errorf("%d token requests, want 1", got)
		}
		flowCheckGrantAlive(t, app, browser, &tok, 1)
	})
}

// TestFlowRandomAborts sends rounds of concurrent requests of one session,
// each carrying one of the cookies the session has had, asking for the
// default token (forced or not) or an API token, and each given up by its
// client at a random moment while the provider answers late. However the
// aborts fall, the provider never sees a used refresh token again (no
// grant revoked, no grant error), every answered request gets tokens, and
// every cookie the session ever had still refreshes afterwards.
func TestFlowRandomAborts(t *testing.T) {
	t.Parallel()
	const (
		rounds   = 12
		requests = 6
	)
	seed := time.Now().UnixNano()
	t.Logf("seed %d (it repeats the choices, not the timing)", seed)
	rnd := rand.New(rand.NewPCG(uint64(seed), 0))
	app := flowStart(t, flowConfig{})
	op := app.op
	browser := flowBrowser(t)
	app.signIn(t, browser, "liam", "/protected")

	queries := []string{"force=1", "", "resource=" + url.QueryEscape(flowAPIOne.URL)}
	var (
		mu      sync.Mutex
		cookies = []string{app.sessionCookie(browser)}
	)
	for round := range rounds {
		op.SetTokenFault(realop.Fault{HoldResponse: time.Duration(rnd.IntN(400)) * time.Millisecond})
		var wg sync.WaitGroup
		for range requests {
			mu.Lock()
			cookie := cookies[rnd.IntN(len(cookies))]
			mu.Unlock()
			u := app.url + "/api/tokens?" + queries[rnd.IntN(len(queries))]
			abortAfter := time.Duration(rnd.IntN(600)) * time.Millisecond
			wg.Go(func() {
				ctx, cancel := context.WithTimeout(context.Background(), abortAfter)
				defer cancel()
				req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
				if err != nil {
					t.Error(err)
					return
				}
				req.Header.Set("Cookie", cookie)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					return // given up
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					t.Errorf("round %d: %s: %s", round, u, resp.Status)
				}
				if next := flowCookieHeader(flowResponse{Response: resp}.sessionSetCookies()); next != "" {
					mu.Lock()
					cookies = append(cookies, next)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
	}
	op.SetTokenFault(realop.Fault{})
	noJar := &http.Client{Timeout: 30 * time.Second}
	for i, cookie := range cookies {
		if resp := app.getWithCookie(t, noJar, "/api/tokens?force=1", cookie); resp.StatusCode != http.StatusOK {
			t.Errorf("cookie %d of %d: %s %s", i, len(cookies), resp.Status, resp.body)
		}
	}
	t.Logf("%d refresh grants, %d cookies", op.Count("grant.success", "refresh_token"), len(cookies))
	flowSettled(t, op, "grant.revoked", "", 0)
	if n := op.Count("grant.error", ""); n != 0 {
		t.Errorf("grant errors at the provider: %d\n%s", n, flowEvents(op))
	}
}

// TestFlowHungProvider: with a provider that does not answer within
// ResponseTimeout (1s), five concurrent requests of one session that need
// the same refresh share one grant and its failure: each answers after about
// one ResponseTimeout, and the provider receives one token request.
//
// When the provider never saw the grant, the session refreshes once it is
// healthy again. When it carried the grant out but its answer was lost, the
// rotated refresh token never reached the library: the next refresh
// presents the token the provider saw used, and the provider revokes the
// grant. No client can avoid that (README, Known limits); a provider's
// reuse grace period (Auth0, Okta) is the remedy. What the library promises
// then is one grant per need, a typed error (*OPError invalid_grant) and an
// unchanged session cookie.
func TestFlowHungProvider(t *testing.T) {
	t.Parallel()
	const (
		timeout = time.Second // the /short client's ResponseTimeout
		convoy  = 5
		// Well under the 2 × ResponseTimeout after which a second request
		// of a convoy would answer, with room for a loaded machine.
		maxWait = 2*timeout - timeout/8
	)
	cases := []struct {
		name  string
		fault realop.Fault
		// processed: the provider carries the grant out (and rotates).
		processed bool
	}{
		{name: "never answered", fault: realop.Fault{Delay: 10 * timeout, Status: http.StatusGatewayTimeout, Body: `{"error":"too_late"}`}},
		{name: "answer lost", fault: realop.Fault{HoldResponse: 10 * timeout}, processed: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			app := flowStart(t, flowConfig{ShortTimeout: timeout})
			op := app.op
			browser := flowBrowser(t)
			app.signIn(t, browser, "kim", "/protected")
			t0, _ := app.tokens(t, browser, nil)
			cookie0 := app.sessionCookie(browser)
			requests := op.TokenRequests()

			op.SetTokenFault(tc.fault)
			path := "/short/api/tokens?force=1"
			var (
				wg      sync.WaitGroup
				elapsed [convoy]time.Duration
				answers [convoy]flowResponse
				errs    [convoy]error
			)
			start := make(chan struct{})
			for i := range convoy {
				wg.Go(func() {
					<-start
					began := time.Now()
					answers[i], errs[i] = flowDo(&http.Client{Timeout: 30 * time.Second}, app.url+path, cookie0)
					elapsed[i] = time.Since(began)
				})
			}
			close(start)
			wg.Wait()
			op.SetTokenFault(realop.Fault{})
			t.Logf("answered after %v", elapsed)
			for i := range convoy {
				if errs[i] != nil {
					t.Fatalf("request %d: %v", i, errs[i])
				}
				var body flowError
				answers[i].decode(t, &body)
				if answers[i].StatusCode != http.StatusGatewayTimeout || body.Kind != "timeout" {
					t.Errorf("request %d: %s %s, want 504 timeout", i, answers[i].Status, answers[i].body)
				}
				if elapsed[i] >= maxWait {
					t.Errorf("request %d answered after %v, want less than %v (ResponseTimeout %v)", i, elapsed[i], maxWait, timeout)
				}
				if cks := answers[i].sessionSetCookies(); len(cks) != 0 {
					t.Errorf("request %d: failed refresh changed the session cookie: %v", i, cks)
				}
			}
			if got := op.TokenRequests() - requests; got != 1 {
				t.Errorf("%d concurrent requests made %d token requests, want 1", convoy, got)
			}
			if tc.processed {
				flowSettled(t, op, "grant.success", "refresh_token", 1)
			} else {
				flowSettled(t, op, "grant.success", "refresh_token", 0)
			}

			// The provider is healthy again.
			resp := app.get(t, browser, path)
			if !tc.processed {
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("refresh after the provider recovered: %s %s", resp.Status, resp.body)
				}
				var t1 monocloud.Tokens
				resp.decode(t, &t1)
				if t1.AccessToken == t0.AccessToken || t1.RefreshToken == "" || t1.RefreshToken == t0.RefreshToken {
					t.Errorf("refresh after the provider recovered: %+v, want new tokens (before %+v)", t1, t0)
				}
				flowCheckGrantAlive(t, app, browser, &t1, 1)
				return
			}
			var body flowError
			resp.decode(t, &body)
			var oe *monocloud.OPError
			if resp.StatusCode != http.StatusUnauthorized || !errors.As(app.lastError(), &oe) || oe.Code != "invalid_grant" {
				t.Errorf("refresh presenting the token the lost grant used: %s %s (error %v), want *OPError invalid_grant", resp.Status, resp.body, app.lastError())
			}
			if len(resp.sessionSetCookies()) != 0 || app.sessionCookie(browser) != cookie0 {
				t.Errorf("the refused refresh changed the session cookie")
			}
			flowSettled(t, op, "grant.revoked", "", 1)
			if got := op.TokenRequests() - requests; got != 2 {
				t.Errorf("%d token requests, want 2 (the lost grant and the refused one)", got)
			}
		})
	}
}

// flowAbandon sends GET u with cookie and gives up when ctx ends, as a
// browser does when its tab is closed. It returns an error unless the
// request was abandoned before any answer came.
func flowAbandon(ctx context.Context, u, cookie string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Cookie", cookie)
	resp, err := http.DefaultClient.Do(req)
	if err == nil {
		resp.Body.Close()
		return fmt.Errorf("GET %s answered %s before the client gave up", u, resp.Status)
	}
	if ctx.Err() == nil {
		return fmt.Errorf("GET %s: %w", u, err)
	}
	return nil
}

// flowCookieHeader returns cks as a Cookie header value.
func flowCookieHeader(cks []*http.Cookie) string {
	parts := make([]string, len(cks))
	for i, ck := range cks {
		parts[i] = ck.Name + "=" + ck.Value
	}
	return strings.Join(parts, "; ")
}

// flowCheckGrantAlive checks, after a refresh that returned tok with the
// browser's cookie, that the provider ran grants refresh grants and never
// revoked the grant, that the cookie holds tok's refresh token, and that
// a further forced refresh rotates it.
func flowCheckGrantAlive(t *testing.T, app *flowApp, browser *http.Client, tok *monocloud.Tokens, grants int) {
	t.Helper()
	op := app.op
	flowSettled(t, op, "grant.success", "refresh_token", grants)
	flowSettled(t, op, "grant.revoked", "", 0)
	if n := op.Count("grant.error", ""); n != 0 {
		t.Errorf("grant errors at the provider: %d\n%s", n, flowEvents(op))
	}
	if s := app.session(t, browser); s.RefreshToken != tok.RefreshToken {
		t.Errorf("cookie holds refresh token %q, want %q", s.RefreshToken, tok.RefreshToken)
	}
	next, _ := app.tokens(t, browser, url.Values{"force": {"1"}})
	if next.AccessToken == tok.AccessToken || next.RefreshToken == "" || next.RefreshToken == tok.RefreshToken {
		t.Errorf("forced refresh afterwards: %+v, want new tokens (before %+v)", next, tok)
	}
	flowSettled(t, op, "grant.success", "refresh_token", grants+1)
	flowSettled(t, op, "grant.revoked", "", 0)
}
