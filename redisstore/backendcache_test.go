package redisstore_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/monocloud/auth-go/backend"
	"github.com/monocloud/auth-go/monocloudtest"
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

// TestReplayStoreWrittenOnlyForValidBoundTokens: DPoP requests whose token
// is not valid, each with a proof of its own, write no key to Redis; a
// request with a valid token bound to the proof's key writes one.
func TestReplayStoreWrittenOnlyForValidBoundTokens(t *testing.T) {
	const audience, url = "https://api.example.com", "http://api.example.com/items"
	rdb := newClient(t)
	prefix := testPrefix(t)
	op := monocloudtest.NewProvider(t, monocloudtest.Config{})
	c, err := backend.New(backend.Options{
		TenantDomain:    op.Issuer(),
		Audience:        audience,
		HTTPClient:      op.Client(),
		DPoPReplayStore: redisstore.NewReplayStore(rdb, prefix),
		Logger:          slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	h := c.Protect(nil)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	key := monocloudtest.NewDPoPKey(t)
	// send sends token with a proof by key whose jti is jti, and returns
	// the status and whether Redis holds the proof's key.
	send := func(token, jti string) (int, bool) {
		r := httptest.NewRequest(http.MethodGet, url, nil)
		r.Header.Set("Authorization", "DPoP "+token)
		r.Header.Set("DPoP", key.SignProof(t, monocloudtest.DPoPProof{Method: http.MethodGet, URL: url, AccessToken: token, JTI: jti}))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		sum := sha256.Sum256([]byte(key.Thumbprint() + " " + jti))
		return w.Code, rdb.Exists(t.Context(), prefix+hex.EncodeToString(sum[:])).Val() == 1
	}
	for i, token := range []string{
		"garbage",
		op.MintAccessToken(t, monocloudtest.AccessToken{Audience: audience, DPoPKey: key, TTL: -time.Hour}),
		op.MintAccessToken(t, monocloudtest.AccessToken{Audience: audience, DPoPKey: monocloudtest.NewDPoPKey(t)}),
	} {
		if status, written := send(token, fmt.Sprint("invalid-", i)); status != http.StatusUnauthorized || written {
			t.Errorf("invalid token %d: status %d, key written %v; want 401, none", i, status, written)
		}
	}
	valid := op.MintAccessToken(t, monocloudtest.AccessToken{Audience: audience, DPoPKey: key})
	if status, written := send(valid, "valid"); status != http.StatusOK || !written {
		t.Errorf("valid token: status %d, key written %v; want 200 and a key", status, written)
	}
}
