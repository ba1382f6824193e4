package backend

import (
	"cmp"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"github.com/go-jose/go-jose/v4"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/monocloud/auth-go/monocloudtest"
)

// testAudience is the API identifier of the tests.
const testAudience = "https://api.example.com"

// clock is a test clock: the real time plus an offset the test moves.
type clock struct{ offset atomic.Int64 }

func (c *clock) now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *clock) advance(d time.Duration) { c.offset.Add(int64(d)) }
func (c *clock) Now() func() time.Time   { return c.now }

// recorder collects events.
type recorder struct {
	mu     sync.Mutex
	events []Event
}

func (r *recorder) record(_ context.Context, e Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

// all returns every event so far.
func (r *recorder) all() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

func (r *recorder) of(kind EventKind) []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Event
	for _, e := range r.events {
		if e.Kind == kind {
			out = append(out, e)
		}
	}
	return out
}

// fixture is a Client for a test provider.
type fixture struct {
	op     *monocloudtest.Provider
	c      *Client
	clock  *clock
	events *recorder
}

// newFixture starts a provider and a Client for it; edit adjusts the
// options before New.
func newFixture(t *testing.T, edit func(*Options)) *fixture {
	t.Helper()
	return newFixtureFor(t, monocloudtest.Config{}, edit)
}

// newFixtureFor is newFixture with a provider configured by cfg.
func newFixtureFor(t *testing.T, cfg monocloudtest.Config, edit func(*Options)) *fixture {
	t.Helper()
	op := monocloudtest.NewProvider(t, cfg)
	f := &fixture{op: op, clock: &clock{}, events: &recorder{}}
	opts := Options{
		TenantDomain: op.Issuer(),
		Audience:     testAudience,
		ClientID:     "test-client",
		ClientSecret: cmp.Or(cfg.ClientSecret, "test-secret"),
		HTTPClient:   op.Client(),
		OnEvent:      f.events.record,
		Logger:       slog.New(slog.DiscardHandler),
	}
	if edit != nil {
		edit(&opts)
	}
	c, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	c.now = f.clock.now
	f.c = c
	return f
}

// mint returns a JWT access token for the test audience with scopes.
func (f *fixture) mint(t *testing.T, a monocloudtest.AccessToken) string {
	t.Helper()
	if a.Audience == "" {
		a.Audience = testAudience
	}
	return f.op.MintAccessToken(t, a)
}

// answer is what Protect answered.
type answer struct {
	status    int
	challenge []string
	header    http.Header
	body      string
	claims    Claims
}

// serve sends r through Protect(opts) and returns the answer.
func (f *fixture) serve(r *http.Request, opts *ProtectOptions) answer {
	var got Claims
	h := f.c.Protect(opts)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, _ = ClaimsFromContext(r.Context())
		w.WriteHeader(http.StatusOK)
	}))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return answer{status: w.Code, challenge: w.Header().Values("WWW-Authenticate"), header: w.Header(), body: w.Body.String(), claims: got}
}

// bearer returns a GET request with token as a Bearer token.
func bearer(token string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "https://api.example.com/items", nil)
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	return r
}

// challengeHas reports whether a challenge contains every part.
func challengeHas(challenges []string, parts ...string) bool {
	for _, c := range challenges {
		ok := true
		for _, p := range parts {
			ok = ok && strings.Contains(c, p)
		}
		if ok {
			return true
		}
	}
	return false
}

// testPrivateJWK returns a private EC JWK with kid k1 and alg ES256.
func testPrivateJWK(t *testing.T) string {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(jose.JSONWebKey{Key: priv, KeyID: "k1", Algorithm: "ES256"})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// defaultAlgs returns the default JWS allow-list.
func defaultAlgs() []jose.SignatureAlgorithm {
	algs := make([]jose.SignatureAlgorithm, len(defaultAlgorithms))
	for i, a := range defaultAlgorithms {
		algs[i] = jose.SignatureAlgorithm(a)
	}
	return algs
}
