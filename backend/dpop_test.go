package backend

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/monocloud/auth-go/monocloudtest"
)

const itemsURL = "https://api.example.com/items"

// dpopRequest returns a request to itemsURL with token under the DPoP
// scheme and proof.
func dpopRequest(method, token, proof string) *http.Request {
	r := httptest.NewRequest(method, itemsURL, nil)
	r.TLS = nil
	r.Host = "api.example.com"
	r.Header.Set("Authorization", "DPoP "+token)
	if proof != "" {
		r.Header.Set("DPoP", proof)
	}
	return r
}

func TestDPoP(t *testing.T) {
	f := newFixture(t, nil)
	key := monocloudtest.NewDPoPKey(t)
	other := monocloudtest.NewDPoPKey(t)
	bound := f.mint(t, monocloudtest.AccessToken{DPoPKey: key})
	plain := f.mint(t, monocloudtest.AccessToken{})
	// The test requests have no TLS: their URL is http://.
	const url = "http://api.example.com/items"
	proof := func(p monocloudtest.DPoPProof) string {
		if p.Method == "" {
			p.Method = http.MethodGet
		}
		if p.URL == "" {
			p.URL = url
		}
		if p.AccessToken == "" {
			p.AccessToken = bound
		}
		return key.SignProof(t, p)
	}
	replayed := proof(monocloudtest.DPoPProof{})
	f.serve(dpopRequest(http.MethodGet, bound, replayed), nil)
	for _, tc := range []struct {
		name      string
		req       func() *http.Request
		status    int
		challenge string
	}{
		{"valid proof", func() *http.Request { return dpopRequest(http.MethodGet, bound, proof(monocloudtest.DPoPProof{})) }, 200, ""},
		{"htu with query and default port", func() *http.Request {
			return dpopRequest(http.MethodGet, bound, proof(monocloudtest.DPoPProof{URL: "HTTP://API.example.com:80/items?x=1"}))
		}, 200, ""},
		{"bound token as Bearer", func() *http.Request { return bearer(bound) }, 401, `DPoP error="invalid_token", algs=`},
		{"no proof", func() *http.Request { return dpopRequest(http.MethodGet, bound, "") }, 401, `DPoP error="invalid_dpop_proof"`},
		{"two proofs", func() *http.Request {
			r := dpopRequest(http.MethodGet, bound, proof(monocloudtest.DPoPProof{}))
			r.Header.Add("DPoP", proof(monocloudtest.DPoPProof{}))
			return r
		}, 401, `error="invalid_dpop_proof"`},
		{"replayed proof", func() *http.Request { return dpopRequest(http.MethodGet, bound, replayed) }, 401, `error="invalid_dpop_proof"`},
		{"wrong method", func() *http.Request {
			return dpopRequest(http.MethodGet, bound, proof(monocloudtest.DPoPProof{Method: http.MethodPost}))
		}, 401, `error="invalid_dpop_proof"`},
		{"wrong URL", func() *http.Request {
			return dpopRequest(http.MethodGet, bound, proof(monocloudtest.DPoPProof{URL: "http://api.example.com/other"}))
		}, 401, `error="invalid_dpop_proof"`},
		{"old proof", func() *http.Request {
			return dpopRequest(http.MethodGet, bound, proof(monocloudtest.DPoPProof{IssuedAt: time.Now().Add(-3 * time.Minute)}))
		}, 401, `error="invalid_dpop_proof"`},
		{"proof from the future", func() *http.Request {
			return dpopRequest(http.MethodGet, bound, proof(monocloudtest.DPoPProof{IssuedAt: time.Now().Add(3 * time.Minute)}))
		}, 401, `error="invalid_dpop_proof"`},
		{"ath of another token", func() *http.Request {
			return dpopRequest(http.MethodGet, bound, proof(monocloudtest.DPoPProof{AccessToken: plain}))
		}, 401, `error="invalid_dpop_proof"`},
		{"wrong typ", func() *http.Request {
			return dpopRequest(http.MethodGet, bound, proof(monocloudtest.DPoPProof{Type: "jwt"}))
		}, 401, `error="invalid_dpop_proof"`},
		{"proof by another key", func() *http.Request {
			return dpopRequest(http.MethodGet, bound, other.Proof(t, http.MethodGet, url, bound))
		}, 401, `DPoP error="invalid_token"`},
		{"unbound token with DPoP", func() *http.Request {
			return dpopRequest(http.MethodGet, plain, key.Proof(t, http.MethodGet, url, plain))
		}, 401, `DPoP error="invalid_token"`},
		{"unbound token as Bearer", func() *http.Request { return bearer(plain) }, 200, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := f.serve(tc.req(), nil)
			if a.status != tc.status {
				t.Fatalf("status %d, want %d (%v)", a.status, tc.status, a.challenge)
			}
			if tc.challenge != "" && !challengeHas(a.challenge, tc.challenge) {
				t.Errorf("challenges %q lack %q", a.challenge, tc.challenge)
			}
		})
	}
}

func TestDPoPModes(t *testing.T) {
	key := monocloudtest.NewDPoPKey(t)
	t.Run("required refuses bearer tokens", func(t *testing.T) {
		f := newFixture(t, func(o *Options) { o.DPoP = DPoPRequired })
		if a := f.serve(bearer(f.mint(t, monocloudtest.AccessToken{})), nil); a.status != 401 {
			t.Errorf("status %d, want 401", a.status)
		}
		if a := f.serve(bearer(""), nil); len(a.challenge) != 1 || !strings.HasPrefix(a.challenge[0], "DPoP ") {
			t.Errorf("no-token challenges %q, want only DPoP", a.challenge)
		}
	})
	t.Run("disabled accepts bound tokens as bearer, as the SDK", func(t *testing.T) {
		f := newFixture(t, func(o *Options) { o.DPoP = DPoPDisabled })
		if a := f.serve(bearer(f.mint(t, monocloudtest.AccessToken{DPoPKey: key})), nil); a.status != 200 {
			t.Errorf("status %d, want 200", a.status)
		}
	})
}

func TestDPoPNonce(t *testing.T) {
	nonces, err := NewNonceSource([]byte(strings.Repeat("k", 32)), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, func(o *Options) { o.DPoPNonces = nonces })
	key := monocloudtest.NewDPoPKey(t)
	token := f.mint(t, monocloudtest.AccessToken{DPoPKey: key})
	a := f.serve(dpopRequest(http.MethodGet, token, key.Proof(t, http.MethodGet, "http://api.example.com/items", token)), nil)
	nonce := a.header.Get("DPoP-Nonce")
	if a.status != 401 || nonce == "" || !challengeHas(a.challenge, `DPoP error="use_dpop_nonce"`) {
		t.Fatalf("status %d nonce %q challenge %v, want 401 use_dpop_nonce with a nonce", a.status, nonce, a.challenge)
	}
	p := key.SignProof(t, monocloudtest.DPoPProof{Method: http.MethodGet, URL: "http://api.example.com/items", AccessToken: token, Nonce: nonce})
	if a := f.serve(dpopRequest(http.MethodGet, token, p), nil); a.status != 200 {
		t.Errorf("proof with the nonce: status %d %v", a.status, a.challenge)
	}
	if nonces.Valid("forged") || nonces.Valid(nonce+"x") {
		t.Error("forged nonce valid")
	}
}

func TestDPoPBehindTrustedProxy(t *testing.T) {
	proxy := netip.MustParsePrefix("10.0.0.0/8")
	f := newFixture(t, func(o *Options) { o.TrustedProxies = []netip.Prefix{proxy} })
	key := monocloudtest.NewDPoPKey(t)
	token := f.mint(t, monocloudtest.AccessToken{DPoPKey: key})
	forwarded := func(remote string) *http.Request {
		r := dpopRequest(http.MethodGet, token, key.Proof(t, http.MethodGet, "https://public.example.com/items", token))
		r.RemoteAddr = remote
		r.Header.Set("X-Forwarded-Proto", "https")
		r.Header.Set("X-Forwarded-Host", "public.example.com")
		return r
	}
	if a := f.serve(forwarded("10.1.2.3:5555"), nil); a.status != 200 {
		t.Errorf("from the trusted proxy: status %d", a.status)
	}
	if a := f.serve(forwarded("203.0.113.9:5555"), nil); a.status != 401 {
		t.Errorf("forwarded headers from an untrusted peer: status %d, want 401", a.status)
	}
}

// failingReplayStore fails every call.
type failingReplayStore struct{}

func (failingReplayStore) Remember(context.Context, string, time.Time) (bool, error) {
	return false, errors.New("store down")
}

func TestDPoPReplayStoreOutageIs503(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.DPoPReplayStore = failingReplayStore{} })
	key := monocloudtest.NewDPoPKey(t)
	token := f.mint(t, monocloudtest.AccessToken{DPoPKey: key})
	if a := f.serve(dpopRequest(http.MethodGet, token, key.Proof(t, http.MethodGet, "http://api.example.com/items", token)), nil); a.status != 503 {
		t.Errorf("status %d, want 503", a.status)
	}
}

// testURL is the URL of dpopRequest as the tests' requests, without TLS,
// present it.
const testURL = "http://api.example.com/items"

// TestDPoPGarbageFloodCannotEvictAProof: a client without a valid token
// sends proofs signed with its own key for the token "garbage" until a
// replay store of their number would have evicted a captured proof; no
// such proof takes room in the store, and the captured proof stays
// refused (RFC 9449 section 11.1).
func TestDPoPGarbageFloodCannotEvictAProof(t *testing.T) {
	const size = 16
	f := newFixture(t, func(o *Options) { o.DPoPReplayCacheSize = size })
	key := monocloudtest.NewDPoPKey(t)
	token := f.mint(t, monocloudtest.AccessToken{DPoPKey: key})
	captured := key.Proof(t, http.MethodGet, testURL, token)
	if a := f.serve(dpopRequest(http.MethodGet, token, captured), nil); a.status != 200 {
		t.Fatalf("first use: status %d %v", a.status, a.challenge)
	}
	if a := f.serve(dpopRequest(http.MethodGet, token, captured), nil); a.status != 401 {
		t.Fatalf("replay before the flood: status %d, want 401", a.status)
	}
	attacker := monocloudtest.NewDPoPKey(t)
	for range 4 * size {
		if a := f.serve(dpopRequest(http.MethodGet, "garbage", attacker.Proof(t, http.MethodGet, testURL, "garbage")), nil); a.status != 401 {
			t.Fatalf("garbage token: status %d, want 401", a.status)
		}
	}
	if n := f.c.replay.(*memoryReplayStore).seen.Len(); n != 1 {
		t.Errorf("the replay store holds %d proofs after a flood of invalid tokens, want 1", n)
	}
	if a := f.serve(dpopRequest(http.MethodGet, token, captured), nil); a.status != 401 {
		t.Fatalf("replay after a flood of invalid tokens: status %d, want 401", a.status)
	}
}

// TestDPoPValidFloodRefusesAnEvictedProof: valid requests, one a second,
// overflow the replay store and evict a captured proof that is still
// within its iat window; its replay is refused rather than accepted, and
// a fresh proof is still accepted.
func TestDPoPValidFloodRefusesAnEvictedProof(t *testing.T) {
	const size = 8
	f := newFixture(t, func(o *Options) { o.DPoPReplayCacheSize = size })
	key := monocloudtest.NewDPoPKey(t)
	token := f.mint(t, monocloudtest.AccessToken{DPoPKey: key})
	fresh := func() string {
		return key.SignProof(t, monocloudtest.DPoPProof{Method: http.MethodGet, URL: testURL, AccessToken: token, IssuedAt: f.clock.now()})
	}
	captured := fresh()
	if a := f.serve(dpopRequest(http.MethodGet, token, captured), nil); a.status != 200 {
		t.Fatalf("first use: status %d %v", a.status, a.challenge)
	}
	for i := range 3 * size {
		f.clock.advance(time.Second)
		if a := f.serve(dpopRequest(http.MethodGet, token, fresh()), nil); a.status != 200 {
			t.Fatalf("valid request %d: status %d %v", i, a.status, a.challenge)
		}
	}
	if a := f.serve(dpopRequest(http.MethodGet, token, captured), nil); a.status != 401 || !challengeHas(a.challenge, `DPoP error="invalid_dpop_proof"`) {
		t.Fatalf("replay of an evicted proof: status %d %v, want 401 invalid_dpop_proof", a.status, a.challenge)
	}
	f.clock.advance(time.Second)
	if a := f.serve(dpopRequest(http.MethodGet, token, fresh()), nil); a.status != 200 {
		t.Errorf("fresh proof after the flood: status %d %v", a.status, a.challenge)
	}
}

// countingReplayStore accepts every proof and counts them.
type countingReplayStore struct{ calls atomic.Int64 }

func (s *countingReplayStore) Remember(context.Context, string, time.Time) (bool, error) {
	s.calls.Add(1)
	return true, nil
}

// TestDPoPProofRecordedOnlyForAValidBoundToken: a proof takes room in the
// replay store (memory or shared) only once its token is valid and bound
// to the proof's key, so that requests without a valid token write
// nothing.
func TestDPoPProofRecordedOnlyForAValidBoundToken(t *testing.T) {
	store := &countingReplayStore{}
	f := newFixture(t, func(o *Options) { o.DPoPReplayStore = store })
	key := monocloudtest.NewDPoPKey(t)
	for _, tc := range []struct {
		name     string
		token    string
		status   int
		recorded int64
	}{
		{"garbage token", "garbage", 401, 0},
		{"expired token", f.mint(t, monocloudtest.AccessToken{DPoPKey: key, TTL: -time.Hour}), 401, 0},
		{"token for another audience", f.mint(t, monocloudtest.AccessToken{DPoPKey: key, Audience: "https://other.example.com"}), 401, 0},
		{"unbound token", f.mint(t, monocloudtest.AccessToken{}), 401, 0},
		{"token bound to another key", f.mint(t, monocloudtest.AccessToken{DPoPKey: monocloudtest.NewDPoPKey(t)}), 401, 0},
		{"valid bound token", f.mint(t, monocloudtest.AccessToken{DPoPKey: key}), 200, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := store.calls.Load()
			a := f.serve(dpopRequest(http.MethodGet, tc.token, key.Proof(t, http.MethodGet, testURL, tc.token)), nil)
			if recorded := store.calls.Load() - before; a.status != tc.status || recorded != tc.recorded {
				t.Errorf("status %d, %d proofs recorded; want %d, %d", a.status, recorded, tc.status, tc.recorded)
			}
		})
	}
}

// TestDPoPUnreadableConfirmation: a token whose cnf is present but not a
// confirmation object is refused, whatever the DPoP and certificate
// binding modes, rather than read as unbound.
func TestDPoPUnreadableConfirmation(t *testing.T) {
	key := monocloudtest.NewDPoPKey(t)
	jkt := key.Thumbprint()
	for _, mode := range []DPoPMode{DPoPAllowed, DPoPRequired, DPoPDisabled} {
		f := newFixture(t, func(o *Options) { o.DPoP, o.CertificateBinding = mode, BindingIgnore })
		for _, tc := range []struct {
			name string
			cnf  any
		}{
			{"a string", "jkt"},
			{"a JSON string of an array", `["` + jkt + `"]`},
			{"an array holding jkt", []any{map[string]any{"jkt": jkt}}},
			{"a number", 7},
			{"a jkt that is not a string", map[string]any{"jkt": 7}},
			{"an empty jkt", map[string]any{"jkt": ""}},
		} {
			t.Run(string(mode)+"/"+tc.name, func(t *testing.T) {
				token := f.mint(t, monocloudtest.AccessToken{Claims: map[string]any{"cnf": tc.cnf}})
				requests := map[string]*http.Request{"Bearer": bearer(token)}
				if mode != DPoPDisabled { // which does not read the DPoP scheme
					requests["DPoP"] = dpopRequest(http.MethodGet, token, key.Proof(t, http.MethodGet, testURL, token))
				}
				for scheme, r := range requests {
					if a := f.serve(r, nil); a.status != 401 || !challengeHas(a.challenge, `error="invalid_token"`) {
						t.Errorf("%s: status %d %v, want 401 invalid_token", scheme, a.status, a.challenge)
					}
				}
			})
		}
	}
	t.Run("a readable cnf without jkt is unbound", func(t *testing.T) {
		f := newFixture(t, func(o *Options) { o.CertificateBinding = BindingIgnore })
		token := f.mint(t, monocloudtest.AccessToken{Claims: map[string]any{"cnf": map[string]any{"x5t#S256": "abc"}}})
		if a := f.serve(bearer(token), nil); a.status != 200 {
			t.Errorf("status %d %v, want 200", a.status, a.challenge)
		}
	})
}

// TestNormalizeURL: htu is compared by scheme, host and path (RFC 9449
// section 4.3), normalised (RFC 3986 section 6.2.2); an htu with userinfo,
// a relative one or one of another scheme is refused.
func TestNormalizeURL(t *testing.T) {
	for _, tc := range []struct {
		htu, want string
		ok        bool
	}{
		{"https://api.example.com/items", "https://api.example.com/items", true},
		{"HTTP://API.Example.COM:80/items?x=1#f", "http://api.example.com/items", true},
		{"https://api.example.com:8443", "https://api.example.com:8443/", true},
		{"https://[::1]:443/a", "https://[::1]/a", true},
		{"https://api.example.com/%7Eme", "https://api.example.com/~me", true},
		{"http://user@api.example.com/items", "", false},
		{"http://user:secret@api.example.com/items", "", false},
		{"http://@api.example.com/items", "", false},
		{"ftp://api.example.com/items", "", false},
		{"/items", "", false},
		{"https:///items", "", false},
		{"http://api.example.com/%zz", "", false},
	} {
		t.Run(tc.htu, func(t *testing.T) {
			got, ok := normalizeURL(tc.htu)
			if got != tc.want || ok != tc.ok {
				t.Errorf("normalizeURL(%q) = %q, %v; want %q, %v", tc.htu, got, ok, tc.want, tc.ok)
			}
		})
	}
}

// FuzzParseDPoPProof checks that no input panics the proof parser, and
// that a parsed proof has the required claims.
func FuzzParseDPoPProof(f *testing.F) {
	key := monocloudtest.NewDPoPKey(f)
	f.Add(key.Proof(f, "GET", "https://a/b", "tok"))
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	f.Add("a.b.c")
	f.Fuzz(func(t *testing.T, proof string) {
		p, err := parseProof(proof, defaultAlgs())
		if err != nil {
			return
		}
		if p.jti == "" || p.htm == "" || p.htu == "" || p.jkt == "" {
			t.Fatalf("parsed proof lacks claims: %+v", p)
		}
	})
}
