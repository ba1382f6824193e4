package backend

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
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
