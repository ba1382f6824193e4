package backend

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/monocloud/auth-go/monocloudtest"
)

func TestProtectAnswers(t *testing.T) {
	f := newFixture(t, func(o *Options) {
		o.Realm = "api"
		o.ResourceMetadata = "https://api.example.com/.well-known/oauth-protected-resource"
	})
	valid := f.mint(t, monocloudtest.AccessToken{Scopes: "read"})
	for _, tc := range []struct {
		name      string
		req       func() *http.Request
		opts      *ProtectOptions
		status    int
		challenge []string // parts of one challenge; nil for none
		errorCode string
	}{
		{"no token", func() *http.Request { return bearer("") }, nil, 401,
			[]string{`Bearer realm="api", resource_metadata="https://api.example.com/.well-known/oauth-protected-resource"`}, ""},
		{"another scheme", func() *http.Request {
			r := bearer("")
			r.Header.Set("Authorization", "Basic dTpw")
			return r
		}, nil, 401, []string{`Bearer realm="api"`}, ""},
		{"invalid token", func() *http.Request { return bearer("a.b.c") }, nil, 401, []string{`Bearer realm="api", error="invalid_token"`}, "invalid_token"},
		{"expired token", func() *http.Request {
			return bearer(f.mint(t, monocloudtest.AccessToken{TTL: -2 * time.Minute}))
		}, nil, 401, []string{`error="invalid_token"`}, "invalid_token"},
		{"two tokens", func() *http.Request {
			r := bearer(valid)
			r.Header.Add("Authorization", "Bearer x")
			return r
		}, nil, 400, []string{`Bearer realm="api", error="invalid_request"`}, "invalid_request"},
		{"malformed header", func() *http.Request {
			r := bearer("")
			r.Header.Set("Authorization", "Bearer a b")
			return r
		}, nil, 400, []string{`error="invalid_request"`}, "invalid_request"},
		// A token of three parts that is not a token68 is a malformed
		// request, not an invalid token.
		{"three parts, not a token68", func() *http.Request { return bearer("a,b.c.d") }, nil, 400,
			[]string{`error="invalid_request"`}, "invalid_request"},
		{"a valid token with a character that is not token68's", func() *http.Request {
			return bearer(valid[:len(valid)-1] + "!")
		}, nil, 400, []string{`error="invalid_request"`}, "invalid_request"},
		{"a valid token with padding", func() *http.Request { return bearer(valid + "==") }, nil, 401,
			[]string{`error="invalid_token"`}, "invalid_token"},
		{"missing scope", func() *http.Request { return bearer(valid) }, &ProtectOptions{Scopes: []string{"read", "write"}}, 403,
			[]string{`Bearer realm="api", error="insufficient_scope", scope="write"`}, "insufficient_scope"},
		{"missing any scope", func() *http.Request { return bearer(valid) }, &ProtectOptions{Scopes: []string{"write"}, AnyScopes: []string{"admin", "root"}}, 403,
			[]string{`error="insufficient_scope", scope="write admin"`}, "insufficient_scope"},
		{"missing group", func() *http.Request { return bearer(valid) }, &ProtectOptions{Groups: []string{"admins"}}, 403,
			[]string{`error="insufficient_scope"`}, "insufficient_scope"},
		{"valid", func() *http.Request { return bearer(valid) }, &ProtectOptions{Scopes: []string{"read"}}, 200, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := f.serve(tc.req(), tc.opts)
			if a.status != tc.status {
				t.Fatalf("status %d, want %d (%v %s)", a.status, tc.status, a.challenge, a.body)
			}
			if tc.challenge != nil && !challengeHas(a.challenge, tc.challenge...) {
				t.Errorf("challenges %q lack %q", a.challenge, tc.challenge)
			}
			if tc.status == 200 {
				return
			}
			if tc.status == 401 && tc.errorCode == "" && challengeHas(a.challenge, "error=") {
				t.Errorf("challenge %q has an error code for a request without a token", a.challenge)
			}
			if tc.status == 401 && tc.errorCode == "" && !challengeHas(a.challenge, `DPoP realm="api"`, `algs="RS256 RS384`) {
				t.Errorf("challenges %q lack the DPoP challenge with algs", a.challenge)
			}
			var body map[string]any
			if err := json.Unmarshal([]byte(a.body), &body); err != nil {
				t.Fatalf("body %q is not JSON: %v", a.body, err)
			}
			if tc.errorCode != "" && body["error"] != tc.errorCode {
				t.Errorf("body error %v, want %s", body["error"], tc.errorCode)
			}
			if strings.Contains(a.body, "backend:") || strings.Contains(a.body, "signature") {
				t.Errorf("body %q carries internal error text", a.body)
			}
		})
	}
}

func TestProtectCustomErrorWriter(t *testing.T) {
	var got error
	f := newFixture(t, func(o *Options) {
		o.ErrorWriter = func(w http.ResponseWriter, r *http.Request, err error) {
			got = err
			w.WriteHeader(StatusOf(err))
			w.Write([]byte("custom"))
		}
	})
	a := f.serve(bearer(""), nil)
	if a.status != 401 || a.body != "custom" || got == nil || !challengeHas(a.challenge, "Bearer") {
		t.Errorf("status %d body %q err %v challenge %v", a.status, a.body, got, a.challenge)
	}
}

func TestProtectPanicsOnInvalidScope(t *testing.T) {
	f := newFixture(t, nil)
	defer func() {
		if recover() == nil {
			t.Error("Protect accepted a scope with a quote")
		}
	}()
	f.c.Protect(&ProtectOptions{Scopes: []string{`a"b`}})
}

func TestEventsNeverHoldTheToken(t *testing.T) {
	f := newFixture(t, nil)
	token := f.mint(t, monocloudtest.AccessToken{Scopes: "read"})
	f.serve(bearer(token), &ProtectOptions{Scopes: []string{"admin"}})
	f.serve(bearer(token), nil)
	f.serve(bearer(token+"x"), nil)
	if len(f.events.of(EventTokenAccepted)) != 1 || len(f.events.of(EventTokenRejected)) != 2 {
		t.Fatalf("events %+v", f.events.all())
	}
	for _, e := range f.events.all() {
		s := e.Token + e.Reason + e.Outcome
		if e.Err != nil {
			s += e.Err.Error()
		}
		if strings.Contains(s, token[:20]) || strings.Contains(s, strings.Split(token, ".")[2][:16]) {
			t.Errorf("event %+v holds the token", e)
		}
		if e.Kind != EventKeysFetched && len(e.Token) != 12 {
			t.Errorf("event %+v lacks the token tag", e)
		}
	}
}

func TestClaimsCacheServesKnownTokensAndRechecksEachRoute(t *testing.T) {
	f := newFixture(t, nil)
	token := f.mint(t, monocloudtest.AccessToken{Scopes: "read"})
	if a := f.serve(bearer(token), &ProtectOptions{Scopes: []string{"read"}}); a.status != 200 {
		t.Fatalf("status %d", a.status)
	}
	jwks := f.op.JWKSRequests()
	f.op.SetJWKSFault(monocloudtest.Fault{Status: 500})
	f.op.SetDiscoveryFault(monocloudtest.Fault{Status: 500})
	if a := f.serve(bearer(token), &ProtectOptions{Scopes: []string{"write"}}); a.status != 403 {
		t.Errorf("cached token on a route needing another scope: status %d, want 403", a.status)
	}
	if a := f.serve(bearer(token), nil); a.status != 200 {
		t.Errorf("cached token: status %d", a.status)
	}
	if got := f.events.of(EventTokenAccepted); got[len(got)-1].Outcome != outcomeJWTCached {
		t.Errorf("outcome %q, want %q", got[len(got)-1].Outcome, outcomeJWTCached)
	}
	if f.op.JWKSRequests() != jwks {
		t.Errorf("cached token fetched the JWKS")
	}
	f.clock.advance(2 * time.Hour)
	if a := f.serve(bearer(token), nil); a.status != 401 {
		t.Errorf("cached token past its exp: status %d, want 401", a.status)
	}
}

func TestKeyRotationRefetchesOnce(t *testing.T) {
	f := newFixture(t, nil)
	if a := f.serve(bearer(f.mint(t, monocloudtest.AccessToken{})), nil); a.status != 200 {
		t.Fatalf("status %d", a.status)
	}
	before := f.op.JWKSRequests()
	f.op.RotateKey(t)
	rotated := f.mint(t, monocloudtest.AccessToken{})
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if _, err := f.c.ValidateAccessToken(t.Context(), rotated, nil); err != nil {
				t.Errorf("token signed with the new key: %v", err)
			}
		})
	}
	wg.Wait()
	if n := f.op.JWKSRequests() - before; n != 1 {
		t.Errorf("%d JWKS fetches for a rotation, want 1", n)
	}
}

func TestProviderDown(t *testing.T) {
	t.Run("keys cached are served", func(t *testing.T) {
		f := newFixture(t, nil)
		if a := f.serve(bearer(f.mint(t, monocloudtest.AccessToken{})), nil); a.status != 200 {
			t.Fatalf("status %d", a.status)
		}
		f.op.SetJWKSFault(monocloudtest.Fault{Status: 503})
		f.op.SetDiscoveryFault(monocloudtest.Fault{Status: 503})
		f.clock.advance(10 * time.Minute) // past the key cache duration
		if a := f.serve(bearer(f.mint(t, monocloudtest.AccessToken{})), nil); a.status != 200 {
			t.Errorf("provider down with keys cached: status %d, want 200", a.status)
		}
	})
	t.Run("no keys is 503", func(t *testing.T) {
		f := newFixture(t, nil)
		f.op.SetJWKSFault(monocloudtest.Fault{Status: 502})
		a := f.serve(bearer(f.mint(t, monocloudtest.AccessToken{})), nil)
		if a.status != 503 || a.header.Get("Retry-After") == "" || len(a.challenge) != 0 {
			t.Errorf("status %d Retry-After %q challenges %v, want 503 with Retry-After and no challenge", a.status, a.header.Get("Retry-After"), a.challenge)
		}
		if len(f.events.of(EventKeysFetched)) != 1 {
			t.Errorf("keys_fetched events %v", f.events.of(EventKeysFetched))
		}
	})
	t.Run("discovery unreachable is 503", func(t *testing.T) {
		f := newFixture(t, nil)
		f.op.SetDiscoveryFault(monocloudtest.Fault{Status: 500})
		if a := f.serve(bearer(f.mint(t, monocloudtest.AccessToken{})), nil); a.status != 503 {
			t.Errorf("status %d, want 503", a.status)
		}
		if len(f.events.of(EventProviderError)) != 1 {
			t.Errorf("provider_error events %v", f.events.of(EventProviderError))
		}
	})
	t.Run("wrong tenant is 500, reported once", func(t *testing.T) {
		f := newFixture(t, nil)
		f.op.SetDiscoveryFault(monocloudtest.Fault{Status: 404})
		for range 2 {
			a := f.serve(bearer(f.mint(t, monocloudtest.AccessToken{})), nil)
			if a.status != 500 || len(a.challenge) != 0 {
				t.Errorf("status %d challenges %v, want 500 without challenge", a.status, a.challenge)
			}
			f.clock.advance(time.Minute)
		}
		if len(f.events.of(EventConfigError)) != 1 {
			t.Errorf("config_error events %v, want 1", f.events.of(EventConfigError))
		}
		if err := f.c.Discover(t.Context()); StatusOf(err) != 500 {
			t.Errorf("Discover: %v, want a configuration error", err)
		}
	})
}

func TestValidateRequest(t *testing.T) {
	f := newFixture(t, nil)
	token := f.mint(t, monocloudtest.AccessToken{Scopes: "read"})
	claims, err := f.c.ValidateRequest(bearer(token), &ProtectOptions{Scopes: []string{"read"}})
	if err != nil || !claims.HasScope("read") {
		t.Fatalf("claims %v, %v", claims, err)
	}
	_, err = f.c.ValidateRequest(bearer(token), &ProtectOptions{Scopes: []string{"write"}})
	var e *Error
	if !errors.As(err, &e) || !errors.Is(err, ErrInsufficientScope) || StatusOf(err) != 403 || len(e.MissingScopes) != 1 {
		t.Errorf("missing scope: %v (%+v)", err, e)
	}
	if _, err := f.c.ValidateRequest(bearer(""), nil); !errors.Is(err, ErrNoToken) || StatusOf(err) != 401 {
		t.Errorf("no token: %v", err)
	}
}
