package redisstore_test

import (
	"testing"
	"time"

	"github.com/monocloud/auth-go/redisstore"
)

func TestIntrospectionCacheRoundTrip(t *testing.T) {
	rdb := newClient(t)
	prefix := testPrefix(t)
	c := redisstore.NewIntrospectionCache(rdb, prefix)
	if v, err := c.Get(t.Context(), "k"); v != nil || err != nil {
		t.Fatalf("miss: %q, %v", v, err)
	}
	if err := c.Set(t.Context(), "k", []byte(`{"active":true}`), time.Minute); err != nil {
		t.Fatal(err)
	}
	if v, err := c.Get(t.Context(), "k"); string(v) != `{"active":true}` || err != nil {
		t.Errorf("hit: %q, %v", v, err)
	}
	if ttl := rdb.TTL(t.Context(), prefix+"k").Val(); ttl <= 0 || ttl > time.Minute {
		t.Errorf("TTL %v, want up to a minute", ttl)
	}
}

func TestIntrospectionCacheFailsWhenRedisIsDown(t *testing.T) {
	rdb := newClient(t)
	rdb.Close()
	c := redisstore.NewIntrospectionCache(rdb, "")
	if _, err := c.Get(t.Context(), "k"); err == nil {
		t.Error("Get on a closed client succeeded")
	}
}

func TestReplayStoreAcceptsAProofOnce(t *testing.T) {
	rdb := newClient(t)
	prefix := testPrefix(t)
	a := redisstore.NewReplayStore(rdb, prefix)
	b := redisstore.NewReplayStore(newClient(t), prefix) // another instance
	until := time.Now().Add(time.Minute)
	if fresh, err := a.Remember(t.Context(), "jti", until); !fresh || err != nil {
		t.Fatalf("first use: %v, %v", fresh, err)
	}
	if fresh, err := b.Remember(t.Context(), "jti", until); fresh || err != nil {
		t.Errorf("replay on another instance: fresh=%v, %v", fresh, err)
	}
	if ttl := rdb.TTL(t.Context(), prefix+"jti").Val(); ttl <= 0 || ttl > time.Minute {
		t.Errorf("TTL %v", ttl)
	}
}
