package provider

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/monocloud/auth-go/internal/opclient"
)

// fakeOP serves a discovery document and a JWKS, counting requests.
type fakeOP struct {
	srv             *httptest.Server
	discovery, jwks atomic.Int32
	discoveryStatus atomic.Int32
	jwksStatus      atomic.Int32
	issuer          atomic.Value // string; the server URL if empty
	mu              sync.Mutex
	keys            []jose.JSONWebKey
	release         chan struct{} // if set, discovery waits for it
}

func newFakeOP(t *testing.T) *fakeOP {
	op := &fakeOP{}
	op.issuer.Store("")
	op.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/.well-known/openid-configuration":
			op.discovery.Add(1)
			if op.release != nil {
				<-op.release
			}
			if s := op.discoveryStatus.Load(); s != 0 {
				w.WriteHeader(int(s))
				return
			}
			iss := op.issuer.Load().(string)
			if iss == "" {
				iss = op.srv.URL
			}
			json.NewEncoder(w).Encode(map[string]string{"issuer": iss, "jwks_uri": op.srv.URL + "/jwks"})
		case "/jwks":
			op.jwks.Add(1)
			if s := op.jwksStatus.Load(); s != 0 {
				w.WriteHeader(int(s))
				return
			}
			op.mu.Lock()
			defer op.mu.Unlock()
			json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: op.keys})
		case "/big":
			w.Write([]byte(strings.Repeat(" ", opclient.MaxBodySize+1)))
		}
	}))
	t.Cleanup(op.srv.Close)
	return op
}

// signer adds a new RSA key with kid to the JWKS and returns a token
// signed with it.
func (op *fakeOP) addKey(t *testing.T, kid string) *jose.JSONWebSignature {
	t.Helper()
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	op.mu.Lock()
	op.keys = append(op.keys, jose.JSONWebKey{Key: &priv.PublicKey, KeyID: kid, Algorithm: "RS256", Use: "sig"})
	op.mu.Unlock()
	return sign(t, priv, kid)
}

func sign(t *testing.T, priv *rsa.PrivateKey, kid string) *jose.JSONWebSignature {
	t.Helper()
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: priv, KeyID: kid}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	signed, err := s.Sign([]byte(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	compact, err := signed.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	jws, err := jose.ParseSigned(compact, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatal(err)
	}
	return jws
}

// testClock is a clock the test moves.
type testClock struct{ t atomic.Int64 }

func (c *testClock) now() time.Time          { return time.Unix(0, c.t.Load()) }
func (c *testClock) advance(d time.Duration) { c.t.Add(int64(d)) }

func TestDiscoveryOneAttemptForConcurrentCallers(t *testing.T) {
	op := newFakeOP(t)
	op.release = make(chan struct{})
	d := &Discovery{Issuer: op.srv.URL, Client: op.srv.Client(), Timeout: 5 * time.Second}
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if _, err := d.Get(t.Context()); err != nil {
				t.Error(err)
			}
		})
	}
	time.Sleep(50 * time.Millisecond)
	close(op.release)
	wg.Wait()
	if n := op.discovery.Load(); n != 1 {
		t.Errorf("%d discovery requests, want 1", n)
	}
}

func TestDiscoveryBacksOff(t *testing.T) {
	op := newFakeOP(t)
	op.discoveryStatus.Store(503)
	clk := &testClock{}
	d := &Discovery{Issuer: op.srv.URL, Client: op.srv.Client(), Timeout: 5 * time.Second, Now: clk.now}
	for range 3 {
		if _, err := d.Get(t.Context()); KindOf(err) != Unavailable {
			t.Fatalf("err %v, want Unavailable", err)
		}
	}
	if n := op.discovery.Load(); n != 1 {
		t.Errorf("%d attempts within the first backoff, want 1", n)
	}
	clk.advance(MinBackoff)
	op.discoveryStatus.Store(0)
	if _, err := d.Get(t.Context()); err != nil {
		t.Errorf("after the backoff: %v", err)
	}
}

func TestDiscoveryWrongConfigurationIsMisconfigured(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(*fakeOP)
	}{
		{"not found", func(op *fakeOP) { op.discoveryStatus.Store(404) }},
		{"another issuer", func(op *fakeOP) { op.issuer.Store("https://other.example.com") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			op := newFakeOP(t)
			tc.setup(op)
			d := &Discovery{Issuer: op.srv.URL, Client: op.srv.Client(), Timeout: 5 * time.Second}
			if _, err := d.Get(t.Context()); KindOf(err) != Misconfigured {
				t.Errorf("err %v, want Misconfigured", err)
			}
		})
	}
}

func TestKeySetRefetchBySource(t *testing.T) {
	op := newFakeOP(t)
	first := op.addKey(t, "k1")
	clk := &testClock{}
	ks := &KeySet{URL: op.srv.URL + "/jwks", Client: op.srv.Client(), Timeout: 5 * time.Second, Now: clk.now}
	if _, err := ks.Verify(t.Context(), first, Untrusted); err != nil {
		t.Fatal(err)
	}
	second := op.addKey(t, "k2")
	op.addKey(t, "k3")
	// Untrusted: the first unknown kid an interval after the last fetch
	// refetches; the next within the interval fails fast...
	clk.advance(DefaultRefetchInterval)
	if _, err := ks.Verify(t.Context(), second, Untrusted); err != nil {
		t.Fatalf("first unknown kid: %v", err)
	}
	op.mu.Lock()
	op.keys = op.keys[:1]
	op.mu.Unlock()
	fourth := op.addKey(t, "k4")
	if _, err := ks.Verify(t.Context(), fourth, Untrusted); KindOf(err) != Invalid {
		t.Errorf("second unknown kid within the interval: %v, want Invalid", err)
	}
	// ...while a trusted token refetches at once.
	if _, err := ks.Verify(t.Context(), fourth, Trusted); err != nil {
		t.Errorf("trusted token with a new kid: %v", err)
	}
	if n := op.jwks.Load(); n != 3 {
		t.Errorf("%d JWKS fetches, want 3", n)
	}
}

func TestGetJSONCapsTheBody(t *testing.T) {
	op := newFakeOP(t)
	if _, _, err := GetJSON(t.Context(), op.srv.Client(), op.srv.URL+"/big"); err == nil {
		t.Error("a body over opclient.MaxBodySize was read")
	}
}

func TestNewHTTPClientSetsUserAgent(t *testing.T) {
	var ua string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { ua = r.UserAgent() }))
	defer srv.Close()
	c := NewHTTPClient(srv.Client(), time.Second, "test-agent")
	if _, _, err := GetJSON(t.Context(), c, srv.URL); err != nil || ua != "test-agent" || c.Timeout != time.Second {
		t.Errorf("err %v, User-Agent %q, timeout %v", err, ua, c.Timeout)
	}
}

func TestDiscoveryRefreshKeepsTheDocumentWhenTheProviderIsDown(t *testing.T) {
	op := newFakeOP(t)
	clk := &testClock{}
	d := &Discovery{Issuer: op.srv.URL, Client: op.srv.Client(), Timeout: 5 * time.Second, CacheDuration: time.Minute, Now: clk.now}
	first, err := d.Get(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	op.discoveryStatus.Store(503)
	clk.advance(2 * time.Minute)
	for range 3 {
		doc, err := d.Get(t.Context())
		if err != nil || doc != first {
			t.Fatalf("stale document not served: %v", err)
		}
	}
	waitFor(t, func() bool { return op.discovery.Load() == 2 })
	time.Sleep(20 * time.Millisecond)
	if n := op.discovery.Load(); n != 2 {
		t.Errorf("%d discovery requests, want 2: one refresh, then the backoff", n)
	}
}

func TestKeySetRefreshesInTheBackgroundAndServesStale(t *testing.T) {
	op := newFakeOP(t)
	jws := op.addKey(t, "k1")
	clk := &testClock{}
	ks := &KeySet{URL: op.srv.URL + "/jwks", Client: op.srv.Client(), Timeout: 5 * time.Second, CacheDuration: time.Minute, Now: clk.now}
	if _, err := ks.Verify(t.Context(), jws, Untrusted); err != nil {
		t.Fatal(err)
	}
	clk.advance(50 * time.Second) // past 80 % of the cache duration
	if _, err := ks.Verify(t.Context(), jws, Untrusted); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return op.jwks.Load() == 2 })
	op.jwksStatus.Store(503) // the provider is down
	clk.advance(time.Hour)
	if _, err := ks.Verify(t.Context(), jws, Untrusted); err != nil {
		t.Errorf("cached key not served while the provider is down: %v", err)
	}
}

// waitFor waits up to a second for cond.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within a second")
		}
	}
}

func TestVerifierImplementsTheOIDCKeySet(t *testing.T) {
	op := newFakeOP(t)
	jws := op.addKey(t, "k1")
	raw, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	v := &Verifier{Keys: &KeySet{URL: op.srv.URL + "/jwks", Client: op.srv.Client(), Timeout: 5 * time.Second}, Algorithm: jose.RS256}
	keys := &oidcKeys{v: v}
	if payload, err := keys.VerifySignature(t.Context(), raw); err != nil || string(payload) != "{}" {
		t.Errorf("payload %q, %v", payload, err)
	}
	v.Algorithm = jose.ES256
	if _, err := keys.VerifySignature(t.Context(), raw); KindOf(err) != Invalid {
		t.Errorf("algorithm outside the list: %v, want Invalid", err)
	}
}

func TestCheckUTF8AcceptsNonASCII(t *testing.T) {
	enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	if err := checkUTF8(enc(`{"alg":"RS256"}`) + "." + enc(`{"name":"Zoë"}`) + ".c2ln"); err != nil {
		t.Errorf("valid UTF-8: %v", err)
	}
	if err := checkUTF8(enc(`{"alg":"RS256"}`) + "." + enc("{\"sub\":\"\xff\"}") + ".c2ln"); err != ErrNotUTF8 {
		t.Errorf("invalid UTF-8: %v, want ErrNotUTF8", err)
	}
}

func TestMisconfigurationHint(t *testing.T) {
	hint := misconfigurationHint(&net.DNSError{Err: "no such host", Name: "tenant.example.invalid", IsNotFound: true}, nil)
	for _, want := range []string{"tenant.example.invalid", "does not exist"} {
		if !strings.Contains(hint, want) {
			t.Errorf("hint %q does not name %q", hint, want)
		}
	}
	if hint := misconfigurationHint(&net.DNSError{Err: "timeout", Name: "x", IsTimeout: true}, nil); hint != "" {
		t.Errorf("a DNS timeout got the hint %q, want none", hint)
	}
}

func TestMetadataEndSessionURL(t *testing.T) {
	m := &Metadata{EndSessionEndpoint: "https://op.example/logout?x=1"}
	for _, tt := range []struct{ hint, postLogout, state, want string }{
		{"", "", "s", "https://op.example/logout?client_id=c&x=1"},
		{"idt", "https://app/done", "s", "https://op.example/logout?client_id=c&id_token_hint=idt&post_logout_redirect_uri=https%3A%2F%2Fapp%2Fdone&state=s&x=1"},
	} {
		if got, ok := m.EndSessionURL("c", tt.hint, tt.postLogout, tt.state); !ok || got != tt.want {
			t.Errorf("EndSessionURL(%q, %q, %q) = %q, %v, want %q", tt.hint, tt.postLogout, tt.state, got, ok, tt.want)
		}
	}
	if _, ok := (&Metadata{}).EndSessionURL("c", "", "", ""); ok {
		t.Error("EndSessionURL without an end_session_endpoint reported one")
	}
}

func TestIssuerURL(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string
		ok   bool
	}{
		{"acme.us.monocloud.com", "https://acme.us.monocloud.com", true},
		{"https://acme.us.monocloud.com/", "https://acme.us.monocloud.com", true},
		{"http://127.0.0.1:9400", "http://127.0.0.1:9400", true},
		{"https://op.example.com/tenant/", "https://op.example.com/tenant", true},
		{"https://op.example.com/?x=1", "", false},
		{"https://op.example.com/#top", "", false},
		{"https://user@op.example.com", "", false},
		{"https://", "", false},
	} {
		got, ok := IssuerURL(tc.in)
		if ok != tc.ok || ok && got != tc.want {
			t.Errorf("IssuerURL(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}
