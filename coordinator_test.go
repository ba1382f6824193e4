package monocloud

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/monocloud/auth-go/monocloudtest"
)

// fakeCoordinator is an in-memory Coordinator whose Revoke fails while
// failRevoke is set and whose WatchRevocations fails watchFailures times
// before it delivers the revocations recorded.
type fakeCoordinator struct {
	mu            sync.Mutex
	failRevoke    bool
	watchFailures int
	revoked       []Revocation
	watchEnded    chan struct{} // closed when a watch returns for its ctx
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
	return nil
}

func (f *fakeCoordinator) WatchRevocations(ctx context.Context, fn func(Revocation)) error {
	f.mu.Lock()
	if f.watchFailures > 0 {
		f.watchFailures--
		f.mu.Unlock()
		return errors.New("coordinator down")
	}
	revoked := append([]Revocation(nil), f.revoked...)
	f.mu.Unlock()
	for _, r := range revoked {
		fn(r)
	}
	<-ctx.Done()
	close(f.watchEnded)
	return ctx.Err()
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
	if resp, _ := a.get("/api/auth/signout"); resp.StatusCode != http.StatusTemporaryRedirect {
		t.Fatalf("sign-out: %d", resp.StatusCode)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.revoked) != 1 || f.revoked[0].Key == "" || !f.revoked[0].Expires.After(f.revoked[0].At) {
		t.Fatalf("revocations recorded: %+v; want the session key, with an expiry", f.revoked)
	}
}
