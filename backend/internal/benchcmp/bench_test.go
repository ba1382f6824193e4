package benchcmp

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	jwtmiddleware "github.com/auth0/go-jwt-middleware/v3"
	"github.com/auth0/go-jwt-middleware/v3/jwks"
	"github.com/auth0/go-jwt-middleware/v3/validator"

	"github.com/monocloud/auth-go/backend"
	"github.com/monocloud/auth-go/monocloudtest"
)

const audience = "https://api.example.com"

// BenchmarkValidateSameToken serves one request with the same RS256 access
// token through a bare handler, backend.Protect (which caches the claims
// of a token it validated) and go-jwt-middleware (which verifies the
// signature on every request).
func BenchmarkValidateSameToken(b *testing.B) {
	op := monocloudtest.NewProvider(b, monocloudtest.Config{})
	token := op.MintAccessToken(b, monocloudtest.AccessToken{Audience: audience, Scopes: "read"})
	next := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})

	c, err := backend.New(backend.Options{TenantDomain: op.Issuer(), Audience: audience, HTTPClient: op.Client(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	// With room for one token, two tokens in turn evict each other: every
	// request validates its token for the first time.
	uncached, err := backend.New(backend.Options{TenantDomain: op.Issuer(), Audience: audience, HTTPClient: op.Client(), Logger: slog.New(slog.DiscardHandler), ClaimsCacheSize: 1})
	if err != nil {
		b.Fatal(err)
	}
	other := op.MintAccessToken(b, monocloudtest.AccessToken{Audience: audience, Scopes: "read"})
	issuer, _ := url.Parse(op.Issuer())
	keys, err := jwks.NewCachingProvider(jwks.WithIssuerURL(issuer), jwks.WithCustomClient(op.Client()), jwks.WithCacheTTL(5*time.Minute))
	if err != nil {
		b.Fatal(err)
	}
	v, err := validator.New(
		validator.WithKeyFunc(keys.KeyFunc),
		validator.WithAlgorithm(validator.RS256),
		validator.WithIssuer(op.Issuer()),
		validator.WithAudience(audience),
		validator.WithAllowedClockSkew(time.Minute),
	)
	if err != nil {
		b.Fatal(err)
	}
	auth0, err := jwtmiddleware.New(jwtmiddleware.WithValidator(v))
	if err != nil {
		b.Fatal(err)
	}
	for _, h := range []struct {
		name    string
		handler http.Handler
		tokens  []string
	}{
		{"bare", next, []string{token}},
		{"monocloud-backend", c.Protect(nil)(next), []string{token}},
		{"monocloud-backend-first-validation", uncached.Protect(nil)(next), []string{token, other}},
		{"auth0-go-jwt-middleware-v3", auth0.CheckJWT(next), []string{token}},
	} {
		reqs := make([]*http.Request, len(h.tokens))
		w := httptest.NewRecorder()
		for i, tok := range h.tokens {
			reqs[i] = httptest.NewRequest(http.MethodGet, "/items", nil)
			reqs[i].Header.Set("Authorization", "Bearer "+tok)
			h.handler.ServeHTTP(w, reqs[i]) // warm up: discovery and keys
			if w.Code != http.StatusOK {
				b.Fatalf("%s: status %d", h.name, w.Code)
			}
		}
		b.Run(h.name, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				h.handler.ServeHTTP(w, reqs[i%len(reqs)])
				i++
			}
		})
	}
}
