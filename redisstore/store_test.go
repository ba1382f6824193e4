package redisstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	monocloud "github.com/monocloud/auth-go"
	"github.com/monocloud/auth-go/redisstore"
)

// realisticSession is a session as the library writes it after a sign-in
// with an extra resource. It is decoded from JSON so that its dynamic types
// (float64 numbers, []any) are those a round trip yields.
func realisticSession(t *testing.T) *monocloud.Session {
	t.Helper()
	const doc = `{
		"user": {"sub": "user-1", "name": "Ada Lovelace", "email": "ada@example.com",
			"email_verified": true, "groups": ["staff", "admins"], "auth_time": 1767225600,
			"address": {"country": "GB", "locality": "London"}, "nickname": "Zoë ✓"},
		"idToken": "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1c2VyLTEifQ.c2ln",
		"refreshToken": "rt-0b5f1c",
		"authorizedScopes": "openid profile email offline_access",
		"authorizedResources": "https://api.example.com",
		"accessTokens": [
			{"accessToken": "at-default", "accessTokenExpiration": 1767229200,
			 "scopes": "openid profile email offline_access",
			 "requestedScopes": "openid profile email offline_access"},
			{"accessToken": "at-orders", "accessTokenExpiration": 1767229300, "scopes": "read:orders",
			 "resource": "https://api.example.com", "requestedScopes": "read:orders"}
		],
		"extra": {"tenant": "acme", "roles": ["a", "b"], "n": 3}
	}`
	var s monocloud.Session
	if err := json.Unmarshal([]byte(doc), &s); err != nil {
		t.Fatal(err)
	}
	return &s
}

func lifetime(expires time.Time) monocloud.Lifetime {
	now := time.Now()
	return monocloud.Lifetime{Created: now, Updated: now, Expires: expires}
}

func TestSetGetDeleteRoundTrip(t *testing.T) {
	rdb := newClient(t)
	prefix := testPrefix(t)
	store := redisstore.New(rdb, &redisstore.Options{Prefix: prefix})
	ctx := t.Context()
	want := realisticSession(t)
	expires := time.Now().Add(time.Hour).Truncate(time.Second) // as the library passes it
	if err := store.Set(ctx, "k1", want, lifetime(expires)); err != nil {
		t.Fatalf("Set: %v", err)
	}
	got, err := store.Get(ctx, "k1")
	if err != nil || got == nil {
		t.Fatalf("Get = %v, %v", got, err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("round trip changed the session:\n got %#v\nwant %#v", got, want)
	}
	// Stored under the prefix, as the SDK's JSON, expiring at Expires.
	raw, err := rdb.Get(ctx, prefix+"k1").Result()
	if err != nil {
		t.Fatalf("raw GET: %v", err)
	}
	var fields map[string]any
	if err := json.Unmarshal([]byte(raw), &fields); err != nil || fields["refreshToken"] != "rt-0b5f1c" || fields["accessTokens"] == nil {
		t.Fatalf("stored value is not the session JSON: %s (%v)", raw, err)
	}
	at, err := rdb.ExpireTime(ctx, prefix+"k1").Result()
	if err != nil || at != time.Duration(expires.Unix())*time.Second {
		t.Fatalf("EXPIRETIME = %v, %v; want %d s", at, err, expires.Unix())
	}
	// Set replaces the value and the expiry.
	want.RefreshToken = "rt-rotated"
	if err := store.Set(ctx, "k1", want, lifetime(expires.Add(time.Hour))); err != nil {
		t.Fatalf("Set again: %v", err)
	}
	if got, _ := store.Get(ctx, "k1"); got == nil || got.RefreshToken != "rt-rotated" {
		t.Fatalf("after second Set: %+v", got)
	}
	if at, _ := rdb.ExpireTime(ctx, prefix+"k1").Result(); at != time.Duration(expires.Add(time.Hour).Unix())*time.Second {
		t.Fatalf("expiry not replaced: %v", at)
	}

	if err := store.Delete(ctx, "k1"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if got, err := store.Get(ctx, "k1"); got != nil || err != nil {
		t.Fatalf("Get after Delete = %v, %v; want nil, nil", got, err)
	}
	if err := store.Delete(ctx, "k1"); err != nil {
		t.Fatalf("Delete of a missing key: %v", err)
	}
}

func TestGetMissingKey(t *testing.T) {
	store := redisstore.New(newClient(t), &redisstore.Options{Prefix: testPrefix(t)})
	got, err := store.Get(t.Context(), "never-stored")
	if got != nil || err != nil {
		t.Fatalf("Get = %v, %v; want nil, nil", got, err)
	}
}

func TestGetCorruptValueIsAnError(t *testing.T) {
	rdb := newClient(t)
	prefix := testPrefix(t)
	store := redisstore.New(rdb, &redisstore.Options{Prefix: prefix})
	if err := rdb.Set(t.Context(), prefix+"bad", "not json", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	if got, err := store.Get(t.Context(), "bad"); got != nil || err == nil {
		t.Fatalf("Get = %v, %v; want an error", got, err)
	}
}

func TestSetHonoursExpiry(t *testing.T) {
	store := redisstore.New(newClient(t), &redisstore.Options{Prefix: testPrefix(t)})
	ctx := t.Context()
	if err := store.Set(ctx, "short", realisticSession(t), lifetime(time.Now().Add(time.Second))); err != nil {
		t.Fatalf("Set: %v", err)
	}
	if got, err := store.Get(ctx, "short"); got == nil || err != nil {
		t.Fatalf("Get before expiry = %v, %v", got, err)
	}
	time.Sleep(1100 * time.Millisecond)
	if got, err := store.Get(ctx, "short"); got != nil || err != nil {
		t.Fatalf("Get after expiry = %v, %v; want nil, nil", got, err)
	}
}

func TestSetWithPastExpiresDeletes(t *testing.T) {
	rdb := newClient(t)
	prefix := testPrefix(t)
	store := redisstore.New(rdb, &redisstore.Options{Prefix: prefix})
	ctx := t.Context()
	s := realisticSession(t)
	if err := store.Set(ctx, "k", s, lifetime(time.Now().Add(time.Hour))); err != nil {
		t.Fatal(err)
	}
	if err := store.Set(ctx, "k", s, lifetime(time.Now().Add(-time.Second))); err != nil {
		t.Fatalf("Set with past Expires: %v", err)
	}
	if n, _ := rdb.Exists(ctx, prefix+"k").Result(); n != 0 {
		t.Fatal("key still exists after Set with a past Expires")
	}
	if got, err := store.Get(ctx, "k"); got != nil || err != nil {
		t.Fatalf("Get = %v, %v; want nil, nil", got, err)
	}
	// A past Expires for a key that does not exist is fine too.
	if err := store.Set(ctx, "other", s, lifetime(time.Unix(1, 0))); err != nil {
		t.Fatalf("Set with past Expires on a missing key: %v", err)
	}
}

func TestSetRejectsZeroExpiresAndNilSession(t *testing.T) {
	store := redisstore.New(newClient(t), &redisstore.Options{Prefix: testPrefix(t)})
	if err := store.Set(t.Context(), "k", realisticSession(t), monocloud.Lifetime{}); err == nil {
		t.Fatal("Set with a zero Expires succeeded; a session would never expire")
	}
	if err := store.Set(t.Context(), "k", nil, lifetime(time.Now().Add(time.Hour))); err == nil {
		t.Fatal("Set of a nil session succeeded")
	}
}

// lockWithin reports whether LockSession returned within d, with its result.
func lockWithin(ctx context.Context, store *redisstore.Store, key string, d time.Duration) (unlock func(), returned bool, err error) {
	type result struct {
		unlock func()
		err    error
	}
	ch := make(chan result, 1)
	go func() {
		u, err := store.LockSession(ctx, key)
		ch <- result{u, err}
	}()
	select {
	case r := <-ch:
		return r.unlock, true, r.err
	case <-time.After(d):
		return nil, false, nil
	}
}

func TestLockMutualExclusion(t *testing.T) {
	store := redisstore.New(newClient(t), &redisstore.Options{Prefix: testPrefix(t), LockRetry: 5 * time.Millisecond})
	ctx := t.Context()
	unlock1, err := store.LockSession(ctx, "s")
	if err != nil {
		t.Fatalf("first LockSession: %v", err)
	}
	// Another key is independent.
	if u, ok, err := lockWithin(ctx, store, "other", time.Second); !ok || err != nil {
		t.Fatalf("lock of another key: returned=%v err=%v", ok, err)
	} else {
		u()
	}

	var holder2 func()
	acquired := make(chan time.Time, 1)
	go func() {
		u, err := store.LockSession(ctx, "s")
		if err != nil {
			t.Errorf("second LockSession: %v", err)
			close(acquired)
			return
		}
		holder2 = u
		acquired <- time.Now()
	}()
	select {
	case <-acquired:
		t.Fatal("second holder got the lock while the first held it")
	case <-time.After(300 * time.Millisecond):
	}
	released := time.Now()
	unlock1()
	select {
	case at, ok := <-acquired:
		if !ok {
			return
		}
		if wait := at.Sub(released); wait > 500*time.Millisecond {
			t.Fatalf("second holder got the lock %v after the release", wait)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("second holder did not get the lock after the release")
	}
	holder2()
	unlock1() // a second call is harmless
	if u, ok, err := lockWithin(ctx, store, "s", time.Second); !ok || err != nil {
		t.Fatalf("lock after both released: returned=%v err=%v", ok, err)
	} else {
		u()
	}
}

func TestLockWaitHonoursContextDeadline(t *testing.T) {
	store := redisstore.New(newClient(t), &redisstore.Options{Prefix: testPrefix(t)})
	unlock, err := store.LockSession(t.Context(), "s")
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	ctx, cancel := context.WithTimeout(t.Context(), 150*time.Millisecond)
	defer cancel()
	start := time.Now()
	u, err := store.LockSession(ctx, "s")
	elapsed := time.Since(start)
	if err == nil {
		u()
		t.Fatal("LockSession succeeded while the lock was held")
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v; want one wrapping context.DeadlineExceeded", err)
	}
	if elapsed < 140*time.Millisecond || elapsed > time.Second {
		t.Fatalf("LockSession gave up after %v; want about 150ms", elapsed)
	}
	// A cancelled context ends the wait too.
	ctx, cancel = context.WithCancel(t.Context())
	time.AfterFunc(50*time.Millisecond, cancel)
	if _, err := store.LockSession(ctx, "s"); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v; want one wrapping context.Canceled", err)
	}
}

func TestLockOfDeadHolderExpires(t *testing.T) {
	rdb := newClient(t)
	prefix := testPrefix(t)
	const ttl = 300 * time.Millisecond
	store := redisstore.New(rdb, &redisstore.Options{Prefix: prefix, LockTTL: ttl, LockRetry: 5 * time.Millisecond})
	start := time.Now()
	if _, err := store.LockSession(t.Context(), "s"); err != nil { // never unlocked: the holder "crashed"
		t.Fatal(err)
	}
	if pttl, err := rdb.PTTL(t.Context(), prefix+"s:lock").Result(); err != nil || pttl <= 0 || pttl > ttl {
		t.Fatalf("PTTL of the lock = %v, %v; want in (0, %v]", pttl, err, ttl)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	unlock, err := store.LockSession(ctx, "s")
	if err != nil {
		t.Fatalf("lock was not freed after LockTTL: %v", err)
	}
	defer unlock()
	if waited := time.Since(start); waited < ttl-20*time.Millisecond || waited > ttl+time.Second {
		t.Fatalf("took over the dead holder's lock after %v; want about %v", waited, ttl)
	}
}

func TestUnlockAfterTakeoverKeepsNewHoldersLock(t *testing.T) {
	rdb := newClient(t)
	prefix := testPrefix(t)
	const ttl = 200 * time.Millisecond
	store := redisstore.New(rdb, &redisstore.Options{Prefix: prefix, LockTTL: ttl, LockRetry: 5 * time.Millisecond})
	ctx := t.Context()
	unlockOld, err := store.LockSession(ctx, "s")
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(ttl + 100*time.Millisecond) // the old holder overran its lock
	unlockNew, err := store.LockSession(ctx, "s")
	if err != nil {
		t.Fatalf("takeover: %v", err)
	}
	newToken, _ := rdb.Get(ctx, prefix+"s:lock").Result()
	unlockOld() // late release by the old holder
	if tok, err := rdb.Get(ctx, prefix+"s:lock").Result(); err != nil || tok != newToken {
		t.Fatalf("old holder's unlock removed the new holder's lock: %q, %v", tok, err)
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if u, err := store.LockSession(short, "s"); err == nil {
		u()
		t.Fatal("a third holder got the lock the new holder still holds")
	}
	unlockNew()
	if n, _ := rdb.Exists(ctx, prefix+"s:lock").Result(); n != 0 {
		t.Fatal("new holder's unlock did not release its lock")
	}
}

func TestUnlockWorksAfterContextEnded(t *testing.T) {
	rdb := newClient(t)
	prefix := testPrefix(t)
	store := redisstore.New(rdb, &redisstore.Options{Prefix: prefix})
	ctx, cancel := context.WithCancel(t.Context())
	unlock, err := store.LockSession(ctx, "s")
	if err != nil {
		t.Fatal(err)
	}
	cancel() // the request ended before the deferred unlock ran
	unlock()
	if n, _ := rdb.Exists(t.Context(), prefix+"s:lock").Result(); n != 0 {
		t.Fatal("unlock on an ended context left the lock behind")
	}
}

func TestDefaults(t *testing.T) {
	rdb := newClient(t)
	store := redisstore.New(rdb, nil)
	ctx := t.Context()
	key := "defaults-" + time.Now().Format("150405.000000000")
	if err := store.Set(ctx, key, realisticSession(t), lifetime(time.Now().Add(time.Minute))); err != nil {
		t.Fatal(err)
	}
	defer store.Delete(ctx, key)
	if n, _ := rdb.Exists(ctx, redisstore.DefaultPrefix+key).Result(); n != 1 {
		t.Fatalf("session not stored under %q", redisstore.DefaultPrefix)
	}
	unlock, err := store.LockSession(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	if pttl, _ := rdb.PTTL(ctx, redisstore.DefaultPrefix+key+":lock").Result(); pttl <= redisstore.DefaultLockTTL-time.Second || pttl > redisstore.DefaultLockTTL {
		t.Fatalf("default lock PTTL = %v; want about %v", pttl, redisstore.DefaultLockTTL)
	}
}
