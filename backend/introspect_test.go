package backend

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"log"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/monocloud/auth-go/monocloudtest"
)

// memoryCache is an IntrospectionCache for tests, which can fail.
type memoryCache struct {
	mu     sync.Mutex
	values map[string][]byte
	ttls   map[string]time.Duration
	fail   bool
	gets   atomic.Int32
	sets   atomic.Int32 // Set calls that returned
}

func newMemoryCache() *memoryCache {
	return &memoryCache{values: map[string][]byte{}, ttls: map[string]time.Duration{}}
}

func (m *memoryCache) Get(_ context.Context, key string) ([]byte, error) {
	m.gets.Add(1)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail {
		return nil, errors.New("cache down")
	}
	return m.values[key], nil
}

func (m *memoryCache) Set(_ context.Context, key string, value []byte, ttl time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	defer m.sets.Add(1)
	if m.fail {
		return errors.New("cache down")
	}
	m.values[key], m.ttls[key] = value, ttl
	return nil
}

// eventually waits until done reports true, as the shared cache is
// written after the requests of a flight are answered; it fails t if that
// takes unreasonably long.
func eventually(t *testing.T, what string, done func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !done(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("still waiting for %s", what)
		}
	}
}

func (f *fixture) opaque(t *testing.T, a monocloudtest.AccessToken) string {
	t.Helper()
	if a.Audience == "" {
		a.Audience = testAudience
	}
	return f.op.MintOpaqueToken(t, a)
}

func TestIntrospection(t *testing.T) {
	f := newFixture(t, nil)
	token := f.opaque(t, monocloudtest.AccessToken{Scopes: "read", Claims: map[string]any{"groups": []string{"staff"}}})
	a := f.serve(bearer(token), &ProtectOptions{Scopes: []string{"read"}, Groups: []string{"staff"}})
	if a.status != 200 || a.claims.Subject() != "user-1" || a.claims["active"] != nil {
		t.Fatalf("status %d claims %v (active must be stripped)", a.status, a.claims)
	}
	if got := f.op.LastTokenRequest(); got != nil {
		t.Errorf("token endpoint used: %v", got)
	}
	t.Run("cached, per-route checks re-run", func(t *testing.T) {
		n := f.op.IntrospectionRequests()
		if a := f.serve(bearer(token), &ProtectOptions{Scopes: []string{"write"}}); a.status != 403 {
			t.Errorf("cached claims on a route needing write: status %d, want 403", a.status)
		}
		if a := f.serve(bearer(token), &ProtectOptions{Groups: []string{"admins"}}); a.status != 403 {
			t.Errorf("cached claims on a route needing admins: status %d, want 403", a.status)
		}
		if a := f.serve(bearer(token), nil); a.status != 200 {
			t.Errorf("cached claims: status %d", a.status)
		}
		if f.op.IntrospectionRequests() != n {
			t.Errorf("cached token introspected again")
		}
	})
	t.Run("inactive, cached briefly", func(t *testing.T) {
		revoked := f.opaque(t, monocloudtest.AccessToken{})
		f.op.RevokeOpaqueToken(revoked)
		n := f.op.IntrospectionRequests()
		for range 3 {
			if a := f.serve(bearer(revoked), nil); a.status != 401 || !challengeHas(a.challenge, `error="invalid_token"`) {
				t.Errorf("inactive token: status %d %v", a.status, a.challenge)
			}
		}
		if got := f.op.IntrospectionRequests() - n; got != 1 {
			t.Errorf("%d introspections of an inactive token, want 1", got)
		}
		f.clock.advance(negativeTTL + time.Second)
		f.serve(bearer(revoked), nil)
		if got := f.op.IntrospectionRequests() - n; got != 2 {
			t.Errorf("%d introspections after the negative TTL, want 2", got)
		}
	})
	t.Run("wrong audience, refusal cached", func(t *testing.T) {
		other := f.opaque(t, monocloudtest.AccessToken{Audience: "https://other"})
		n := f.op.IntrospectionRequests()
		for range 3 {
			if a := f.serve(bearer(other), nil); a.status != 401 {
				t.Errorf("status %d, want 401", a.status)
			}
		}
		if got := f.op.IntrospectionRequests() - n; got != 1 {
			t.Errorf("%d introspections of a token for another API, want 1", got)
		}
	})
}

func TestIntrospectionCacheLifetime(t *testing.T) {
	f := newFixture(t, nil)
	short := f.opaque(t, monocloudtest.AccessToken{TTL: 90 * time.Second})
	long := f.opaque(t, monocloudtest.AccessToken{TTL: time.Hour})
	f.serve(bearer(short), nil)
	f.serve(bearer(long), nil)
	n := f.op.IntrospectionRequests()
	f.clock.advance(3 * time.Minute) // past short's exp and the tolerance, within the 300 s cap
	f.serve(bearer(long), nil)
	if f.op.IntrospectionRequests() != n {
		t.Error("long-lived token introspected again within the cache duration")
	}
	if a := f.serve(bearer(short), nil); a.status != 401 {
		t.Errorf("expired token: status %d, want 401", a.status)
	}
	f.clock.advance(4 * time.Minute) // past the 300 s cap
	f.serve(bearer(long), nil)
	if f.op.IntrospectionRequests() == n+1 {
		t.Error("long-lived token not introspected again after the cache duration")
	}
}

func TestIntrospectionCacheDisabled(t *testing.T) {
	zero := time.Duration(0)
	shared := newMemoryCache()
	f := newFixture(t, func(o *Options) { o.IntrospectionCacheDuration = &zero; o.IntrospectionCache = shared })
	token := f.opaque(t, monocloudtest.AccessToken{})
	for range 3 {
		f.serve(bearer(token), nil)
	}
	if n := f.op.IntrospectionRequests(); n != 3 {
		t.Errorf("%d introspections with the cache disabled, want 3", n)
	}
	if shared.gets.Load() != 0 || len(shared.values) != 0 {
		t.Error("shared cache used with a zero duration")
	}
}

// TestIntrospectionSingleFlight sends a storm of 1,000 concurrent requests
// with one opaque token: one introspection serves them all.
func TestIntrospectionSingleFlight(t *testing.T) {
	f := newFixture(t, nil)
	f.op.SetIntrospectionFault(monocloudtest.Fault{Delay: 100 * time.Millisecond})
	token := f.opaque(t, monocloudtest.AccessToken{})
	var wg sync.WaitGroup
	var ok atomic.Int32
	for range 1000 {
		wg.Go(func() {
			if _, err := f.c.ValidateAccessToken(t.Context(), token, nil); err == nil {
				ok.Add(1)
			}
		})
	}
	wg.Wait()
	if ok.Load() != 1000 || f.op.IntrospectionRequests() != 1 {
		t.Errorf("%d accepted, %d introspections; want 1000 and 1", ok.Load(), f.op.IntrospectionRequests())
	}
}

// TestIntrospectionSingleFlightLateRequest follows a request that missed
// the cache just before a flight stored its verdict, and reaches the
// flight table after the flight has ended: it takes the stored verdict
// instead of introspecting the token a second time.
func TestIntrospectionSingleFlightLateRequest(t *testing.T) {
	f := newFixture(t, nil)
	active := f.opaque(t, monocloudtest.AccessToken{})
	revoked := f.opaque(t, monocloudtest.AccessToken{})
	f.op.RevokeOpaqueToken(revoked)
	for _, token := range []string{active, revoked} {
		_, first := f.c.ValidateAccessToken(t.Context(), token, nil)
		n := f.op.IntrospectionRequests()
		g, outcome, err := f.c.introspection.await(t.Context(), token, keyOf(token))
		if got := f.op.IntrospectionRequests() - n; got != 0 {
			t.Errorf("%d introspections after the flight ended, want 0", got)
		}
		if (err == nil) != (first == nil) || (err == nil && (g.claims.Subject() != "user-1" || outcome != outcomeIntrospectionCached)) {
			t.Errorf("late request: %v %q %v; the flight's: %v", g, outcome, err, first)
		}
	}
}

func TestIntrospectionSharedCache(t *testing.T) {
	shared := newMemoryCache()
	f := newFixture(t, func(o *Options) { o.IntrospectionCache = shared })
	token := f.opaque(t, monocloudtest.AccessToken{TTL: 100 * time.Second})
	f.serve(bearer(token), nil)
	eventually(t, "the shared cache's write", func() bool { return shared.sets.Load() == 1 })
	shared.mu.Lock()
	entries, ttls := len(shared.values), maps.Clone(shared.ttls)
	shared.mu.Unlock()
	if entries != 1 {
		t.Fatalf("shared cache holds %d entries, want 1", entries)
	}
	for key, ttl := range ttls {
		if len(key) != 64 || key == token {
			t.Errorf("shared cache key %q is not a token hash", key)
		}
		if ttl > 100*time.Second || ttl < 90*time.Second {
			t.Errorf("shared TTL %v, want the token's remaining 100 s", ttl)
		}
	}
	// Another instance reads it without introspecting.
	g := newFixture(t, func(o *Options) { o.IntrospectionCache = shared })
	g.c.cfg.issuer = f.c.cfg.issuer
	g.c.disc = f.c.disc
	n := f.op.IntrospectionRequests()
	if a := g.serve(bearer(token), nil); a.status != 200 {
		t.Errorf("status %d from the shared cache", a.status)
	}
	if f.op.IntrospectionRequests() != n || g.op.IntrospectionRequests() != 0 {
		t.Error("introspected despite the shared cache")
	}
}

func TestIntrospectionSharedCacheOutageFallsBack(t *testing.T) {
	shared := newMemoryCache()
	shared.fail = true
	f := newFixture(t, func(o *Options) { o.IntrospectionCache = shared })
	token := f.opaque(t, monocloudtest.AccessToken{})
	if a := f.serve(bearer(token), nil); a.status != 200 {
		t.Errorf("cache outage: status %d, want 200 by introspection", a.status)
	}
	eventually(t, "the shared cache's write", func() bool { return shared.sets.Load() == 1 })
	var ops []string
	for _, e := range f.events.of(EventCacheError) {
		ops = append(ops, e.Op)
	}
	if !slices.Equal(ops, []string{"get", "set"}) {
		t.Errorf("cache_error events for %v, want get and set", ops)
	}
}

// hangingCache is an IntrospectionCache that hangs: each call returns
// only when its ctx is done.
type hangingCache struct{ sets atomic.Int32 }

func (*hangingCache) Get(ctx context.Context, _ string) ([]byte, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

func (h *hangingCache) Set(ctx context.Context, _ string, _ []byte, _ time.Duration) error {
	defer h.sets.Add(1)
	<-ctx.Done()
	return ctx.Err()
}

// TestIntrospectionSharedCacheHangingFallsBack sets the shortest
// ResponseTimeout: a shared cache that hangs costs a bounded wait of its
// own, then the token is introspected with the whole ResponseTimeout.
func TestIntrospectionSharedCacheHangingFallsBack(t *testing.T) {
	shared := &hangingCache{}
	f := newFixture(t, func(o *Options) { o.IntrospectionCache, o.ResponseTimeout = shared, time.Second })
	if a := f.serve(bearer(f.opaque(t, monocloudtest.AccessToken{})), nil); a.status != 200 {
		t.Fatalf("hanging cache: status %d, want 200 by introspection", a.status)
	}
	if n := f.op.IntrospectionRequests(); n != 1 {
		t.Errorf("%d introspections, want 1", n)
	}
	eventually(t, "the shared cache's write", func() bool { return shared.sets.Load() == 1 })
	var seen []string
	for _, e := range f.events.all() {
		seen = append(seen, string(e.Kind)+":"+e.Op)
	}
	get := slices.Index(seen, string(EventCacheError)+":get")
	accepted := slices.Index(seen, string(EventTokenAccepted)+":")
	if get < 0 || accepted < get || !slices.Contains(seen, string(EventCacheError)+":set") {
		t.Errorf("events %v, want the get's cache_error, then token_accepted, and the set's cache_error", seen)
	}
}

// TestIntrospectionFailures checks the answer to each failure of the
// introspection endpoint: 503 when it cannot answer, 401 when its answer
// depends on the token (a 400 that does not blame the client: RFC 7662
// section 2.3, RFC 6749 section 5.2), 500 when its answer proves the
// configuration wrong, reported once.
func TestIntrospectionFailures(t *testing.T) {
	for _, tc := range []struct {
		name   string
		fault  monocloudtest.Fault
		status int
		event  EventKind // the event of the failure, besides token_rejected
	}{
		{"server error", monocloudtest.Fault{Status: 500}, 503, EventProviderError},
		{"bad gateway", monocloudtest.Fault{Status: 502}, 503, EventProviderError},
		{"rate limited", monocloudtest.Fault{Status: 429}, 503, EventProviderError},
		{"not JSON", monocloudtest.Fault{Status: 200, Body: "<html>"}, 503, EventProviderError},
		{"invalid request", monocloudtest.Fault{Status: 400, Body: `{"error":"invalid_request"}`}, 401, ""},
		{"invalid token", monocloudtest.Fault{Status: 400, Body: `{"error":"invalid_token","error_description":"malformed"}`}, 401, ""},
		{"400 without an error", monocloudtest.Fault{Status: 400, Body: `{}`}, 401, ""},
		{"400 not JSON", monocloudtest.Fault{Status: 400, Body: "<html>"}, 401, ""},
		{"400 invalid client", monocloudtest.Fault{Status: 400, Body: `{"error":"invalid_client"}`}, 500, EventConfigError},
		{"400 unauthorized client", monocloudtest.Fault{Status: 400, Body: `{"error":"unauthorized_client"}`}, 500, EventConfigError},
		{"401 invalid client", monocloudtest.Fault{Status: 401, Body: `{"error":"invalid_client"}`}, 500, EventConfigError},
		{"401 without a body", monocloudtest.Fault{Status: 401}, 500, EventConfigError},
		{"403: the API may not introspect", monocloudtest.Fault{Status: 403, Body: `{"error":"insufficient_scope"}`}, 500, EventConfigError},
		{"not found", monocloudtest.Fault{Status: 404}, 500, EventConfigError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, nil)
			f.op.SetIntrospectionFault(tc.fault)
			for range 2 { // two tokens: a configuration error is reported once
				a := f.serve(bearer(f.opaque(t, monocloudtest.AccessToken{})), nil)
				if a.status != tc.status {
					t.Errorf("status %d, want %d", a.status, tc.status)
				}
				if tc.status == 503 && a.header.Get("Retry-After") == "" {
					t.Error("503 without Retry-After")
				}
				if tc.status == 401 && !challengeHas(a.challenge, `error="invalid_token"`) {
					t.Errorf("challenge %v, want invalid_token", a.challenge)
				}
			}
			var kinds []EventKind
			for _, e := range f.events.all() {
				if e.Kind != EventTokenRejected {
					kinds = append(kinds, e.Kind)
				}
			}
			want := []EventKind{tc.event, tc.event}
			switch tc.event {
			case "":
				want = nil
			case EventConfigError:
				want = want[:1]
			}
			if !slices.Equal(kinds, want) {
				t.Errorf("events %v, want %v", kinds, want)
			}
		})
	}
	t.Run("a token refused by a 400 is not cached positively", func(t *testing.T) {
		f := newFixture(t, nil)
		token := f.opaque(t, monocloudtest.AccessToken{})
		f.op.SetIntrospectionFault(monocloudtest.Fault{Status: 400, Body: `{"error":"invalid_request"}`})
		f.serve(bearer(token), nil)
		f.op.SetIntrospectionFault(monocloudtest.Fault{})
		if a := f.serve(bearer(token), nil); a.status != 401 {
			t.Errorf("within the negative TTL: status %d, want 401", a.status)
		}
		f.clock.advance(negativeTTL + time.Second)
		if a := f.serve(bearer(token), nil); a.status != 200 {
			t.Errorf("after the negative TTL: status %d, want 200", a.status)
		}
		if n := f.op.IntrospectionRequests(); n != 2 {
			t.Errorf("%d introspections, want 2", n)
		}
	})
	t.Run("transport failures are not cached", func(t *testing.T) {
		f := newFixture(t, nil)
		token := f.opaque(t, monocloudtest.AccessToken{})
		f.op.SetIntrospectionFault(monocloudtest.Fault{Status: 500})
		f.serve(bearer(token), nil)
		f.op.SetIntrospectionFault(monocloudtest.Fault{})
		if a := f.serve(bearer(token), nil); a.status != 200 {
			t.Errorf("after the outage: status %d", a.status)
		}
	})
}

func TestOpaqueTokenWithoutIntrospectionIsInvalidNotServerError(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.ClientID, o.ClientSecret = "", "" })
	for range 2 {
		a := f.serve(bearer("abc"), nil)
		if a.status != 401 || !challengeHas(a.challenge, `error="invalid_token"`) {
			t.Errorf("status %d %v, want 401 invalid_token", a.status, a.challenge)
		}
	}
	if n := len(f.events.of(EventConfigError)); n != 1 {
		t.Errorf("%d config_error events, want 1", n)
	}
	if f.op.IntrospectionRequests() != 0 {
		t.Error("introspected without a client")
	}
}

func TestIntrospectJWTTokens(t *testing.T) {
	yes := true
	f := newFixture(t, func(o *Options) { o.IntrospectJWTTokens = &yes })
	jwt := f.mint(t, monocloudtest.AccessToken{})
	if a := f.serve(bearer(jwt), nil); a.status != 401 {
		t.Errorf("JWT unknown to introspection: status %d, want 401", a.status)
	}
	if f.op.IntrospectionRequests() != 1 {
		t.Errorf("%d introspections, want 1", f.op.IntrospectionRequests())
	}
}

func TestIntrospectionClientAuthentication(t *testing.T) {
	for _, method := range []string{"client_secret_post", "client_secret_basic"} {
		t.Run(method, func(t *testing.T) {
			f := newFixture(t, func(o *Options) { o.ClientAuthMethod = method })
			if a := f.serve(bearer(f.opaque(t, monocloudtest.AccessToken{})), nil); a.status != 200 {
				t.Errorf("status %d", a.status)
			}
		})
	}
	t.Run("client_secret_jwt", func(t *testing.T) {
		secret := strings.Repeat("s", 32)
		f := newFixtureFor(t, monocloudtest.Config{ClientSecret: secret, ClientAuthMethod: "client_secret_jwt"}, func(o *Options) { o.ClientAuthMethod = "client_secret_jwt" })
		if a := f.serve(bearer(f.opaque(t, monocloudtest.AccessToken{})), nil); a.status != 200 {
			t.Errorf("status %d", a.status)
		}
	})
	t.Run("private_key_jwt", func(t *testing.T) {
		priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		jwk, err := json.Marshal(jose.JSONWebKey{Key: priv, KeyID: "k1", Algorithm: "ES256"})
		if err != nil {
			t.Fatal(err)
		}
		f := newFixtureFor(t, monocloudtest.Config{ClientPublicKey: &priv.PublicKey, ClientAuthMethod: "private_key_jwt"}, func(o *Options) {
			o.ClientAuthMethod, o.ClientSecret = "private_key_jwt", string(jwk)
		})
		if a := f.serve(bearer(f.opaque(t, monocloudtest.AccessToken{})), nil); a.status != 200 {
			t.Errorf("status %d", a.status)
		}
	})
	t.Run("wrong secret is a configuration error", func(t *testing.T) {
		f := newFixture(t, func(o *Options) { o.ClientSecret = "wrong" })
		if a := f.serve(bearer(f.opaque(t, monocloudtest.AccessToken{})), nil); a.status != 500 {
			t.Errorf("status %d, want 500", a.status)
		}
	})
}

func TestIntrospectionEndpointForTLSClientAuthentication(t *testing.T) {
	// Under /plain, a provider that publishes no mTLS aliases.
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		issuer := srv.URL
		doc := map[string]any{
			"mtls_endpoint_aliases":            map[string]string{"introspection_endpoint": "https://mtls.example.com/introspect"},
			"mtls_additional_endpoint_aliases": map[string]any{"store": map[string]string{"introspection_endpoint": "https://store.example.com/introspect"}},
		}
		if strings.HasPrefix(r.URL.Path, "/plain/") {
			issuer, doc = srv.URL+"/plain", map[string]any{}
		}
		doc["issuer"], doc["jwks_uri"], doc["introspection_endpoint"] = issuer, issuer+"/jwks", issuer+"/introspect"
		json.NewEncoder(w).Encode(doc)
	}))
	defer srv.Close()
	for _, tc := range []struct {
		issuer, method, store, want string
	}{
		{srv.URL, "client_secret_post", "", srv.URL + "/introspect"},
		{srv.URL, "tls_client_auth", "", "https://mtls.example.com/introspect"},
		{srv.URL, "self_signed_tls_client_auth", "store", "https://store.example.com/introspect"},
		{srv.URL, "tls_client_auth", "missing", ""},
		{srv.URL + "/plain", "tls_client_auth", "", srv.URL + "/plain/introspect"},
		{srv.URL + "/plain", "self_signed_tls_client_auth", "store", ""},
	} {
		c, err := New(Options{TenantDomain: tc.issuer, Audience: "a", ClientID: "id", ClientSecret: "s", ClientAuthMethod: tc.method, TrustStoreID: tc.store, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		_, endpoint, e := c.introspectionClient(t.Context())
		if endpoint != tc.want || (tc.want == "") != (e != nil && e.Code == ErrMisconfigured) {
			t.Errorf("%s at %s (trust store %q): endpoint %q, err %v; want %q", tc.method, tc.issuer, tc.store, endpoint, e, tc.want)
		}
	}
}

// TestIntrospectionWithTLSClientCertificate introspects at an mTLS alias
// that requires a client certificate and accepts only the API's, which
// Options.ClientAuthCertificate adds to HTTPClient's transport.
func TestIntrospectionWithTLSClientCertificate(t *testing.T) {
	cert := monocloudtest.NewClientCertificate(t, "api")
	var introspections atomic.Int32
	alias := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		peer := r.TLS.PeerCertificates
		if len(peer) == 0 || !peer[0].Equal(cert.Leaf) || r.PostForm.Get("client_id") != "api" || r.PostForm.Has("client_secret") || r.Header.Get("Authorization") != "" {
			w.WriteHeader(http.StatusUnauthorized)
			json.NewEncoder(w).Encode(map[string]string{"error": "invalid_client"})
			return
		}
		introspections.Add(1)
		json.NewEncoder(w).Encode(map[string]any{"active": true, "aud": testAudience, "exp": time.Now().Add(time.Hour).Unix(), "client_id": "caller"})
	}))
	alias.TLS = &tls.Config{ClientAuth: tls.RequireAnyClientCert}
	alias.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshake without a certificate
	alias.StartTLS()
	defer alias.Close()
	var op *httptest.Server
	op = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{
			"issuer": op.URL, "jwks_uri": op.URL + "/jwks",
			"introspection_endpoint": op.URL + "/introspect", // not the alias: refused
			"mtls_endpoint_aliases":  map[string]string{"introspection_endpoint": alias.URL + "/introspect"},
		})
	}))
	defer op.Close()
	other := monocloudtest.NewClientCertificate(t, "other")
	for _, tc := range []struct {
		name   string
		method string
		cert   *tls.Certificate
		status int
	}{
		{"tls_client_auth", "tls_client_auth", &cert, http.StatusOK},
		{"self_signed_tls_client_auth", "self_signed_tls_client_auth", &cert, http.StatusOK},
		{"another certificate: invalid_client, a configuration error", "tls_client_auth", &other, http.StatusInternalServerError},
		{"no certificate: no TLS connection to the alias", "tls_client_auth", nil, http.StatusServiceUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := introspections.Load()
			c, err := New(Options{
				TenantDomain: op.URL, Audience: testAudience, ClientID: "api",
				ClientAuthMethod: tc.method, ClientAuthCertificate: tc.cert,
				HTTPClient: op.Client(), Logger: slog.New(slog.DiscardHandler),
			})
			if err != nil {
				t.Fatal(err)
			}
			status := http.StatusOK
			if _, err := c.ValidateAccessToken(t.Context(), "opaque-token-"+tc.method, nil); err != nil {
				status = StatusOf(err)
			}
			if status != tc.status {
				t.Fatalf("status %d, want %d", status, tc.status)
			}
			if n := introspections.Load() - before; (n == 1) != (tc.status == http.StatusOK) {
				t.Errorf("%d introspections accepted by the alias", n)
			}
		})
	}
}
