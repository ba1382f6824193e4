package backend

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/monocloud/auth-go/monocloudtest"
)

// tamper is a handler that writes to the claims it receives what would
// let their token through every check: another scope, another group, no
// binding, a later expiry.
func tamper(w http.ResponseWriter, r *http.Request) {
	claims, _ := ClaimsFromContext(r.Context())
	claims["scope"] = "read admin"
	claims["groups"] = []any{"admins"}
	if cnf, ok := claims["cnf"].(map[string]any); ok {
		delete(cnf, "jkt")
		delete(cnf, "x5t#S256")
	}
	claims["exp"] = float64(time.Now().Add(24 * time.Hour).Unix())
}

// TestHandlerCannotChangeAuthorization is the reproduction of a review: a
// handler that writes to the claims of a token must not change what the
// next requests with that token are allowed, for a JWT (its cached
// claims) and an introspected token (the introspection cache).
func TestHandlerCannotChangeAuthorization(t *testing.T) {
	cert := monocloudtest.NewClientCertificate(t, "client")
	key := monocloudtest.NewDPoPKey(t)
	const url = "http://api.example.com/items"
	for _, kind := range []string{"jwt", "opaque"} {
		t.Run(kind, func(t *testing.T) {
			f := newFixture(t, nil)
			mint := f.mint
			if kind == "opaque" {
				mint = f.opaque
			}
			a := monocloudtest.AccessToken{Scopes: "read", TTL: time.Hour, Claims: map[string]any{"groups": []string{"staff"}}}
			plain := mint(t, a)
			a.CertificateThumbprint = monocloudtest.CertificateThumbprint(cert.Leaf.Raw)
			certBound := mint(t, a)
			a.CertificateThumbprint, a.DPoPKey = "", key
			dpopBound := mint(t, a)

			serveTampered := func(r *http.Request) {
				t.Helper()
				w := httptest.NewRecorder()
				f.c.Protect(nil)(http.HandlerFunc(tamper)).ServeHTTP(w, r)
				if w.Code != http.StatusOK {
					t.Fatalf("tampering request: status %d", w.Code)
				}
			}
			serveTampered(bearer(plain))
			serveTampered(withCertificate(certBound, &cert))
			serveTampered(dpopRequest(http.MethodGet, dpopBound, key.SignProof(t, monocloudtest.DPoPProof{Method: http.MethodGet, URL: url, AccessToken: dpopBound})))

			for _, tc := range []struct {
				name   string
				req    *http.Request
				opts   *ProtectOptions
				status int
			}{
				{"scope", bearer(plain), &ProtectOptions{Scopes: []string{"admin"}}, http.StatusForbidden},
				{"any scope", bearer(plain), &ProtectOptions{AnyScopes: []string{"admin", "root"}}, http.StatusForbidden},
				{"group", bearer(plain), &ProtectOptions{Groups: []string{"admins"}}, http.StatusForbidden},
				{"certificate binding", withCertificate(certBound, nil), nil, http.StatusUnauthorized},
				{"DPoP binding", bearer(dpopBound), nil, http.StatusUnauthorized},
				{"untampered route", bearer(plain), &ProtectOptions{Scopes: []string{"read"}, Groups: []string{"staff"}}, http.StatusOK},
			} {
				if got := f.serve(tc.req, tc.opts); got.status != tc.status {
					t.Errorf("%s after the handler wrote to the claims: status %d, want %d", tc.name, got.status, tc.status)
				}
			}
			f.clock.advance(2 * time.Hour)
			if got := f.serve(bearer(plain), nil); got.status != http.StatusUnauthorized {
				t.Errorf("expired token whose exp a handler moved: status %d, want 401", got.status)
			}
		})
	}
}

// TestHandlerCannotChangeSharedVerdict checks that what a handler writes
// to the claims of an introspected token never reaches the shared cache,
// where other instances would authorize by it: the claims share nested
// values, such as cnf, with the response that is shared.
func TestHandlerCannotChangeSharedVerdict(t *testing.T) {
	shared := newMemoryCache()
	f := newFixture(t, func(o *Options) { o.IntrospectionCache = shared })
	cert := monocloudtest.NewClientCertificate(t, "client")
	token := f.opaque(t, monocloudtest.AccessToken{CertificateThumbprint: monocloudtest.CertificateThumbprint(cert.Leaf.Raw)})
	w := httptest.NewRecorder()
	f.c.Protect(nil)(http.HandlerFunc(tamper)).ServeHTTP(w, withCertificate(token, &cert))
	if w.Code != http.StatusOK {
		t.Fatalf("tampering request: status %d", w.Code)
	}
	eventually(t, "the shared cache's write", func() bool { return shared.sets.Load() == 1 })
	g := newFixture(t, func(o *Options) { o.IntrospectionCache = shared })
	g.c.cfg.issuer = f.c.cfg.issuer
	g.c.disc = f.c.disc
	if a := g.serve(withCertificate(token, nil), nil); a.status != http.StatusUnauthorized {
		t.Errorf("another instance, token without its certificate: status %d, want 401", a.status)
	}
}
