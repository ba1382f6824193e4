package monocloud

import (
	"context"
	"math/rand/v2"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/monocloud/auth-go/monocloudtest"
)

// stressCounts are the broken promises TestIntegrityStress looks for.
type stressCounts struct {
	revoked     int          // grants the provider revoked (refresh token reuse)
	resurrected atomic.Int32 // signed-out sessions that worked again
	lost        atomic.Int32 // live sessions whose request failed
	requests    atomic.Int32
	aborted     atomic.Int32
	signOuts    atomic.Int32
}

// TestIntegrityStress: users of one app, in cookie and in store mode, do
// random things at once: GetTokens, forced refreshes, requests their client
// aborts at a random moment while the provider answers refresh grants late,
// sign-outs racing their own refreshes, and new sign-ins; the clock moves
// so tokens expire. It counts revoked grants (the provider saw a used
// refresh token), resurrected sessions (a signed-out cookie, or a cookie a
// racing refresh handed out, works again; a store entry reappears) and lost
// sessions (a live session's request that was not aborted failed). All
// must be zero. Run it many times with -count and -race.
func TestIntegrityStress(t *testing.T) {
	for _, mode := range []string{"cookie", "store"} {
		t.Run(mode, func(t *testing.T) {
			var store *fakeStore
			// Sessions outlive the test's clock, which moves half an hour every 40 ms.
			opts := Options{Session: SessionOptions{Duration: 90 * 24 * time.Hour, MaximumDuration: 180 * 24 * time.Hour}}
			if mode == "store" {
				store = &fakeStore{}
				opts.Session.Store = store.asLockingStore()
			}
			// A hook that reads the session on every event (F2): a
			// deadlock shows as a test that never ends.
			var hooked atomic.Pointer[Client]
			opts.OnEvent = func(ctx context.Context, _ Event) {
				if c := hooked.Load(); c != nil {
					_ = c.IsAuthenticated(ctx)
					_, _ = c.Session(ctx)
				}
			}
			tr := &fakeTransport{}
			tr.setDelay(5 * time.Millisecond)
			opts.HTTPClient = &http.Client{Transport: tr}
			// ID tokens outlive a refresh that is slow under load while
			// the clock moves; access tokens (1 h) still expire.
			a := newTokensApp(t, monocloudtest.Config{IDTokenTTL: 90 * 24 * time.Hour}, opts)
			hooked.Store(a.client)
			var counts stressCounts
			// The clock does not move during a sign-in, whose authorization
			// code lives a minute.
			var signingIn sync.RWMutex

			stop := make(chan struct{})
			var ticker sync.WaitGroup
			ticker.Go(func() {
				for {
					select {
					case <-stop:
						return
					case <-time.After(40 * time.Millisecond):
						signingIn.Lock()
						a.clock.Advance(31 * time.Minute) // access tokens (1 h) expire every other tick
						signingIn.Unlock()
					}
				}
			})

			var ended sync.Map // signed-out cookie sets, by session key
			var wg sync.WaitGroup
			for user := range 6 {
				wg.Go(func() {
					u := &stressUser{a: a, counts: &counts, signingIn: &signingIn, rng: rand.New(rand.NewPCG(uint64(user), uint64(time.Now().UnixNano())))}
					u.signIn(t)
					for range 25 {
						u.step(t, &ended)
					}
				})
			}
			wg.Wait()
			close(stop)
			ticker.Wait()

			ended.Range(func(key, value any) bool {
				for _, set := range value.([][]*http.Cookie) {
					if status, _, _, _ := a.httpTokens(set, ""); status == http.StatusOK {
						counts.resurrected.Add(1)
					}
				}
				if store != nil {
					if _, ok := store.lifetime(key.(string)); ok {
						counts.resurrected.Add(1)
					}
				}
				return true
			})
			counts.revoked = a.op.ReuseDetected()
			t.Logf("%s mode: %d requests (%d aborted), %d sign-outs, %d refresh grants: %d grants revoked, %d sessions resurrected, %d sessions lost",
				mode, counts.requests.Load(), counts.aborted.Load(), counts.signOuts.Load(), a.op.RefreshGrants(),
				counts.revoked, counts.resurrected.Load(), counts.lost.Load())
			if counts.revoked != 0 || counts.resurrected.Load() != 0 || counts.lost.Load() != 0 {
				t.Errorf("broken promises: %d grants revoked, %d sessions resurrected, %d sessions lost", counts.revoked, counts.resurrected.Load(), counts.lost.Load())
			}
		})
	}
}

// stressUser is one browser of TestIntegrityStress.
type stressUser struct {
	a       *testApp
	counts  *stressCounts
	rng     *rand.Rand
	cookies []*http.Cookie
	// signingIn is read-locked during a sign-in, so the clock stays put.
	signingIn *sync.RWMutex
}

func (u *stressUser) signIn(t *testing.T) {
	u.signingIn.RLock()
	defer u.signingIn.RUnlock()
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := browser.Get(u.a.srv.URL + "/api/auth/signin")
	if err != nil || resp.StatusCode != http.StatusTemporaryRedirect {
		t.Errorf("sign-in: %v %v", resp, err)
		return
	}
	resp.Body.Close()
	callback := u.a.op.Authorize(t, resp.Header.Get("Location"))
	resp, err = browser.Get(callback.String())
	if err != nil || resp.StatusCode != http.StatusTemporaryRedirect {
		t.Errorf("callback: %v %v", resp, err)
		return
	}
	resp.Body.Close()
	app, _ := url.Parse(u.a.srv.URL)
	u.cookies = jar.Cookies(app)
}

// step does one random thing.
func (u *stressUser) step(t *testing.T, ended *sync.Map) {
	query := ""
	if u.rng.IntN(3) == 0 {
		query = "force=1"
	}
	switch n := u.rng.IntN(10); {
	case n < 3: // the client gives up at a random moment
		u.counts.requests.Add(1)
		u.counts.aborted.Add(1)
		ctx, cancel := context.WithTimeout(context.Background(), time.Duration(u.rng.IntN(15))*time.Millisecond)
		status, _, set, _ := u.a.httpTokensContext(ctx, u.cookies, query)
		cancel()
		if status == http.StatusOK {
			u.cookies = applyCookies(u.cookies, set) // it finished in time after all
		}
	case n < 8:
		u.counts.requests.Add(1)
		status, _, set, err := u.a.httpTokens(u.cookies, query)
		if status != http.StatusOK {
			u.counts.lost.Add(1)
			t.Errorf("live session: %d %v", status, err)
			return
		}
		u.cookies = applyCookies(u.cookies, set)
	default: // sign-out, racing a refresh of the same session
		u.counts.signOuts.Add(1)
		key := decodeSessionCookie(t, u.a.client, u.cookies).Key
		var raced []*http.Cookie
		var wg sync.WaitGroup
		wg.Go(func() {
			_, _, set, _ := u.a.httpTokens(u.cookies, "force=1")
			raced = applyCookies(u.cookies, set)
		})
		req, _ := http.NewRequest(http.MethodGet, u.a.srv.URL+"/api/auth/signout", nil)
		for _, ck := range u.cookies {
			req.AddCookie(ck)
		}
		resp, err := http.DefaultTransport.RoundTrip(req) // not following the redirect
		wg.Wait()
		if err != nil || resp.StatusCode != http.StatusTemporaryRedirect {
			t.Errorf("sign-out: %v %v", resp, err)
			return
		}
		resp.Body.Close()
		ended.Store(key, [][]*http.Cookie{u.cookies, raced})
		u.signIn(t)
	}
}
