package provider

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/monocloud/auth-go/monocloudtest"
)

// TestKeySetSkipsUnknownKeys checks that keys go-jose cannot parse do not
// make the whole key set fail.
func TestKeySetSkipsUnknownKeys(t *testing.T) {
	op := monocloudtest.NewProvider(t, monocloudtest.Config{})
	pub, kid := signingKey(t, op)
	jwks := fmt.Sprintf(`{"keys":[{"kty":"OKP","crv":"Ed448","x":"AA"},{"kty":"RSA","kid":%q,"n":%q,"e":"AQAB"}]}`,
		kid, base64.RawURLEncoding.EncodeToString(pub.N.Bytes()))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(jwks)) }))
	t.Cleanup(srv.Close)
	v := &Verifier{Algorithm: jose.RS256, Keys: &KeySet{URL: srv.URL, Client: srv.Client(), Timeout: time.Second, Now: (&testClock{}).now}}
	payload, err := v.verifyJWT(t.Context(), op.SignIDToken(t, map[string]any{"sub": "s"}), Trusted)
	if err != nil || !strings.Contains(string(payload), `"sub":"s"`) {
		t.Fatalf("verifyJWT: %q, %v", payload, err)
	}
}

// TestKeySetTrustedTokensRefetch: tokens from the provider with a kid the
// cached JWKS lacks share one fetch when concurrent, and a kid the fresh
// JWKS still lacks refetches at most once per TrustedRefetchFloor.
func TestKeySetTrustedTokensRefetch(t *testing.T) {
	op := monocloudtest.NewProvider(t, monocloudtest.Config{})
	clock := &testClock{}
	v := &Verifier{Algorithm: jose.RS256, Keys: &KeySet{URL: op.Issuer() + "/jwks", Client: op.Client(), Timeout: 5 * time.Second, Now: clock.now}}
	verify := func(token string) error {
		_, err := v.verifyJWT(t.Context(), token, Trusted)
		return err
	}
	if err := verify(op.SignIDToken(t, map[string]any{"sub": "s"})); err != nil {
		t.Fatal(err)
	}
	op.RotateKey(t)
	rotated := op.SignIDToken(t, map[string]any{"sub": "s"})
	before := op.JWKSRequests()
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if err := verify(rotated); err != nil {
				t.Errorf("token with the rotated key: %v", err)
			}
		})
	}
	wg.Wait()
	if n := op.JWKSRequests() - before; n != 1 {
		t.Errorf("20 concurrent tokens with the rotated key fetched the JWKS %d times, want 1", n)
	}

	enc := base64.RawURLEncoding.EncodeToString
	unknown := enc([]byte(`{"alg":"RS256","kid":"not-published"}`)) + "." + enc([]byte(`{"sub":"x"}`)) + "." + enc([]byte("sig"))
	before = op.JWKSRequests()
	for range 5 {
		if err := verify(unknown); err == nil {
			t.Fatal("a token with an unpublished kid verified")
		}
	}
	if n := op.JWKSRequests() - before; n != 1 {
		t.Errorf("5 tokens with an unpublished kid within %v fetched the JWKS %d times, want 1", TrustedRefetchFloor, n)
	}
	clock.advance(TrustedRefetchFloor)
	if err := verify(unknown); err == nil {
		t.Fatal("a token with an unpublished kid verified")
	}
	if n := op.JWKSRequests() - before; n != 2 {
		t.Errorf("after %v, the unpublished kid fetched the JWKS %d times in all, want 2", TrustedRefetchFloor, n)
	}
}

// signingKey returns the public key that op signs with, and its kid.
func signingKey(t *testing.T, op *monocloudtest.Provider) (*rsa.PublicKey, string) {
	t.Helper()
	resp, err := op.Client().Get(op.Issuer() + "/jwks")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil || len(set.Keys) == 0 {
		t.Fatalf("JWKS: %v, %d keys", err, len(set.Keys))
	}
	k := set.Keys[len(set.Keys)-1]
	return k.Key.(*rsa.PublicKey), k.KeyID
}

// TestKeyIndexCandidates checks the keys a signature may be verified
// with, and that a kid whose keys all fit hands over the index's own
// keys without allocating.
func TestKeyIndexCandidates(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	keys := []jose.JSONWebKey{
		{Key: &rsaKey.PublicKey, KeyID: "mixed", Use: "sig"},
		{Key: &ecKey.PublicKey, KeyID: "mixed"},
		{Key: &rsaKey.PublicKey, KeyID: "enc", Use: "enc"},
		{Key: &rsaKey.PublicKey, KeyID: "rs384", Algorithm: "RS384"},
	}
	idx := &keyIndex{all: keys, byKID: map[string][]jose.JSONWebKey{}}
	for _, k := range keys {
		idx.byKID[k.KeyID] = append(idx.byKID[k.KeyID], k)
	}
	for _, tc := range []struct {
		kid  string
		alg  jose.SignatureAlgorithm
		want []string // Use of each candidate, in order
	}{
		{"mixed", jose.RS256, []string{"sig"}},
		{"mixed", jose.ES256, []string{""}},
		{"mixed", jose.ES384, nil},
		{"enc", jose.RS256, nil},
		{"rs384", jose.RS256, nil},
		{"rs384", jose.RS384, []string{""}},
		{"", jose.PS256, []string{"sig"}},
		{"", jose.RS384, []string{"sig", ""}},
		{"unknown", jose.RS256, nil},
	} {
		var got []string
		for _, k := range idx.candidates(tc.kid, tc.alg) {
			got = append(got, k.Use)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("candidates(%q, %s): uses %q, want %q", tc.kid, tc.alg, got, tc.want)
		}
	}
	if n := testing.AllocsPerRun(100, func() { idx.candidates("rs384", jose.RS384) }); n != 0 {
		t.Errorf("candidates of a kid whose keys all fit: %v allocations, want 0", n)
	}
}

// TestKeySetUntrustedUnknownKey: an Untrusted token's unknown kid is
// ErrUnknownKey when a fetch it caused lacks the kid, and a
// *RefetchLimitedError with the time left when it may not refetch yet, as
// a key rotated since the last refetch looks the same as a forged one.
func TestKeySetUntrustedUnknownKey(t *testing.T) {
	unpublished, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name        string
		forgedFirst bool          // a forged kid refetches the keys first
		rotate      bool          // then the provider adds a key, which signs the token
		after       time.Duration // then the clock moves on
		wantErr     error         // nil, ErrUnknownKey or ErrUnknownKey with a wait
		wantWait    time.Duration // RetryAfter of the *RefetchLimitedError
		wantFetches int32         // JWKS fetches caused by the token
	}{
		{"forged kid refetches", false, false, 0, ErrUnknownKey, 0, 1},
		{"forged kid within the interval", true, false, 3 * time.Second, ErrUnknownKey, 7 * time.Second, 0},
		{"forged kid after the interval refetches", true, false, DefaultRefetchInterval, ErrUnknownKey, 0, 1},
		{"rotated key refetches", false, true, 0, nil, 0, 1},
		{"rotated key within the interval", true, true, 2 * time.Second, ErrUnknownKey, 8 * time.Second, 0},
		{"rotated key after the interval refetches", true, true, DefaultRefetchInterval, nil, 0, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			op := newFakeOP(t)
			known := op.addKey(t, "k1")
			clk := &testClock{}
			ks := &KeySet{URL: op.srv.URL + "/jwks", Client: op.srv.Client(), Timeout: 5 * time.Second, UntrustedOnly: true, Now: clk.now}
			if _, err := ks.Verify(t.Context(), known, Untrusted); err != nil {
				t.Fatal(err)
			}
			if tc.forgedFirst {
				if _, err := ks.Verify(t.Context(), sign(t, unpublished, "first"), Untrusted); !errors.Is(err, ErrUnknownKey) {
					t.Fatalf("first forged kid: %v, want ErrUnknownKey", err)
				}
			}
			token := sign(t, unpublished, "forged")
			if tc.rotate {
				token = op.addKey(t, "k2")
			}
			clk.advance(tc.after)
			before := op.jwks.Load()
			_, err := ks.Verify(t.Context(), token, Untrusted)
			limited, isLimited := errors.AsType[*RefetchLimitedError](err)
			var wait time.Duration
			if isLimited {
				wait = limited.RetryAfter
			}
			if !errors.Is(err, tc.wantErr) || err != nil && KindOf(err) != Invalid || wait != tc.wantWait {
				t.Errorf("err %v (wait %v), want %v (wait %v)", err, wait, tc.wantErr, tc.wantWait)
			}
			if n := op.jwks.Load() - before; n != tc.wantFetches {
				t.Errorf("%d JWKS fetches, want %d", n, tc.wantFetches)
			}
		})
	}
}
