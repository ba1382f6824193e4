package memstore_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	monocloud "github.com/monocloud/auth-go"
	"github.com/monocloud/auth-go/monocloudtest/memstore"
)

// The Store is what a Client looks for in a store shared by instances.
var (
	_ monocloud.SessionStore  = (*memstore.Store)(nil)
	_ monocloud.SessionLocker = (*memstore.Store)(nil)
	_ monocloud.Coordinator   = (*memstore.Store)(nil)
)

func TestStoreSessions(t *testing.T) {
	ctx := context.Background()
	s := memstore.New()
	sess := &monocloud.Session{User: monocloud.User{"sub": "u-1"}}
	lt := monocloud.Lifetime{Expires: time.Now().Add(time.Hour)}
	if err := s.Set(ctx, "k", sess, lt); err != nil {
		t.Fatal(err)
	}
	sess.User["sub"] = "changed" // the store holds a copy
	got, err := s.Get(ctx, "k")
	if err != nil || got == nil || got.User.Subject() != "u-1" {
		t.Fatalf("Get = %+v, %v; want the session of u-1", got, err)
	}
	if l, ok := s.Lifetime("k"); !ok || !l.Expires.Equal(lt.Expires) {
		t.Errorf("Lifetime = %+v, %v; want %+v", l, ok, lt)
	}
	if err := s.Set(ctx, "old", sess, monocloud.Lifetime{Expires: time.Now().Add(-time.Second)}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Get(ctx, "old"); got != nil || err != nil {
		t.Errorf("Get of an expired session = %+v, %v; want nil, nil", got, err)
	}
	if err := s.Delete(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Get(ctx, "k"); got != nil || err != nil {
		t.Errorf("Get after Delete = %+v, %v; want nil, nil", got, err)
	}
	if c := s.Counts(); c.Gets != 3 || c.Sets != 2 || c.Deletes != 1 {
		t.Errorf("Counts = %+v; want 3 gets, 2 sets, 1 delete", c)
	}
}

func TestStoreDown(t *testing.T) {
	ctx := context.Background()
	s := memstore.New()
	watchErr := make(chan error, 1)
	loaded := make(chan struct{})
	go func() { watchErr <- s.WatchEnded(ctx, func(monocloud.EndedSession) {}, func() { close(loaded) }) }()
	<-loaded
	outage := errors.New("connection refused")
	s.SetDown(outage)
	if err := <-watchErr; !errors.Is(err, outage) {
		t.Errorf("the running watch returned %v; want the outage", err)
	}
	if _, err := s.Get(ctx, "k"); !errors.Is(err, outage) {
		t.Errorf("Get while down: %v", err)
	}
	if _, err := s.LockSession(ctx, "k"); !errors.Is(err, outage) {
		t.Errorf("LockSession while down: %v", err)
	}
	if err := s.EndSession(ctx, monocloud.EndedSession{Key: "k"}); !errors.Is(err, outage) {
		t.Errorf("EndSession while down: %v", err)
	}
	s.SetDown(nil)
	if _, err := s.Get(ctx, "k"); err != nil {
		t.Errorf("Get once back: %v", err)
	}
}

func TestStoreLockSession(t *testing.T) {
	s := memstore.New()
	unlock, err := s.LockSession(context.Background(), "k")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if _, err := s.LockSession(ctx, "k"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second LockSession: %v; want it to wait until ctx ends", err)
	}
	unlock()
	unlock, err = s.LockSession(context.Background(), "k")
	if err != nil {
		t.Fatalf("LockSession after unlock: %v", err)
	}
	unlock()
}

func TestStoreRefreshedAndTokenIDs(t *testing.T) {
	ctx := context.Background()
	s := memstore.New()
	for _, put := range []struct{ used, value string }{{"h1", "v1"}, {"h2", "v2"}} {
		if err := s.PutRefreshed(ctx, "k", put.used, []byte(put.value), time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	for _, get := range []struct {
		key, hash string
		value     []byte
		used      bool
	}{
		{"k", "h1", []byte("v2"), true},
		{"k", "h2", []byte("v2"), true},
		{"k", "h3", []byte("v2"), false},
		{"other", "h1", nil, false},
	} {
		if v, used, err := s.GetRefreshed(ctx, get.key, get.hash); !bytes.Equal(v, get.value) || used != get.used || err != nil {
			t.Errorf("GetRefreshed(%s, %s) = %q, %v, %v; want %q, %v", get.key, get.hash, v, used, err, get.value, get.used)
		}
	}
	exp := time.Now().Add(time.Minute)
	first, _ := s.UseTokenID(ctx, "jti", exp)
	second, _ := s.UseTokenID(ctx, "jti", exp)
	if !first || second {
		t.Errorf("UseTokenID twice = %v, %v; want true, false", first, second)
	}
	if err := s.ReleaseTokenID(ctx, "jti"); err != nil {
		t.Fatal(err)
	}
	if again, _ := s.UseTokenID(ctx, "jti", exp); !again {
		t.Error("UseTokenID after ReleaseTokenID = false; want true")
	}
}

func TestStoreWatchEnded(t *testing.T) {
	s := memstore.New()
	now := time.Now()
	old := monocloud.EndedSession{SID: "expired", At: now.Add(-2 * time.Hour), Expires: now.Add(-time.Hour)}
	before := monocloud.EndedSession{SID: "before", At: now, Expires: now.Add(time.Hour)}
	after := monocloud.EndedSession{Key: "after", At: now, Expires: now.Add(time.Hour)}
	for _, r := range []monocloud.EndedSession{old, before} {
		if err := s.EndSession(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	got := make(chan monocloud.EndedSession, 3)
	loaded := make(chan struct{})
	done := make(chan error)
	go func() {
		done <- s.WatchEnded(ctx, func(r monocloud.EndedSession) { got <- r }, func() { close(loaded) })
	}()
	<-loaded
	if err := s.EndSession(context.Background(), after); err != nil {
		t.Fatal(err)
	}
	if r := <-got; r.SID != "before" {
		t.Errorf("first delivered %+v; want the unexpired one recorded before", r)
	}
	if r := <-got; r.Key != "after" {
		t.Errorf("then delivered %+v; want the one recorded after", r)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("WatchEnded returned %v; want context.Canceled", err)
	}
	if n := len(s.Ended()); n != 3 {
		t.Errorf("Ended holds %d ended sessions; want 3", n)
	}
}
