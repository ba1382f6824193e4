package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	monocloud "github.com/monocloud/auth-go"
	"github.com/monocloud/auth-go/e2e/realop"
)

// TestFlowSelfSignedTLSClientAuth signs in and refreshes with
// self_signed_tls_client_auth against oidc-provider's mTLS feature: the
// token requests go to the mtls_endpoint_aliases token endpoint, a TLS
// listener of the test's that requires the client certificate and passes
// it on to the provider, which matches it with the registered JWKS.
func TestFlowSelfSignedTLSClientAuth(t *testing.T) {
	t.Parallel()
	cert, jwks := flowClientCertificate(t)

	var op atomic.Pointer[realop.Provider]
	var passed atomic.Int32
	alias := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		target, _ := url.Parse(op.Load().Issuer())
		proxy := httputil.NewSingleHostReverseProxy(target)
		r.Header.Del("X-Test-Client-Cert")
		if len(r.TLS.PeerCertificates) > 0 {
			r.Header.Set("X-Test-Client-Cert", base64.StdEncoding.EncodeToString(r.TLS.PeerCertificates[0].Raw))
		}
		passed.Add(1)
		proxy.ServeHTTP(w, r)
	}))
	alias.TLS = &tls.Config{ClientAuth: tls.RequireAnyClientCert}
	alias.StartTLS()
	t.Cleanup(alias.Close)

	app := flowStart(t, flowConfig{
		AuthMethod:          "self_signed_tls_client_auth",
		JWKS:                jwks,
		MTLSEndpointAliases: map[string]string{"token_endpoint": alias.URL + "/token"},
		Transport:           alias.Client().Transport,
		Options:             func(o *monocloud.Options) { o.ClientCertificate = &cert },
	})
	op.Store(app.op)
	browser := flowBrowser(t)
	app.signIn(t, browser, "kim", "/protected")
	first, _ := app.tokens(t, browser, nil)
	forced, _ := app.tokens(t, browser, url.Values{"force": {"1"}})
	if forced.AccessToken == first.AccessToken || passed.Load() != 2 {
		t.Errorf("refresh: %d token requests through the mTLS alias, want 2; access token renewed: %v", passed.Load(), forced.AccessToken != first.AccessToken)
	}
	if n := app.op.Count("grant.error", ""); n != 0 {
		t.Errorf("provider logged %d grant errors: %s", n, flowEvents(app.op))
	}
}

// flowClientCertificate returns a self-signed client certificate and the
// JWKS that registers it (x5c) for self_signed_tls_client_auth.
func flowClientCertificate(t *testing.T) (tls.Certificate, json.RawMessage) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: flowClientID},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	jwk := jose.JSONWebKey{Key: &key.PublicKey, KeyID: "mtls-1", Use: "sig", Certificates: []*x509.Certificate{parsed}}
	jwks, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{jwk}})
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, jwks
}
