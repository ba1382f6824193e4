package backend

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/monocloud/auth-go/monocloudtest"
)

// BenchmarkProtect measures, in one run, a bare handler and the same
// handler behind Protect: with a token seen before (the validated-claims
// cache), with a token validated for the first time (its cache entry is
// dropped each iteration), the work of a first validation but the
// signature check, and RSA-2048 signature verification alone, the floor
// of a first validation. Compare the ns/op of the sub-benchmarks: a first
// validation costs first − rsa-verify − bare on top of its floor, which
// includes what every request costs (cached − bare: the token's syntax,
// its SHA-256 for the cache, the request's context).
func BenchmarkProtect(b *testing.B) {
	op := monocloudtest.NewProvider(b, monocloudtest.Config{})
	c, err := New(Options{TenantDomain: op.Issuer(), Audience: testAudience, HTTPClient: op.Client()})
	if err != nil {
		b.Fatal(err)
	}
	token := op.MintAccessToken(b, monocloudtest.AccessToken{Audience: testAudience, Scopes: "read write"})
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	protected := c.Protect(&ProtectOptions{Scopes: []string{"read"}})(next)
	req := httptest.NewRequest(http.MethodGet, "/items", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	w := httptest.NewRecorder()
	protected.ServeHTTP(w, req) // discovery, keys
	if w.Code != 200 {
		b.Fatalf("status %d", w.Code)
	}
	key := keyOf(token)

	b.Run("bare", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			next.ServeHTTP(w, req)
		}
	})
	b.Run("cached", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			protected.ServeHTTP(w, req)
		}
	})
	b.Run("first", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			c.claims.m.Delete(key)
			protected.ServeHTTP(w, req)
		}
	})
	// The work of a first validation but the signature check, whose cost
	// is rsa-verify's.
	b.Run("first-without-signature", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			key := keyOf(token)
			jws, e := c.parseJWT(token)
			if e != nil {
				b.Fatal(e)
			}
			claims, e := c.jwtClaims(jws.payload, op.Issuer())
			if e != nil {
				b.Fatal(e)
			}
			c.claims.m.Put(key, cachedClaims{claims: claims}, time.Time{})
		}
	})
	b.Run("rsa-verify", func(b *testing.B) {
		jws, err := jose.ParseSigned(token, []jose.SignatureAlgorithm{jose.RS256})
		if err != nil {
			b.Fatal(err)
		}
		resp, err := op.Client().Get(op.Issuer() + "/jwks")
		if err != nil {
			b.Fatal(err)
		}
		var set jose.JSONWebKeySet
		err = json.NewDecoder(resp.Body).Decode(&set)
		resp.Body.Close()
		keys := set.Key(jws.Signatures[0].Header.KeyID)
		if err != nil || len(keys) != 1 {
			b.Fatalf("JWKS: %v, %d keys", err, len(keys))
		}
		pub := keys[0].Key.(*rsa.PublicKey)
		dot := strings.LastIndexByte(token, '.')
		sig, _ := base64.RawURLEncoding.DecodeString(token[dot+1:])
		b.ReportAllocs()
		for b.Loop() {
			sum := sha256.Sum256([]byte(token[:dot]))
			if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig); err != nil {
				b.Fatal(err)
			}
		}
	})
}
