package monocloud

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/monocloud/auth-go/monocloudtest"
)

// fakeCoordinator is an in-memory Coordinator shared by the instances of a
// test: Revoke delivers each revocation to every watch, as redisstore does
// through pub/sub. Revoke fails while failRevoke is set, WatchRevocations
// fails watchFailures times, and holds back loaded while holdLoad is open.
type fakeCoordinator struct {
	mu            sync.Mutex
	failRevoke    bool
	watchFailures int
	holdLoad      chan struct{} // when set, loaded waits for it to close
	revoked       []Revocation
	watchers      map[*func(Revocation)]bool
	used          map[string]time.Time // token ID → expiry
	watchEnded    chan struct{}        // closed when a watch returns for its ctx, when set
}

func (f *fakeCoordinator) LockSession(context.Context, string) (func(), error) { return func() {}, nil }
func (f *fakeCoordinator) PutRefreshed(context.Context, string, []byte, time.Duration) error {
	return nil
}
func (f *fakeCoordinator) GetRefreshed(context.Context, string) ([]byte, error) { return nil, nil }

func (f *fakeCoordinator) Revoke(_ context.Context, r Revocation) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failRevoke {
		return errors.New("coordinator down")
	}
	f.revoked = append(f.revoked, r)
	for fn := range f.watchers {
		(*fn)(r)
	}
	return nil
}

func (f *fakeCoordinator) WatchRevocations(ctx context.Context, fn func(Revocation), loaded func()) error {
	f.mu.Lock()
	if f.watchFailures > 0 {
		f.watchFailures--
		f.mu.Unlock()
		return errors.New("coordinator down")
	}
	for _, r := range f.revoked {
		fn(r)
	}
	if f.watchers == nil {
		f.watchers = map[*func(Revocation)]bool{}
	}
	f.watchers[&fn] = true
	hold := f.holdLoad
	f.mu.Unlock()
	if hold != nil {
		select {
		case <-hold:
		case <-ctx.Done():
		}
	}
	loaded()
	<-ctx.Done()
	f.mu.Lock()
	delete(f.watchers, &fn)
	f.mu.Unlock()
	if f.watchEnded != nil {
		close(f.watchEnded)
	}
	return ctx.Err()
}

func (f *fakeCoordinator) UseTokenID(_ context.Context, id string, expires time.Time) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if exp, ok := f.used[id]; ok && time.Now().Before(exp) {
		return false, nil
	}
	if f.used == nil {
		f.used = map[string]time.Time{}
	}
	f.used[id] = expires
	return true, nil
}

func (f *fakeCoordinator) ReleaseTokenID(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.used, id)
	return nil
}

// TestCoordinatorWatchRetriesUntilClose: a watch that fails is called
// again, the revocations it then delivers apply, and Close ends it.
func TestCoordinatorWatchRetriesUntilClose(t *testing.T) {
	now := time.Now()
	f := &fakeCoordinator{watchFailures: 2, watchEnded: make(chan struct{}),
		revoked: []Revocation{{Key: "k1", At: now, Expires: now.Add(time.Hour)}, {SID: "sid-1", At: now, Expires: now.Add(time.Hour)}}}
	a := newTestApp(t, monocloudtest.Config{}, Options{Coordinator: f}, nil, nil)
	c := a.client
	s := &Session{User: User{"sub": "user-1", "sid": "sid-1"}}
	deadline := time.Now().Add(5 * time.Second)
	for !revokedAt(c.revocations, "k1", &Session{}, now.Unix()-1) || !revokedAt(c.revocations, "k2", s, now.Unix()-1) {
		if time.Now().After(deadline) {
			t.Fatal("the revocations of the watch that succeeded after two failures were not applied")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if revokedAt(c.revocations, "k3", &Session{User: User{"sub": "user-2", "sid": "sid-2"}}, now.Unix()-1) {
		t.Fatal("an unrelated session is revoked")
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-f.watchEnded:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not end the watch")
	}
	_ = c.Close() // a second Close is harmless
}

// TestCoordinatorFailureFailsSignOut: a sign-out whose revocation the
// Coordinator cannot record answers 503 and ends nothing; once the
// Coordinator works, sign-out records the session key with it.
func TestCoordinatorFailureFailsSignOut(t *testing.T) {
	f := &fakeCoordinator{failRevoke: true, watchEnded: make(chan struct{})}
	a := newTestApp(t, monocloudtest.Config{}, Options{Coordinator: f}, nil, nil)
	t.Cleanup(func() { _ = a.client.Close() })
	a.signInVia("/api/auth/signin")
	if resp, _ := a.get("/api/auth/signout"); resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Location") != "" {
		t.Fatalf("sign-out with the Coordinator down: %d to %q; want 503", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, _ := a.get("/"); resp.StatusCode != http.StatusOK {
		t.Fatalf("after the failed sign-out: %d; want the session still served", resp.StatusCode)
	}
	f.mu.Lock()
	f.failRevoke = false
	f.mu.Unlock()
	if resp, _ := a.get("/api/auth/signout"); resp.StatusCode != http.StatusFound {
		t.Fatalf("sign-out: %d", resp.StatusCode)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.revoked) != 1 || f.revoked[0].Key == "" || !f.revoked[0].Expires.After(f.revoked[0].At) {
		t.Fatalf("revocations recorded: %+v; want the session key, with an expiry", f.revoked)
	}
}

// TestSessionWaitsForTheCoordinatorsRevocations: until the Coordinator has
// delivered the revocations recorded before the instance started, a
// request carrying a session waits up to ResponseTimeout and answers 503
// (a *StoreError); a request without one is not held. Once loaded, a session signed out
// elsewhere is refused and another one served.
func TestSessionWaitsForTheCoordinatorsRevocations(t *testing.T) {
	co := &fakeCoordinator{}
	app := newTestApp(t, monocloudtest.Config{}, Options{Coordinator: co}, nil, nil)
	t.Cleanup(func() { _ = app.client.Close() })
	app.signIn("")
	signedOut := app.sessionCookies()
	if resp, _ := app.get("/api/auth/signout"); resp.StatusCode != http.StatusFound {
		t.Fatalf("sign-out: %d", resp.StatusCode)
	}
	app.newBrowser()
	app.signIn("")
	live := app.sessionCookies()

	co.mu.Lock()
	co.holdLoad = make(chan struct{}) // the new instance's load hangs
	co.mu.Unlock()
	b := newTestClient(t, Options{Coordinator: co, ResponseTimeout: time.Second}, monocloudtest.Config{}, app.op, app.srv.URL)
	t.Cleanup(func() { _ = b.Close() })
	hb := b.AuthMiddleware(nil)(okHandler)
	serveB := func(cookies []*http.Cookie) int {
		r := httptest.NewRequest(http.MethodGet, app.url("/"), nil)
		for _, ck := range cookies {
			r.AddCookie(ck)
		}
		w := httptest.NewRecorder()
		hb.ServeHTTP(w, r)
		return w.Code
	}
	sessionAtB := func(cookies []*http.Cookie) error {
		r := httptest.NewRequest(http.MethodGet, app.url("/"), nil)
		for _, ck := range cookies {
			r.AddCookie(ck)
		}
		_, err := b.SessionWithResponse(httptest.NewRecorder(), r)
		return err
	}
	if code := serveB(signedOut); code != http.StatusServiceUnavailable {
		t.Errorf("a signed-out session before the revocations are loaded: %d; want 503", code)
	}
	if err := sessionAtB(nil); !errors.Is(err, ErrNoSession) {
		t.Errorf("a request without a session before the revocations are loaded: %v; want ErrNoSession at once", err)
	}
	var storeErr *StoreError
	if err := sessionAtB(live); !errors.As(err, &storeErr) {
		t.Errorf("a live session before the revocations are loaded: %v; want a *StoreError", err)
	}

	close(co.holdLoad)
	if err := sessionAtB(signedOut); !errors.Is(err, ErrNoSession) {
		t.Errorf("a signed-out session once the revocations are loaded: %v; want ErrNoSession", err)
	}
	if err := sessionAtB(live); err != nil {
		t.Errorf("a live session once the revocations are loaded: %v; want it served", err)
	}
}
