package backend

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/monocloud/auth-go/monocloudtest"
)

const (
	trustedPeer   = "10.1.2.3:5555"
	untrustedPeer = "203.0.113.9:5555"
)

func TestRequestURL(t *testing.T) {
	c := &Client{cfg: &config{proxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}}
	for _, tc := range []struct {
		name    string
		target  string // the request target the client sent
		peer    string
		tls     bool
		headers map[string][]string
		want    string
	}{
		{"direct", "/items", untrustedPeer, false, nil, "http://api.internal:8080/items"},
		{"direct over TLS", "/items", untrustedPeer, true, nil, "https://api.internal:8080/items"},
		{"query left out", "/items?page=2&x=%2F", untrustedPeer, false, nil, "http://api.internal:8080/items"},
		{"X-Forwarded-Proto and -Host", "/items", trustedPeer, false, map[string][]string{
			"X-Forwarded-Proto": {"https"}, "X-Forwarded-Host": {"API.example.com"},
		}, "https://api.example.com/items"},
		{"first of several X-Forwarded values", "/items", trustedPeer, false, map[string][]string{
			"X-Forwarded-Proto": {"https, http"}, "X-Forwarded-Host": {"api.example.com, lb.internal"},
		}, "https://api.example.com/items"},
		{"stripped prefix", "/items", trustedPeer, false, map[string][]string{
			"X-Forwarded-Proto": {"https"}, "X-Forwarded-Host": {"api.example.com"}, "X-Forwarded-Prefix": {"/orders-api"},
		}, "https://api.example.com/orders-api/items"},
		{"stripped prefix with a trailing slash, and a query", "/items?x=1", trustedPeer, false, map[string][]string{
			"X-Forwarded-Host": {"api.example.com"}, "X-Forwarded-Prefix": {"/orders-api/"},
		}, "http://api.example.com/orders-api/items"},
		{"prefixes of two proxies, outermost first", "/items", trustedPeer, false, map[string][]string{
			"X-Forwarded-Prefix": {"/eu, /orders-api"},
		}, "http://api.internal:8080/eu/orders-api/items"},
		{"prefixes in two header lines", "/items", trustedPeer, false, map[string][]string{
			"X-Forwarded-Prefix": {"/eu", "/orders-api"},
		}, "http://api.internal:8080/eu/orders-api/items"},
		{"percent-encoded prefix normalised", "/items", trustedPeer, false, map[string][]string{
			"X-Forwarded-Prefix": {"/%6Frders-api"},
		}, "http://api.internal:8080/orders-api/items"},
		{"relative prefix ignored", "/items", trustedPeer, false, map[string][]string{
			"X-Forwarded-Prefix": {"orders-api"},
		}, "http://api.internal:8080/items"},
		{"prefix with a query ignored", "/items", trustedPeer, false, map[string][]string{
			"X-Forwarded-Prefix": {"/orders-api?x=1"},
		}, "http://api.internal:8080/items"},
		{"prefix from an untrusted client ignored", "/items", untrustedPeer, false, map[string][]string{
			"X-Forwarded-Proto": {"https"}, "X-Forwarded-Host": {"api.example.com"}, "X-Forwarded-Prefix": {"/orders-api"},
		}, "http://api.internal:8080/items"},
		{"Forwarded", "/items", trustedPeer, false, map[string][]string{
			"Forwarded": {`for=192.0.2.60;proto=HTTPS;host="api.example.com:8443", for=10.0.0.2;proto=http;host=lb`},
		}, "https://api.example.com:8443/items"},
		{"Forwarded before X-Forwarded", "/items", trustedPeer, false, map[string][]string{
			"Forwarded": {"proto=https;host=api.example.com"}, "X-Forwarded-Proto": {"http"}, "X-Forwarded-Host": {"other.example.com"},
		}, "https://api.example.com/items"},
		{"Forwarded without host: X-Forwarded-Host", "/items", trustedPeer, false, map[string][]string{
			"Forwarded": {"for=192.0.2.60;proto=https"}, "X-Forwarded-Host": {"api.example.com"},
		}, "https://api.example.com/items"},
		{"forwarded host with userinfo ignored", "/items", trustedPeer, false, map[string][]string{
			"X-Forwarded-Host": {"api.example.com@evil.example"},
		}, "http://api.internal:8080/items"},
		{"Forwarded from an untrusted client ignored", "/items", untrustedPeer, false, map[string][]string{
			"Forwarded": {"proto=https;host=api.example.com"},
		}, "http://api.internal:8080/items"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, tc.target, nil)
			r.Host, r.RemoteAddr = "api.internal:8080", tc.peer
			if tc.tls {
				r.TLS = &tls.ConnectionState{}
			}
			for k, vs := range tc.headers {
				for _, v := range vs {
					r.Header.Add(k, v)
				}
			}
			if got := c.requestURL(r); got != tc.want {
				t.Errorf("requestURL = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestRequestURLIgnoresStripPrefixInGo(t *testing.T) {
	c := &Client{cfg: &config{}}
	var got string
	h := http.StripPrefix("/orders-api", http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { got = c.requestURL(r) }))
	r := httptest.NewRequest(http.MethodGet, "/orders-api/items?x=1", nil)
	r.Host = "api.example.com"
	h.ServeHTTP(httptest.NewRecorder(), r)
	if want := "http://api.example.com/orders-api/items"; got != want {
		t.Errorf("requestURL behind http.StripPrefix = %q, want the URL the client sent, %q", got, want)
	}
}

// TestDPoPBehindPrefixStrippingProxy sends DPoP requests through Protect
// as a proxy that serves the API under /orders-api forwards them.
func TestDPoPBehindPrefixStrippingProxy(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")} })
	key := monocloudtest.NewDPoPKey(t)
	token := f.mint(t, monocloudtest.AccessToken{DPoPKey: key})
	for _, tc := range []struct {
		name, htu, peer string
		status          int
	}{
		{"external URL from the trusted proxy", "https://api.example.com/orders-api/items", trustedPeer, 200},
		{"external URL with query and fragment", "https://api.example.com/orders-api/items?page=2#top", trustedPeer, 200},
		{"internal URL from the trusted proxy", "https://api.example.com/items", trustedPeer, 401},
		{"external URL from an untrusted client", "https://api.example.com/orders-api/items", untrustedPeer, 401},
		{"internal URL from an untrusted client", "http://api.internal/items", untrustedPeer, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/items?page=2", nil)
			r.Host, r.RemoteAddr = "api.internal", tc.peer
			r.Header.Set("Authorization", "DPoP "+token)
			r.Header.Set("DPoP", key.Proof(t, http.MethodGet, tc.htu, token))
			r.Header.Set("X-Forwarded-Proto", "https")
			r.Header.Set("X-Forwarded-Host", "api.example.com")
			r.Header.Set("X-Forwarded-Prefix", "/orders-api")
			a := f.serve(r, nil)
			if a.status != tc.status {
				t.Fatalf("status %d %v, want %d", a.status, a.challenge, tc.status)
			}
			if tc.status == 401 && !challengeHas(a.challenge, `DPoP error="invalid_dpop_proof"`) {
				t.Errorf("challenges %q, want invalid_dpop_proof", a.challenge)
			}
		})
	}
}

// FuzzForwardedHeaders checks that no Forwarded or X-Forwarded-Prefix value
// panics their parsers, and that a prefix is empty or a path without query
// or fragment.
func FuzzForwardedHeaders(f *testing.F) {
	f.Add(`for=192.0.2.60;proto=https;host="api.example.com", for=10.0.0.2`, "/eu, /orders-api/")
	f.Add(`host="a\"b;c";proto=`, "orders-api")
	f.Add(`"`, "/a?b")
	f.Fuzz(func(t *testing.T, forwarded, prefix string) {
		forwardedProtoHost([]string{forwarded})
		p := forwardedPrefix([]string{prefix})
		if p != "" && (p[0] != '/' || strings.ContainsAny(p, "?#")) {
			t.Fatalf("forwardedPrefix(%q) = %q: not a path", prefix, p)
		}
	})
}
